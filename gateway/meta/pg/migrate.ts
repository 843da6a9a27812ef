import type pg from 'pg';
import type { PgDb } from './db.js';
import { PG_MIGRATIONS, type PgMigration } from './schema.js';

/**
 * Brings a PostgreSQL metadata database up to this code's schema. Gateways that start together
 * take turns on a session advisory lock, so one applies the migrations and the others find
 * them done. Each statement runs on its own (see schema.ts), and a migration is recorded in
 * `schema_version` only once all its statements succeeded.
 */

/** Fixed key of the advisory lock every shardgate takes while it migrates ("SHGTSCHM"). */
const MIGRATION_LOCK_KEY = '6005220183548023117';

export class MetaSchemaTooNewError extends Error {
  code = 'ERR_META_SCHEMA_TOO_NEW';
  constructor(readonly found: number, readonly known: number) {
    super(
      `the metadata database is at schema version ${found}, newer than this shardgate knows (${known}): ` +
        'a newer shardgate migrated it; upgrade this gateway to the same release as the others',
    );
    this.name = 'MetaSchemaTooNewError';
  }
}

/** Applies what is missing; returns the schema version the database is now at. */
export async function migratePg(db: PgDb, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number> {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  const client = await db.pool.connect();
  let broken = false;
  try {
    const locked = await lock(client);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
        version     INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        applied_at  BIGINT NOT NULL
      )`);
      const current = await versionOf(client);
      if (current > known) throw new MetaSchemaTooNewError(current, known);
      for (const m of migrations) {
        if (m.version <= current) continue;
        for (const statement of m.statements) await client.query(statement);
        await client.query(
          'INSERT INTO schema_version(version, name, applied_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING',
          [m.version, m.name, Date.now()],
        );
      }
      return Math.max(current, known);
    } finally {
      if (locked) await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => { broken = true; });
    }
  } catch (err) {
    // A session that may still hold the lock must not go back to the pool.
    broken = true;
    throw err;
  } finally {
    client.release(broken);
  }
}

/** The schema version recorded in the database, 0 for an empty one. */
export async function pgSchemaVersion(db: PgDb): Promise<number> {
  return db.read(async (sql) => {
    const t = await sql.one(`SELECT to_regclass('schema_version') IS NOT NULL AS present`);
    if (!t?.present) return 0;
    return Number((await sql.one('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version'))?.v ?? 0);
  });
}

async function versionOf(client: pg.PoolClient): Promise<number> {
  const r = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
  return Number(r.rows[0]?.v ?? 0);
}

/**
 * Takes the migration lock; false where the server has no advisory locks (CockroachDB), where
 * the idempotent statements and the ON CONFLICT on the version let concurrent runs converge.
 */
async function lock(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '42883' || code === '0A000') return false;
    throw err;
  }
}
