import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { MetaQuotaError } from './errors.js';

/** A bucket's hard quota and what it holds now, in bytes. */
export interface BucketQuota {
  /** null: no quota. */
  quota: number | null;
  /** Bytes of every version of every object (migration 15's counter). */
  used: number;
}

/** Bucket quotas as the rest of the gateway sees them (BucketQuotas below is the SQLite one). */
export interface BucketQuotaStore {
  get(bucket: string): Promise<BucketQuota | undefined>;
  set(bucket: string, quota: number | null): Promise<boolean>;
  /** Objects whose current version is not a delete marker (what a listing shows). */
  objectCount(bucket: string): Promise<number>;
  limitFor(bucket: string, upload?: { id: string; partNumber: number }, key?: string): Promise<{ quota: number; used: number } | undefined>;
  assertRoom(bucket: string, incoming: number, upload?: { id: string; partNumber: number }): Promise<void>;
}

/**
 * Bucket quotas (migration 15): a hard limit on the bytes a bucket's object versions hold.
 * Multipart parts count once their upload completes; an upload's own parts count against
 * the room its further parts may take. One instance per database (bucketQuotasFor).
 */
export class BucketQuotas implements BucketQuotaStore {
  private readonly s: Record<'get' | 'set' | 'uploadBytes' | 'replaced' | 'objects', Statement>;
  /**
   * Whether the bucket surely has no quota, asked before the quota query of each write: the
   * SQLite store answers from its bucket cache (most buckets have none). false: look.
   */
  hasNoQuota: (bucket: string) => boolean = () => false;

  constructor(db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      get: p('SELECT b.quota AS quota, COALESCE(u.bytes, 0) AS used FROM buckets b LEFT JOIN bucket_usage u ON u.bucket = b.name WHERE b.name = ?'),
      set: p('UPDATE buckets SET quota = ? WHERE name = ?'),
      // The version a write of the key replaces: the "null" one, unless versioning is on.
      replaced: p(`SELECT o.size AS n FROM objects o JOIN buckets b ON b.name = o.bucket
        WHERE o.bucket = ? AND o.key = ? AND o.version_id = 'null' AND (b.versioning IS NULL OR b.versioning != 'Enabled')`),
      uploadBytes: p('SELECT COALESCE(SUM(size), 0) AS n FROM upload_parts WHERE upload_id = ? AND part_number != ?'),
      // objects_latest covers (bucket, key) of current versions; the marker flag is read per row.
      objects: p('SELECT COUNT(*) AS n FROM objects WHERE bucket = ? AND is_latest = 1 AND is_delete_marker = 0'),
    };
  }

  /** undefined when the bucket does not exist. */
  async get(bucket: string): Promise<BucketQuota | undefined> {
    return this.getTx(bucket);
  }

  /** get, inside the caller's transaction. */
  private getTx(bucket: string): BucketQuota | undefined {
    const r = this.s.get.get(bucket) as { quota: number | null; used: number } | undefined;
    return r && { quota: r.quota === null ? null : Number(r.quota), used: Number(r.used) };
  }

  /** Set (bytes) or remove (null) a bucket's quota; false when there is no such bucket. */
  async set(bucket: string, quota: number | null): Promise<boolean> {
    return this.s.set.run(quota, bucket).changes > 0;
  }

  async objectCount(bucket: string): Promise<number> {
    return Number((this.s.objects.get(bucket) as { n: number }).n);
  }

  /**
   * The bucket's quota and the bytes that count against it for a new write: with `upload`,
   * the upload's parts other than `partNumber` count as stored (they will be once it
   * completes, and a part sent again replaces its old bytes); with `key`, the version a new
   * write of it replaces does not (as the commit will find). undefined: no quota.
   */
  async limitFor(bucket: string, upload?: { id: string; partNumber: number }, key?: string): Promise<{ quota: number; used: number } | undefined> {
    return this.limitForTx(bucket, upload, key);
  }

  private limitForTx(bucket: string, upload?: { id: string; partNumber: number }, key?: string): { quota: number; used: number } | undefined {
    if (this.hasNoQuota(bucket)) return undefined;
    const q = this.getTx(bucket);
    if (!q || q.quota === null) return undefined;
    const pending = upload ? Number((this.s.uploadBytes.get(upload.id, upload.partNumber) as { n: number }).n) : 0;
    const replaced = key === undefined ? 0 : Number((this.s.replaced.get(bucket, key) as { n: number } | undefined)?.n ?? 0);
    return { quota: q.quota, used: q.used + pending - replaced };
  }

  /** Throws MetaQuotaError when `incoming` more bytes would take the bucket past its quota (see limitFor). */
  async assertRoom(bucket: string, incoming: number, upload?: { id: string; partNumber: number }): Promise<void> {
    this.assertRoomTx(bucket, incoming, upload);
  }

  /** assertRoom, inside the caller's transaction (store.ts putPart). */
  assertRoomTx(bucket: string, incoming: number, upload?: { id: string; partNumber: number }): void {
    const l = this.limitForTx(bucket, upload);
    if (l && l.used + incoming > l.quota) throw quotaError(bucket, l.quota, l.used, incoming);
  }

  /**
   * Inside a commit that has just added its rows: throws MetaQuotaError (rolling the commit
   * back) when the bucket now holds more than its quota. The counter is exact here, so a
   * replaced "null" version is already taken off.
   */
  assertWithin(bucket: string, added: number): void {
    if (added === 0 || this.hasNoQuota(bucket)) return;
    const q = this.getTx(bucket);
    if (!q || q.quota === null) return;
    if (q.used > q.quota) {
      throw quotaError(bucket, q.quota, q.used - added, added);
    }
  }
}

export function quotaError(bucket: string, quota: number, used: number, incoming: number): MetaQuotaError {
  return new MetaQuotaError(bucket, quota, used, `bucket ${bucket}: ${incoming} more bytes would pass its quota of ${quota} (${used} used)`);
}

const quotas = new WeakMap<Db, BucketQuotas>();

export function bucketQuotasFor(db: Db): BucketQuotas {
  let q = quotas.get(db);
  if (!q) quotas.set(db, (q = new BucketQuotas(db)));
  return q;
}

/**
 * Count every bucket's bytes again from its objects. A journal replay writes rows with
 * INSERT OR REPLACE, whose implicit deletes fire no triggers, so the counter is rebuilt after it.
 */
export function recountBucketUsage(db: Db): void {
  db.transaction(() => {
    db.exec('DELETE FROM bucket_usage');
    db.exec(`INSERT INTO bucket_usage(bucket, bytes)
      SELECT name, (SELECT COALESCE(SUM(size), 0) FROM objects WHERE objects.bucket = buckets.name) FROM buckets`);
  })();
}
