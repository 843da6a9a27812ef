import { segmentBuffers } from './buffer-pool.js';
import { K, N } from './erasure.js';
import { CodecArgumentError } from './errors.js';
import { KEY_BYTES } from './keys.js';
import { GCM_TAG_BYTES, MAX_SEGMENT_SIZE, pieceSizeFor } from './layout.js';
import { sharedMd5Lanes, type Md5Lanes } from './md5-lanes.js';
import { md5Update, NativeError, type NativeBinding, type NativeMd5, type NativeMd5x } from './native.js';
import type { EncodedSegment, SegmentEncoder } from './segment.js';

export const PIECE_HASH_BYTES = 32;

/**
 * Segments of up to this many plaintext bytes are encoded synchronously, on the calling
 * thread. A threadpool call costs the event loop ~30 us whatever its size (allocation,
 * references, the hop back) and adds a wait for a free worker; the whole encode of a 4 KiB
 * segment, MD5 and 16 piece hashes included, costs the loop ~25 us done in place, and of
 * 8 KiB about as much as the trip would. Measured with `npm run bench:codec`.
 */
export const SYNC_SEGMENT_MAX = 8 * 1024;

/**
 * Up to this size, MD5 advances inside the segment's own call. Above it MD5 runs as its own
 * task beside the segment's, on a second worker: MD5 (~0.5 GB/s) is the slowest pass, and
 * when a core is free two workers finish a large segment sooner than one doing both (at
 * 4 MiB, 147 against 120 MB/s here); up to 1 MiB fusing costs nothing and saves a task.
 */
export const FUSED_MD5_MAX = 1024 * 1024;

/**
 * With MD5 lanes, segments up to this size still advance MD5 in their own call: a separate
 * task cost a 64 KiB object 16% more CPU than the MD5 it saved (`BENCH_ONLY=small npm run
 * bench:codec`). Larger ones go to the lanes, where the MD5 of several objects costs about
 * that of one.
 */
export const LANES_FUSED_MAX = 64 * 1024;

export interface NativeSegmentOptions {
  /** Also compute each piece's SHA-256 (for audits); costs about one more pass over 1.6x the bytes. */
  hashes?: boolean;
  /** Overrides SYNC_SEGMENT_MAX and FUSED_MD5_MAX (benchmarks compare the paths; 0 turns one off). */
  syncSegmentMax?: number;
  fusedMd5Max?: number;
  /** MD5 through these lanes (md5-lanes.ts) instead of OpenSSL's; default: the process's, where the CPU has them. null: OpenSSL's. */
  md5Lanes?: Md5Lanes | null;
  /**
   * With lanes: `encode` resolves once the segment is coded, and its MD5 may wait to share a
   * call with other objects' (the segment's `plainRead` says when its plaintext is free);
   * md5Ready() then hurries it. For callers that need the ETag only at the end (putBlob).
   */
  deferMd5?: boolean;
}

/**
 * The fused path: one call per segment encrypts (AES-256-GCM, OpenSSL as Node links it),
 * advances the object's MD5 (the ETag), computes parity and checksums each piece, writing
 * straight into the segment's buffers. Output bytes are JsSegmentEncoder's, byte for byte.
 *
 * Where the CPU has AVX-512, MD5 leaves the segment's call for the process's Md5Lanes
 * (md5-lanes.ts), which advances the MD5s of all the objects being written together; what
 * follows describes OpenSSL's MD5, the path elsewhere.
 *
 * MD5 is serial: segment s's MD5 must follow s-1's. When no MD5 work of this encoder is in
 * flight (always, when segments are encoded one after the other, as putBlob does), the
 * segment's call does it; when calls overlap, or the segment is over FUSED_MD5_MAX, the
 * MD5 is a separate threadpool step chained after the previous one, so it still advances
 * in call order while the encryption and coding of later segments run beside it.
 */
