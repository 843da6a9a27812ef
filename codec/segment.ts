import { createCipheriv, createDecipheriv, createHash, type Hash } from 'node:crypto';
import { crc32 } from './crc32.js';
import { K, M, N, pieceView, popcount, type ErasureCoder } from './erasure.js';
import { DecryptError, PieceChecksumError, ShardQuorumError } from './errors.js';
import { GCM_TAG_BYTES, PIECE_CRC_BYTES, pieceSizeFor, segmentNonce } from './layout.js';

/** One segment after encryption and erasure coding: 16 pieces and their CRC-32s. */
export interface EncodedSegment {
  index: number;
  plainLength: number;
  pieceSize: number;
  /** K data pieces, contiguous. */
  data: Buffer;
  /** M parity pieces, contiguous. */
  parity: Buffer;
  /** CRC-32 (zlib polynomial) of each of the 16 pieces. */
  checksums: Uint32Array;
  /** SHA-256 of each of the 16 pieces, when the encoder was asked for them (audits). */
  hashes?: Buffer[];
  /**
   * Hand `data` and `parity` back for reuse (codec/buffer-pool.ts). Call only when nothing
   * holds a view of them any more; calls after the first do nothing. Absent: nothing to do.
   */
  release?: () => void;
  /**
   * Set when the encoder still reads the plaintext after `encode` resolved (a deferred MD5):
   * the caller may reuse that buffer only once this resolves. Absent: it is read no more.
   */
  plainRead?: Promise<void>;
}

/**
 * Encrypts and erasure-codes the segments of one blob, in order, and keeps the running MD5
 * of the plaintext (the S3 ETag). Calls to `encode` may overlap; MD5 is advanced in call
 * order, so callers must submit segments in order.
 */
export interface SegmentEncoder {
  encode(plaintext: Buffer, index: number): Promise<EncodedSegment>;
  /** MD5 of all plaintext passed so far; call once, after the last segment (and md5Ready, if there is one). */
  md5(): Buffer;
  /** Where MD5 may lag behind `encode` (deferMd5): resolves once md5() may be called. */
  md5Ready?(): Promise<void>;
}

/** The reference path: Node's crypto (AES-256-GCM, MD5), zlib's CRC-32 and any ErasureCoder. */
export class JsSegmentEncoder implements SegmentEncoder {
  private readonly hash: Hash = createHash('md5');

  constructor(private readonly coder: ErasureCoder, private readonly key: Buffer) {}

  async encode(plaintext: Buffer, index: number): Promise<EncodedSegment> {
    this.hash.update(plaintext);
    const pieceSize = pieceSizeFor(plaintext.length);
    const data = Buffer.alloc(K * pieceSize);
    const parity = Buffer.allocUnsafe(M * pieceSize);
    encryptInto(this.key, index, plaintext, data);
    await this.coder.encode(data, parity, pieceSize);
    const checksums = new Uint32Array(N);
    for (let i = 0; i < N; i++) checksums[i] = crc32(pieceView(data, parity, pieceSize, i));
    return { index, plainLength: plaintext.length, pieceSize, data, parity, checksums };
  }

  md5(): Buffer {
    return this.hash.digest();
  }
}

/** AES-256-GCM of one segment, written as ciphertext || tag at the start of `out`. */
export function encryptInto(key: Buffer, index: number, plaintext: Buffer, out: Buffer): void {
  const cipher = createCipheriv('aes-256-gcm', key, segmentNonce(index));
  const body = cipher.update(plaintext);
  body.copy(out, 0);
  const tail = cipher.final();
  tail.copy(out, body.length);
  cipher.getAuthTag().copy(out, plaintext.length);
}

/** Split a stored record (piece || CRC-32 BE) and check it; throws PieceChecksumError. */
export function verifyRecord(record: Buffer, pieceSize: number): Buffer {
  if (record.length !== pieceSize + PIECE_CRC_BYTES) {
    throw new PieceChecksumError(`piece record is ${record.length} bytes, expected ${pieceSize + PIECE_CRC_BYTES}`);
  }
  const piece = record.subarray(0, pieceSize);
  if (crc32(piece) !== record.readUInt32BE(pieceSize)) throw new PieceChecksumError('piece checksum mismatch');
  return piece;
}

/** The record to store for piece i of an encoded segment: the piece followed by its CRC-32. */
export function pieceRecord(seg: EncodedSegment, i: number): Buffer[] {
  const crc = Buffer.allocUnsafe(PIECE_CRC_BYTES);
  crc.writeUInt32BE(seg.checksums[i]!, 0);
  return [pieceView(seg.data, seg.parity, seg.pieceSize, i), crc];
}

/**
 * Rebuild and decrypt one segment from any K verified pieces (null where missing).
 * Data pieces alone need no decoding (the code is systematic).
 */
export async function decodeSegment(
  coder: ErasureCoder, key: Buffer, index: number, plainLength: number, pieces: ReadonlyArray<Buffer | null>,
): Promise<Buffer> {
  const pieceSize = pieceSizeFor(plainLength);
  let sources = 0;
  for (let i = 0; i < N; i++) if (pieces[i]) sources |= 1 << i;
  if (popcount(sources) < K) throw new ShardQuorumError(`only ${popcount(sources)} of ${N} pieces available, need ${K}`);
  const data = Buffer.allocUnsafe(K * pieceSize);
  const parity = Buffer.allocUnsafe(M * pieceSize);
  let missingData = 0;
  for (let i = 0; i < N; i++) {
    const p = pieces[i];
    if (p) p.copy(pieceView(data, parity, pieceSize, i));
    else if (i < K) missingData |= 1 << i;
  }
  if (missingData) {
    // Use exactly the sources we have; ronomon needs at least K of them.
    await coder.reconstruct(data, parity, pieceSize, sources, missingData);
  }
  return decrypt(key, index, data, plainLength);
}

export function decrypt(key: Buffer, index: number, data: Buffer, plainLength: number): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, segmentNonce(index));
  decipher.setAuthTag(data.subarray(plainLength, plainLength + GCM_TAG_BYTES));
  try {
    const out = decipher.update(data.subarray(0, plainLength));
    decipher.final();
    return out;
  } catch (err) {
    throw new DecryptError(`segment ${index} failed authentication`, { cause: err });
  }
}
