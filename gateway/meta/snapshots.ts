import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/** A snapshot of the metadata kept on the shard-stores (table snapshots). */
export interface SnapshotRow {
  seq: number;
  blobId: string;
  size: number;
  createdAt: number;
}

/** A journal entry written to the shard-stores (table journal_entries). */
export interface JournalEntryRef {
  blobId: string;
  epoch: string;
  seq: number;
  placement: string[];
}

/** What gateway/snapshot/snapshotter.ts keeps in the metadata about its snapshots. */
export interface SnapshotStore {
  /** A consistent copy of the whole metadata into `file`, while readers and writers carry on. */
  backupTo(file: string): Promise<void>;
  /**
   * Record a snapshot written as blob `blobId` (which becomes live), in one transaction;
   * `journal`: where replay after it starts. Returns its sequence number.
   */
  record(blobId: string, size: number, createdAt: number, journal: { epoch: string; next: number } | undefined): number;
  /** Whether any snapshot names journal epoch `epoch`. */
  coversEpoch(epoch: string): boolean;
  /** Per journal epoch, the first entry a kept snapshot replays from. */
  keptJournalFrom(): Map<string, number>;
  /** Every journal entry recorded, by epoch then number. */
  journalEntries(): JournalEntryRef[];
  dropJournalEntry(blobId: string): void;
  /** Snapshots beyond the newest `kept` are forgotten, their blobs garbage from `now`, in one transaction. */
  dropOld(kept: number, now: number): void;
  last(): SnapshotRow | undefined;
}

type SqlRow = Record<string, unknown>;

/** Backups use SQLite's online backup API. */
export class SqliteSnapshotStore implements SnapshotStore {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      live: p(`UPDATE blobs SET state = 'live', size = ? WHERE id = ?`),
      insert: p('INSERT INTO snapshots(blob_id, size, created_at, journal_epoch, journal_from) VALUES (?, ?, ?, ?, ?)'),
      coversEpoch: p('SELECT 1 FROM snapshots WHERE journal_epoch = ? LIMIT 1'),
      keptFrom: p('SELECT journal_epoch AS epoch, MIN(journal_from) AS first FROM snapshots WHERE journal_epoch IS NOT NULL GROUP BY journal_epoch'),
      entries: p('SELECT blob_id, epoch, seq, placement FROM journal_entries ORDER BY epoch, seq'),
      dropEntry: p('DELETE FROM journal_entries WHERE blob_id = ?'),
      old: p('SELECT id, blob_id FROM snapshots ORDER BY id DESC LIMIT -1 OFFSET ?'),
      drop: p('DELETE FROM snapshots WHERE id = ?'),
      garbage: p(`UPDATE blobs SET state = 'garbage', garbage_at = ? WHERE id = ? AND state = 'live'`),
      last: p('SELECT id, blob_id, size, created_at FROM snapshots ORDER BY id DESC LIMIT 1'),
    };
  }

  async backupTo(file: string): Promise<void> {
    await this.db.backup(file);
  }

  record(blobId: string, size: number, createdAt: number, journal: { epoch: string; next: number } | undefined): number {
    return this.db.transaction(() => {
      this.s.live!.run(size, blobId);
      return Number(this.s.insert!.run(blobId, size, createdAt, journal?.epoch ?? null, journal?.next ?? null).lastInsertRowid);
    }).immediate();
  }

  coversEpoch(epoch: string): boolean {
    return this.s.coversEpoch!.get(epoch) !== undefined;
  }

  keptJournalFrom(): Map<string, number> {
    return new Map((this.s.keptFrom!.all() as SqlRow[]).map((r) => [String(r.epoch), Number(r.first)]));
  }

  journalEntries(): JournalEntryRef[] {
    return (this.s.entries!.all() as SqlRow[]).map((r) => ({
      blobId: String(r.blob_id), epoch: String(r.epoch), seq: Number(r.seq), placement: JSON.parse(String(r.placement)) as string[],
    }));
  }

  dropJournalEntry(blobId: string): void {
    this.s.dropEntry!.run(blobId);
  }

  dropOld(kept: number, now: number): void {
    this.db.transaction(() => {
      for (const r of this.s.old!.all(kept) as SqlRow[]) {
        this.s.garbage!.run(now, String(r.blob_id));
        this.s.drop!.run(Number(r.id));
      }
    }).immediate();
  }

  last(): SnapshotRow | undefined {
    const r = this.s.last!.get() as SqlRow | undefined;
    return r && { seq: Number(r.id), blobId: String(r.blob_id), size: Number(r.size), createdAt: Number(r.created_at) };
  }
}
