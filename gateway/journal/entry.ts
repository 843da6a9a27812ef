import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { K } from '../../codec/erasure.js';
import { GCM_TAG_BYTES } from '../../codec/layout.js';

/**
 * One metadata journal entry: the rows of the journaled tables that changed since the
 * previous entry, as they were when it was shipped (null: the row was deleted). Replaying
 * the entries of an epoch in order over the snapshot they follow gives the metadata as of
 * the last entry (gateway/journal/replay.ts).
 */
export interface JournalEntry {
  v: 1;
  epoch: string;
  seq: number;
  /** When it was shipped (ms since the epoch). */
  at: number;
  ops: JournalOp[];
}

/** [table, rowid, row or null]. Columns by name, so an entry outlives a later added column. */
export type JournalOp = [string, number, Record<string, unknown> | null];

/**
 * Entries are stored like a one-segment blob. Its id is a tag that the master key alone
 * gives for (epoch, entry number), followed by a random salt; its data key comes from the
 * master key and the whole id. Recovery finds an entry's writes among the ids the stores
 * list by their tag, and opens them with nothing else. Every write attempt has its own salt,
 * so pieces of a failed attempt never mix with a later one's and no key ever encrypts two
 * different entries; recovery takes the newest attempt that reads.
 */
export function journalTag(master: Buffer, epoch: string, seq: number): string {
  return createHmac('sha256', master).update(`shardgate journal v1\n${epoch}\n${seq}`).digest('hex').slice(0, 16);
}

export function newJournalBlobId(master: Buffer, epoch: string, seq: number): string {
  return journalTag(master, epoch, seq) + randomBytes(8).toString('hex');
}

export function journalDataKey(master: Buffer, blobId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `shardgate journal key v1\n${blobId}`, 32));
}

/**
 * The segment plaintext: a 4-byte length, the JSON, zero padding so that plaintext plus the
 * GCM tag fills whole pieces. Then the piece size alone gives the plaintext length, which
 * recovery needs to decode before it knows anything else.
 */
export function encodeEntry(entry: JournalEntry): Buffer {
  const json = Buffer.from(JSON.stringify(entry, (_k, v: unknown) => (isBuffer(v) ? { $b: Buffer.from(v.data).toString('base64') } : v)));
  const unit = K * 8;
  const total = Math.ceil((4 + json.length + GCM_TAG_BYTES) / unit) * unit - GCM_TAG_BYTES;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}

/** Plaintext length of an entry whose pieces are `pieceSize` bytes (see encodeEntry). */
export function entryPlainLength(pieceSize: number): number {
  return pieceSize * K - GCM_TAG_BYTES;
}

export function decodeEntry(plain: Buffer): JournalEntry {
  const len = plain.readUInt32BE(0);
  if (len + 4 > plain.length) throw new Error('journal entry is shorter than its length');
  const entry = JSON.parse(plain.subarray(4, 4 + len).toString('utf8'), (_k, v: unknown) =>
    (v !== null && typeof v === 'object' && '$b' in v && typeof (v).$b === 'string' ? Buffer.from((v as { $b: string }).$b, 'base64') : v)) as JournalEntry;
  if (entry.v !== 1 || typeof entry.epoch !== 'string' || !Number.isSafeInteger(entry.seq) || !Array.isArray(entry.ops)) {
    throw new Error('not a journal entry');
  }
  return entry;
}

/** JSON.stringify hands replacers a Buffer already turned into { type: 'Buffer', data }. */
function isBuffer(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);
}
