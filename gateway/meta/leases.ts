import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/** Who holds a background job's lease, and until when (ms since the epoch, the database's clock). */
export interface LeaseRow {
  name: string;
  holder: string;
  expiresAt: number;
  /** Raised each time the lease changes hands: a fencing token for what the holder writes. */
  generation: number;
}

/**
 * Leases on background jobs (repair, audits, scrub, lifecycle, collection, reports,
 * notifications): several gateways on one database run each job once, and when the holder
 * dies its lease runs out and another gateway takes the job over. Time is the database's, so
 * gateways whose clocks disagree still agree on who holds what.
 */
export interface LeaseStore {
  /**
   * Take or renew `name` for `ttlMs`: true when `holder` holds it afterwards (it was free,
   * expired, or already this holder's), false when another holder's lease still runs.
   */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Give the lease up at once (a clean shutdown), if `holder` still has it. */
  release(name: string, holder: string): Promise<void>;
  /** Every lease, for the admin API and tests. */
  list(): Promise<LeaseRow[]>;
}

/** The one-gateway backend keeps the table too, so `admin` shows who runs what the same way. */
export class SqliteLeaseStore implements LeaseStore {
  private readonly s: Record<'take' | 'release' | 'list', Statement>;

  constructor(db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      take: p(`INSERT INTO leases(name, holder, expires_at, generation) VALUES (@name, @holder, @now + @ttl, 1)
        ON CONFLICT(name) DO UPDATE SET
          generation = generation + (holder != excluded.holder),
          holder = excluded.holder, expires_at = excluded.expires_at
        WHERE leases.holder = excluded.holder OR leases.expires_at <= @now`),
      release: p('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?'),
      list: p('SELECT name, holder, expires_at, generation FROM leases ORDER BY name'),
    };
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.s.take.run({ name, holder, ttl: ttlMs, now: Date.now() }).changes > 0;
  }

  async release(name: string, holder: string): Promise<void> {
    this.s.release.run(name, holder);
  }

  async list(): Promise<LeaseRow[]> {
    return (this.s.list.all() as Array<{ name: string; holder: string; expires_at: number; generation: number }>).map((r) => ({
      name: r.name, holder: r.holder, expiresAt: r.expires_at, generation: r.generation,
    }));
  }
}
