import { N } from '../../codec/erasure.js';
import type { RecoveredMeta } from '../meta/recovered.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { readBlob } from '../pipeline/read-blob.js';
import { decodeEntry, entryPlainLength, journalDataKey, journalTag, type JournalEntry } from './entry.js';

/** Where every piece of every blob is, from the stores' listings: blob id → piece → store ids. */
export type PieceMap = Map<string, Map<number, string[]>>;

/** Entries read at once during a replay. */
const READ_AHEAD = 8;

export function pieceMapOf(listings: ReadonlyMap<string, readonly string[]>): PieceMap {
  const map: PieceMap = new Map();
  for (const [nodeId, shards] of listings) {
    for (const s of shards) {
      const dot = s.indexOf('.');
      const blob = s.slice(0, dot);
      const piece = Number(s.slice(dot + 1));
      let pieces = map.get(blob);
      if (!pieces) map.set(blob, (pieces = new Map<number, string[]>()));
      const holders = pieces.get(piece);
      if (holders) holders.push(nodeId);
      else pieces.set(piece, [nodeId]);
    }
  }
  return map;
}

export interface ReplayDeps {
  /** Reading needs only the codec, the master key and shard reads: the journal is not in the metadata. */
  ctx: Pick<PipelineContext, 'io' | 'engine' | 'health' | 'masterKey' | 'hedgeMs' | 'readTimeoutMs' | 'meta'>;
  pieces: PieceMap;
  /** A piece's record length on a store (HEAD), to learn the entry's size. */
  recordLength(nodeId: string, shardId: string): Promise<number | null>;
  log?: (line: string) => void;
}

export interface ReplayReport {
  epoch: string;
  /** Entries applied, `from` to `last` (last = from - 1 when none). */
  from: number;
  last: number;
  /** When the last applied entry was shipped (ms), or null. */
  lastAt: number | null;
  rows: number;
  /**
   * Entries written after the last one applied that could not be read (too few pieces), or
   * that follow a gap: changes in them are not in the recovered metadata.
   */
  unreadable: number[];
  /** Every journal blob of the epoch seen on the stores (read or not), so that they can be freed later. */
  blobs: Array<{ id: string; seq: number }>;
}

/**
 * Apply the journal entries of `epoch` from `from` on, in order, to `meta` (a restored
 * snapshot). Stops at the first entry number with no readable write; entries found beyond
 * it are reported, not applied, since a gap means their changes lack what came between.
 */
export async function replayJournal(meta: Pick<RecoveredMeta, 'applyChanges'>, epoch: string, from: number, deps: ReplayDeps): Promise<ReplayReport> {
  const master = deps.ctx.masterKey;
  const report: ReplayReport = { epoch, from, last: from - 1, lastAt: null, rows: 0, unreadable: [], blobs: [] };
  const byTag = new Map<string, string[]>();
  for (const id of deps.pieces.keys()) {
    const tag = id.slice(0, 16);
    const list = byTag.get(tag);
    if (list) list.push(id);
    else byTag.set(tag, [id]);
  }
  // Entries are read ahead (their reads are independent) and applied strictly in order.
  const reads = new Map<number, Promise<JournalEntry | null>>();
  const readAhead = (seq: number): void => {
    for (let s = seq; s < seq + READ_AHEAD; s++) {
      if (reads.has(s)) continue;
      const candidates = byTag.get(journalTag(master, epoch, s));
      if (!candidates) break;
      const p = newestReadable(candidates, epoch, s, deps);
      p.catch(() => undefined);
      reads.set(s, p);
    }
  };
  for (let seq = from; ; seq++) {
    const candidates = byTag.get(journalTag(master, epoch, seq)) ?? [];
    if (candidates.length === 0) break;
    for (const id of candidates) report.blobs.push({ id, seq });
    readAhead(seq);
    const entry = await reads.get(seq)!;
    reads.delete(seq);
    if (!entry) {
      report.unreadable.push(seq);
      break;
    }
    report.rows += applyEntry(meta, entry);
    report.last = seq;
    report.lastAt = entry.at;
    deps.log?.(`journal entry ${seq}: ${entry.ops.length} row(s) of ${new Date(entry.at).toISOString()}`);
  }
  // Entries beyond a gap: say how many changes are missing.
  for (let seq = report.last + 2, misses = 0; misses < 8; seq++) {
    const found = byTag.get(journalTag(master, epoch, seq));
    if (found) {
      report.unreadable.push(seq);
      for (const id of found) report.blobs.push({ id, seq });
      misses = 0;
    } else {
      misses++;
    }
  }
  return report;
}

/** The write of entry `seq` shipped last among those that read back (a retry supersedes a failed attempt). */
async function newestReadable(ids: string[], epoch: string, seq: number, deps: ReplayDeps): Promise<JournalEntry | null> {
  let best: JournalEntry | null = null;
  for (const id of ids) {
    try {
      const entry = await readEntry(id, deps);
      if (entry.epoch !== epoch || entry.seq !== seq) continue;
      if (!best || entry.at > best.at) best = entry;
    } catch (err) {
      deps.log?.(`journal entry ${seq} (${id}): ${(err as Error).message}`);
    }
  }
  return best;
}

async function readEntry(id: string, deps: ReplayDeps): Promise<JournalEntry> {
  const pieces = deps.pieces.get(id)!;
  const placement = Array.from({ length: N }, (_, i) => pieces.get(i)?.[0] ?? `missing-${i}`);
  const first = [...pieces.entries()][0]!;
  const length = await deps.recordLength(first[1][0]!, `${id}.${first[0]}`);
  if (length === null) throw new Error('its pieces went away');
  const size = entryPlainLength(length - 4);
  const blob: BlobRow = { id, size, segmentSize: size, wrappedKey: Buffer.alloc(0), placement, state: 'live', createdAt: 0 };
  const ctx = { ...deps.ctx, segmentSize: size, writeQuorum: N, lateAckMs: 0, place: async () => ({ nodes: placement, offline: new Set<string>() }) } as PipelineContext;
  const chunks: Buffer[] = [];
  for await (const chunk of readBlob(ctx, blob, 0, size - 1, () => journalDataKey(deps.ctx.masterKey, id))) chunks.push(chunk);
  return decodeEntry(Buffer.concat(chunks));
}

/** An entry's rows into the restored metadata, in one transaction. */
function applyEntry(meta: Pick<RecoveredMeta, 'applyChanges'>, e: JournalEntry): number {
  for (const [table] of e.ops) if (!/^[a-z_]+$/.test(table)) throw new Error(`journal entry ${e.seq} names table ${JSON.stringify(table)}`);
  return meta.applyChanges(e.ops);
}
