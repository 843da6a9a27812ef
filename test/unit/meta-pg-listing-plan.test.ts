/**
 * Listing at scale on PostgreSQL (issue 10): every listing statement is one index range scan
 * that stops at its LIMIT, never a scan of the table nor a sort of the page (uploads only
 * order ties of one key and initiation time by id).
 */
import { openPg } from '../../gateway/meta/pg/open.js';
import { pgListingStatements } from '../../gateway/meta/pg/listing.js';
import { freshDatabase, postgresSkipReason, startPostgres } from '../helpers/postgres.js';

const skip = postgresSkipReason();

describe.skipIf(skip)(`PostgreSQL listing plans${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('each listing statement is an index scan from its bound, in index order', async () => {
    const db = await openPg(await freshDatabase((await startPostgres()).url), { max: 2 });
    try {
      // Enough rows that the planner's choice is the one a large bucket gets.
      await db.write(async (sql) => {
        await sql.run(`INSERT INTO buckets(name, owner, region, created_at) VALUES ('b', 'o', 'r', 0)`);
        await sql.run(`INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified)
          SELECT 'b', 'k' || g, 'null', 1, 1, 'e', 0 FROM generate_series(1, 20000) g`);
        await sql.run(`INSERT INTO uploads(id, bucket, key, owner, created_at) SELECT 'u' || g, 'b', 'k' || (g % 500), 'o', g FROM generate_series(1, 5000) g`);
      });
      await db.pool.query('ANALYZE');
      for (const [name, { sql, params }] of Object.entries(pgListingStatements())) {
        const plan = (await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
        const table = name.split(':')[0]!;
        const index = { objects: 'objects_listed', versions: 'objects_versions', uploads: 'uploads_by_key' }[table];
        expect(plan, name).toMatch(new RegExp(`Index (Only )?Scan using ${index} on ${table === 'versions' ? 'objects' : table}`));
        expect(plan, name).toMatch(/Index Cond: \(\(bucket = 'b'::text\) AND \(key >=? 'k'::text\)( AND \(key < 'l'::text\))?\)/);
        expect(plan, name).not.toMatch(/Seq Scan|Bitmap/);
        if (table === 'uploads') expect(plan, name).not.toMatch(/\n\s+->\s+Sort /);
        else expect(plan, name).not.toMatch(/Sort/);
      }
    } finally {
      await db.close();
    }
  });
});
