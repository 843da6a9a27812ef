import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_MASK, DATA_MASK, K, M, N, PARITY_MASK, popcount, type ErasureCoder } from './erasure.js';
import { CodecArgumentError, CodecError } from './errors.js';
import { checkLayout } from './ronomon.js';

/**
 * The project's N-API addon (native/): XOR kernels for the 10+6 code, the fused per-segment
 * call with MD5 (on the libuv threadpool, small segments synchronously) and the CRCs. This
 * module finds it, types it and validates every argument before C sees it (C checks again,
 * and asserts its own invariants).
 */

/** XOR kernels, slowest to fastest. The code is a GF(2^4) bit-matrix code (see native/src/rs_matrix.h). */
export const KERNELS = ['scalar', 'sse2', 'avx2', 'avx512'] as const;
export type RsKernel = (typeof KERNELS)[number];

export interface NativeInfo {
  /** Kernel new calls use. */
  kernel: RsKernel;
  /** Every kernel the addon was built with, and those this CPU and OS can run. */
  kernels: RsKernel[];
  supportedKernels: RsKernel[];
  /** CPU features seen at load, comma separated. */
  cpu: string;
  /** CRC kernel (piece checksums and object checksums alike); see CRC_KERNELS. */
  crc: CrcKernel;
  /** The CRC kernels this CPU can run, slowest first. */
  supportedCrcKernels: CrcKernel[];
  /** AES-256-GCM kernel of the segment codec; see GCM_KERNELS. */
  gcm: GcmKernel;
  /** The GCM kernels this CPU can run, slowest first. */
  supportedGcmKernels: GcmKernel[];
  /** How piece hashes (audit leaves) are taken; see PIECE_HASHES. */
  pieceHash: PieceHash;
  /** Those this CPU can run, slowest first. */
  supportedPieceHashes: PieceHash[];
  /** Whether md5xUpdateMany runs 16 objects' MD5 side by side (AVX-512; codec/md5-lanes.ts). */
  md5Lanes: boolean;
}

/**
 * How a segment's piece hashes (SHA-256, the audit leaves) are taken, slowest first: one by
 * one with OpenSSL, or four pieces at once on the SHA extensions (native/src/sha256_lanes.c).
 * Same digests; picked at load from the CPU.
 */
export const PIECE_HASHES = ['openssl', 'sha-ni-x4'] as const;
export type PieceHash = (typeof PIECE_HASHES)[number];

/**
 * CRC kernels, slowest to fastest: slice-by-8 tables (zlib's code for CRC-32), 128-bit
 * PCLMULQDQ folding (with SSE4.2's crc32 instruction for short CRC-32C inputs), 512-bit
 * VPCLMULQDQ folding. Picked at load from the CPU.
 */
export const CRC_KERNELS = ['table', 'pclmulqdq', 'vpclmulqdq'] as const;
export type CrcKernel = (typeof CRC_KERNELS)[number];

/**
 * AES-256-GCM kernels of the segment codec, slowest first: OpenSSL as Node links it (3.0:
 * 128-bit AES-NI), and the addon's own on VAES and VPCLMULQDQ (native/src/gcm_fast.c), 16
 * blocks a step. Same bytes and tags; picked at load from the CPU.
 */
export const GCM_KERNELS = ['openssl', 'vaes512'] as const;
export type GcmKernel = (typeof GCM_KERNELS)[number];

type Done = (error: Error | undefined) => void;
/** Opaque MD5 state owned by the addon (freed by the garbage collector). */
export type NativeMd5 = { readonly __nativeMd5: unique symbol };
/** Opaque MD5 state of the addon's own MD5 (native/src/md5_lanes.c), which many advance together. */
export type NativeMd5x = { readonly __nativeMd5x: unique symbol };

