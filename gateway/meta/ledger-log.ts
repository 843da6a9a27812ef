import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/**
 * One entry of the signed ledger-event log as kept (gateway/economy/log.ts signs them): a
 * ledger event (deposit, delegation, fee...) or the record of an era's settlement.
 */
export interface StoredLedgerEntry {
  seq: number;
  kind: 'event' | 'settlement';
  /** The era a settlement record settles; null for events. */
  era: number | null;
  /** When the log accepted it (ms), which decides an event's era. */
  at: number;
  /** Compact JWS over the canonical JSON of `{ v, seq, prev, event }`. */
  jws: string;
  /** ledgerEntryHash of the payload: the next entry's `prev`. */
  hash: string;
}

/** One line of the double-entry ledger a settlement (or genesis) produced, as published. */
export interface LedgerEntryRow {
  seq: number;
  era: number;
  reason: string;
  from: string;
  to: string;
  /** Decimal string: amounts are integers beyond 2^53. */
  amount: string;
  ref?: string;
}

/** Another writer appended to the ledger log after the entries were signed against its tail. */
export class LedgerTailMovedError extends Error {
  code = 'ERR_LEDGER_TAIL_MOVED';
  constructor() {
    super('ledger log changed while signing');
    this.name = 'LedgerTailMovedError';
  }
}

/**
 * The ledger-event log (table ledger_log), the ledger entries it produced (ledger_entries),
 * and what the economy reads from the rest of the metadata (bytes each store holds).
 */
export interface LedgerLogStore {
  /** The last entry's position, hash and time; undefined while the log is empty. */
  tail(): Promise<{ seq: number; hash: string; at: number } | undefined>;
  /**
   * Append entries signed against the tail `afterSeq` (0: empty log), with the ledger entries
   * they produced, all or none, in one transaction. Throws LedgerTailMovedError when the tail
   * moved meanwhile (or an era is settled twice): two writers never fork the chain.
   */
  append(afterSeq: number, entries: readonly StoredLedgerEntry[], ledgerEntries?: readonly LedgerEntryRow[]): Promise<void>;
  page(after: number, limit: number): Promise<Array<{ seq: number; jws: string }>>;
  size(): Promise<number>;
  /** Settled eras in order, with the log position of each one's record. */
  settlements(): Promise<Array<{ era: number; seq: number }>>;
  /** Ledger entries after `after`, in order. */
  entries(after: number, limit: number): Promise<LedgerEntryRow[]>;
  /**
   * Bytes of live pieces each store holds by the metadata: shard file lengths of the live
   * blobs placed on it, less pieces queued for repair (it does not have them). What the
   * gateway placed and recorded, so a store cannot inflate it as it could a /status answer.
   */
  bytesHeld(): Promise<Map<string, number>>;
}

type SqlRow = Record<string, unknown>;

/**
 * codec/layout.ts shardFileLength(size, segment_size) in SQL (K = 10 data pieces, 16-byte GCM
 * tag, 4-byte CRC per record, pieces a multiple of 8): n full records but the last, which holds
 * what is left. Integer division is floor on non-negative integers in SQLite and PostgreSQL.
 * test/unit/ledger-store.test.ts checks it against shardFileLength.
 */
export const SHARD_FILE_LENGTH_SQL = `(CASE WHEN b.size <= 0 THEN 0 ELSE
  ((b.size + b.segment_size - 1) / b.segment_size - 1) * (((b.segment_size + 16 + 9) / 10 + 7) / 8 * 8 + 4)
  + ((b.size - ((b.size + b.segment_size - 1) / b.segment_size - 1) * b.segment_size + 16 + 9) / 10 + 7) / 8 * 8 + 4 END)`;

/** Appends are serialised by SQLite's write lock (one immediate transaction). */
export class SqliteLedgerLogStore implements LedgerLogStore {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      last: p('SELECT seq, hash, at FROM ledger_log ORDER BY seq DESC LIMIT 1'),
      insert: p('INSERT INTO ledger_log(seq, kind, era, at, jws, hash) VALUES (?, ?, ?, ?, ?, ?)'),
      insertEntry: p('INSERT INTO ledger_entries(seq, era, reason, from_account, to_account, amount, ref) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      page: p('SELECT seq, jws FROM ledger_log WHERE seq > ? ORDER BY seq LIMIT ?'),
      count: p('SELECT COUNT(*) AS n FROM ledger_log'),
      settlements: p(`SELECT era, seq FROM ledger_log WHERE kind = 'settlement' ORDER BY era`),
      entries: p('SELECT * FROM ledger_entries WHERE seq > ? ORDER BY seq LIMIT ?'),
      held: p(`SELECT j.value AS node, SUM(${SHARD_FILE_LENGTH_SQL}) AS bytes FROM blobs b, json_each(b.placement) j
        WHERE b.state = 'live' AND NOT EXISTS (SELECT 1 FROM repair_queue q WHERE q.blob_id = b.id AND q.piece = j.key)
        GROUP BY j.value`),
    };
  }

  async tail(): Promise<{ seq: number; hash: string; at: number } | undefined> {
    return this.tailNow();
  }

  private tailNow(): { seq: number; hash: string; at: number } | undefined {
    const r = this.s.last!.get() as SqlRow | undefined;
    return r && { seq: Number(r.seq), hash: String(r.hash), at: Number(r.at) };
  }

  async append(afterSeq: number, entries: readonly StoredLedgerEntry[], ledgerEntries: readonly LedgerEntryRow[] = []): Promise<void> {
    try {
      this.db.transaction(() => {
        if ((this.tailNow()?.seq ?? 0) !== afterSeq) throw new LedgerTailMovedError();
        for (const e of entries) this.s.insert!.run(e.seq, e.kind, e.era, e.at, e.jws, e.hash);
        for (const e of ledgerEntries) this.s.insertEntry!.run(e.seq, e.era, e.reason, e.from, e.to, e.amount, e.ref ?? null);
      }).immediate();
    } catch (err) {
      // An era settled twice collides on the unique index of settlement records.
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' || (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new LedgerTailMovedError();
      }
      throw err;
    }
  }

  async page(after: number, limit: number): Promise<Array<{ seq: number; jws: string }>> {
    return (this.s.page!.all(after, limit) as SqlRow[]).map((r) => ({ seq: Number(r.seq), jws: String(r.jws) }));
  }

  async size(): Promise<number> {
    return Number((this.s.count!.get() as SqlRow).n);
  }

  async settlements(): Promise<Array<{ era: number; seq: number }>> {
    return (this.s.settlements!.all() as SqlRow[]).map((r) => ({ era: Number(r.era), seq: Number(r.seq) }));
  }

  async entries(after: number, limit: number): Promise<LedgerEntryRow[]> {
    return (this.s.entries!.all(after, limit) as SqlRow[]).map(entryOf);
  }

  async bytesHeld(): Promise<Map<string, number>> {
    return new Map((this.s.held!.all() as SqlRow[]).map((r) => [String(r.node), Number(r.bytes)]));
  }
}

export function entryOf(r: SqlRow): LedgerEntryRow {
  const e: LedgerEntryRow = {
    seq: Number(r.seq), era: Number(r.era), reason: String(r.reason), from: String(r.from_account), to: String(r.to_account), amount: String(r.amount),
  };
  if (r.ref !== null && r.ref !== undefined) e.ref = String(r.ref);
  return e;
}
