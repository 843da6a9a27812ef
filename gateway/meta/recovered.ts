import Database, { type Statement } from 'better-sqlite3';
import { openMetaDb, type Db } from './db.js';
import type { RowChange } from './journal.js';
import { recountBucketUsage } from './quota.js';

/**
 * A metadata snapshot being restored (gateway/snapshot/recover.ts): a copy of an SQLite
 * metadata file read back from the shard-stores, brought up to date from the journal before
 * it is put in place. SQLite-only: the snapshot is that backend's own file.
 */
export interface RecoveredMeta {
  /** Write one journal entry's rows, by rowid, in one transaction; returns how many. */
  applyChanges(ops: readonly RowChange[]): number;
  /** Remember journal blobs seen on the stores, so the recovered gateway frees them later. */
  recordJournalBlobs(epoch: string, blobs: ReadonlyArray<{ id: string; seq: number; placement: string[] }>, now: number): void;
  /** The recovered gateway starts a new journal epoch, with no changes pending. */
  forgetJournalPosition(): void;
  counts(): { buckets: number; objects: number; blobs: number };
  /** Every blob id the metadata knows, journal entries included. */
  knownBlobIds(): Set<string>;
  /** Count every bucket's bytes again (quota.ts recountBucketUsage): replayed rows fire no triggers. */
  recountBucketUsage(): void;
  /** Fold the WAL into the file and close it, so the file alone is the whole metadata. */
  close(): void;
}

/** SQLite's integrity check of a file, opened read-only: 'ok' or what is wrong. */
export function checkMetaFile(file: string): string {
  const check = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return String(check.pragma('integrity_check', { simple: true }));
  } finally {
    check.close();
  }
}

/** Open a restored snapshot (migrating it to this release's schema). */
export function openRecoveredMeta(file: string): RecoveredMeta {
  return new SqliteRecoveredMeta(openMetaDb(file));
}

class SqliteRecoveredMeta implements RecoveredMeta {
  private readonly upserts = new Map<string, Statement>();
  private readonly deletes = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  // Foreign keys off: rows arrive in table order, not in the order they depend on each other.
  applyChanges(ops: readonly RowChange[]): number {
    this.db.pragma('foreign_keys = OFF');
    try {
      this.db.transaction(() => {
        for (const [table, rowid, row] of ops) {
          if (!/^[a-z_]+$/.test(table)) throw new Error(`names table ${JSON.stringify(table)}`);
          if (row === null) this.del(table).run(rowid);
          else this.upsert(table, Object.keys(row)).run(rowid, ...Object.values(row).map(toSql));
        }
      })();
    } finally {
      this.db.pragma('foreign_keys = ON');
    }
    return ops.length;
  }

  recordJournalBlobs(epoch: string, blobs: ReadonlyArray<{ id: string; seq: number; placement: string[] }>, now: number): void {
    const record = this.db.prepare('INSERT OR IGNORE INTO journal_entries(blob_id, epoch, seq, size, placement, created_at) VALUES (?, ?, ?, 0, ?, ?)');
    for (const b of blobs) record.run(b.id, epoch, b.seq, JSON.stringify(b.placement), now);
  }

  forgetJournalPosition(): void {
    this.db.prepare(`DELETE FROM trust_state WHERE key IN ('journal.epoch', 'journal.next')`).run();
    this.db.prepare('DELETE FROM journal_changes').run();
  }

  counts(): { buckets: number; objects: number; blobs: number } {
    const one = (sql: string): number => Number((this.db.prepare(sql).get() as { n: number }).n);
    return { buckets: one('SELECT COUNT(*) AS n FROM buckets'), objects: one('SELECT COUNT(*) AS n FROM objects'), blobs: one(`SELECT COUNT(*) AS n FROM blobs WHERE state = 'live'`) };
  }

  knownBlobIds(): Set<string> {
    return new Set((this.db.prepare('SELECT id FROM blobs UNION SELECT blob_id FROM journal_entries').all() as Array<{ id: string }>).map((r) => r.id));
  }

  recountBucketUsage(): void {
    recountBucketUsage(this.db);
  }

  close(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }

  private upsert(table: string, cols: string[]): Statement {
    for (const c of cols) if (!/^[a-z_][a-z0-9_]*$/.test(c)) throw new Error(`journal: bad column name ${JSON.stringify(c)}`);
    const key = `${table}(${cols.join(',')})`;
    let st = this.upserts.get(key);
    if (!st) {
      st = this.db.prepare(`INSERT OR REPLACE INTO ${table}(rowid, ${cols.join(', ')}) VALUES (?${', ?'.repeat(cols.length)})`);
      this.upserts.set(key, st);
    }
    return st;
  }

  private del(table: string): Statement {
    let st = this.deletes.get(table);
    if (!st) {
      st = this.db.prepare(`DELETE FROM ${table} WHERE rowid = ?`);
      this.deletes.set(table, st);
    }
    return st;
  }
}

function toSql(v: unknown): unknown {
  return typeof v === 'boolean' ? Number(v) : v;
}
