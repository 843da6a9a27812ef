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

async function quotaView(ctx: AdminContext, bucket: string | undefined): Promise<BucketQuotaView> {
  const q = bucket === undefined ? undefined : await ctx.meta.quotas.get(bucket);
  if (!q) throw new AdminError(404, 'NoSuchBucket', `no bucket "${bucket}"`);
  return { bucket: bucket!, quotaBytes: q.quota, usedBytes: q.used };
}

/** A bucket as `GET /buckets` shows it: the console's bucket list for root. */
export interface BucketUsageView {
  name: string;
  owner: string;
  createdAt: string;
  /** Bytes of every version of every object. */
  usedBytes: number;
  /** Current objects (delete markers and older versions not counted); null when not asked for. */
  objects: number | null;
  quotaBytes: number | null;
}

/** `counts`: count each bucket's objects (a scan of its current versions; the bytes are a counter). */
async function usageViews(ctx: AdminContext, counts: boolean): Promise<BucketUsageView[]> {
  const out: BucketUsageView[] = [];
  for (const b of await ctx.meta.listBuckets()) {
    const q = await ctx.meta.quotas.get(b.name);
    out.push({
      name: b.name, owner: b.owner, createdAt: new Date(b.createdAt).toISOString(),
      usedBytes: q?.used ?? 0, objects: counts ? await ctx.meta.quotas.objectCount(b.name) : null, quotaBytes: q?.quota ?? null,
    });
  }
  return out;
}

export const bucketRoutes: AdminRoute[] = [
  {
    // ?objects=false leaves the counts out: what a page refreshed every few seconds asks.
    method: 'GET', path: '/buckets', name: 'ListBucketUsage',
    handle: async (req, ctx) => ({ body: { buckets: await usageViews(ctx, req.query.get('objects') !== 'false') } }),
  },
  {
    method: 'GET', path: '/buckets/:name/quota', name: 'GetBucketQuota',
    handle: async (req, ctx) => ({ body: await quotaView(ctx, req.params.name) }),
  },
  {
    // A quota below what the bucket holds is accepted: writes that add bytes are refused until it is under.
    method: 'PUT', path: '/buckets/:name/quota', name: 'PutBucketQuota',
    handle: async (req, ctx) => {
      const { quotaBytes } = (req.body ?? {}) as { quotaBytes?: unknown };
      if (quotaBytes !== null && !(typeof quotaBytes === 'number' && Number.isSafeInteger(quotaBytes) && quotaBytes > 0)) {
        throw new AdminError(400, 'InvalidRequest', 'body must be {"quotaBytes": N} with N a positive whole number of bytes, or {"quotaBytes": null} to remove the quota');
      }
      await quotaView(ctx, req.params.name);
      // A bucket deleted meanwhile: set() changes nothing, and the view says it is gone.
      await ctx.meta.quotas.set(req.params.name!, quotaBytes);
      return { body: await quotaView(ctx, req.params.name) };
    },
  },
];
