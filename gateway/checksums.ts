/**
 * S3 object checksums: the additional checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) and
 * Content-MD5, computed while the body streams and compared when it ends.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 *
 * The CRCs run in the native addon when the engine is native (codec/native-crc.ts: carry-
 * less multiply folding, 10-40 GB/s on 64 KiB chunks). Without it, CRC32 is zlib's and
 * CRC32C and CRC64NVME are our own slice-by-8 tables in JS, because on 64 MiB (Node 20, one
 * core) they measured CRC32C ~1100 MB/s against ~120 MB/s for the byte-at-a-time
 * @aws-crypto/crc32c, and CRC64NVME ~810 MB/s against ~530 MB/s for @aws-sdk/crc64-nvme,
 * whose digest is also async. (zlib CRC32 ~2200, SHA-256 ~1300, MD5 ~730.)
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { engineBinding } from '../codec/engine.js';
import { nativeCrc32, nativeCrc32c, nativeCrc64Nvme } from '../codec/native-crc.js';
import type { NativeBinding } from '../codec/native.js';
import { PayloadError } from './auth/errors.js';
import { headerValue, type RequestHeaders } from './auth/canonical.js';

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
/** What a ChecksumSet can compute: the additional checksums and MD5 (for Content-MD5). */
export type DigestName = ChecksumAlgorithm | 'MD5';

/** Digest sizes in bytes; a base64 value of another size is malformed. */
const DIGEST_BYTES: Record<DigestName, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32, MD5: 16 };

// ---- CRC-32C (Castagnoli, reflected 0x82F63B78), slice-by-8 ----

const C32 = new Uint32Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let j = 0; j < 8; j++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  C32[i] = c >>> 0;
}
for (let k = 1; k < 8; k++) {
  for (let i = 0; i < 256; i++) {
    const prev = C32[(k - 1) * 256 + i]!;
    C32[k * 256 + i] = (prev >>> 8) ^ C32[prev & 0xff]!;
  }
}

/** Continues a CRC-32C over `data`; start from 0. */
export function crc32c(data: Uint8Array, previous = 0): number {
  const t = C32;
  let crc = ~previous >>> 0;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    const b = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    crc = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^ t[1024 + (a >>> 24)]!
      ^ t[768 + (b & 0xff)]! ^ t[512 + ((b >>> 8) & 0xff)]! ^ t[256 + ((b >>> 16) & 0xff)]! ^ t[b >>> 24]!;
  }
  for (; i < n; i++) crc = (crc >>> 8) ^ t[(crc ^ data[i]!) & 0xff]!;
  return ~crc >>> 0;
}

// ---- CRC-64/NVME (reflected 0x9A6C9329AC4BC9B5), slice-by-8 on two 32-bit halves ----

const C64_HI = new Uint32Array(8 * 256);
const C64_LO = new Uint32Array(8 * 256);
{
  const POLY_HI = 0x9a6c9329;
  const POLY_LO = 0xac4bc9b5;
  for (let i = 0; i < 256; i++) {
    let hi = 0;
    let lo = i;
    for (let j = 0; j < 8; j++) {
      const lsb = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi >>>= 1;
      if (lsb) {
        hi = (hi ^ POLY_HI) >>> 0;
        lo = (lo ^ POLY_LO) >>> 0;
      }
    }
    C64_HI[i] = hi;
    C64_LO[i] = lo;
  }
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const ph = C64_HI[(k - 1) * 256 + i]!;
      const pl = C64_LO[(k - 1) * 256 + i]!;
      const idx = pl & 0xff;
      // (prev >>> 8) ^ T0[prev & 0xff], on 64 bits split in two.
      C64_HI[k * 256 + i] = (ph >>> 8) ^ C64_HI[idx]!;
      C64_LO[k * 256 + i] = (((pl >>> 8) | (ph << 24)) ^ C64_LO[idx]!) >>> 0;
    }
  }
}

/** Running CRC-64/NVME; `digest()` gives the 8 bytes big-endian, as S3 encodes it. */
export class Crc64Nvme {
  private hi = 0xffffffff;
  private lo = 0xffffffff;

