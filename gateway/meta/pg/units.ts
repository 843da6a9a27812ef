import type { PgDb, Sql } from './db.js';
import { Tx } from './tx.js';

type Row = Record<string, unknown>;

/**
 * How PgMetaStore's methods reach the database: each method is one unit of work. Every
 * write is a READ COMMITTED transaction that locks the rows it decides on (PgDb.writeLocked,
 * retried on deadlocks and on unique violations that mean another writer got in first), so
 * writers of one key, upload or quota-bound bucket queue while all others run side by side;
 * what must happen locally after it (waking the event worker, dropping a cache) happens once
 * it has committed. A read of several statements is one REPEATABLE READ snapshot; a read of
 * one statement runs alone, which is the same snapshot for one round trip instead of three.
 */
export abstract class PgUnits {
  /** Statements each run alone, outside any transaction: for reads of one statement. */
  protected readonly alone: Sql;

  constructor(protected readonly db: PgDb) {
    const { pool } = db;
    this.alone = {
      async query(text, params) {
        return (await pool.query(text, params as unknown[])).rows;
      },
      async one(text, params) {
        return (await pool.query(text, params as unknown[])).rows[0];
      },
      async run(text, params) {
        return (await pool.query(text, params as unknown[])).rowCount ?? 0;
      },
    };
  }

  /** Called once a write unit has committed, with what it did. */
  protected abstract committed(tx: Tx): void;

  protected async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    let done: Tx | undefined;
    const out = await this.db.writeLocked(async (sql) => {
      const tx = new Tx(sql);
      const result = await fn(tx);
      await tx.flushUsage();
      done = tx;
      return result;
    });
    this.committed(done!);
    return out;
  }

  /** A write of one statement; the rows it changed. */
  protected writeOne(text: string, params: readonly unknown[]): Promise<number> {
    return this.write((tx) => tx.sql.run(text, params));
  }

  protected read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.db.read(fn);
  }

  protected rows<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.alone.query<R>(text, params);
  }

  protected row<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<R | undefined> {
    return this.alone.one<R>(text, params);
  }
}
