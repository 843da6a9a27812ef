import type { LeaseRow, LeaseStore } from '../leases.js';
import type { PgDb } from './db.js';

/** The database's clock in ms: gateways' own clocks may disagree by more than a lease's slack. */
const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export class PgLeaseStore implements LeaseStore {
  constructor(private readonly db: PgDb) {}

  acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.db.write(async (sql) => (await sql.run(
      `INSERT INTO leases(name, holder, expires_at, generation) VALUES ($1, $2, ${NOW_MS} + $3, 1)
       ON CONFLICT (name) DO UPDATE SET
         generation = leases.generation + CASE WHEN leases.holder = EXCLUDED.holder THEN 0 ELSE 1 END,
         holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= ${NOW_MS}`,
      [name, holder, ttlMs],
    )) > 0);
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.write((sql) => sql.run('UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2', [name, holder]));
  }

  list(): Promise<LeaseRow[]> {
    return this.db.read(async (sql) => (await sql.query<{ name: string; holder: string; expires_at: number; generation: number }>(
      'SELECT name, holder, expires_at, generation FROM leases ORDER BY name',
    )).map((r) => ({ name: r.name, holder: r.holder, expiresAt: r.expires_at, generation: r.generation })));
  }
}
