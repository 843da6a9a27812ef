import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/core/protocols';
import { AuthError, PayloadError } from '../../gateway/auth/errors.js';
import { createPayloadVerifier, storedContentEncoding, type PayloadVerifier } from '../../gateway/auth/payload.js';
import { verifyRequest, type AuthResult, type SignedRequest } from '../../gateway/auth/sigv4.js';
import { ChecksumSet, checksumStream, expectedChecksums, verifyChecksums } from '../../gateway/checksums.js';
import { onClose } from '../helpers/registry.js';

const NOW = new Date('2026-03-14T15:09:26Z');
const AK = 'AKIASHARDGATETEST01';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const lookup = (id: string) => (id === AK ? SECRET : undefined);
const HOST = '127.0.0.1:9000';
const EMPTY = createHash('sha256').update('').digest('hex');
const sha256Hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

type Mode = 'signed' | 'signed-trailer' | 'unsigned-trailer' | 'unsigned-no-trailer';
const CONTENT_SHA256: Record<Mode, string> = {
  signed: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'signed-trailer': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'unsigned-trailer': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'unsigned-no-trailer': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
};
const MODES = Object.keys(CONTENT_SHA256) as Mode[];
const hasTrailer = (m: Mode) => m === 'signed-trailer' || m === 'unsigned-trailer';

