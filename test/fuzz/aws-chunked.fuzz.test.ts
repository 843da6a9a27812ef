/**
 * aws-chunked request bodies (gateway/auth/streaming.ts through createPayloadVerifier), all four
 * forms, with trailers: bodies framed by the AWS SDK's encoder or by an encoder written here from
 * the spec decode to the bytes sent, however the reads split them; damaged bodies end in a
 * PayloadError/AuthError, never hang, and a signed body never decodes to other bytes.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
import { createHash, createHmac } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getAwsChunkedEncodingStream } from '@smithy/core/serde';
import { AuthError } from '../../gateway/auth/errors.js';
import { createPayloadVerifier, type PayloadVerifier } from '../../gateway/auth/payload.js';
import { verifyRequest, type AuthResult } from '../../gateway/auth/sigv4.js';
import { applyMutations, check, mutatedBytes, mutations, outcomeAsync, splitBuffer, splits, valueOf } from './fuzz.js';
import { AK, asHeaderValue, HOST, lookup, NodeSha256, NOW, SECRET } from './sigv4-requests.js';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/core/protocols';

const EMPTY_SHA256 = createHash('sha256').digest('hex');
const sha256Hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const crc32B64 = (b: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b));
  return out.toString('base64');
};

type Mode = 'signed' | 'signed-trailer' | 'unsigned-trailer';
const CONTENT_SHA256: Record<Mode, string> = {
  signed: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'signed-trailer': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'unsigned-trailer': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
};
const hasTrailer = (m: Mode): boolean => m !== 'signed';
const isSigned = (m: Mode): boolean => m !== 'unsigned-trailer';
const TRAILER = 'x-amz-checksum-crc32';

const data: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
  // Sizes across the 64 KiB chunks SDKs send, filled with a pattern that is cheap to make.
  fc.integer({ min: 0, max: 70_000 }).map((n) => Buffer.from(Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff))),
);

interface Upload {
  mode: Mode;
  headers: Record<string, string>;
  auth: AuthResult | null;
  body: Buffer;
  data: Buffer;
}

/** Headers signed by the SDK's signer: their signature seeds the chunk signatures. */
async function signedHeaders(mode: Mode, length: number, anonymous: boolean): Promise<{ headers: Record<string, string>; auth: AuthResult | null }> {
  const headers: Record<string, string> = {
    host: HOST, 'x-amz-content-sha256': CONTENT_SHA256[mode], 'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(length), ...(hasTrailer(mode) && { 'x-amz-trailer': TRAILER }),
  };
  if (anonymous) return { headers, auth: null };
  const signer = new SignatureV4({
    credentials: { accessKeyId: AK, secretAccessKey: SECRET }, region: 'us-east-1', service: 's3', uriEscapePath: false,
    sha256: NodeSha256,
  });
  const signed = await signer.sign(new HttpRequest({ method: 'PUT', hostname: '127.0.0.1', port: 9000, path: '/bucket/key', headers }), { signingDate: NOW });
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) lower[k.toLowerCase()] = v;
  return { headers: lower, auth: verifyRequest({ method: 'PUT', rawPath: '/bucket/key', rawQuery: '', headers: lower }, lookup, NOW) };
}

/**
 * The framing and chunk signatures written from the spec (not from streaming.ts): each chunk
 * signed over the previous signature and its SHA-256, the trailer block over the last one.
 */