export class NativeSegmentEncoder implements SegmentEncoder {
  /** OpenSSL's MD5, or the lanes' (then md5x and lanes are set, and md5State is unused). */
  private readonly md5State: NativeMd5 | undefined;
  private readonly lanes: Md5Lanes | null;
  private readonly md5x: NativeMd5x | undefined;
  /** The last MD5 step submitted, and how many have not finished. */
  private md5Last: Promise<void> = Promise.resolve();
  private md5Pending = 0;
  private readonly key: Buffer;
  private readonly syncMax: number;
  private readonly fusedMax: number;
  private readonly hashes: boolean;
  private readonly deferMd5: boolean;
  /** md5Ready() was called: no update of this encoder waits for company any more. */
  private md5Wanted = false;

  constructor(private readonly binding: NativeBinding, key: Buffer, options: NativeSegmentOptions = {}) {
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new CodecArgumentError(`key must be ${KEY_BYTES} bytes`);
    // Copied: the caller may reuse its buffer (asynchronous calls copy it again).
    this.key = Buffer.from(key);
    this.lanes = options.md5Lanes === undefined ? sharedMd5Lanes(binding) : options.md5Lanes;
    this.md5x = this.lanes?.create();
    this.md5State = this.lanes ? undefined : binding.md5Create();
    this.hashes = options.hashes ?? false;
    this.deferMd5 = this.lanes !== null && options.deferMd5 === true;
    this.syncMax = options.syncSegmentMax ?? SYNC_SEGMENT_MAX;
    this.fusedMax = options.fusedMd5Max ?? FUSED_MD5_MAX;
  }

  encode(plaintext: Buffer, index: number): Promise<EncodedSegment> {
    if (!Buffer.isBuffer(plaintext)) return Promise.reject(new CodecArgumentError('plaintext must be a Buffer'));
    if (plaintext.length > MAX_SEGMENT_SIZE) return Promise.reject(new CodecArgumentError(`segment of ${plaintext.length} bytes is over ${MAX_SEGMENT_SIZE}`));
    if (!Number.isSafeInteger(index) || index < 0) return Promise.reject(new CodecArgumentError(`segment index must be a non-negative integer, got ${index}`));
    const seg = allocateSegment(index, plaintext.length, this.hashes);
    let md5Done: Promise<void> | undefined;
    let md5: NativeMd5 | NativeMd5x | null = null;
    // Submitted now, before anything is awaited: MD5 must advance in call order.
    if (this.lanes) {
      // A segment of up to LANES_FUSED_MAX in its own call, where the MD5 costs less than a
      // second task would; a larger one's apart, gathered with other objects' (md5-lanes.ts).
      if (this.md5Pending === 0 && plaintext.length <= LANES_FUSED_MAX) {
        md5 = this.md5x!;
      } else {
        const lanes = this.lanes;
        const state = this.md5x!;
        // Deferred, the first update in flight may wait for company; one behind it means a
        // stream, whose MD5 must keep up, so the one before it goes at once.
        const lazy = this.deferMd5 && this.md5Pending === 0;
        if (this.md5Pending > 0) lanes.want(state);
        md5Done = this.afterMd5(this.md5Last.then(() => lanes.update(state, plaintext, { lazy: lazy && !this.md5Wanted })));
      }
    } else if (this.md5Pending === 0 && plaintext.length <= this.fusedMax) {
      md5 = this.md5State!;
    } else {
      const state = this.md5State!;
      md5Done = this.afterMd5(this.md5Last.then(() => md5Update(this.binding, state, plaintext)));
    }
    const fuse = md5 !== null;
    const b = this.binding;
    const hashOut = seg.hashBytes;
    if (md5Done && this.deferMd5) {
      // Observed here; a failure reaches the caller through md5Ready().
      md5Done.catch(() => undefined);
      seg.result.plainRead = md5Done.catch(() => undefined);
    }
    const waitMd5 = this.deferMd5 ? undefined : md5Done;
    if (plaintext.length <= this.syncMax) {
      try {
        b.segmentEncode(this.key, index, plaintext, 0, plaintext.length, seg.data, 0, seg.parity, 0, seg.pieceSize, seg.checksums, hashOut, md5, null);
      } catch (err) {
        return Promise.reject(new NativeError((err as Error).message, { cause: err }));
      }
      return waitMd5 ? waitMd5.then(() => seg.result) : Promise.resolve(seg.result);
    }
    const coded = new Promise<void>((resolve, reject) => {
      b.segmentEncode(this.key, index, plaintext, 0, plaintext.length, seg.data, 0, seg.parity, 0, seg.pieceSize, seg.checksums, hashOut, md5,
        (error) => (error ? reject(new NativeError(error.message, { cause: error })) : resolve()));
    });
    // Awaited below; afterMd5 only records it as the step later MD5 updates follow.
    if (fuse) void this.afterMd5(coded);
    return Promise.all([coded, waitMd5]).then(() => seg.result);
  }