  update(data: Uint8Array): void {
    const th = C64_HI;
    const tl = C64_LO;
    let hi = this.hi;
    let lo = this.lo;
    let i = 0;
    const n = data.length;
    for (; i + 8 <= n; i += 8) {
      const a = lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
      const b = hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
      const i0 = 1792 + (a & 0xff), i1 = 1536 + ((a >>> 8) & 0xff), i2 = 1280 + ((a >>> 16) & 0xff), i3 = 1024 + (a >>> 24);
      const i4 = 768 + (b & 0xff), i5 = 512 + ((b >>> 8) & 0xff), i6 = 256 + ((b >>> 16) & 0xff), i7 = b >>> 24;
      hi = th[i0]! ^ th[i1]! ^ th[i2]! ^ th[i3]! ^ th[i4]! ^ th[i5]! ^ th[i6]! ^ th[i7]!;
      lo = tl[i0]! ^ tl[i1]! ^ tl[i2]! ^ tl[i3]! ^ tl[i4]! ^ tl[i5]! ^ tl[i6]! ^ tl[i7]!;
    }
    for (; i < n; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ tl[idx]!;
      hi = (hi >>> 8) ^ th[idx]!;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  digest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return out;
  }
}

// ---- running set ----

interface Running {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

class Crc32Running implements Running {
  constructor(private readonly fn: (data: Uint8Array, prev: number) => number, private value = 0) {}
  update(data: Uint8Array): void {
    // Node's zlib.crc32 can answer 0 for an empty buffer instead of the running value it was
    // given, which would silently restart the checksum mid-stream.
    if (data.length === 0) return;
    this.value = this.fn(data, this.value);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.value >>> 0, 0);
    return out;
  }
}

class NativeCrc64Running implements Running {
  private value = 0n;
  constructor(private readonly binding: NativeBinding) {}
  update(data: Uint8Array): void {
    this.value = nativeCrc64Nvme(this.binding, data, this.value);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeBigUInt64BE(this.value, 0);
    return out;
  }
}

class HashRunning implements Running {
  private readonly hash: Hash;
  constructor(algorithm: string) {
    this.hash = createHash(algorithm);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

function running(name: DigestName, native: NativeBinding | null): Running {
  switch (name) {
    case 'CRC32': return new Crc32Running(native ? (d, prev) => nativeCrc32(native, d, prev) : zlibCrc32);
    case 'CRC32C': return new Crc32Running(native ? (d, prev) => nativeCrc32c(native, d, prev) : crc32c);
    case 'CRC64NVME': return native ? new NativeCrc64Running(native) : new Crc64Nvme();
    case 'SHA1': return new HashRunning('sha1');
    case 'SHA256': return new HashRunning('sha256');
    case 'MD5': return new HashRunning('md5');
  }
}

export interface ChecksumSetOptions {
  /**
   * Who computes the CRCs: the addon given, or the JS code for null. By default the addon
   * when the process's engine is native (see codec/engine.ts engineBinding).
   */
  native?: NativeBinding | null;
}

/** Several digests of the same bytes. `digest()` once, at the end; values are base64 as S3 sends them. */
export class ChecksumSet {
  private readonly parts: Array<[DigestName, Running]>;

  constructor(names: Iterable<DigestName>, options: ChecksumSetOptions = {}) {
    const unique = [...new Set(names)];
    // The engine is only consulted when a CRC is asked for: most requests carry none.
    const crcs = unique.some((n) => n.startsWith('CRC'));
    const native = options.native !== undefined ? options.native : crcs ? engineBinding() : null;
    this.parts = unique.map((n) => [n, running(n, native)]);
  }

  update(data: Uint8Array): void {
    for (const [, r] of this.parts) r.update(data);
  }

  digest(): Partial<Record<DigestName, string>> {
    const out: Partial<Record<DigestName, string>> = {};
    for (const [n, r] of this.parts) out[n] = r.digest().toString('base64');
    return out;
  }
}

/** A pass-through that feeds every byte to `set`. */
export function checksumStream(set: ChecksumSet): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      set.update(chunk);
      cb(null, chunk);
    },
  });
}

// ---- what the request asks for ----

/** The checksums a request asks for, read from its headers before the body. */
export interface ChecksumPlan {
  /** The object's additional checksum algorithm, if any (from a header, a trailer or the default). */
  algorithm?: ChecksumAlgorithm;
  /** Its expected value: in a header (base64), in the named trailer, or none (compute and store only). */
  expected?: { from: 'header'; value: string } | { from: 'trailer'; name: string };
  /** Content-MD5 (base64), when sent. */
  contentMd5?: string;
  /** What to feed a ChecksumSet with. */
  compute: DigestName[];
}

