import { PgDb } from '../../gateway/meta/pg/db.js';
import { openPg } from '../../gateway/meta/pg/open.js';
import { addBucketUsage } from '../../gateway/meta/pg/quota.js';
import { freshDatabase, startPostgres, type PgServer } from '../helpers/postgres.js';

/**
 * One PostgreSQL server per test file and a migrated database of its own per test. `db()`
 * opens the test's database (again: a second call is a second gateway's pool).
 */
export function usePgDatabase(): { db: () => Promise<PgDb>; url: () => string } {
  let server: PgServer;
  let template = '';
  let url = '';
  const pools: PgDb[] = [];
  beforeAll(async () => {
    server = await startPostgres();
    // Migrated once; each test gets a copy.
    template = await freshDatabase(server.url);
    await (await openPg(template, { max: 1 })).close();
  });
  beforeEach(async () => {
    url = await freshDatabase(server.url, template);
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });
  return {
    url: () => url,
    db: async () => {
      const db = await openPg(url, { max: 4 });
      pools.push(db);
      return db;
    },
  };
}

/** Rows the stores under test read, written as the PostgreSQL store writes them. */
export const fixture = {
  bucket: (db: PgDb, name: string, owner = 'root', extra: { versioning?: string; notification?: string } = {}) =>
    db.write((sql) => sql.run('INSERT INTO buckets(name, owner, region, created_at, versioning, notification) VALUES ($1, $2, $3, $4, $5, $6)', [
      name, owner, 'us-east-1', Date.now(), extra.versioning ?? null, extra.notification ?? null,
    ])),
  node: (db: PgDb, id: string, zone = 'zone-1') =>
    db.write((sql) => sql.run(`INSERT INTO nodes(id, url, zone, added_at, state) VALUES ($1, $2, $3, $4, 'active')`, [id, `https://${id}.test:1`, zone, 1])),
  blob: (db: PgDb, id: string, placement: string[], state = 'live', size = 100) =>
    db.write((sql) => sql.run(`INSERT INTO blobs(id, size, segment_size, wrapped_key, placement, state, created_at)
      VALUES ($1, $2, 65536, $3, $4, $5, 1)`, [id, size, Buffer.alloc(8), JSON.stringify(placement), state])),
  object: (db: PgDb, o: { bucket: string; key: string; versionId?: string; size: number; etag?: string; latest?: boolean; marker?: boolean }) =>
    db.write(async (sql) => {
      const r = await sql.one<{ id: number }>(`INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified, is_delete_marker)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, [
        o.bucket, o.key, o.versionId ?? 'null', o.latest === false ? 0 : 1, o.size, o.etag ?? 'e', Date.now(), o.marker ? 1 : 0,
      ]);
      await addBucketUsage(sql, o.bucket, o.size);
      return r!.id;
    }),
};
