import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import type { Cluster } from './cluster.js';

/**
 * Rows of one read-only statement on a cluster's metadata, whichever backend holds it: the
 * gateway's SQLite file, or its PostgreSQL database. Write `?` placeholders; on PostgreSQL
 * they become $1, $2, ... . For tests that check what is (not) stored, such as sealed secrets.
 */
export async function metaQuery<R = Record<string, unknown>>(c: Cluster, sql: string, params: unknown[] = []): Promise<R[]> {
  if (c.meta === 'sqlite') {
    const db = new Database(join(c.dir, 'gateway', 'meta.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as R[];
    } finally {
      db.close();
    }
  }
  let n = 0;
  const client = new pg.Client({ connectionString: c.meta });
  await client.connect();
  try {
    return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as R[];
  } finally {
    await client.end();
  }
}