/** The raw addon, as native/src/binding.c exports it. Prefer the wrappers below. */
export interface NativeBinding {
  info(): NativeInfo;
  setKernel(name: RsKernel): void;
  rsRun(data: Buffer, dataOffset: number, parity: Buffer, parityOffset: number, pieceSize: number,
    sources: number, targets: number, done: Done): void;
  /** Whether ISA-L (libisal.so.2) loads; for the codec benchmark only. */
  isalAvailable(): boolean;
  isalRun(data: Buffer, dataOffset: number, parity: Buffer, parityOffset: number, pieceSize: number,
    sources: number, targets: number, done: Done): void;
  /** With md5, the object's MD5 advances over the plaintext in the same pass; without `done`, runs synchronously. */
  segmentEncode(key: Buffer, index: number, plain: Buffer, plainOffset: number, plainLength: number,
    data: Buffer, dataOffset: number, parity: Buffer, parityOffset: number, pieceSize: number,
    crcOut: Uint32Array, hashOut: Buffer | null, md5: NativeMd5 | NativeMd5x | null, done: Done | null): void;
  /** result ← [status (0 ok, 1 fewer than K good records, 2 GCM refused), mask of records failing their CRC]; without `done`, runs synchronously. */
  segmentDecode(key: Buffer, index: number, plainLength: number, records: ReadonlyArray<Buffer | null>,
    out: Buffer, outOffset: number, pieceSize: number, result: Uint32Array, done: Done | null): void;
  md5Create(): NativeMd5;
  md5Update(md5: NativeMd5, buffer: Buffer, offset: number, length: number, done: Done): void;
  md5Digest(md5: NativeMd5): Buffer;
  md5xCreate(): NativeMd5x;
  /** State i advances over buffer i, in one threadpool task; 16 at a time in AVX-512 lanes if `lanes`. The arrays must stay unchanged until `done`. */
  md5xUpdateMany(md5: readonly NativeMd5x[], buffers: readonly Uint8Array[], lanes: boolean, done: Done): void;
  md5xDigest(md5: NativeMd5x): Buffer;
  /** Each continues `previous` (0 to start) over buffer[offset, offset + length), synchronously. */
  crc32(buffer: Uint8Array, offset: number, length: number, previous: number): number;
  crc32c(buffer: Uint8Array, offset: number, length: number, previous: number): number;
  crc64nvme(buffer: Uint8Array, offset: number, length: number, previous: bigint): bigint;
  /** Process-wide; tests and benchmarks compare the kernels. */
  setCrcKernel(name: CrcKernel): void;
  /** Process-wide; tests and benchmarks compare the kernels. */
  setGcmKernel(name: GcmKernel): void;
  /** Process-wide; tests and benchmarks compare them. */
  setPieceHash(name: PieceHash): void;
  gcm(key: Buffer, index: number, plain: Buffer, plainOffset: number, plainLength: number, out: Buffer, outOffset: number): void;
  /** Bytes read at `position` of `fd` from the page cache alone (preadv2 RWF_NOWAIT), or -1 when none is cached or it cannot tell; never waits for the disk. */
  preadCached(fd: number, buffer: Uint8Array, position: number): number;
}

/** A native task failed (OpenSSL refused, or the addon reported an internal error). */
export class NativeError extends CodecError {
  override code = 'ERR_NATIVE';
}

/** The addon is required (SHARDGATE_ENGINE=native) but did not load. */
export class NativeUnavailableError extends CodecError {
  override code = 'ERR_NATIVE_UNAVAILABLE';
}

const require = createRequire(import.meta.url);
const ADDON = 'shardgate_native.node';

/** The package root, from codec/ (sources, under vitest) or dist/codec/ (compiled). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'shardgate') return dir;
    dir = dirname(dir);
  }
  throw new NativeUnavailableError('cannot find the shardgate package root');
}

/** Where the addon may be, in the order tried (as better-sqlite3's getBinding does). */
export function nativeCandidates(): string[] {
  const root = packageRoot();
  return [
    join(root, 'prebuilds', `${process.platform}-${process.arch}.node`),
    join(root, 'native', 'build', 'Release', ADDON),
    join(root, 'native', 'build', 'Debug', ADDON),
  ];
}

let loaded: { binding: NativeBinding | null; error?: Error } | undefined;

/**
 * The addon, or null when none of the candidates exists or loads (then `nativeLoadError()`
 * says why). Loaded once per process.
 */
export function loadNative(): NativeBinding | null {
  if (loaded) return loaded.binding;
  const tried: string[] = [];
  for (const path of nativeCandidates()) {
    if (!existsSync(path)) {
      tried.push(`${path}: missing`);
      continue;
    }
    try {
      loaded = { binding: require(path) as NativeBinding };
      return loaded.binding;
    } catch (err) {
      tried.push(`${path}: ${(err as Error).message}`);
    }
  }
  loaded = { binding: null, error: new NativeUnavailableError(`native addon not loaded (${tried.join('; ')})`) };
  return null;
}

