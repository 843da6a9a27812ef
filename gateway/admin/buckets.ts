import type { AdminContext, AdminRoute } from './context.js';
import { AdminError } from './errors.js';

/** A bucket's quota as `GET /buckets/:name/quota` shows it. */
export interface BucketQuotaView {
  bucket: string;
  /** null: no quota. */
  quotaBytes: number | null;
  /** Bytes of every version of every object in the bucket. */
  usedBytes: number;
}

function quotaView(ctx: AdminContext, bucket: string | undefined): BucketQuotaView {
  const q = bucket === undefined ? undefined : ctx.meta.quotas.get(bucket);
  if (!q) throw new AdminError(404, 'NoSuchBucket', `no bucket "${bucket}"`);
  return { bucket: bucket!, quotaBytes: q.quota, usedBytes: q.used };
}

export const bucketRoutes: AdminRoute[] = [
  {
    method: 'GET', path: '/buckets/:name/quota', name: 'GetBucketQuota',
    handle: (req, ctx) => ({ body: quotaView(ctx, req.params.name) }),
  },
  {
    // A quota below what the bucket holds is accepted: writes that add bytes are refused until it is under.
    method: 'PUT', path: '/buckets/:name/quota', name: 'PutBucketQuota',
    handle: (req, ctx) => {
      const { quotaBytes } = (req.body ?? {}) as { quotaBytes?: unknown };
      if (quotaBytes !== null && !(typeof quotaBytes === 'number' && Number.isSafeInteger(quotaBytes) && quotaBytes > 0)) {
        throw new AdminError(400, 'InvalidRequest', 'body must be {"quotaBytes": N} with N a positive whole number of bytes, or {"quotaBytes": null} to remove the quota');
      }
      quotaView(ctx, req.params.name);
      ctx.meta.quotas.set(req.params.name!, quotaBytes);
      return { body: quotaView(ctx, req.params.name) };
    },
  },
];
