import { K } from './erasure.js';

/**
 * Byte layout of an encrypted, erasure-coded blob. It is part of the on-disk format:
 * changing anything here makes existing data unreadable.
 *
 * A blob of `size` plaintext bytes is cut into segments of `segmentSize` bytes (the last
 * one shorter). Segment s is encrypted with AES-256-GCM (nonce = segment index) to
 * ciphertext || 16-byte tag, zero-padded to K × pieceSize and cut into K data pieces;
 * M parity pieces are computed over those. Piece i of every segment is appended to the
 * blob's shard file i as a record: the piece bytes followed by its CRC-32 (big-endian).
 */
export const GCM_TAG_BYTES = 16;
export const PIECE_CRC_BYTES = 4;
/** Default plaintext bytes per segment: ~410 KiB pieces, few enough HTTP writes per MiB. */
export const DEFAULT_SEGMENT_SIZE = 4 * 1024 * 1024;
export const MIN_SEGMENT_SIZE = 4 * 1024;
export const MAX_SEGMENT_SIZE = 64 * 1024 * 1024;

export function segmentCount(size: number, segmentSize: number): number {
  return Math.ceil(size / segmentSize);
}

/** Plaintext bytes in segment `index` of a blob of `size` bytes. */
export function segmentPlainLength(size: number, segmentSize: number, index: number): number {
  return Math.max(0, Math.min(segmentSize, size - index * segmentSize));
}

/** Bytes per piece for a segment of `plainLength` plaintext bytes (a multiple of 8, as the coders need). */
export function pieceSizeFor(plainLength: number): number {
  const perPiece = Math.ceil((plainLength + GCM_TAG_BYTES) / K);
  return Math.ceil(perPiece / 8) * 8;
}

/** Where segment `index`'s record sits in every shard file of the blob, and how long it is. */
export function recordRange(size: number, segmentSize: number, index: number): { offset: number; pieceSize: number; length: number } {
  const fullRecord = pieceSizeFor(segmentSize) + PIECE_CRC_BYTES;
  const pieceSize = pieceSizeFor(segmentPlainLength(size, segmentSize, index));
  return { offset: index * fullRecord, pieceSize, length: pieceSize + PIECE_CRC_BYTES };
}

/** Total bytes of each shard file of a blob. */
export function shardFileLength(size: number, segmentSize: number): number {
  const n = segmentCount(size, segmentSize);
  if (n === 0) return 0;
  const last = recordRange(size, segmentSize, n - 1);
  return last.offset + last.length;
}

/** The 12-byte GCM nonce of a segment. Keys are never shared between blobs, so the index is unique. */
export function segmentNonce(index: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 4);
  return nonce;
}
