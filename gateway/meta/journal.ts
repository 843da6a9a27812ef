import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/** One changed row: [table, rowid, the row's columns by name, or null when it was deleted]. */
export type RowChange = [string, number, Record<string, unknown> | null];

/**
 * What the metadata journal (gateway/journal/shipper.ts) keeps in the metadata: the changes
 * noted by triggers (migration 13) since the last shipment, its epoch and next entry number,
 * and the entries written to the shard-stores.
 */
export interface JournalStore {
  /** The epoch and next entry number; undefined before the first epoch. */
  position(): { epoch: string; next: number } | undefined;
  /** Start epoch `epoch` at entry 0, both in one commit. */
  startEpoch(epoch: string): void;
  setNext(next: number): void;
  /** The number of the last change noted (0: none yet); changes up to it are what a flush ships. */
  lastChange(): number;
  /** The rows changed by changes up to `upTo`, each once, as they are now (by table, then rowid). */
  changedRows(upTo: number): RowChange[];
  /** Changes up to `upTo` are in a durable journal entry. */
  shipped(upTo: number): void;
  /** An entry about to be written as blob `blobId` onto `placement`. */
  recordEntry(e: { epoch: string; seq: number; blobId: string; size: number; placement: string[]; createdAt: number }): void;
}

const STATE_EPOCH = 'journal.epoch';
const STATE_NEXT = 'journal.next';

export class SqliteJournalStore implements JournalStore {
  private readonly s: Record<string, Statement>;
  private readonly rowStatements = new Map<string, Statement>();

  constructor(private readonly db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      upTo: p(`SELECT seq FROM sqlite_sequence WHERE name = 'journal_changes'`).pluck(),
      changed: p('SELECT DISTINCT tbl, row FROM journal_changes WHERE seq <= ? ORDER BY tbl, row'),
      shipped: p('DELETE FROM journal_changes WHERE seq <= ?'),
      getState: p('SELECT value FROM trust_state WHERE key = ?').pluck(),
      setState: p('INSERT INTO trust_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      record: p('INSERT OR REPLACE INTO journal_entries(epoch, seq, blob_id, size, placement, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    };
  }

  position(): { epoch: string; next: number } | undefined {
    const epoch = this.s.getState!.get(STATE_EPOCH) as string | undefined;
    return epoch === undefined ? undefined : { epoch, next: Number(this.s.getState!.get(STATE_NEXT) ?? 0) };
  }

  startEpoch(epoch: string): void {
    this.db.transaction(() => {
      this.s.setState!.run(STATE_EPOCH, epoch);
      this.s.setState!.run(STATE_NEXT, '0');
    })();
  }

  setNext(next: number): void {
    this.s.setState!.run(STATE_NEXT, String(next));
  }

  lastChange(): number {
    return Number(this.s.upTo!.get() ?? 0);
  }

  changedRows(upTo: number): RowChange[] {
    const changed = this.s.changed!.all(upTo) as Array<{ tbl: string; row: number }>;
    return changed.map(({ tbl, row }): RowChange => {
      const r = this.rowOf(tbl).get(row) as Record<string, unknown> | undefined;
      if (!r) return [tbl, row, null];
      const { __rowid: _rowid, ...cols } = r;
      return [tbl, row, cols];
    });
  }

  shipped(upTo: number): void {
    this.s.shipped!.run(upTo);
  }

  recordEntry(e: { epoch: string; seq: number; blobId: string; size: number; placement: string[]; createdAt: number }): void {
    this.s.record!.run(e.epoch, e.seq, e.blobId, e.size, JSON.stringify(e.placement), e.createdAt);
  }

  private rowOf(table: string): Statement {
    let st = this.rowStatements.get(table);
    if (!st) {
      // Table names come from our own triggers (migration 13), never from a request.
      if (!/^[a-z_]+$/.test(table)) throw new Error(`journal: bad table name ${table}`);
      st = this.db.prepare(`SELECT rowid AS __rowid, * FROM ${table} WHERE rowid = ?`);
      this.rowStatements.set(table, st);
    }
    return st;
  }
}