function encode(mode: Mode, auth: AuthResult | null, payload: Buffer, chunkSizes: readonly number[], ext: string): Buffer {
  // Without a request signature (hostile framing only), sign under a key nobody holds.
  const signing = auth?.signing ?? { key: Buffer.alloc(32), amzDate: '', scope: '' };
  const sign = (sts: string): string => createHmac('sha256', signing.key).update(sts).digest('hex');
  let previous = auth?.signature ?? '';
  const parts: Buffer[] = [];
  const chunk = (c: Buffer): void => {
    if (isSigned(mode)) {
      previous = sign(['AWS4-HMAC-SHA256-PAYLOAD', signing.amzDate, signing.scope, previous, EMPTY_SHA256, sha256Hex(c)].join('\n'));
      parts.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${previous}${ext}\r\n`));
    } else {
      parts.push(Buffer.from(`${c.length.toString(16)}${ext}\r\n`));
    }
    if (c.length) parts.push(c, Buffer.from('\r\n'));
  };
  for (const c of splitBuffer(payload, chunkSizes)) if (c.length) chunk(c);
  chunk(Buffer.alloc(0));
  if (hasTrailer(mode)) {
    const block = `${TRAILER}:${crc32B64(payload)}\n`;
    parts.push(Buffer.from(block.replace('\n', '\r\n')));
    if (isSigned(mode)) {
      const sig = sign(['AWS4-HMAC-SHA256-TRAILER', signing.amzDate, signing.scope, previous, sha256Hex(block)].join('\n'));
      parts.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`));
    }
  }
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** The AWS SDK's own aws-chunked encoder (unsigned, with a CRC-32 trailer), fed in the given pieces. */
async function sdkEncode(payload: Buffer, pieces: readonly number[]): Promise<Buffer> {
  class Crc32 {
    private readonly parts: Uint8Array[] = [];
    update(d: Uint8Array): void { this.parts.push(d); }
    digest(): Promise<Uint8Array> {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc32(Buffer.concat(this.parts)));
      return Promise.resolve(out);
    }
    reset(): void {}
  }
  const source = Readable.from(splitBuffer(payload, pieces), { objectMode: false });
  const encoded = getAwsChunkedEncodingStream(source, {
    bodyLengthChecker: (d: Uint8Array) => d.byteLength,
    base64Encoder: (d: Uint8Array) => Buffer.from(d).toString('base64'),
    checksumAlgorithmFn: Crc32,
    checksumLocationName: TRAILER,
    streamHasher: (Ctor, stream) => new Promise((resolve, reject) => {
      const h = new (Ctor as unknown as new () => Crc32)();
      (stream as Readable).on('data', (d: Buffer) => h.update(d)).on('end', () => void h.digest().then(resolve)).on('error', reject);
    }),
  });
  const out: Buffer[] = [];
  for await (const c of encoded) out.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(out);
}

interface Decoded { data: Buffer; trailers: Map<string, string> }

/** Pass `input` through the verifier in the given reads; what came out, and the trailers. */
async function decode(verifier: Transform & PayloadVerifier, input: Buffer[]): Promise<Decoded> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(input, { objectMode: false }), verifier, async function* (src) {
    for await (const c of src) out.push(c as Buffer);
  });
  return { data: Buffer.concat(out), trailers: new Map(verifier.trailers) };
}

const mode = fc.constantFrom<Mode>('signed', 'signed-trailer', 'unsigned-trailer');
const chunkSizes = fc.array(fc.integer({ min: 1, max: 70_000 }), { maxLength: 6 });
const extension = fc.constantFrom('', ';foo=bar', ';a;b=', ';x=' + 'y'.repeat(50));

async function upload(m: Mode, payload: Buffer, sizes: readonly number[], ext: string): Promise<Upload> {
  const { headers, auth } = await signedHeaders(m, payload.length, false);
  return { mode: m, headers, auth, body: encode(m, auth, payload, sizes, ext), data: payload };
}

describe('aws-chunked round trips', () => {
  it('a body framed and signed from the spec decodes to its bytes and trailer, however the reads split it', async () => {
    await check(fc.asyncProperty(mode, data, chunkSizes, extension, splits(), async (m, payload, sizes, ext, reads) => {
      const u = await upload(m, payload, sizes, ext);
      const got = valueOf(await outcomeAsync(() => decode(createPayloadVerifier(u.auth, u.headers), splitBuffer(u.body, reads)), [AuthError]));
      expect(got.data.equals(payload)).toBe(true);
      expect([...got.trailers]).toEqual(hasTrailer(m) ? [[TRAILER, crc32B64(payload)]] : []);
    }), 0.5);
  });

  it('a body framed by the AWS SDK encoder decodes to its bytes and trailer (signed request and anonymous)', async () => {
    await check(fc.asyncProperty(data, splits(), splits(), fc.boolean(), async (payload, pieces, reads, anonymous) => {
      const body = await sdkEncode(payload, pieces);
      const { headers, auth } = await signedHeaders('unsigned-trailer', payload.length, anonymous);
      const got = valueOf(await outcomeAsync(() => decode(createPayloadVerifier(auth, headers), splitBuffer(body, reads)), [AuthError]));
      expect(got.data.equals(payload)).toBe(true);
      expect(got.trailers.get(TRAILER)).toBe(crc32B64(payload));
    }), 0.5);
  });
});