  /** Resolves once md5() may be called: every MD5 update done, hurried if it was waiting for company. */
  async md5Ready(): Promise<void> {
    this.md5Wanted = true;
    if (this.md5Pending === 0) return;
    this.lanes?.want(this.md5x!);
    await this.md5Last;
  }

  md5(): Buffer {
    return this.lanes ? this.lanes.digest(this.md5x!) : this.binding.md5Digest(this.md5State!);
  }

  /** Record `step` as the latest MD5 step; later ones chain after it. */
  private afterMd5(step: Promise<void>): Promise<void> {
    this.md5Pending++;
    this.md5Last = step;
    const done = () => void this.md5Pending--;
    step.then(done, done);
    return step;
  }
}

interface SegmentBuffers {
  data: Buffer;
  parity: Buffer;
  pieceSize: number;
  checksums: Uint32Array;
  hashBytes: Buffer | null;
  result: EncodedSegment;
}

/**
 * Two allocations per segment: the 16 pieces, which the addon writes whole (ciphertext,
 * tag, zero padding, parity), so they need not be zeroed; and their CRC-32s and SHA-256s,
 * small enough to come from Node's buffer pool. The pieces come from the segment pool and
 * go back to it when the segment's `release` is called (by whoever saw every store
 * acknowledge them); the checksums are kept apart so that whoever keeps a hash or a CRC
 * longer does not keep 16 pieces alive with it, or see them reused.
 */
function allocateSegment(index: number, plainLength: number, hashes: boolean): SegmentBuffers {
  const pieceSize = pieceSizeFor(plainLength);
  const pieces = segmentBuffers.take(N * pieceSize);
  const data = pieces.subarray(0, K * pieceSize);
  const parity = pieces.subarray(K * pieceSize);
  const hashBytes = hashes ? N * PIECE_HASH_BYTES : 0;
  const sums = Buffer.allocUnsafe(4 * N + hashBytes);
  // Node's pool hands out 8-byte aligned slices; a Uint32Array view needs 4.
  const checksums = sums.byteOffset % 4 === 0 ? new Uint32Array(sums.buffer, sums.byteOffset, N) : new Uint32Array(N);
  // A second call is harmless: the pool ignores a buffer it has back already.
  const release = (): void => segmentBuffers.give(pieces);
  const result: EncodedSegment = { index, plainLength, pieceSize, data, parity, checksums, release };
  let hashOut: Buffer | null = null;
  if (hashes) {
    hashOut = sums.subarray(4 * N);
    const views = new Array<Buffer>(N);
    for (let i = 0; i < N; i++) views[i] = hashOut.subarray(i * PIECE_HASH_BYTES, (i + 1) * PIECE_HASH_BYTES);
    result.hashes = views;
  }
  return { data, parity, pieceSize, checksums, hashBytes: hashOut, result };
}

/** AES-256-GCM of one segment by the addon, synchronously (tests compare it with node:crypto). */
export function nativeEncrypt(binding: NativeBinding, key: Buffer, index: number, plaintext: Buffer): Buffer {
  const out = Buffer.alloc(plaintext.length + GCM_TAG_BYTES);
  binding.gcm(key, index, plaintext, 0, plaintext.length, out, 0);
  return out;
}
