import { createHash, randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { HASH_BYTES } from './merkle.js';
import type { OpenPiece } from './store.js';

/**
 * The audit leaves of a piece, kept beside it as `<piece>.leaves` so a challenge costs the
 * records it names, not a read of the whole shard file. It is a cache: computed from the
 * bytes on disk the first time a challenge needs it, written aside and renamed into place,
 * and recomputed whenever the piece's size or mtime (or the record size asked) no longer
 * match its header. Wrong leaves can never pass an audit: the gateway checks them against
 * the root it kept when it wrote the piece.
 *
 * Format: "SGL1" | record size u32 | piece size u64 | mtime ms f64 | inode u64 | leaves (32 bytes
 * each). The inode tells a piece replaced within the same millisecond (a rename brings a new one).
 */
const MAGIC = Buffer.from('SGL1');
const HEADER = 4 + 4 + 8 + 8 + 8;

interface Identity {
  size: number;
  mtimeMs: number;
  ino: number;
}
/** Bytes of CRC-32 after each piece in a record (codec/layout.ts PIECE_CRC_BYTES). */
export const RECORD_TRAILER_BYTES = 4;

export function sidecarPath(piecePath: string): string {
  return `${piecePath}.leaves`;
}

/** Number of records in a shard file of `size` bytes cut in `recordSize` records (the last may be shorter). */
export function recordCount(size: number, recordSize: number): number {
  return Math.ceil(size / recordSize);
}

/** Leaves of the piece, from the sidecar when it is current, else computed and saved. */
export async function loadLeaves(piecePath: string, piece: OpenPiece, recordSize: number): Promise<Buffer[]> {
  const st = await piece.fh.stat();
  const id: Identity = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  const cached = await readSidecar(sidecarPath(piecePath), recordSize, id);
  if (cached) return cached;
  const leaves = await computeLeaves(piece, recordSize);
  await writeSidecar(piecePath, recordSize, id, leaves).catch(() => undefined);
  return leaves;
}

async function readSidecar(path: string, recordSize: number, id: Identity): Promise<Buffer[] | null> {
  let buf: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      buf = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
  const n = recordCount(id.size, recordSize);
  if (buf.length !== HEADER + n * HASH_BYTES || !buf.subarray(0, 4).equals(MAGIC)) return null;
  if (buf.readUInt32BE(4) !== recordSize || Number(buf.readBigUInt64BE(8)) !== id.size || buf.readDoubleBE(16) !== id.mtimeMs ||
    Number(buf.readBigUInt64BE(24)) !== id.ino) return null;
  return Array.from({ length: n }, (_, i) => buf.subarray(HEADER + i * HASH_BYTES, HEADER + (i + 1) * HASH_BYTES));
}

async function computeLeaves(piece: OpenPiece, recordSize: number): Promise<Buffer[]> {
  const n = recordCount(piece.size, recordSize);
  const buf = Buffer.allocUnsafe(recordSize);
  const leaves: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const len = Math.min(recordSize, piece.size - i * recordSize);
    await readFully(piece, buf, len, i * recordSize);
    leaves.push(createHash('sha256').update(buf.subarray(0, Math.max(0, len - RECORD_TRAILER_BYTES))).digest());
  }
  return leaves;
}

async function writeSidecar(piecePath: string, recordSize: number, id: Identity, leaves: Buffer[]): Promise<void> {
  const path = sidecarPath(piecePath);
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  head.writeUInt32BE(recordSize, 4);
  head.writeBigUInt64BE(BigInt(id.size), 8);
  head.writeDoubleBE(id.mtimeMs, 16);
  head.writeBigUInt64BE(BigInt(id.ino), 24);
  const tmp = `${path}.tmp${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx', 0o640);
  try {
    await fh.writev([head, ...leaves]);
  } finally {
    await fh.close();
  }
  try {
    // The piece may have been replaced while we hashed it: then this sidecar describes nothing.
    const now = await stat(piecePath);
    if (now.size !== id.size || now.mtimeMs !== id.mtimeMs || now.ino !== id.ino) throw new Error('piece changed');
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Read `length` bytes at `position` into the start of `buf`. */
export async function readFully(piece: OpenPiece, buf: Buffer, length: number, position: number): Promise<void> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await piece.fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new Error(`piece ended early at ${position + got}`);
    got += bytesRead;
  }
}