function invalidRequest(message: string): PayloadError {
  return new PayloadError('InvalidRequest', message);
}

/**
 * A checksum value that is no digest of the algorithm ("bad", a CRC32 of 8 bytes) cannot match
 * the body: S3 answers BadDigest, as for a well-formed value that does not match.
 */
function mismatch(algorithm: ChecksumAlgorithm, details: Record<string, string> = {}): PayloadError {
  return new PayloadError('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`, details);
}

function algorithmOfName(headerName: string): ChecksumAlgorithm | undefined {
  const suffix = headerName.slice('x-amz-checksum-'.length).toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(suffix) ? (suffix as ChecksumAlgorithm) : undefined;
}

function wellFormed(value: string, bytes: number): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0 && Buffer.from(value, 'base64').length === bytes;
}

/** Headers named x-amz-checksum-* that carry a value (not -type, not -algorithm of CreateMultipartUpload). */
const NOT_A_VALUE = new Set(['x-amz-checksum-type', 'x-amz-checksum-algorithm', 'x-amz-checksum-mode']);

/** The request's `x-amz-checksum-<algorithm>` value headers, trimmed; an unknown algorithm is InvalidRequest. */
function* checksumHeaders(headers: RequestHeaders): Generator<{ name: string; algorithm: ChecksumAlgorithm; value: string }> {
  for (const name of Object.keys(headers)) {
    if (!name.startsWith('x-amz-checksum-') || NOT_A_VALUE.has(name)) continue;
    const raw = headerValue(headers, name);
    if (raw === undefined) continue;
    const algorithm = algorithmOfName(name);
    if (!algorithm) throw invalidRequest(`The algorithm of ${name} is not supported.`);
    yield { name, algorithm, value: raw.trim() };
  }
}

/**
 * Reads x-amz-checksum-*, x-amz-sdk-checksum-algorithm, x-amz-trailer and Content-MD5.
 * Throws PayloadError: InvalidRequest (unknown or conflicting algorithms), BadDigest (a value
 * that is no digest of its algorithm), InvalidDigest (malformed Content-MD5). `defaultAlgorithm` is computed and stored when the
 * request names none (AWS S3 does so with CRC64NVME).
 */
export function expectedChecksums(headers: RequestHeaders, opts: { defaultAlgorithm?: ChecksumAlgorithm } = {}): ChecksumPlan {
  const plan: ChecksumPlan = { compute: [] };
  const found: Array<{ algorithm: ChecksumAlgorithm; expected: NonNullable<ChecksumPlan['expected']> }> = [];

  for (const { algorithm, value } of checksumHeaders(headers)) {
    found.push({ algorithm, expected: { from: 'header', value } });
  }
  const trailer = headerValue(headers, 'x-amz-trailer');
  for (const raw of trailer === undefined ? [] : trailer.split(',')) {
    const name = raw.trim().toLowerCase();
    if (!name.startsWith('x-amz-checksum-')) continue;
    const algorithm = algorithmOfName(name);
    if (!algorithm) throw invalidRequest(`The algorithm of trailer ${name} is not supported.`);
    found.push({ algorithm, expected: { from: 'trailer', name } });
  }
  if (found.length > 1) throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const given = found[0];
  if (given?.expected.from === 'header' && !wellFormed(given.expected.value, DIGEST_BYTES[given.algorithm])) throw mismatch(given.algorithm);

  const sdk = headerValue(headers, 'x-amz-sdk-checksum-algorithm')?.trim().toUpperCase();
  if (sdk !== undefined && !(CHECKSUM_ALGORITHMS as readonly string[]).includes(sdk)) {
    throw invalidRequest('Value for x-amz-sdk-checksum-algorithm header is invalid.');
  }
  const one = found[0];
  if (sdk !== undefined && !one) {
    throw invalidRequest('x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.');
  }
  if (sdk !== undefined && one && one.algorithm !== sdk) throw invalidRequest('Value for x-amz-sdk-checksum-algorithm header is invalid.');

  if (one) {
    plan.algorithm = one.algorithm;
    plan.expected = one.expected;
  } else if (opts.defaultAlgorithm) {
    plan.algorithm = opts.defaultAlgorithm;
  }
  if (plan.algorithm) plan.compute.push(plan.algorithm);

  const md5 = headerValue(headers, 'content-md5');
  if (md5 !== undefined) {
    if (!wellFormed(md5.trim(), 16)) throw new PayloadError('InvalidDigest', 'The Content-MD5 you specified is not valid.');
    plan.contentMd5 = md5.trim();
    plan.compute.push('MD5');
  }
  return plan;
}

