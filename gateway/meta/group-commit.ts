import { open } from 'node:fs/promises';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

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

  constructor(private readonly db: Db, private readonly walPath: string, private readonly dbPath: string) {
    // SQLite's count of rows written on this connection: it grows with every commit, so a
    // request that wrote nothing does not wait for a flush.
    this.changes = db.prepare('SELECT total_changes()').pluck();
    this.db.pragma('synchronous = NORMAL');
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
    // wrote them. Opened each time, so a WAL that SQLite removed and made again is the one flushed.
    const fh = await open(this.walPath, 'r+').catch((err: NodeJS.ErrnoException) => {
      // No WAL: everything was checkpointed into the database file, which the checkpoint synced;
      // flushing that file too costs little and covers the case anyway.
      if (err.code === 'ENOENT') return open(this.dbPath, 'r+');
      throw err;
    });
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
    this.flushes++;
    this.flushed = Math.max(this.flushed, upTo);
  }
}
