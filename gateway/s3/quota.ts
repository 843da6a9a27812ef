import { quotaExceeded } from '../errors.js';
import { bucketQuotasFor, quotaError } from '../meta/quota.js';
import type { QuotaRoom } from '../object/receive.js';
import type { ReqCtx } from '../request.js';
import type { S3Error } from './errors.js';

/**
 * Room left under the bucket's quota for a write to it (undefined: no quota). With `upload`,
 * the upload's other parts count as stored (see BucketQuotas.limitFor).
 */
export function quotaRoom(rc: ReqCtx, bucket: string, upload?: { id: string; partNumber: number }): QuotaRoom | undefined {
  const limit = bucketQuotasFor(rc.pipeline.meta.db).limitFor(bucket, upload);
  if (!limit) return undefined;
  return {
    room: Math.max(0, limit.quota - limit.used),
    refuse: (size: number): S3Error => quotaExceeded(quotaError(bucket, limit.quota, limit.used, size)),
  };
}

/** Refuse, before a byte is copied or stored, a write of `size` bytes that the quota has no room for. */
export function checkQuota(rc: ReqCtx, bucket: string, size: number, upload?: { id: string; partNumber: number }): void {
  const q = quotaRoom(rc, bucket, upload);
  if (q && size > q.room) throw q.refuse(size);
}
