import pg from 'pg';

/**
 * The PostgreSQL side of the metadata: one pool per gateway, and every unit of work a
 * transaction. Several gateways share the database, so what SQLite gets from being the only
 * writer (no interleaving inside a method) comes here from row locks: a write unit runs at
 * READ COMMITTED and takes the rows it decides on FOR UPDATE / FOR SHARE (writeLocked), and
 * is retried from the start when the database reports a deadlock or a unique violation that
 * means another writer got there first. SERIALIZABLE (write) stays for the few units whose
 * decision rests on rows that no lock can cover.
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

/** Serialization failure, deadlock: the transaction lost a race and may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);
/**
 * What a locking unit also runs again: a unique violation (23505). Under READ COMMITTED a
 * writer that found no row and inserted one collides on the unique index with a writer
 * that inserted it meanwhile; run again, it finds that row and decides on it. Units whose
 * duplicate is an expected answer (CreateBucket) use ON CONFLICT DO NOTHING and never get here.
 */
const RETRYABLE_LOCKED = new Set([...RETRYABLE, '23505']);
const MAX_ATTEMPTS = 12;

/**
 * A unit of work that lost its race on every attempt. Under locks that takes an unusual
 * pile-up on one row or a server in trouble; the request may be tried again later.
 */
export class MetaBusyError extends Error {
  code = 'ERR_META_BUSY';
  constructor(readonly attempts: number, cause: unknown) {
    const e = cause as { code?: string; message?: string };
    super(`the metadata database refused this write ${attempts} times (last: ${e.message ?? String(cause)}${e.code ? `, SQLSTATE ${e.code}` : ''}); ` +
      'too many writers are contending for the same rows', { cause });
    this.name = 'MetaBusyError';
  }
}

/** Counts of what the units of work of one pool went through, for metrics and tests. */
export interface PgDbStats {
  /** Attempts run again after a retryable failure. */
  retries: number;
  /** Units that ran out of attempts (MetaBusyError). */
  exhausted: number;
}

export class PgDb {
  readonly pool: pg.Pool;
  readonly stats: PgDbStats = { retries: 0, exhausted: 0 };

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
    return this.unit('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', RETRYABLE, fn);
  }

  /**
   * A unit of work that writes: SERIALIZABLE, so it behaves as if no other gateway ran
   * meanwhile; run again from the start on 40001/40P01, so `fn` must not act outside the
   * database (it may be called several times) except through what it returns. Concurrent
   * units that touch neighbouring rows fail one another here (predicate locks cover index
   * pages, and whole tables while they are small): use it only where no row lock can say
   * what the unit depends on.
   */
  write<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.unit('BEGIN ISOLATION LEVEL SERIALIZABLE', RETRYABLE, fn);
  }

  /**
   * A unit of work that writes at READ COMMITTED: each statement sees what was committed
   * when it started, so `fn` must lock (SELECT ... FOR UPDATE / FOR SHARE) every row its
   * decision rests on before deciding, and re-read after a lock wait (a locked row that was
   * changed meanwhile is re-checked, and may drop out of the result). Run again from the
   * start on 40001, 40P01 and 23505, with the same caveat as `write` about acting outside.
   */
  writeLocked<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.unit('BEGIN ISOLATION LEVEL READ COMMITTED', RETRYABLE_LOCKED, fn);
  }

  private async unit<T>(begin: string, retryable: ReadonlySet<string>, fn: (sql: Sql) => Promise<T>): Promise<T> {
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
        if (!code || !retryable.has(code)) throw err;
        if (attempt >= MAX_ATTEMPTS) {
          this.stats.exhausted++;
          throw new MetaBusyError(attempt, err);
        }
        this.stats.retries++;
        await backoff(attempt);
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

/**
 * Wait before attempt `attempt + 1`: exponential from 1 ms, capped at 250 ms, "full jitter"
 * (uniform in [0, cap)), so the transactions that collided spread out instead of colliding
 * again in step. Twelve attempts wait about a second in all at most.
 */
function backoff(attempt: number): Promise<void> {
  const cap = Math.min(250, 2 ** (attempt - 1));
  return new Promise((r) => setTimeout(r, cap * Math.random()));
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
