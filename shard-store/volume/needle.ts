import { crc32 } from '../../codec/crc32.js';

/**
 * One record in a volume file: the needle of the Haystack / SeaweedFS-volume family. A piece
 * of one segment of one shard (blob, piece index, segment index), appended whole; or a
 * tombstone saying the shard was deleted. The header carries two checksums, so a torn
 * write at the tail after a crash is recognised and cut off, and a record whose bytes rot
 * is never served.
 *
 * Layout (little-endian), then the data, then zero padding to a multiple of 8:
 *   magic u32 'SGN1' | flags u8 | piece u8 | reserved u16 | blob 16 bytes | seg u32 |
 *   length u32 | leaf 32 bytes | data crc32 u32 | header crc32 u32       = 72 bytes
 * `leaf` is the SHA-256 of the piece (the data without its 4-byte CRC trailer): the audit
 * hash-tree leaf, computed once when the piece arrives.
 */
export const NEEDLE_MAGIC = 0x314e4753; // 'SGN1' read as little-endian u32
/** Bytes of a needle's audit leaf (SHA-256). */
export const LEAF_BYTES = 32;
export const NEEDLE_HEADER_BYTES = 72;
export const FLAG_TOMBSTONE = 1;
/** A needle that claims more than this is not one: its header is garbage (a volume's tail after a crash). */
export const MAX_NEEDLE_DATA = 64 * 1024 * 1024;

export interface NeedleKey {
  blob: Buffer;
  piece: number;
  seg: number;
}

export interface NeedleHeader extends NeedleKey {
  flags: number;
  length: number;
  leaf: Buffer;
  dataCrc: number;
}

export function paddedLength(dataLength: number): number {
  return NEEDLE_HEADER_BYTES + Math.ceil(dataLength / 8) * 8;
}

export function encodeHeader(h: NeedleHeader): Buffer {
  const b = Buffer.alloc(NEEDLE_HEADER_BYTES);
  b.writeUInt32LE(NEEDLE_MAGIC, 0);
  b.writeUInt8(h.flags, 4);
  b.writeUInt8(h.piece, 5);
  h.blob.copy(b, 8, 0, 16);
  b.writeUInt32LE(h.seg, 24);
  b.writeUInt32LE(h.length, 28);
  h.leaf.copy(b, 32, 0, LEAF_BYTES);
  b.writeUInt32LE(h.dataCrc >>> 0, 64);
  b.writeUInt32LE(crc32(b.subarray(0, 68)) >>> 0, 68);
  return b;
}

/** The header at the start of `b`, or null when it is not a sound one (wrong magic, checksum, or length). */
export function decodeHeader(b: Buffer): NeedleHeader | null {
  if (b.length < NEEDLE_HEADER_BYTES || b.readUInt32LE(0) !== NEEDLE_MAGIC) return null;
  if ((crc32(b.subarray(0, 68)) >>> 0) !== b.readUInt32LE(68)) return null;
  const length = b.readUInt32LE(28);
  if (length > MAX_NEEDLE_DATA) return null;
  return {
    flags: b.readUInt8(4), piece: b.readUInt8(5), blob: Buffer.from(b.subarray(8, 24)), seg: b.readUInt32LE(24), length,
    leaf: Buffer.from(b.subarray(32, 64)), dataCrc: b.readUInt32LE(64),
  };
}

/** The zero bytes that pad a needle of `dataLength` bytes to a multiple of 8. */
export function padding(dataLength: number): Buffer {
  return Buffer.alloc(Math.ceil(dataLength / 8) * 8 - dataLength);
}
