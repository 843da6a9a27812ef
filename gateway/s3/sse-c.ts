import { createHash } from 'node:crypto';
import {
  customerKeyCheck, customerKeyMatches, deriveCustomerKek, KEY_BYTES, newCustomerSalt, unwrapKeyForCustomer, wrapKeyForCustomer,
} from '../../codec/keys.js';
import type { StoredSseC } from '../meta/sse-c.js';
import type { KeyWrap } from '../pipeline/put-blob.js';
import type { KeyUnwrap } from '../pipeline/read-blob.js';
import { S3Error } from './errors.js';
import { headerOf, type HeaderBag } from './headers.js';
import { SSE_ALGORITHM, SSE_HEADER } from './sse.js';

/**
 * SSE-C, server-side encryption with customer-provided keys, as AWS S3 answers it:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html
 * The key arrives with every request that writes or reads the object and is forgotten after
 * it: it wraps (with the master key) the data keys of the object's blobs, and only a salted
 * HMAC of it is stored, to tell a wrong key (403) from a damaged object.
 *
 * The key must never reach a log or an error document (STYLE.md, "Secrets"): no error here
 * carries a header value, and CustomerKey keeps the key out of JSON and inspection.
 *
 * As AWS S3 does, a key is refused over plain HTTP, where anyone on the path reads it: the
 * connection must be TLS, or a trusted proxy in front (SHARDGATE_TRUSTED_PROXIES) must say
 * `X-Forwarded-Proto: https`, or the client must be on the same machine (loopback), as in `dev`.
 */

const OBJECT_PREFIX = 'x-amz-server-side-encryption-customer-';
const COPY_SOURCE_PREFIX = 'x-amz-copy-source-server-side-encryption-customer-';
const ALGORITHM = 'AES256';

/** Where a request came from, as far as the transport rule needs to know (built by access/trusted-proxies.ts). */
export interface Transport {
  /** The connection to the gateway itself is TLS. */
  encrypted: boolean;
  /** The TCP peer. */
  remoteAddress: string | undefined;
  /** `X-Forwarded-Proto` as a trusted proxy said it; undefined when the peer is not one, or said nothing. */
  forwardedProto: string | undefined;
  /**
   * The client a trusted proxy named in `X-Forwarded-For`; null when what it named is not an
   * address. Absent: the peer is the client.
   */
  clientAddress?: string | null;
  /** The request says it was relayed for someone else (X-Forwarded-*, Forwarded), trusted or not. */
  forwarded?: boolean;
}

/**
 * Whether the client's own connection is TLS (aws:SecureTransport in policies, and the SSE-C
 * rule). A trusted proxy speaks for that connection, whatever its own to us: every hop its
 * `X-Forwarded-Proto` lists must be https. Otherwise the connection to us is the client's.
 */
export function isSecureTransport(t: Transport): boolean {
  if (t.forwardedProto !== undefined) return t.forwardedProto.split(',').every((p) => p.trim().toLowerCase() === 'https');
  return t.encrypted;
}

/** The client's address: the one a trusted proxy named, else the peer's; undefined when unknown. */
export function clientAddressOf(t: Transport): string | undefined {
  return t.clientAddress === undefined ? t.remoteAddress : t.clientAddress ?? undefined;
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** Refuses a request that carries a customer key over a connection others can read. */
export function checkSseCTransport(headers: HeaderBag, transport: Transport): void {
  const carriesKey = Object.keys(headers).some((h) => h.startsWith(OBJECT_PREFIX) || h.startsWith(COPY_SOURCE_PREFIX));
  // Unlike aws:SecureTransport, a client on the same machine may send its key in the clear; a
  // proxy on this machine relaying for someone else is not that client.
  const local = isLoopback(transport.remoteAddress) && !transport.forwarded;
  if (!carriesKey || isSecureTransport(transport) || local) return;
  throw new S3Error('InvalidRequest', {
    message: 'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection. '
      + 'Use HTTPS, or a TLS proxy listed in SHARDGATE_TRUSTED_PROXIES that sets X-Forwarded-Proto: https.',
  });
}

/** A validated customer key of one request. */
export class CustomerKey {
  readonly algorithm = ALGORITHM;
  /** Base64 MD5 of the key, as the client sent it and as responses echo it. */
  readonly md5: string;
  readonly #key: Buffer;

  constructor(key: Buffer, md5: string) {
    this.#key = key;
    this.md5 = md5;
  }

  /** The raw key: only for the key derivations in codec/keys.ts. */
  reveal(): Buffer {
    return this.#key;
  }

  toJSON(): { algorithm: string; md5: string } {
    return { algorithm: this.algorithm, md5: this.md5 };
  }
}

function invalid(message: string, argumentName: string): S3Error {
  // ArgumentValue is left out on purpose: it would be the key or its digest.
  return new S3Error('InvalidArgument', { message, extra: { ArgumentName: argumentName } });
}

/**
 * The customer key a request carries: `object` for the object it writes or reads,
 * `copy-source` for the source of CopyObject/UploadPartCopy. undefined when it has none.
 */
export function parseCustomerKey(headers: HeaderBag, which: 'object' | 'copy-source' = 'object'): CustomerKey | undefined {
  const prefix = which === 'object' ? OBJECT_PREFIX : COPY_SOURCE_PREFIX;
  const algorithm = headerOf(headers, `${prefix}algorithm`)?.trim();
  const key = headerOf(headers, `${prefix}key`)?.trim();
  const md5 = headerOf(headers, `${prefix}key-md5`)?.trim();
  if (algorithm === undefined && key === undefined && md5 === undefined) return undefined;
  if (algorithm === undefined || algorithm === '') {
    throw invalid('Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.', `${prefix}algorithm`);
  }
  if (algorithm !== ALGORITHM) {
    throw invalid('The Encryption request you specified is not valid. Supported value: AES256.', `${prefix}algorithm`);
  }
  if (key === undefined || key === '') {
    throw invalid('Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.', `${prefix}key`);
  }
  const raw = decodeBase64(key);
  if (!raw || raw.length !== KEY_BYTES) throw invalid('The secret key was invalid for the specified algorithm.', `${prefix}key`);
  if (md5 === undefined || md5 === '') {
    throw invalid('Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.', `${prefix}key-MD5`);
  }
  const digest = createHash('md5').update(raw).digest();
  const given = decodeBase64(md5);
  if (!given || !given.equals(digest)) {
    throw invalid('The calculated MD5 hash of the key did not match the hash that was provided.', `${prefix}key-MD5`);
  }
  return new CustomerKey(raw, digest.toString('base64'));
}

/** Strict base64: Buffer.from would silently skip stray characters. */
function decodeBase64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  return Buffer.from(s, 'base64');
}

