import { quotaExceeded } from '../errors.js';
import { quotaError } from '../meta/quota.js';
import type { QuotaRoom } from '../object/receive.js';
import type { ReqCtx } from '../request.js';
import type { S3Error } from './errors.js';

/** Where a write goes: a key it may replace, or a part of an upload whose other parts count. */
export type QuotaTarget = { key: string } | { upload: { id: string; partNumber: number } };

/** Room left under the bucket's quota for a write to it (undefined: no quota); see BucketQuotas.limitFor. */
export async function quotaRoom(rc: ReqCtx, bucket: string, target: QuotaTarget): Promise<QuotaRoom | undefined> {
  const limit = await rc.pipeline.meta.quotas.limitFor(bucket, 'upload' in target ? target.upload : undefined, 'key' in target ? target.key : undefined);
  if (!limit) return undefined;
  return {
    room: Math.max(0, limit.quota - limit.used),
    refuse: (size: number): S3Error => quotaExceeded(quotaError(bucket, limit.quota, limit.used, size)),
  };
}

/** Refuse, before a byte is copied or stored, a write of `size` bytes that the quota has no room for. */
export async function checkQuota(rc: ReqCtx, bucket: string, size: number, target: QuotaTarget): Promise<void> {
  const q = await quotaRoom(rc, bucket, target);
  if (q && size > q.room) throw q.refuse(size);
}