/** Deterministic test bytes (a hash chain). */
function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let block = createHash('sha256').update(String(seed)).digest();
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i, 0, Math.min(32, n - i));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** A small deterministic PRNG for the random splits (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const crc32b64 = (data: Buffer) => { const b = Buffer.alloc(4); b.writeUInt32BE(zlibCrc32(data)); return b.toString('base64'); };

type SourceData = string | ArrayBuffer | ArrayBufferView;
const toBuf = (d: SourceData) =>
  typeof d === 'string' ? Buffer.from(d) : d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(d.buffer, d.byteOffset, d.byteLength);

class NodeSha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuf(secret));
  }
  update(data: SourceData): void {
    this.h.update(toBuf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {}
}

interface Upload {
  req: SignedRequest;
  auth: AuthResult | null;
  body: Buffer;
}

/**
 * An upload as the SDKs build it: headers signed with the SDK signer (the seed signature), then
 * the aws-chunked body framed and its chunks signed per the SigV4 streaming spec, written here
 * independently of the code under test.
 */
async function upload(mode: Mode, data: Buffer, chunkSize = 64 * 1024, opts: { anonymous?: boolean; extension?: string } = {}): Promise<Upload> {
  const trailerName = mode === 'signed-trailer' || mode === 'unsigned-trailer' ? 'x-amz-checksum-crc32' : undefined;
  const headers: Record<string, string> = {
    host: HOST,
    'x-amz-content-sha256': CONTENT_SHA256[mode],
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(data.length),
    ...(trailerName ? { 'x-amz-trailer': trailerName } : {}),
  };
  let auth: AuthResult | null = null;
  let req: SignedRequest = { method: 'PUT', rawPath: '/bucket/key', rawQuery: '', headers };
  if (!opts.anonymous) {
    const signer = new SignatureV4({ credentials: { accessKeyId: AK, secretAccessKey: SECRET }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false });
    const signed = await signer.sign(new HttpRequest({ method: 'PUT', hostname: '127.0.0.1', port: 9000, path: '/bucket/key', headers }), { signingDate: NOW });
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) lower[k.toLowerCase()] = v;
    req = { ...req, headers: lower };
    auth = verifyRequest(req, lookup, NOW);
  }
  const signed = mode === 'signed' || mode === 'signed-trailer';
  const key = Buffer.from(auth?.signing?.key ?? []);
  const amzDate = auth?.signing?.amzDate ?? '';
  const scope = auth?.signing?.scope ?? '';
  const sign = (sts: string) => createHmac('sha256', key).update(sts).digest('hex');
  let previous = auth?.signature ?? '';
  const parts: Buffer[] = [];
  const chunk = (payload: Buffer) => {
    const ext = opts.extension ?? '';
    if (signed) {
      previous = sign(['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, EMPTY, sha256Hex(payload)].join('\n'));
      parts.push(Buffer.from(`${payload.length.toString(16)};chunk-signature=${previous}${ext}\r\n`));
    } else {
      parts.push(Buffer.from(`${payload.length.toString(16)}${ext}\r\n`));
    }
    if (payload.length > 0) parts.push(payload, Buffer.from('\r\n'));
  };
  for (let i = 0; i < data.length; i += chunkSize) chunk(data.subarray(i, i + chunkSize));
  chunk(Buffer.alloc(0));
  if (trailerName) {
    const block = `${trailerName}:${crc32b64(data)}\n`;
    parts.push(Buffer.from(block.replace('\n', '\r\n')));
    if (signed) {
      const sig = sign(['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previous, sha256Hex(block)].join('\n'));
      parts.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`));
    }
  }
  parts.push(Buffer.from('\r\n'));
  return { req, auth, body: Buffer.concat(parts) };
}

type Split = 'whole' | 'bytewise' | 'random';

function pieces(body: Buffer, split: Split, seed = 42): Buffer[] {
  if (split === 'whole') return [body];
  if (split === 'bytewise') return Array.from({ length: body.length }, (_, i) => body.subarray(i, i + 1));
  const rnd = prng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < body.length;) {
    const n = 1 + Math.floor(rnd() * 200);
    out.push(body.subarray(i, i + n));
    i += n;
  }
  return out;
}

interface Decoded { data: Buffer; trailers: ReadonlyMap<string, string>; verifier: PayloadVerifier }

async function decode(verifier: Transform & PayloadVerifier, input: Buffer[]): Promise<Decoded> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(input, { objectMode: false }), verifier, async function* (src) {
    for await (const c of src) out.push(c as Buffer);
  });
  return { data: Buffer.concat(out), trailers: verifier.trailers, verifier };
}

async function decodeUpload(u: Upload, input: Buffer[] = [u.body]): Promise<Decoded> {
  return decode(createPayloadVerifier(u.auth, u.req.headers), input);
}

async function errorOf(p: Promise<unknown>): Promise<AuthError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error('expected the body to be refused');
}

function corrupt(body: Buffer, find: string, replace: string): Buffer {
  const s = body.toString('latin1');
  const i = s.indexOf(find);
  expect(i).toBeGreaterThanOrEqual(0);
  return Buffer.from(s.slice(0, i) + replace + s.slice(i + find.length), 'latin1');
}

describe('aws-chunked decoding, the four forms', () => {
  // Sizes on the thresholds: empty, one byte, exactly one 64 KiB chunk, one chunk + 1 byte, several chunks.
  const SIZES = [0, 1, 64 * 1024, 64 * 1024 + 1, 200_000];

  for (const mode of MODES) {
    it.each(SIZES)(`${mode}: %i bytes decode to the object, trailers apart`, async (size) => {
      const data = bytes(size, size);
      const u = await upload(mode, data);
      const { data: out, trailers, verifier } = await decodeUpload(u);
      expect(out.equals(data)).toBe(true);
      expect(verifier.decodedLength).toBe(size);
      if (hasTrailer(mode)) expect([...trailers]).toEqual([['x-amz-checksum-crc32', crc32b64(data)]]);
      else expect(trailers.size).toBe(0);
    });

    it.each(['bytewise', 'random'] as const)(`${mode}: the same bytes split %s across reads`, async (split) => {
      const data = bytes(3000, 5);
      const u = await upload(mode, data, 1000);
      for (const seed of split === 'random' ? [1, 2, 3, 4, 5] : [0]) {
        const { data: out, trailers } = await decodeUpload(u, pieces(u.body, split, seed));
        expect(out.equals(data)).toBe(true);
        expect(trailers.size).toBe(hasTrailer(mode) ? 1 : 0);
      }
    });

    it(`${mode}: every truncation is IncompleteBody`, async () => {
      const u = await upload(mode, bytes(300, 6), 128);
      // The final empty line may be left out (the end of the body ends the trailer section),
      // so the last two bytes are not a truncation.
      for (let cut = 0; cut < u.body.length - 2; cut++) {
        const err = await errorOf(decodeUpload(u, [u.body.subarray(0, cut)]));
        expect([cut, err.code, err.status]).toEqual([cut, 'IncompleteBody', 400]);
      }
      await decodeUpload(u, [u.body.subarray(0, u.body.length - 2)]);
    });
  }

  it('an anonymous request may send an unsigned aws-chunked body with a trailer', async () => {
    const data = bytes(5000, 9);
    const u = await upload('unsigned-trailer', data, 4096, { anonymous: true });
    expect(u.auth).toBeNull();
    const { data: out, trailers } = await decodeUpload(u);
    expect(out.equals(data)).toBe(true);
    expect(trailers.get('x-amz-checksum-crc32')).toBe(crc32b64(data));
  });

  it('ignores chunk extensions other than chunk-signature', async () => {
    for (const mode of ['signed', 'unsigned-trailer'] as const) {
      const data = bytes(1000, 10);
      const u = await upload(mode, data, 300, { extension: ';foo=bar;baz' });
      expect((await decodeUpload(u)).data.equals(data)).toBe(true);
    }
  });
});

describe('aws-chunked: refused bodies', () => {
  it('a bad, missing or reordered chunk signature is SignatureDoesNotMatch', async () => {
    const data = bytes(3000, 11);
    const u = await upload('signed', data, 1000);
    const sigs = [...u.body.toString('latin1').matchAll(/chunk-signature=([0-9a-f]{64})/g)].map((m) => m[1]!);
    expect(sigs).toHaveLength(4);
    const flipped = sigs[1]!.slice(0, 63) + (sigs[1]!.endsWith('0') ? '1' : '0');
    const bodies = [
      corrupt(u.body, sigs[1]!, flipped),
      corrupt(u.body, sigs[3]!, flipped), // the final, empty chunk
      corrupt(u.body, `;chunk-signature=${sigs[0]!}`, ''),
      corrupt(corrupt(u.body, sigs[0]!, 'X'.repeat(64)), sigs[1]!, sigs[0]!).toString('latin1').replace('X'.repeat(64), sigs[1]!),
    ].map((b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : b));
    for (const body of bodies) {
      const err = await errorOf(decodeUpload({ ...u, body }));
      expect([err.code, err.status]).toEqual(['SignatureDoesNotMatch', 403]);
    }
  });

  it('a changed data byte is SignatureDoesNotMatch, before the body ends', async () => {
    const data = bytes(3000, 12);
    const u = await upload('signed', data, 1000);
    const body = Buffer.from(u.body);
    const at = body.indexOf('\r\n') + 2 + 500;
    body[at] = body[at]! ^ 1;
    expect((await errorOf(decodeUpload({ ...u, body }))).code).toBe('SignatureDoesNotMatch');
  });

  it('a bad or missing trailer signature is SignatureDoesNotMatch; a changed trailer too', async () => {
    const u = await upload('signed-trailer', bytes(2000, 13), 1000);
    const sig = /x-amz-trailer-signature:([0-9a-f]{64})/.exec(u.body.toString('latin1'))![1]!;
    const checksum = /x-amz-checksum-crc32:(\S+)\r\n/.exec(u.body.toString('latin1'))![1]!;
    for (const body of [
      corrupt(u.body, sig, '0'.repeat(64)),
      corrupt(u.body, `x-amz-trailer-signature:${sig}\r\n`, ''),
      corrupt(u.body, checksum, 'AAAAAA=='),
    ]) {
      expect((await errorOf(decodeUpload({ ...u, body }))).code).toBe('SignatureDoesNotMatch');
    }
  });

  it('a trailer not announced in x-amz-trailer is MalformedTrailerError', async () => {
    const u = await upload('unsigned-trailer', bytes(100, 14));
    const body = corrupt(u.body, 'x-amz-checksum-crc32:', 'x-amz-checksum-sha1:');
    expect((await errorOf(decodeUpload({ ...u, body }))).code).toBe('MalformedTrailerError');
    const none = await upload('signed', bytes(100, 14));
    const extra = corrupt(none.body, '\r\n\r\n', '\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n');
    expect((await errorOf(decodeUpload({ ...none, body: extra }))).code).toBe('MalformedTrailerError');
  });

  it('an announced trailer that never comes is MalformedTrailerError, or IncompleteBody if the body stops', async () => {
    const u = await upload('unsigned-trailer', bytes(100, 18));
    const trailer = /x-amz-checksum-crc32:\S+\r\n/.exec(u.body.toString('latin1'))![0];
    expect((await errorOf(decodeUpload({ ...u, body: corrupt(u.body, trailer, '') }))).code).toBe('MalformedTrailerError');
    const cut = corrupt(u.body, `${trailer}\r\n`, '');
    expect((await errorOf(decodeUpload({ ...u, body: cut }))).code).toBe('IncompleteBody');
  });

  it('CRLF rules, bad sizes and data after the end are InvalidRequest', async () => {
    const u = await upload('unsigned-no-trailer', bytes(100, 15), 60);
    const bad = [
      corrupt(u.body, '3c\r\n', '3c\n'), // chunk line without CR
      corrupt(u.body, '\r\n28\r\n', 'XX28\r\n'), // data not followed by CRLF
      corrupt(u.body, '3c\r\n', '3g\r\n'), // not hex
      corrupt(u.body, '3c\r\n', '\r\n'), // empty size
      Buffer.concat([u.body, Buffer.from('junk')]),
    ];
    for (const body of bad) {
      const err = await errorOf(decodeUpload({ ...u, body }));
      expect([err.code, err.status]).toEqual(['InvalidRequest', 400]);
    }
  });

  it('x-amz-decoded-content-length must match the decoded bytes', async () => {
    const u = await upload('unsigned-no-trailer', bytes(100, 16));
    const more = { ...u.req.headers, 'x-amz-decoded-content-length': '101' };
    expect((await errorOf(decode(createPayloadVerifier(null, more), [u.body]))).code).toBe('IncompleteBody');
    const less = { ...u.req.headers, 'x-amz-decoded-content-length': '99' };
    expect((await errorOf(decode(createPayloadVerifier(null, less), [u.body]))).code).toBe('InvalidRequest');
  });

  it('refuses a chunk header line that never ends', async () => {
    const u = await upload('unsigned-no-trailer', bytes(10, 17));
    const body = Buffer.from(`a;${'x'.repeat(5000)}`);
    expect((await errorOf(decodeUpload({ ...u, body }))).code).toBe('InvalidRequest');
  });
});

describe('plain bodies', () => {
  async function plain(contentSha256: string, data: Buffer, extra: Record<string, string> = {}): Promise<Upload> {
    const signer = new SignatureV4({ credentials: { accessKeyId: AK, secretAccessKey: SECRET }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false });
    const headers = { host: HOST, 'x-amz-content-sha256': contentSha256, 'content-length': String(data.length), ...extra };
    const signed = await signer.sign(new HttpRequest({ method: 'PUT', hostname: '127.0.0.1', path: '/b/k', headers }), { signingDate: NOW });
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) lower[k.toLowerCase()] = v;
    const req = { method: 'PUT', rawPath: '/b/k', rawQuery: '', headers: lower };
    return { req, auth: verifyRequest(req, lookup, NOW), body: data };
  }

  it('a signed sha256 payload passes when it matches, XAmzContentSHA256Mismatch when not', async () => {
    const data = bytes(10_000, 20);
    const u = await plain(sha256Hex(data), data);
    expect((await decodeUpload(u, pieces(data, 'random'))).data.equals(data)).toBe(true);
    const other = Buffer.from(data);
    other[5000] = other[5000]! ^ 1;
    const err = await errorOf(decodeUpload({ ...u, body: other }));
    expect([err.code, err.status]).toEqual(['XAmzContentSHA256Mismatch', 400]);
    expect(err).toBeInstanceOf(PayloadError);
  });

  it('UNSIGNED-PAYLOAD passes through; a short body is IncompleteBody', async () => {
    const data = bytes(1000, 21);
    const u = await plain('UNSIGNED-PAYLOAD', data);
    expect((await decodeUpload(u)).data.equals(data)).toBe(true);
    expect((await errorOf(decodeUpload({ ...u, body: data.subarray(0, 999) }))).code).toBe('IncompleteBody');
  });

  it('storedContentEncoding drops aws-chunked', () => {
    expect(storedContentEncoding('aws-chunked')).toBeUndefined();
    expect(storedContentEncoding('gzip,aws-chunked')).toBe('gzip');
    expect(storedContentEncoding('aws-chunked, br')).toBe('br');
    expect(storedContentEncoding(undefined)).toBeUndefined();
  });
});

/** What the official S3 client puts on the wire, captured by a loopback server. */
interface Captured { method: string; url: string; headers: IncomingMessage['headersDistinct']; body: Buffer }

async function captureServer(): Promise<{ endpoint: string; requests: Captured[] }> {
  const requests: Captured[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headersDistinct, body: Buffer.concat(parts) });
      res.writeHead(200, { etag: '"0"', 'content-length': '0' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onClose(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('bodies sent by @aws-sdk/client-s3', () => {
  it.each(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA256'] as const)('PutObject with a stream body and a %s trailer', async (algorithm) => {
    const { endpoint, requests } = await captureServer();
    const client = new S3Client({
      endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: AK, secretAccessKey: SECRET },
      requestChecksumCalculation: 'WHEN_SUPPORTED',
    });
    onClose(() => client.destroy());
    const data = bytes(300_000, 30);
    await client.send(new PutObjectCommand({
      Bucket: 'bucket', Key: 'dir/a b+é.bin', Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
      ContentLength: data.length, ChecksumAlgorithm: algorithm,
    }));
    expect(requests).toHaveLength(1);
    const r = requests[0]!;
    const q = r.url.indexOf('?');
    const req: SignedRequest = { method: r.method, rawPath: q < 0 ? r.url : r.url.slice(0, q), rawQuery: q < 0 ? '' : r.url.slice(q + 1), headers: r.headers };
    const amzDate = r.headers['x-amz-date']![0]!;
    const signedAt = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    const auth = verifyRequest(req, lookup, signedAt);
    expect(auth?.payload).toMatchObject({ kind: 'streaming', signed: false, trailer: true });

    const plan = expectedChecksums(req.headers);
    expect(plan.algorithm).toBe(algorithm);
    const set = new ChecksumSet(plan.compute);
    const verifier = createPayloadVerifier(auth, req.headers);
    const { data: out } = await decode(verifier, pieces(r.body, 'random'));
    await pipeline(Readable.from([out]), checksumStream(set), async function* (src) { for await (const _ of src); });
    expect(out.equals(data)).toBe(true);
    expect(verifyChecksums(plan, set.digest(), verifier.trailers).algorithm).toBe(algorithm);
  });
});

describe('the example of the AWS SigV4 streaming documentation', () => {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html: 66560 bytes of 'a'
  // in chunks of 64 KiB, 1 KiB and 0, with the signatures the page gives.
  it('verifies the seed and every chunk signature', async () => {
    const headers = {
      host: 's3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560',
      'content-length': '66824',
    };
    const req = { method: 'PUT', rawPath: '/examplebucket/chunkObject.txt', rawQuery: '', headers };
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const auth = verifyRequest(req, (id) => (id === 'AKIAIOSFODNN7EXAMPLE' ? secret : undefined), new Date('2013-05-24T00:00:00Z'));
    const a = Buffer.alloc(66560, 'a');
    const body = Buffer.concat([
      Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'), a.subarray(0, 65536), Buffer.from('\r\n'),
      Buffer.from('400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'), a.subarray(65536), Buffer.from('\r\n'),
      Buffer.from('0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
    ]);
    expect(body.length).toBe(66824);
    const { data } = await decode(createPayloadVerifier(auth, headers), pieces(body, 'random'));
    expect(data.equals(a)).toBe(true);
  });
});

// Decoder throughput, for the report: `BENCH=1 npx vitest run test/unit/streaming.test.ts -t throughput`.
describe.runIf(process.env.BENCH === '1')('throughput (64 MiB)', () => {
  it.each(['signed', 'signed-trailer', 'unsigned-trailer'] as const)('%s, 64 KiB chunks, 16 KiB reads', async (mode) => {
    const data = bytes(64 * 1024 * 1024, 99);
    const u = await upload(mode, data);
    const reads: Buffer[] = [];
    for (let i = 0; i < u.body.length; i += 16 * 1024) reads.push(u.body.subarray(i, i + 16 * 1024)); // socket-sized reads
    for (let round = 0; round < 2; round++) { // the first round warms up
      const verifier = createPayloadVerifier(u.auth, u.req.headers);
      let n = 0;
      verifier.on('data', (c: Buffer) => { n += c.length; });
      const done = new Promise((resolve, reject) => verifier.on('end', resolve).on('error', reject));
      const t0 = performance.now();
      for (const r of reads) verifier.write(r);
      verifier.end();
      await done;
      const ms = performance.now() - t0;
      expect(n).toBe(data.length);
      if (round === 1) console.log(`aws-chunked ${mode}: ${Math.round(64 / 1.048576 / (ms / 1000))} MB/s`);
    }
  });
});
