import Database from 'better-sqlite3';
import { closeSync, openSync } from 'node:fs';
import type { Statement } from 'better-sqlite3';
import type { NeedleKey } from './needle.js';

/** Where a needle's data is: volume, offset of its header, data length; and its audit leaf. */
export interface NeedleLocation {
  seg: number;
  vol: number;
  off: number;
  len: number;
  leaf: Buffer;
}

/** The bytes of a needle in its volume: what a read needs (a NeedleLocation without segment and leaf). */
export type NeedleSpan = Pick<NeedleLocation, 'vol' | 'off' | 'len'>;

/** Where a needle goes in its volume, with its audit leaf (a NeedleLocation without the segment). */
export type NeedlePlace = Omit<NeedleLocation, 'seg'>;

export interface VolumeRow {
  id: number;
  /** Bytes of the volume covered by an fdatasync and fully indexed: a restart rescans from here. */
  synced: number;
  sealed: boolean;
}

/** Index writes are committed together, at most this long after the first of them. */
const COMMIT_WINDOW_MS = 100;

/**
 * The needle index of a volume store, persisted in SQLite beside the volumes: one row per
 * live needle, keyed by (blob, piece, seg). It is a cache of what the volumes say, checked
 * on every start: rows past a volume's synced checkpoint are dropped and the volume's tail
 * is scanned again (volume-store.ts recover). Commits are not flushed one by one (WAL,
 * synchronous NORMAL): a lost commit only makes a restart scan a little more.
 *
 * For the same reason writes are not committed one batch at a time either: they join a
 * transaction that is committed COMMIT_WINDOW_MS after it began (or at close and before a WAL
 * checkpoint). A busy store wrote the same index pages to the WAL dozens of times a second;
 * now once per window. Reads on this connection see the uncommitted rows. Point reads open a
 * window too (a deferred BEGIN takes no write lock): outside a transaction every SELECT takes
 * and drops the WAL read lock itself, which was half the cost of a piece's lookup; inside
 * one the lock is taken once per window. A checkpoint row
 * is written as its window commits (beforeCommit), so never in an earlier commit than the
 * needles it covers: a commit lost to a crash loses both together and the restart rescans
 * from the older checkpoint. A commit that fails
 * while the store runs (a full or failing disk) is reported to `onLostCommit`: the rows it
 * held are gone from this process's view, and only a restart rebuilds them from the volumes.
 */
export class VolumeIndex {
  private readonly db: Database.Database;
  private readonly s: Record<string, Statement>;
  private commitTimer: NodeJS.Timeout | undefined;
  /**
   * Runs a function in a savepoint: made once, as better-sqlite3 builds four wrappers per
   * db.transaction() call (a sixth of the stores' SQLite time under 1 MiB PUTs).
   */
  private readonly savepoint: (fn: () => unknown) => unknown;
  onLostCommit: (err: Error) => void = () => undefined;
  /**
   * Called in the window's transaction just before it commits: rows that only need to be as
   * fresh as the commit (the volumes' checkpoints) are written once per window, not per batch.
   */
  beforeCommit: () => void = () => undefined;

