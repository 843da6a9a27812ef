/**
 * The request body as the object's bytes, checked as it streams: `createPayloadVerifier`
 * picks the check that `x-amz-content-sha256` asked for.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AuthError, PayloadError } from './errors.js';
import { headerValue, type RequestHeaders } from './canonical.js';
import { parsePayloadMode, type PayloadMode } from './payload-mode.js';
import { AwsChunkedDecoder } from './streaming.js';
import type { AuthResult } from './sigv4.js';

/** What the gateway reads after the body has ended. */
export interface PayloadVerifier extends Transform {
  /** Trailing headers of an aws-chunked body (lower-case names); empty otherwise. */
  readonly trailers: ReadonlyMap<string, string>;
  /** Object bytes passed on so far. */
  readonly decodedLength: number;
}

/** A body sent as is: counts it against Content-Length and, when signed, checks its SHA-256. */
export class PlainBodyVerifier extends Transform implements PayloadVerifier {
  readonly trailers: ReadonlyMap<string, string> = new Map();
  decodedLength = 0;
  private readonly hash: Hash | undefined;

  constructor(private readonly expectedSha256: string | undefined, private readonly expectedLength: number | undefined) {
    super();
    this.hash = expectedSha256 === undefined ? undefined : createHash('sha256');
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash?.update(chunk);
    this.decodedLength += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.expectedLength !== undefined && this.decodedLength !== this.expectedLength) {
      cb(new PayloadError('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header'));
      return;
    }
    if (this.hash && this.expectedSha256 !== undefined) {
      const computed = this.hash.digest('hex');
      if (computed !== this.expectedSha256) {
        cb(new PayloadError('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          ClientComputedContentSHA256: this.expectedSha256, S3ComputedContentSHA256: computed,
        }));
        return;
      }
    }
    cb();
  }
}

function lengthHeader(headers: RequestHeaders, name: string): number | undefined {
  const v = headerValue(headers, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v.trim())) throw new AuthError('InvalidArgument', `${name} must be a non-negative integer`, { ArgumentName: name, ArgumentValue: v });
  return Number(v.trim());
}

/** Names announced in `x-amz-trailer` (comma-separated), lower case. */
export function declaredTrailers(headers: RequestHeaders): Set<string> {
  const v = headerValue(headers, 'x-amz-trailer');
  const names = new Set<string>();
  if (v === undefined) return names;
  for (const n of v.split(',')) if (n.trim() !== '') names.add(n.trim().toLowerCase());
  return names;
}

/**
 * The payload mode of a request: the authenticated one, or for an anonymous request the one its
 * `x-amz-content-sha256` names (anonymous clients may still send an unsigned aws-chunked body
 * with a checksum trailer). No header on an anonymous request means a plain body.
 */
export function payloadModeOf(auth: AuthResult | null, headers: RequestHeaders): PayloadMode {
  if (auth) return auth.payload;
  const v = headerValue(headers, 'x-amz-content-sha256');
  if (v === undefined) return { kind: 'unsigned' };
  const mode = parsePayloadMode(v, '');
  if (mode.kind === 'streaming' && mode.signed) {
    throw new AuthError('InvalidRequest', 'A signed aws-chunked body needs a signed request.');
  }
  return mode;
}

/**
 * A Transform from the raw request body to the object's bytes: decodes aws-chunked, checks chunk
 * and trailer signatures, checks a signed SHA-256 and the declared lengths. Errors are
 * PayloadError/AuthError (IncompleteBody, SignatureDoesNotMatch, XAmzContentSHA256Mismatch,
 * MalformedTrailerError, InvalidRequest). Read `trailers` after the stream has finished.
 */
export function createPayloadVerifier(auth: AuthResult | null, headers: RequestHeaders): PayloadVerifier {
  const mode = payloadModeOf(auth, headers);
  if (mode.kind !== 'streaming') {
    return new PlainBodyVerifier(mode.kind === 'sha256' ? mode.hex : undefined, lengthHeader(headers, 'content-length'));
  }
  const decodedLength = lengthHeader(headers, 'x-amz-decoded-content-length');
  return new AwsChunkedDecoder({
    trailer: mode.trailer,
    declaredTrailers: declaredTrailers(headers),
    ...(decodedLength !== undefined ? { decodedLength } : {}),
    ...(mode.signed && auth?.signing ? { signing: { ...auth.signing, seedSignature: mode.seedSignature } } : {}),
  });
}

/**
 * The Content-Encoding to store with the object: `aws-chunked` describes the upload, not the
 * object, so it is removed (as AWS S3 does). Undefined when nothing is left.
 */
export function storedContentEncoding(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const rest = value.split(',').map((s) => s.trim()).filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked');
  return rest.length ? rest.join(',') : undefined;
}
