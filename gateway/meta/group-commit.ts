import { fstatSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Statement } from 'better-sqlite3';
import { relaxForGood, type Db } from './db.js';

/**
 * Group commit for the gateway's metadata. With `synchronous = FULL` every commit fsyncs the
 * WAL on the event loop (better-sqlite3 is synchronous), so each write request stalls every
 * other request for a disk flush. Here commits run with `synchronous = NORMAL` (written to the
 * WAL, not flushed: a process crash keeps them, a power loss may not), and `durable()` flushes
 * the WAL on the threadpool before anything is acknowledged. One flush covers every commit made
 * before it started, so concurrent requests share it.
 *
 * NORMAL keeps the WAL consistent on its own: SQLite syncs the WAL before each checkpoint and
 * the database after it, so a checkpoint never loses a commit that was flushed here.
 * https://www.sqlite.org/pragma.html#pragma_synchronous
 */
export class GroupCommit {
  private readonly changes: Statement;
  /** total_changes() covered by the last completed flush. */
  private flushed: number;
  private flushing: Promise<void> | undefined;
  /** Flushes done so far: with N requests waiting at once, far fewer than N. */
  flushes = 0;
  /** The WAL, kept open between flushes; `ino` tells whether SQLite has made a new one since. */
  private wal: { fh: FileHandle; ino: number } | undefined;

  constructor(private readonly db: Db, private readonly walPath: string, private readonly dbPath: string) {
    // SQLite's count of rows written on this connection: it grows with every commit, so a
    // request that wrote nothing does not wait for a flush.
    this.changes = db.prepare('SELECT total_changes()').pluck();
    relaxForGood(this.db);
    this.flushed = this.current();
  }

  /** Resolves once every commit made on this connection before the call is on disk. */
  async durable(): Promise<void> {
    const target = this.current();
    while (this.flushed < target) {
      // A flush that started before our commit may not cover it: wait for it, then flush again.
      this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
      await this.flushing;
    }
  }

  private current(): number {
    return this.changes.get() as number;
  }

  private async flush(): Promise<void> {
    const upTo = this.current();
    // fdatasync of the WAL through a handle of our own: it flushes the file's pages whoever
    // wrote them. The handle is kept (opening and closing it were two more threadpool trips
    // per flush) and opened again when the path names another file: SQLite removes the WAL
    // when its last connection closes and creates a new one on the next write.
    const onDisk = statSync(this.walPath, { throwIfNoEntry: false });
    if (this.wal && (!onDisk || onDisk.ino !== this.wal.ino)) {
      await this.wal.fh.close().catch(() => undefined);
      this.wal = undefined;
    }
    if (!onDisk) {
      // No WAL: everything was checkpointed into the database file, which the checkpoint synced;
      // flushing that file too costs little and covers the case anyway.
      const fh = await open(this.dbPath, 'r+');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } else {
      if (!this.wal) {
        const fh = await open(this.walPath, 'r+');
        this.wal = { fh, ino: fstatSync(fh.fd).ino };
      }
      await this.wal.fh.datasync();
    }
    this.flushes++;
    this.flushed = Math.max(this.flushed, upTo);
  }

  /** Let the WAL handle go (when the database closes). */
  async close(): Promise<void> {
    const wal = this.wal;
    this.wal = undefined;
    await wal?.fh.close().catch(() => undefined);
  }
}
