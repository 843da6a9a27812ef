import type { PgDb, Sql } from './db.js';
import type { BucketQuota, BucketQuotaStore } from '../quota.js';
import { quotaError } from '../quota.js';

/**
 * Bucket quotas on PostgreSQL. `bucket_usage` has no triggers here: the store changes it with
 * the objects rows, in their unit of work (addBucketUsage), and checks the quota there
 * (assertWithinQuota).
 */
export class PgBucketQuotaStore implements BucketQuotaStore {
  constructor(private readonly db: PgDb) {}

  /** undefined when the bucket does not exist. */
  async get(bucket: string): Promise<BucketQuota | undefined> {
    return this.db.read((sql) => quotaOf(sql, bucket));
  }

  /** Set (bytes) or remove (null) a bucket's quota; false when there is no such bucket. */
  async set(bucket: string, quota: number | null): Promise<boolean> {
    return (await this.db.writeLocked((sql) => sql.run('UPDATE buckets SET quota = $1 WHERE name = $2', [quota, bucket]))) > 0;
  }

  /** Objects whose current version is not a delete marker (what a listing shows). */
  async objectCount(bucket: string): Promise<number> {
    return Number((await this.db.one('SELECT COUNT(*) AS n FROM objects WHERE bucket = $1 AND is_latest = 1 AND is_delete_marker = 0', [bucket]))!.n);
  }

  /**
   * The bucket's quota and the bytes that count against it for a new write: with `upload`,
   * the upload's parts other than `partNumber` count as stored (they will be once it
   * completes, and a part sent again replaces its old bytes); with `key`, the version a new
   * write of it replaces does not (as the commit will find). undefined: no quota.
   */
  async limitFor(bucket: string, upload?: { id: string; partNumber: number }, key?: string): Promise<{ quota: number; used: number } | undefined> {
    return this.db.read(async (sql) => {
      const q = await quotaOf(sql, bucket);
      if (!q || q.quota === null) return undefined;
      const pending = upload
        ? Number((await sql.one('SELECT COALESCE(SUM(size), 0) AS n FROM upload_parts WHERE upload_id = $1 AND part_number != $2', [upload.id, upload.partNumber]))!.n)
        : 0;
      // The version a write of the key replaces: the "null" one, unless versioning is on.
      const replaced = key === undefined ? 0 : Number((await sql.one(`SELECT o.size AS n FROM objects o JOIN buckets b ON b.name = o.bucket
        WHERE o.bucket = $1 AND o.key = $2 AND o.version_id = 'null' AND (b.versioning IS NULL OR b.versioning != 'Enabled')`, [bucket, key]))?.n ?? 0);
      return { quota: q.quota, used: q.used + pending - replaced };
    });
  }

  /** Throws MetaQuotaError when `incoming` more bytes would take the bucket past its quota (see limitFor). */
  async assertRoom(bucket: string, incoming: number, upload?: { id: string; partNumber: number }): Promise<void> {
    const l = await this.limitFor(bucket, upload);
    if (l && l.used + incoming > l.quota) throw quotaError(bucket, l.quota, l.used, incoming);
  }
}

async function quotaOf(sql: Sql, bucket: string): Promise<BucketQuota | undefined> {
  const r = await sql.one('SELECT quota FROM buckets WHERE name = $1', [bucket]);
  return r && { quota: r.quota == null ? null : Number(r.quota), used: await usedBytes(sql, bucket) };
}

/** The bytes a bucket holds: the sum of its usage slots (see addBucketUsage). */
export async function usedBytes(sql: Sql, bucket: string): Promise<number> {
  return Number((await sql.one('SELECT COALESCE(SUM(bytes), 0) AS n FROM bucket_usage WHERE bucket = $1', [bucket]))!.n);
}

/**
 * How many rows a bucket's usage is spread over. Each connection adds to its own slot (its
 * server process id modulo this), so two writes to a bucket collide on a row, and one of them
 * retries, only when their connections share a slot.
 */
const USAGE_SLOTS = 64;

/**
 * Inside the unit of work that inserted, deleted or resized objects rows of `bucket`: what
 * SQLite's usage triggers do. `bytes` is negative for rows deleted.
 */
export async function addBucketUsage(sql: Sql, bucket: string, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await sql.run(`INSERT INTO bucket_usage(bucket, slot, bytes) VALUES ($1, pg_backend_pid() % ${USAGE_SLOTS}, $2)
    ON CONFLICT (bucket, slot) DO UPDATE SET bytes = bucket_usage.bytes + excluded.bytes`, [bucket, bytes]);
}

/**
 * Inside a unit of work that has just added its rows (and its usage): throws MetaQuotaError,
 * which rolls it back, when the bucket now holds more than its quota.
 */
export async function assertWithinQuota(sql: Sql, bucket: string, added: number): Promise<void> {
  if (added === 0) return;
  const q = await quotaOf(sql, bucket);
  if (!q || q.quota === null) return;
  if (q.used > q.quota) throw quotaError(bucket, q.quota, q.used - added, added);
}

/**
 * Count every bucket's bytes again from its objects (after a repair of the metadata by hand).
 * SERIALIZABLE, the one unit that stays so: the counters must be replaced by a count of the
 * very objects rows they were cleared against, one snapshot for both statements, and a
 * writer that changes a counter meanwhile must fail this unit (and it is retried) rather
 * than have its bytes counted twice or not at all. No row lock covers "every object".
 */
export async function recountPgBucketUsage(db: PgDb): Promise<void> {
  await db.write(async (sql) => {
    await sql.run('DELETE FROM bucket_usage');
    await sql.run(`INSERT INTO bucket_usage(bucket, bytes)
      SELECT name, (SELECT COALESCE(SUM(size), 0) FROM objects WHERE objects.bucket = buckets.name) FROM buckets`);
  });
}
