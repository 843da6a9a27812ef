import type { VersioningState } from '../types.js';
import type { Sql } from './db.js';

/**
 * The bucket row as a write takes it (objects.ts says why and in which order locks are
 * taken): FOR KEY SHARE, which writers share and DeleteBucket's FOR UPDATE waits for; FOR NO
 * KEY UPDATE when the write adds bytes to a bucket with a quota, so that one writer at a time
 * reads and raises its usage. Neither blocks a change of the bucket's settings.
 */

export interface BucketForWrite {
  versioning: VersioningState;
  quota: number | null;
}

/**
 * What a write needs to know of its bucket, the bucket held for the unit (see above);
 * undefined when the bucket is gone. `adds`: the write may add bytes, so a quota must be
 * checked and the bucket is taken for this writer alone when it has one.
 */
export async function lockBucketForWrite(sql: Sql, bucket: string, adds: boolean): Promise<BucketForWrite | undefined> {
  let r = await sql.one<{ versioning: VersioningState; quota: number | null }>('SELECT versioning, quota FROM buckets WHERE name = $1 FOR KEY SHARE', [bucket]);
  if (r && r.quota != null && adds) {
    r = await sql.one<{ versioning: VersioningState; quota: number | null }>('SELECT versioning, quota FROM buckets WHERE name = $1 FOR NO KEY UPDATE', [bucket]);
  }
  return r && { versioning: r.versioning ?? null, quota: r.quota == null ? null : Number(r.quota) };
}
