import { quotaError } from '../quota.js';
import type { Sql } from './db.js';
import { usedBytes } from './quota.js';
import type { Tx } from './tx.js';

/**
 * Bucket quotas inside a write (the PostgreSQL side of quota.ts's BucketQuotas.assertWithin
 * and assertRoom): the same decisions. The counter is exact when read: a write that adds
 * bytes to a bucket with a quota holds the bucket row for itself (bucket-lock.ts), so every
 * other such write has committed or not started, and a statement at READ COMMITTED sees
 * what they committed. Deletes that only take bytes off do not queue; missing one makes the
 * count higher, never lower.
 */

/**
 * Once a commit has added its rows: throws MetaQuotaError (rolling the unit back) when the
 * bucket now holds more than `quota`. The counter is exact here, a replaced "null" version
 * already taken off.
 */
export async function assertWithin(tx: Tx, bucket: string, quota: number | null, added: number): Promise<void> {
  await tx.flushUsageOf(bucket);
  if (quota === null || added === 0) return;
  const used = await usedBytes(tx.sql, bucket);
  if (used > quota) throw quotaError(bucket, quota, used - added, added);
}

/**
 * Before a part is attached: throws MetaQuotaError when `incoming` more bytes would take the
 * bucket past its quota, counting the upload's other parts as stored (they will be once it
 * completes; a part sent again replaces its old bytes).
 */
export async function assertRoom(sql: Sql, bucket: string, quota: number | null, incoming: number, upload: { id: string; partNumber: number }): Promise<void> {
  if (quota === null) return;
  const r = await sql.one<{ pending: number }>('SELECT COALESCE(SUM(size), 0) AS pending FROM upload_parts WHERE upload_id = $1 AND part_number <> $2',
    [upload.id, upload.partNumber]);
  const used = (await usedBytes(sql, bucket)) + Number(r!.pending);
  if (used + incoming > quota) throw quotaError(bucket, quota, used, incoming);
}