  constructor(file: string) {
    // Created private before SQLite opens it; SQLite gives its -wal and -shm the same mode.
    closeSync(openSync(file, 'a', 0o600));
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS needles (
        blob BLOB NOT NULL, piece INTEGER NOT NULL, seg INTEGER NOT NULL,
        vol INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL, leaf BLOB NOT NULL,
        PRIMARY KEY (blob, piece, seg)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS needles_by_volume ON needles(vol, off);
      CREATE TABLE IF NOT EXISTS volumes (id INTEGER PRIMARY KEY, synced INTEGER NOT NULL DEFAULT 0, sealed INTEGER NOT NULL DEFAULT 0);
    `);
    this.savepoint = this.db.transaction((fn: () => unknown) => fn());
    const p = (sql: string): Statement => this.db.prepare(sql);
    this.s = {
      get: p('SELECT seg, vol, off, len, leaf FROM needles WHERE blob = ? AND piece = ? AND seg = ?'),
      // Rows as arrays and no leaf: a piece read is the hottest lookup, and it needs no more.
      span: p('SELECT vol, off, len FROM needles WHERE blob = ? AND piece = ? AND seg = ?').raw(),
      shard: p('SELECT seg, vol, off, len, leaf FROM needles WHERE blob = ? AND piece = ? ORDER BY seg'),
      has: p('SELECT 1 FROM needles WHERE blob = ? AND piece = ? LIMIT 1'),
      put: p('INSERT OR REPLACE INTO needles(blob, piece, seg, vol, off, len, leaf) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      putNew: p('INSERT INTO needles(blob, piece, seg, vol, off, len, leaf) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      hasOther: p('SELECT 1 FROM needles WHERE blob = ? AND piece = ? AND seg != ? LIMIT 1'),
      delShard: p('DELETE FROM needles WHERE blob = ? AND piece = ?'),
      delOne: p('DELETE FROM needles WHERE blob = ? AND piece = ? AND seg = ?'),
      moved: p('UPDATE needles SET vol = ?, off = ? WHERE blob = ? AND piece = ? AND seg = ? AND vol = ? AND off = ?'),
      inVolume: p('SELECT blob, piece, seg, off, len, leaf FROM needles WHERE vol = ? AND off >= ? ORDER BY off LIMIT ?'),
      dropFrom: p('DELETE FROM needles WHERE vol = ? AND off >= ?'),
      shards: p('SELECT DISTINCT blob, piece FROM needles'),
      liveBytes: p('SELECT vol, SUM(len) AS bytes, COUNT(*) AS n FROM needles GROUP BY vol'),
      shardCount: p('SELECT COUNT(*) AS n FROM (SELECT DISTINCT blob, piece FROM needles)'),
      volumes: p('SELECT id, synced, sealed FROM volumes ORDER BY id'),
      addVolume: p('INSERT OR IGNORE INTO volumes(id) VALUES (?)'),
      setSynced: p('UPDATE volumes SET synced = ? WHERE id = ?'),
      seal: p('UPDATE volumes SET sealed = 1 WHERE id = ?'),
      dropVolume: p('DELETE FROM volumes WHERE id = ?'),
    };
  }

  close(): void {
    if (!this.db.open) return;
    this.commit();
    this.db.close();
  }

  /** `fn`'s writes, all or none, in the current commit window (a savepoint inside it). */
  transaction<T>(fn: () => T): T {
    this.begin();
    return this.savepoint(fn) as T;
  }

  /** Commit the window now (before a checkpoint, at close; tests). */
  commit(): void {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    if (!this.db.inTransaction) return;
    try {
      this.beforeCommit();
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.onLostCommit(err as Error);
    }
  }

  private begin(): void {
    if (this.db.inTransaction) return;
    this.db.exec('BEGIN');
    this.commitTimer = setTimeout(() => this.commit(), COMMIT_WINDOW_MS);
  }

  get(k: NeedleKey): NeedleLocation | undefined {
    this.begin();
    return this.s.get!.get(k.blob, k.piece, k.seg) as NeedleLocation | undefined;
  }

  /** Where a needle's bytes are, without its leaf (piece reads). */
  span(k: NeedleKey): NeedleSpan | undefined {
    this.begin();
    const r = this.s.span!.get(k.blob, k.piece, k.seg) as [number, number, number] | undefined;
    return r && { vol: r[0], off: r[1], len: r[2] };
  }

  /** Every needle of a shard, by segment. */
  shard(blob: Buffer, piece: number): NeedleLocation[] {
    this.begin();
    return this.s.shard!.all(blob, piece) as NeedleLocation[];
  }

  hasShard(blob: Buffer, piece: number): boolean {
    this.begin();
    return this.s.has!.get(blob, piece) !== undefined;
  }

  put(k: NeedleKey, at: NeedlePlace): void {
    this.begin();
    this.s.put!.run(k.blob, k.piece, k.seg, at.vol, at.off, at.len, at.leaf);
  }

  /**
   * Index a needle the index does not hold yet: false (and nothing written) when it holds one
   * under that key already. One statement for the common case of a new piece, where looking
   * it up first and then writing it were two.
   */
  putNew(k: NeedleKey, at: NeedlePlace): boolean {
    this.begin();
    return this.s.putNew!.run(k.blob, k.piece, k.seg, at.vol, at.off, at.len, at.leaf).changes === 1;
  }

  /** Whether the shard has a needle other than segment `seg`. */
  hasOtherSegment(k: NeedleKey): boolean {
    return this.s.hasOther!.get(k.blob, k.piece, k.seg) !== undefined;
  }

  deleteShard(blob: Buffer, piece: number): number {
    this.begin();
    return this.s.delShard!.run(blob, piece).changes;
  }

  deleteNeedle(k: NeedleKey): void {
    this.begin();
    this.s.delOne!.run(k.blob, k.piece, k.seg);
  }

  /** Point a needle at its copy, unless it changed meanwhile (compaction). */
  moved(k: NeedleKey, from: { vol: number; off: number }, to: { vol: number; off: number }): boolean {
    this.begin();
    return this.s.moved!.run(to.vol, to.off, k.blob, k.piece, k.seg, from.vol, from.off).changes === 1;
  }

  /** Live needles of a volume from `off` on, in file order. */
  inVolume(vol: number, off: number, limit: number): Array<NeedleKey & { off: number; len: number; leaf: Buffer }> {
    return this.s.inVolume!.all(vol, off, limit) as Array<NeedleKey & { off: number; len: number; leaf: Buffer }>;
  }

  dropFrom(vol: number, off: number): number {
    this.begin();
    return this.s.dropFrom!.run(vol, off).changes;
  }

  *shards(): IterableIterator<{ blob: Buffer; piece: number }> {
    yield* this.s.shards!.iterate() as IterableIterator<{ blob: Buffer; piece: number }>;
  }

  liveBytes(): Map<number, { bytes: number; needles: number }> {
    return new Map((this.s.liveBytes!.all() as Array<{ vol: number; bytes: number; n: number }>).map((r) => [r.vol, { bytes: r.bytes, needles: r.n }]));
  }

  shardCount(): number {
    return (this.s.shardCount!.get() as { n: number }).n;
  }

  volumes(): VolumeRow[] {
    return (this.s.volumes!.all() as Array<{ id: number; synced: number; sealed: number }>).map((r) => ({ id: r.id, synced: r.synced, sealed: r.sealed === 1 }));
  }

  addVolume(id: number): void {
    this.begin();
    this.s.addVolume!.run(id);
  }

  setSynced(id: number, synced: number): void {
    this.begin();
    this.s.setSynced!.run(synced, id);
  }

  seal(id: number): void {
    this.begin();
    this.s.seal!.run(id);
  }

  dropVolume(id: number): void {
    this.begin();
    this.s.dropVolume!.run(id);
  }

  /** Make every commit so far durable (before a compacted volume's file is removed). */
  checkpoint(): void {
    this.commit();
    this.db.pragma('wal_checkpoint(FULL)');
  }
}