export function nativeLoadError(): Error | undefined {
  loadNative();
  return loaded?.error;
}

/** `name` as one of `all`, if this CPU runs it (`supported`); `what` names the kind in errors. */
function supportedName<T extends string>(what: string, name: string, all: readonly T[], supported: readonly T[], cpu: string): T {
  if (!(all as readonly string[]).includes(name)) {
    throw new CodecArgumentError(`unknown ${what} "${name}", expected one of ${all.join(', ')}`);
  }
  if (!(supported as readonly string[]).includes(name)) {
    throw new CodecArgumentError(`${what} "${name}" is not supported by this CPU (${cpu})`);
  }
  return name as T;
}

/** Force a CRC kernel for every later call (tests and benchmarks). */
export function setCrcKernel(binding: NativeBinding, name: string): void {
  const info = binding.info();
  binding.setCrcKernel(supportedName('CRC kernel', name, CRC_KERNELS, info.supportedCrcKernels, info.cpu));
}

/** Force a GCM kernel for every later segment (tests and benchmarks). */
export function setGcmKernel(binding: NativeBinding, name: string): void {
  const info = binding.info();
  binding.setGcmKernel(supportedName('GCM kernel', name, GCM_KERNELS, info.supportedGcmKernels, info.cpu));
}

/** Force how piece hashes are taken for every later segment (tests and benchmarks). */
export function setPieceHash(binding: NativeBinding, name: string): void {
  const info = binding.info();
  binding.setPieceHash(supportedName('piece hash', name, PIECE_HASHES, info.supportedPieceHashes, info.cpu));
}

/** Force a kernel for every later call (tests, benchmarks, SHARDGATE_RS_KERNEL). */
export function setKernel(binding: NativeBinding, name: string): void {
  const info = binding.info();
  binding.setKernel(supportedName('kernel', name, KERNELS, info.supportedKernels, info.cpu));
}

function settle(resolve: () => void, reject: (err: Error) => void): Done {
  return (error) => (error ? reject(new NativeError(error.message, { cause: error })) : resolve());
}

/** The native ErasureCoder: parity identical to @ronomon/reed-solomon's, faster kernels. */
export class NativeCoder implements ErasureCoder {
  constructor(private readonly binding: NativeBinding) {}

  get name(): string {
    return `native/${this.binding.info().kernel}`;
  }

  encode(data: Buffer, parity: Buffer, pieceSize: number): Promise<void> {
    return this.reconstruct(data, parity, pieceSize, DATA_MASK, PARITY_MASK);
  }

  /** Only the pieces in `targets` are written; other missing pieces are left as they are. */
  async reconstruct(data: Buffer, parity: Buffer, pieceSize: number, sources: number, targets: number): Promise<void> {
    checkMasks(sources, targets);
    checkLayout(data, parity, pieceSize, sources, targets);
    await new Promise<void>((resolve, reject) => {
      this.binding.rsRun(data, 0, parity, 0, pieceSize, sources, targets, settle(resolve, reject));
    });
  }
}

export function checkMasks(sources: number, targets: number): void {
  if (!Number.isInteger(sources) || !Number.isInteger(targets) || (sources & ~ALL_MASK) || (targets & ~ALL_MASK)) {
    throw new CodecArgumentError(`sources and targets must be masks over ${N} pieces`);
  }
  if (popcount(sources) < K) throw new CodecArgumentError(`need at least ${K} sources, got ${popcount(sources)}`);
  if (targets === 0 || popcount(targets) > M) throw new CodecArgumentError(`need 1 to ${M} targets, got ${popcount(targets)}`);
}

/** ISA-L's ec_encode_data on the same layout, for `npm run bench:codec` (its parity is its own code's, not ours). */
export function isalRun(binding: NativeBinding, data: Buffer, parity: Buffer, pieceSize: number, sources: number, targets: number): Promise<void> {
  checkMasks(sources, targets);
  checkLayout(data, parity, pieceSize, sources, targets);
  return new Promise<void>((resolve, reject) => {
    binding.isalRun(data, 0, parity, 0, pieceSize, sources, targets, settle(resolve, reject));
  });
}

/** Run the native MD5 update on the threadpool; updates of one state must be chained. */
export function md5Update(binding: NativeBinding, md5: NativeMd5, buffer: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    binding.md5Update(md5, buffer, 0, buffer.length, settle(resolve, reject));
  });
}
