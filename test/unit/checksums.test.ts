import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { Crc32c as AwsCrc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme as SdkCrc64Nvme } from '@aws-sdk/crc64-nvme';
import { PayloadError } from '../../gateway/auth/errors.js';
import {
  ChecksumSet, Crc64Nvme, checksumStream, crc32c, expectedChecksums, verifyChecksums, type DigestName,
} from '../../gateway/checksums.js';

/** Deterministic bytes: AES-CTR keystream would do too; a hash chain is enough here. */
function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let block = createHash('sha256').update(String(seed)).digest();
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i, 0, Math.min(32, n - i));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

const CHECK = Buffer.from('123456789');
const b64be = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b.toString('base64'); };

async function sdkCrc64(data: Uint8Array): Promise<string> {
  const h = new SdkCrc64Nvme();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

describe('checksum algorithms', () => {
  it('match the published check values of "123456789"', () => {
    expect(crc32c(CHECK)).toBe(0xe3069283);
    const c = new Crc64Nvme();
    c.update(CHECK);
    expect(c.digest().toString('hex')).toBe('ae8b14860a799888');
  });

  it('CRC32C matches @aws-crypto/crc32c on every length 0..80 and when fed in pieces', () => {
    const data = bytes(4099, 7);
    for (let n = 0; n <= 80; n++) expect(crc32c(data.subarray(0, n))).toBe(new AwsCrc32c().update(data.subarray(0, n)).digest());
    let running = 0;
    for (let i = 0; i < data.length; i += 13) running = crc32c(data.subarray(i, i + 13), running);
    expect(running).toBe(new AwsCrc32c().update(data).digest());
  });

  it('CRC64NVME matches @aws-sdk/crc64-nvme on every length 0..80 and when fed in pieces', async () => {
    const data = bytes(4099, 8);
    for (let n = 0; n <= 80; n++) {
      const c = new Crc64Nvme();
      c.update(data.subarray(0, n));
      expect(c.digest().toString('base64')).toBe(await sdkCrc64(data.subarray(0, n)));
    }
    const c = new Crc64Nvme();
    for (let i = 0; i < data.length; i += 7) c.update(data.subarray(i, i + 7));
    expect(c.digest().toString('base64')).toBe(await sdkCrc64(data));
  });

  it('ChecksumSet gives base64 values as S3 does, the same whatever the split', () => {
    const data = bytes(100_003, 3);
    const all: DigestName[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256', 'MD5'];
    const whole = new ChecksumSet(all);
    whole.update(data);
    const parts = new ChecksumSet(all);
    for (let i = 0; i < data.length; i += 4096 + 3) parts.update(data.subarray(i, i + 4096 + 3));
    const d = whole.digest();
    expect(parts.digest()).toEqual(d);
    expect(d.CRC32).toBe(b64be(zlibCrc32(data)));
    expect(d.SHA256).toBe(createHash('sha256').update(data).digest('base64'));
    expect(d.MD5).toBe(createHash('md5').update(data).digest('base64'));
    // The empty object, as S3 reports it.
    expect(new ChecksumSet(['CRC32']).digest().CRC32).toBe('AAAAAA==');
  });

  it('checksumStream passes bytes through and feeds the set', async () => {
    const data = bytes(70_000, 4);
    const set = new ChecksumSet(['CRC32C']);
    const out: Buffer[] = [];
    await pipeline(Readable.from([data.subarray(0, 5), data.subarray(5)]), checksumStream(set), async function* (src) {
      for await (const c of src) out.push(c as Buffer);
    });
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(set.digest().CRC32C).toBe(b64be(crc32c(data)));
  });
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PayloadError);
    return (err as PayloadError).code;
  }
  return undefined;
}

describe('expectedChecksums / verifyChecksums', () => {
  const data = Buffer.from('hello world');
  const digests = (names: DigestName[]) => { const s = new ChecksumSet(names); s.update(data); return s.digest(); };
  const crc32 = b64be(zlibCrc32(data));
  const md5 = createHash('md5').update(data).digest('base64');

  it('a checksum header: computed and compared', () => {
    const plan = expectedChecksums({ 'x-amz-checksum-crc32': crc32, 'x-amz-sdk-checksum-algorithm': 'crc32' });
    expect(plan).toEqual({ algorithm: 'CRC32', expected: { from: 'header', value: crc32 }, compute: ['CRC32'] });
    expect(verifyChecksums(plan, digests(plan.compute))).toEqual({ algorithm: 'CRC32', value: crc32 });
    const wrong = expectedChecksums({ 'x-amz-checksum-crc32': 'AAAAAA==' });
    expect(codeOf(() => verifyChecksums(wrong, digests(wrong.compute)))).toBe('BadDigest');
  });

  it('a checksum trailer (aws-cli sends CRC64NVME, boto3 CRC32): compared with the trailer value', () => {
    const plan = expectedChecksums({ 'x-amz-trailer': 'x-amz-checksum-crc64nvme', 'x-amz-sdk-checksum-algorithm': 'CRC64NVME' });
    expect(plan.expected).toEqual({ from: 'trailer', name: 'x-amz-checksum-crc64nvme' });
    const d = digests(plan.compute);
    const trailers = new Map([['x-amz-checksum-crc64nvme', d.CRC64NVME!]]);
    expect(verifyChecksums(plan, d, trailers).value).toBe(d.CRC64NVME);
    expect(codeOf(() => verifyChecksums(plan, d, new Map([['x-amz-checksum-crc64nvme', 'AAAAAAAAAAA=']])))).toBe('BadDigest');
    // A value that is no CRC64NVME cannot match: BadDigest, as S3 answers.
    expect(codeOf(() => verifyChecksums(plan, d, new Map([['x-amz-checksum-crc64nvme', 'nope']])))).toBe('BadDigest');
    expect(codeOf(() => verifyChecksums(plan, d, new Map()))).toBe('MalformedTrailerError');
  });

  it('Content-MD5: checked; malformed is InvalidDigest, wrong is BadDigest', () => {
    const plan = expectedChecksums({ 'content-md5': md5 });
    expect(plan.compute).toEqual(['MD5']);
    expect(verifyChecksums(plan, digests(plan.compute))).toEqual({ md5 });
    expect(codeOf(() => expectedChecksums({ 'content-md5': 'abc' }))).toBe('InvalidDigest');
    expect(codeOf(() => expectedChecksums({ 'content-md5': crc32 }))).toBe('InvalidDigest'); // 4 bytes, not 16
    const wrong = expectedChecksums({ 'content-md5': createHash('md5').update('x').digest('base64') });
    expect(codeOf(() => verifyChecksums(wrong, digests(wrong.compute)))).toBe('BadDigest');
  });

  it('refuses unknown and conflicting checksum headers with InvalidRequest, malformed values with BadDigest', () => {
    expect(codeOf(() => expectedChecksums({ 'x-amz-sdk-checksum-algorithm': 'MD4', 'x-amz-checksum-crc32': crc32 }))).toBe('InvalidRequest');
    expect(codeOf(() => expectedChecksums({ 'x-amz-checksum-whirlpool': 'AAAA' }))).toBe('InvalidRequest');
    expect(codeOf(() => expectedChecksums({ 'x-amz-checksum-crc32': crc32, 'x-amz-checksum-sha1': 'AAAA' }))).toBe('InvalidRequest');
    // A value that is no digest of its algorithm cannot match the body (s3-tests sends "bad").
    expect(codeOf(() => expectedChecksums({ 'x-amz-checksum-crc32': 'AAAAAAAAAAA=' }))).toBe('BadDigest'); // 8 bytes for a CRC32
    expect(codeOf(() => expectedChecksums({ 'x-amz-checksum-sha256': 'bad' }))).toBe('BadDigest');
    expect(codeOf(() => expectedChecksums({ 'x-amz-checksum-crc64nvme': 'bad' }))).toBe('BadDigest');
    expect(codeOf(() => expectedChecksums({ 'x-amz-sdk-checksum-algorithm': 'CRC32' }))).toBe('InvalidRequest');
    expect(codeOf(() => expectedChecksums({ 'x-amz-sdk-checksum-algorithm': 'SHA1', 'x-amz-checksum-crc32': crc32 }))).toBe('InvalidRequest');
    // CreateMultipartUpload's algorithm header and the checksum type are not values.
    expect(expectedChecksums({ 'x-amz-checksum-algorithm': 'CRC32', 'x-amz-checksum-type': 'FULL_OBJECT' })).toEqual({ compute: [] });
  });

  it('a default algorithm is computed and stored when the request names none', () => {
    const plan = expectedChecksums({}, { defaultAlgorithm: 'CRC64NVME' });
    expect(plan).toEqual({ algorithm: 'CRC64NVME', compute: ['CRC64NVME'] });
    expect(verifyChecksums(plan, digests(plan.compute)).algorithm).toBe('CRC64NVME');
  });
});

// Throughput on 64 MiB, for the report: `BENCH=1 npx vitest run test/unit/checksums.test.ts`.
describe.runIf(process.env.BENCH === '1')('throughput (64 MiB)', () => {
  it('measures MB/s', async () => {
    const data = bytes(64 * 1024 * 1024, 9);
    const mbps = (ms: number) => Math.round(64 / 1.048576 / (ms / 1000));
    const time = async (name: string, fn: () => unknown) => {
      await fn(); // warm up on the same data: tables and JIT
      const t0 = performance.now();
      await fn();
      console.log(`${name.padEnd(28)} ${mbps(performance.now() - t0)} MB/s`);
    };
    await time('CRC32 (zlib)', () => zlibCrc32(data));
    await time('CRC32C (ours, slice-by-8)', () => crc32c(data));
    await time('CRC32C (@aws-crypto/crc32c)', () => new AwsCrc32c().update(data).digest());
    await time('CRC64NVME (ours)', () => { const c = new Crc64Nvme(); c.update(data); return c.digest(); });
    await time('CRC64NVME (@aws-sdk)', () => sdkCrc64(data));
    for (const n of ['SHA1', 'SHA256', 'MD5'] as const) await time(n, () => { const s = new ChecksumSet([n]); s.update(data); return s.digest(); });
  });
});

// Regression: zlib.crc32 of a zero-length buffer can return 0 rather than the value it was
// passed, so an empty chunk mid-body restarted the object's CRC32.
describe('empty chunks', () => {
  it('leave every running checksum unchanged', () => {
    const a = randomBytes(5000);
    const b = randomBytes(3000);
    const names = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256', 'MD5'] as const;
    const split = new ChecksumSet(names);
    for (const part of [a, randomBytes(0), Buffer.alloc(0), b.subarray(0, 0), b]) split.update(part);
    const whole = new ChecksumSet(names);
    whole.update(Buffer.concat([a, b]));
    expect(split.digest()).toEqual(whole.digest());
  });
});