describe('aws-chunked on damaged bodies', () => {
  const small = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
  const smallSizes = fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 4 });

  it('a damaged signed body fails with AuthError or decodes to exactly the bytes signed', async () => {
    await check(fc.asyncProperty(fc.constantFrom<Mode>('signed', 'signed-trailer'), small, smallSizes, mutations(1, 3), splits(), async (m, payload, sizes, edits, reads) => {
      const u = await upload(m, payload, sizes, '');
      const body = Buffer.from(applyMutations(u.body.toString('latin1'), edits), 'latin1');
      const o = await outcomeAsync(() => decode(createPayloadVerifier(u.auth, u.headers), splitBuffer(body, reads)), [AuthError]);
      if (o.ok) {
        expect(o.value.data.equals(payload)).toBe(true);
        expect([...o.value.trailers]).toEqual(hasTrailer(m) ? [[TRAILER, crc32B64(payload)]] : []);
      }
    }));
  });

  it('any damaged body, under any declared lengths and trailers, ends in a value or AuthError, and never outgrows its input', async () => {
    const declared = fc.record({
      length: fc.option(fc.oneof(fc.nat(400).map(String), fc.constantFrom('', '-1', '1e3', '0x10', ' 5', '99999999999999999999', '9007199254740993', '٣')), { nil: undefined }),
      trailer: fc.option(fc.oneof(fc.constantFrom(TRAILER, 'x-amz-checksum-sha256', `${TRAILER},${TRAILER}`, ',', ' , x ', 'X-AMZ-CHECKSUM-CRC32'), fc.string()), { nil: undefined }),
      sha256: fc.constantFrom(...Object.values(CONTENT_SHA256), 'UNSIGNED-PAYLOAD', EMPTY_SHA256, 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD'),
    });
    const body = fc.tuple(mode, small, smallSizes).chain(([m, payload, sizes]) => mutatedBytes(fc.constant(encode(m, null, payload, sizes, '')), 4));
    await check(fc.asyncProperty(declared, body, splits(), async (d, b, reads) => {
      const headers: Record<string, string> = { host: HOST, 'x-amz-content-sha256': d.sha256 };
      if (d.length !== undefined) headers['x-amz-decoded-content-length'] = asHeaderValue(d.length);
      if (d.trailer !== undefined) headers['x-amz-trailer'] = asHeaderValue(d.trailer);
      const o = await outcomeAsync(async () => decode(createPayloadVerifier(null, headers), splitBuffer(b, reads)), [AuthError]);
      if (o.ok) expect(o.value.data.length).toBeLessThanOrEqual(b.length);
    }));
  });

  it('an endless chunk-size line or trailer section is refused before it is buffered whole', async () => {
    const endless = fc.tuple(fc.constantFrom('a;', '0\r\n', '0\r\nx-amz-checksum-crc32:', '0\r\nx:'), fc.constantFrom('x', ' ', ';', '0', 'f'), fc.integer({ min: 5_000, max: 200_000 }));
    await check(fc.asyncProperty(endless, splits(), async ([head, filler, n], reads) => {
      const { headers } = await signedHeaders('unsigned-trailer', 0, true);
      const body = Buffer.from(head + filler.repeat(n), 'latin1');
      const o = await outcomeAsync(() => decode(createPayloadVerifier(null, headers), splitBuffer(body, reads)), [AuthError]);
      expect(o.ok).toBe(false);
    }), 0.25);
  });
});
