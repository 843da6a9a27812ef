import { K, M, N } from './erasure.js';
import { CodecArgumentError } from './errors.js';
import { KEY_BYTES } from './keys.js';
import { GCM_TAG_BYTES, MAX_SEGMENT_SIZE, pieceSizeFor } from './layout.js';
import { md5Update, NativeError, type NativeBinding, type NativeMd5 } from './native.js';
import type { EncodedSegment, SegmentEncoder } from './segment.js';

export const PIECE_HASH_BYTES = 32;

export interface NativeSegmentOptions {
  /** Also compute each piece's SHA-256 (for audits); costs about one more pass over 1.6x the bytes. */
  hashes?: boolean;
}

/**
 * The fused path: one threadpool call per segment encrypts (AES-256-GCM, OpenSSL as Node
 * links it), computes parity and checksums each piece, writing straight into the segment's
 * data and parity buffers. Output bytes are JsSegmentEncoder's, byte for byte.
 *
 * MD5 (the ETag) is inherently serial, so it is a separate threadpool step chained per
 * encoder: segment s's MD5 starts when s-1's ends, while the encryption and coding of
 * later segments (and other objects) run beside it, so two segments in flight use two cores.
 */
export class NativeSegmentEncoder implements SegmentEncoder {
  private readonly md5State: NativeMd5;
  private md5Chain: Promise<void> = Promise.resolve();
  private readonly key: Buffer;

  constructor(private readonly binding: NativeBinding, key: Buffer, private readonly options: NativeSegmentOptions = {}) {
    if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new CodecArgumentError(`key must be ${KEY_BYTES} bytes`);
    // Copied: the caller may reuse its buffer, and the addon copies it again per call.
    this.key = Buffer.from(key);
    this.md5State = binding.md5Create();
  }

  async encode(plaintext: Buffer, index: number): Promise<EncodedSegment> {
    if (!Buffer.isBuffer(plaintext)) throw new CodecArgumentError('plaintext must be a Buffer');
    if (plaintext.length > MAX_SEGMENT_SIZE) throw new CodecArgumentError(`segment of ${plaintext.length} bytes is over ${MAX_SEGMENT_SIZE}`);
    if (!Number.isSafeInteger(index) || index < 0) throw new CodecArgumentError(`segment index must be a non-negative integer, got ${index}`);
    const pieceSize = pieceSizeFor(plaintext.length);
    // One allocation for all 16 pieces; the addon writes every byte of it (ciphertext, tag,
    // zero padding, parity), so it need not be zeroed first.
    const pieces = Buffer.allocUnsafe((K + M) * pieceSize);
    const data = pieces.subarray(0, K * pieceSize);
    const parity = pieces.subarray(K * pieceSize);
    const checksums = new Uint32Array(N);
    const hashBytes = this.options.hashes ? Buffer.allocUnsafe(N * PIECE_HASH_BYTES) : null;
    const md5Done = (this.md5Chain = this.md5Chain.then(() => md5Update(this.binding, this.md5State, plaintext)));
    const coded = new Promise<void>((resolve, reject) => {
      this.binding.segmentEncode(this.key, index, plaintext, 0, plaintext.length, data, 0, parity, 0, pieceSize,
        checksums, hashBytes, (error) => (error ? reject(new NativeError(error.message, { cause: error })) : resolve()));
    });
    await Promise.all([coded, md5Done]);
    const seg: EncodedSegment = { index, plainLength: plaintext.length, pieceSize, data, parity, checksums };
    if (hashBytes) {
      seg.hashes = Array.from({ length: N }, (_, i) => hashBytes.subarray(i * PIECE_HASH_BYTES, (i + 1) * PIECE_HASH_BYTES));
    }
    return seg;
  }

  md5(): Buffer {
    return this.binding.md5Digest(this.md5State);
  }
}

/** AES-256-GCM of one segment by the addon, synchronously (tests compare it with node:crypto). */
export function nativeEncrypt(binding: NativeBinding, key: Buffer, index: number, plaintext: Buffer): Buffer {
  const out = Buffer.alloc(plaintext.length + GCM_TAG_BYTES);
  binding.gcm(key, index, plaintext, 0, plaintext.length, out, 0);
  return out;
}
