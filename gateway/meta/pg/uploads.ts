import { MetaNotFoundError } from '../errors.js';
import { json } from '../rows.js';
import type { StoredSseC } from '../sse-c.js';
import type { MissedPiece, PartRef, Tag, UploadPartRow, UploadRow } from '../types.js';
import { queueRepairTx, setBlobsLive } from './blobs.js';
import type { Sql } from './db.js';
import { encodeSseC } from './sse-c.js';
import { assertRoom } from './usage.js';

/**
 * Multipart uploads inside a unit of work. Parts of one upload may arrive through different
 * gateways at once: each part takes the upload row FOR SHARE, so parts do not wait for one
 * another, while the completion or abort (FOR UPDATE, then DELETE) waits for the parts under
 * way and then sees them.
 */

export async function insertUpload(sql: Sql, u: UploadRow, tags: Tag[] | undefined, sse: StoredSseC | null): Promise<void> {
  await sql.run(`INSERT INTO uploads(id, bucket, key, owner, created_at, content_type, headers, user_meta, checksum_algorithm, checksum_type, acl, tags, sse_c)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, [
    u.id, u.bucket, u.key, u.owner, u.createdAt, u.contentType, json(u.headers), json(u.userMeta), u.checksumAlgorithm, u.checksumType, u.acl,
    tags?.length ? JSON.stringify(tags) : null, sse ? encodeSseC(sse) : null,
  ]);
}

/** Attach a written part (MetaStore.putPart); a part sent again under its number replaces the old one, whose blob becomes garbage. */
export async function putPartTx(sql: Sql, uploadId: string, part: UploadPartRow, missed: readonly MissedPiece[]): Promise<void> {
  const upload = await sql.one<{ bucket: string; quota: number | null }>(
    'SELECT u.bucket, b.quota FROM uploads u JOIN buckets b ON b.name = u.bucket WHERE u.id = $1 FOR SHARE OF u', [uploadId]);
  if (!upload) throw new MetaNotFoundError('upload', `upload ${uploadId} is gone`);
  await assertRoom(sql, upload.bucket, upload.quota == null ? null : Number(upload.quota), part.size, { id: uploadId, partNumber: part.partNumber });
  await sql.run(`UPDATE blobs SET state = 'garbage', garbage_at = $1
    WHERE id = (SELECT blob_id FROM upload_parts WHERE upload_id = $2 AND part_number = $3)`, [Date.now(), uploadId, part.partNumber]);
  await sql.run(`INSERT INTO upload_parts(upload_id, part_number, blob_id, size, etag, checksums, last_modified) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (upload_id, part_number) DO UPDATE SET blob_id = excluded.blob_id, size = excluded.size, etag = excluded.etag,
    checksums = excluded.checksums, last_modified = excluded.last_modified`,
  [uploadId, part.partNumber, part.blobId, part.size, part.etag, json(part.checksums), part.lastModified]);
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
