import { MetaNotFoundError } from '../errors.js';
import { json } from '../rows.js';
import type { StoredSseC } from '../sse-c.js';
import type { MissedPiece, PartRef, Tag, UploadPartRow, UploadRow } from '../types.js';
import { queueRepairTx, setBlobsLive } from './blobs.js';
import type { Sql } from './db.js';
import { encodeSseC } from './sse-c.js';
import { lockBucketForWrite } from './bucket-lock.js';
import { assertRoom } from './usage.js';

/**
 * Multipart uploads inside a unit of work (READ COMMITTED, objects.ts says in which order
 * rows are locked). Parts of one upload may arrive through different gateways at once: each
 * part takes the upload row FOR SHARE, so parts do not wait for one another, while the
 * completion or abort (FOR UPDATE, then DELETE) waits for the parts under way and then sees
 * them. Two sends of one part number queue on its row.
 */

export async function insertUpload(sql: Sql, u: UploadRow, tags: Tag[] | undefined, sse: StoredSseC | null): Promise<void> {
  // Held against a DeleteBucket under way, which would otherwise leave this insert failing
  // its foreign key.
  if (!await lockBucketForWrite(sql, u.bucket, false)) throw new MetaNotFoundError('bucket', `bucket ${u.bucket} is gone`);
  await sql.run(`INSERT INTO uploads(id, bucket, key, owner, created_at, content_type, headers, user_meta, checksum_algorithm, checksum_type, acl, tags, sse_c)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, [
    u.id, u.bucket, u.key, u.owner, u.createdAt, u.contentType, json(u.headers), json(u.userMeta), u.checksumAlgorithm, u.checksumType, u.acl,
    tags?.length ? JSON.stringify(tags) : null, sse ? encodeSseC(sse) : null,
  ]);
}

/** Attach a written part (MetaStore.putPart); a part sent again under its number replaces the old one, whose blob becomes garbage. */
export async function putPartTx(sql: Sql, uploadId: string, part: UploadPartRow, missed: readonly MissedPiece[]): Promise<void> {
  const gone = (): MetaNotFoundError => new MetaNotFoundError('upload', `upload ${uploadId} is gone`);
  // The bucket first (an upload never changes bucket), as every write locks it.
  const named = await sql.one<{ bucket: string }>('SELECT bucket FROM uploads WHERE id = $1', [uploadId]);
  if (!named) throw gone();
  const bucket = await lockBucketForWrite(sql, named.bucket, part.size > 0);
  if (!bucket || !await sql.one('SELECT 1 AS one FROM uploads WHERE id = $1 FOR SHARE', [uploadId])) throw gone();
  await assertRoom(sql, named.bucket, bucket.quota, part.size, { id: uploadId, partNumber: part.partNumber });
  const params = [uploadId, part.partNumber, part.blobId, part.size, part.etag, json(part.checksums), part.lastModified];
  const inserted = await sql.one(`INSERT INTO upload_parts(upload_id, part_number, blob_id, size, etag, checksums, last_modified)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (upload_id, part_number) DO NOTHING RETURNING part_number`, params);
  if (!inserted) {
    // Sent again: the part's row, locked, says which blob this send replaces. (An upsert
    // would not: two sends at once would each take the blob before both for garbage, and
    // leave the first one's blob live and unreferenced.)
    const old = await sql.one<{ blob_id: string | null }>('SELECT blob_id FROM upload_parts WHERE upload_id = $1 AND part_number = $2 FOR UPDATE',
      [uploadId, part.partNumber]);
    if (old?.blob_id != null && old.blob_id !== part.blobId) {
      await sql.run(`UPDATE blobs SET state = 'garbage', garbage_at = $1 WHERE id = $2`, [Date.now(), old.blob_id]);
    }
    await sql.run(`UPDATE upload_parts SET blob_id = $3, size = $4, etag = $5, checksums = $6, last_modified = $7
      WHERE upload_id = $1 AND part_number = $2`, params);
  }
  await setBlobsLive(sql, [part]);
  await queueRepairTx(sql, missed, part.lastModified);
}

/**
 * The upload an object completes goes: parts not named in the object become garbage, the
 * named ones move to the object. Throws MetaNotFoundError when it is gone (completed or
 * aborted through another request meanwhile).
 */
export async function consumeUpload(sql: Sql, uploadId: string, used: readonly PartRef[], now: number): Promise<void> {
  if (!await sql.one('SELECT 1 FROM uploads WHERE id = $1 FOR UPDATE', [uploadId])) throw new MetaNotFoundError('upload', `upload ${uploadId} is gone`);
  await sql.run(`UPDATE blobs SET state = 'garbage', garbage_at = $1
    WHERE id IN (SELECT blob_id FROM upload_parts WHERE upload_id = $2 AND blob_id IS NOT NULL AND NOT (blob_id = ANY($3::text[])))`,
  [now, uploadId, used.flatMap((p) => (p.blobId === null ? [] : [p.blobId]))]);
  await deleteUploadRows(sql, uploadId);
}

/** AbortMultipartUpload (and a deleted bucket's uploads): the parts' blobs become garbage. False when it is gone. */
export async function abortUploadTx(sql: Sql, uploadId: string, now: number): Promise<boolean> {
  if (!await sql.one('SELECT 1 FROM uploads WHERE id = $1 FOR UPDATE', [uploadId])) return false;
  await sql.run(`UPDATE blobs SET state = 'garbage', garbage_at = $1 WHERE id IN (SELECT blob_id FROM upload_parts WHERE upload_id = $2)`, [now, uploadId]);
  await deleteUploadRows(sql, uploadId);
  return true;
}

async function deleteUploadRows(sql: Sql, uploadId: string): Promise<void> {
  await sql.run('DELETE FROM upload_parts WHERE upload_id = $1', [uploadId]);
  await sql.run('DELETE FROM uploads WHERE id = $1', [uploadId]);
}

/** The tags a CreateMultipartUpload asked for, which its object gets on completion. */
export async function uploadTags(sql: Sql, uploadId: string): Promise<Tag[] | undefined> {
  const r = await sql.one<{ tags: string | null }>('SELECT tags FROM uploads WHERE id = $1', [uploadId]);
  return r?.tags == null ? undefined : JSON.parse(r.tags) as Tag[];
}