export interface VerifiedChecksums {
  algorithm?: ChecksumAlgorithm;
  /** The object's checksum (base64) to store and return. */
  value?: string;
  /** Base64 MD5 when Content-MD5 was checked. */
  md5?: string;
}

/**
 * Compares what was computed with what the request said, once the body has ended (trailers
 * included). Throws PayloadError BadDigest on a mismatch (a malformed trailer value included),
 * MalformedTrailerError when an announced checksum trailer never came.
 */
export function verifyChecksums(
  plan: ChecksumPlan, computed: Partial<Record<DigestName, string>>, trailers: ReadonlyMap<string, string> = new Map(),
): VerifiedChecksums {
  const out: VerifiedChecksums = {};
  if (plan.contentMd5 !== undefined) {
    if (computed.MD5 !== plan.contentMd5) throw new PayloadError('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    out.md5 = computed.MD5;
  }
  if (!plan.algorithm) return out;
  const value = computed[plan.algorithm];
  if (value === undefined) throw new Error(`checksum ${plan.algorithm} was not computed`);
  let expected: string | undefined;
  if (plan.expected?.from === 'header') {
    expected = plan.expected.value;
  } else if (plan.expected?.from === 'trailer') {
    expected = trailers.get(plan.expected.name);
    if (expected === undefined) {
      throw new PayloadError('MalformedTrailerError', `The trailer ${plan.expected.name} announced in x-amz-trailer was not sent.`);
    }
  }
  if (expected !== undefined && expected !== value) throw mismatch(plan.algorithm, { ClientComputedChecksum: expected, S3ComputedChecksum: value });
  out.algorithm = plan.algorithm;
  out.value = value;
  return out;
}

// ---- CompleteMultipartUpload: the checksum of the object being completed ----

/** The type S3 gives a stored object checksum: a composite one ends in "-<part count>". */
export function checksumTypeOf(value: string): 'COMPOSITE' | 'FULL_OBJECT' {
  return value.includes('-') ? 'COMPOSITE' : 'FULL_OBJECT';
}

/** The checksum a CompleteMultipartUpload says the completed object has. */
export interface CompletedObjectChecksum {
  algorithm: ChecksumAlgorithm;
  /** The header it came in, for error messages. */
  header: string;
  /** Base64 of the digest; a composite one ends in "-<part count>". */
  value: string;
}

/**
 * On CompleteMultipartUpload, x-amz-checksum-* states the checksum of the object being
 * completed, not of the request document: a full-object value (the digest in base64) or a
 * composite one, "<base64 digest>-<part count>", as S3 answers it. Throws BadDigest for a
 * malformed value, InvalidRequest for more than one such header.
 */
export function completedObjectChecksum(headers: RequestHeaders): CompletedObjectChecksum | undefined {
  const found = [...checksumHeaders(headers)];
  if (found.length > 1) throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const [one] = found;
  if (!one) return undefined;
  const m = /^([^-]*)(?:-([1-9]\d{0,4}))?$/.exec(one.value);
  if (!m || !wellFormed(m[1]!, DIGEST_BYTES[one.algorithm])) throw mismatch(one.algorithm);
  return { algorithm: one.algorithm, header: one.name, value: one.value };
}

/**
 * `headers` without the x-amz-checksum-* values and x-amz-sdk-checksum-algorithm, for
 * checking a CompleteMultipartUpload document: those headers describe the object.
 */
export function withoutObjectChecksumHeaders<H extends RequestHeaders>(headers: H): H {
  const out: Record<string, string | readonly string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'x-amz-sdk-checksum-algorithm') continue;
    if (name.startsWith('x-amz-checksum-') && !NOT_A_VALUE.has(name)) continue;
    out[name] = value;
  }
  return out as H;
}
