import pg from 'pg';

/**
 * The PostgreSQL side of the metadata: one pool per gateway, and every unit of work a
 * transaction. Several gateways share the database, so what SQLite gets from being the only
 * writer (no interleaving inside a method) comes here from SERIALIZABLE transactions,
 * retried from the start when the database reports a serialization failure or a deadlock.
 * Written for PostgreSQL 15 and to the subset CockroachDB and YugabyteDB also run: no
 * SERIAL keys, no DDL inside a unit of work, every write in a retry loop.
 */

// BIGINT (int8) and NUMERIC results as JavaScript numbers: every integer the metadata keeps
// (sizes, times in ms, row ids from sequences) stays below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

/** What a unit of work runs its statements on: one connection inside one transaction. */
export interface Sql {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** The first row, or undefined. */
  one<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R | undefined>;
  /** Rows changed by an INSERT/UPDATE/DELETE. */
  run(text: string, params?: readonly unknown[]): Promise<number>;
}

export interface PgDbOptions {
  /** Connections in the pool (16). */
  max?: number;
  /** How long to wait for a connection before failing (10 s). */
  connectTimeoutMs?: number;
}

const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 12;

export class PgDb {
  readonly pool: pg.Pool;

  constructor(url: string, opts: PgDbOptions = {}) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 16,
      application_name: 'shardgate-gateway',
      // Without a limit, a server that drops packets leaves every request waiting forever.
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    });
    // An idle client that loses its server (a restart) must not crash the gateway: the next
    // checkout gets a fresh connection.
    this.pool.on('error', () => undefined);
  }

  /** A unit of work that only reads: one consistent snapshot (REPEATABLE READ, read only). */
  read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.unit('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn);
  }

  /**
   * A unit of work that writes: SERIALIZABLE, so it behaves as if no other gateway ran
   * meanwhile; run again from the start on 40001/40P01, so `fn` must not act outside the
   * database (it may be called several times) except through what it returns.
   */
  write<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.unit('BEGIN ISOLATION LEVEL SERIALIZABLE', fn);
  }

  private async unit<T>(begin: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query(begin);
        const result = await fn(sqlOf(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => { broken = true; });
        const code = (err as { code?: string }).code;
        if (!code || !RETRYABLE.has(code) || attempt >= MAX_ATTEMPTS) throw err;
        // Back off a little, with jitter, so the transactions that collided do not collide again.
        await new Promise((r) => setTimeout(r, Math.min(200, 2 ** attempt) * Math.random()));
      } finally {
        client.release(broken);
      }
    }
  }

  /**
   * One statement on its own (autocommit), for a read that needs nothing else: a single
   * statement already sees one snapshot, and this saves the BEGIN and COMMIT round trips.
   */
  async query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]> {
    return (await this.pool.query<R>(text, params as unknown[])).rows;
  }

  /** As query, the first row or undefined. */
  async one<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R | undefined> {
    return (await this.pool.query<R>(text, params as unknown[])).rows[0];
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

function sqlOf(client: pg.PoolClient): Sql {
  return {
    async query(text, params) {
      return (await client.query(text, params as unknown[])).rows;
    },
    async one(text, params) {
      return (await client.query(text, params as unknown[])).rows[0];
    },
    async run(text, params) {
      return (await client.query(text, params as unknown[])).rowCount ?? 0;
    },
  };
}
