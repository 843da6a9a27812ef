import type { SyntheticFill } from '../synthetic.js';
import type { PgDb } from './db.js';

/**
 * Objects `from` to `to - 1` of a benchmark bucket on PostgreSQL, written set-wise in one
 * transaction from generate_series: the same rows as the SQLite fill (../synthetic.ts), plus
 * the bucket's usage, which SQLite keeps by triggers and this backend by its statements. Key
 * number `i` is `format(keyFormat, i / perFolder, i % perFolder)` where keyFormat is a
 * printf pattern of `%0Nd` fields (turned here into lpad). Only for `npm run bench:meta`.
 */
export async function fillSyntheticObjectsPg(db: PgDb, f: SyntheticFill, from: number, to: number, now = Date.now()): Promise<void> {
  const key = keyExpression(f.keyFormat);
  const placement = JSON.stringify(Array.from({ length: 16 }, (_, i) => `node-${i}`));
  const random16 = 'md5(random()::text)';
  await db.writeLocked(async (sql) => {
    // One statement writes all four tables: ids come from the sequence once, in the CTE.
    await sql.run(`WITH o AS (
        INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified, content_type, headers, user_meta, checksums, parts_count, acl)
        SELECT $1, ${key}, ${f.versioned ? random16 : `'null'`}, 1, $4::bigint, ${random16}, $5::bigint,
          'application/octet-stream', '{}', '{}', '{}', NULL, NULL
        FROM generate_series($2::bigint, $3::bigint - 1) AS i
        RETURNING id, size, etag
      ), b AS (
        INSERT INTO blobs(id, size, segment_size, wrapped_key, placement, state, created_at)
        SELECT lpad(to_hex(o.id), 32, '0'), o.size, 1048576, decode(substr(repeat(md5(random()::text), 5), 1, 144), 'hex'), $6, 'live', $5::bigint FROM o
        RETURNING id
      ), r AS (
        INSERT INTO blob_roots(blob_id, roots) SELECT b.id, decode(repeat(md5(b.id), 32), 'hex') FROM b
      )
      INSERT INTO object_parts(object_id, part_number, blob_id, size, etag, checksums)
        SELECT o.id, 1, lpad(to_hex(o.id), 32, '0'), o.size, o.etag, '{}' FROM o`,
    [f.bucket, from, to, f.size, now, placement, f.perFolder]);
    await sql.run(`INSERT INTO bucket_usage(bucket, slot, bytes) VALUES ($1, 0, $2)
      ON CONFLICT (bucket, slot) DO UPDATE SET bytes = bucket_usage.bytes + excluded.bytes`, [f.bucket, (to - from) * f.size]);
  });
}

/** `dir-%04d/obj-%07d` as SQL over `i` (and $7, the keys per folder): lpad of the two numbers. */
function keyExpression(format: string): string {
  const parts = format.split(/(%0\d+d)/);
  let field = 0;
  const sqlParts = parts.filter((p) => p !== '').map((p) => {
    const m = /^%0(\d+)d$/.exec(p);
    if (!m) return `'${p.replace(/'/g, "''")}'`;
    const value = field++ === 0 ? 'i / $7::bigint' : 'i % $7::bigint';
    return `lpad((${value})::text, ${Number(m[1])}, '0')`;
  });
  if (field !== 2) throw new Error(`keyFormat needs exactly two %0Nd fields: ${format}`);
  return sqlParts.join(' || ');
}