/** The parameters of a new object or upload encrypted under `ck`: a fresh salt. */
export function newSseC(ck: CustomerKey): StoredSseC {
  const salt = newCustomerSalt();
  return { algorithm: ALGORITHM, salt, keyHmac: customerKeyCheck(ck.reveal(), salt) };
}

/** How blobs of an object with parameters `sse` (checked against `ck`) store their data keys. */
export function wrapFor(sse: StoredSseC, ck: CustomerKey): KeyWrap {
  const kek = deriveCustomerKek(ck.reveal(), sse.salt);
  return (master, dataKey) => wrapKeyForCustomer(master, kek, dataKey);
}

function unwrapFor(sse: StoredSseC, ck: CustomerKey): KeyUnwrap {
  const kek = deriveCustomerKek(ck.reveal(), sse.salt);
  return (master, wrapped) => unwrapKeyForCustomer(master, kek, wrapped);
}

/**
 * The key opener for reading an object (GET, HEAD, a copy source): undefined for an object
 * without SSE-C. 400 when the request's key and the object's encryption do not go together,
 * 403 for a wrong key, as AWS S3 answers.
 */
export function readerFor(sse: StoredSseC | null, ck: CustomerKey | undefined): KeyUnwrap | undefined {
  if (!sse) {
    if (ck) throw new S3Error('InvalidRequest', { message: 'The encryption parameters are not applicable to this object.' });
    return undefined;
  }
  if (!ck) {
    throw new S3Error('InvalidRequest', {
      message: 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
    });
  }
  if (!customerKeyMatches(ck.reveal(), sse.salt, sse.keyHmac)) throw new S3Error('AccessDenied');
  return unwrapFor(sse, ck);
}

/**
 * The key wrap of a part of an upload (UploadPart, UploadPartCopy), or the check of
 * CompleteMultipartUpload (`partRequest` false): the request must carry the key the upload
 * was created with. AWS S3 lets CompleteMultipartUpload leave the headers out; when they are
 * there they must match.
 */
export function uploadWrap(sse: StoredSseC | null, ck: CustomerKey | undefined, partRequest: boolean): KeyWrap | undefined {
  const mismatch = (): S3Error => new S3Error('InvalidRequest', { message: 'The provided encryption parameters did not match the ones used originally.' });
  if (!sse) {
    if (ck) throw mismatch();
    return undefined;
  }
  if (!ck) {
    if (!partRequest) return undefined;
    throw new S3Error('InvalidRequest', {
      message: 'The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.',
    });
  }
  if (!customerKeyMatches(ck.reveal(), sse.salt, sse.keyHmac)) throw mismatch();
  return wrapFor(sse, ck);
}

/**
 * Response headers that say how an object is encrypted: the customer key's algorithm and MD5
 * (SSE-C), or AES256 under gateway-managed keys (sse.ts) for every other object.
 */
export function encryptionHeaders(ck: CustomerKey | undefined): Record<string, string> {
  if (!ck) return { [SSE_HEADER]: SSE_ALGORITHM };
  return { [`${OBJECT_PREFIX}algorithm`]: ck.algorithm, [`${OBJECT_PREFIX}key-md5`]: ck.md5 };
}
