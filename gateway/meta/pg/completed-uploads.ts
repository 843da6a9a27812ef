import { COMPLETED_UPLOAD_TTL_MS, type CompletedUpload, type CompletedUploadStore } from '../completed-uploads.js';
import type { ObjectRow } from '../types.js';
import type { PgDb, Sql } from './db.js';

/** Answers of completed multipart uploads, for a retried CompleteMultipartUpload, on PostgreSQL. */
export class PgCompletedUploadStore implements CompletedUploadStore {
  constructor(private readonly db: PgDb) {}

  /** The completion of `uploadId` into bucket/key, if recorded within the TTL and its object version still stands. */
  async lookup(uploadId: string, bucket: string, key: string, now = Date.now()): Promise<CompletedUpload | undefined> {
    // The answer stands only while the version it names does, with the same ETag: a retry
    // after the object was deleted or replaced is NoSuchUpload, as on AWS S3.
    const r = await this.db.one(`SELECT c.* FROM completed_uploads c
      JOIN objects o ON o.id = c.object_id AND o.bucket = c.bucket AND o.key = c.key
        AND o.version_id = c.version_id AND o.etag = c.etag AND o.is_delete_marker = 0
      WHERE c.upload_id = $1 AND c.bucket = $2 AND c.key = $3 AND c.completed_at >= $4`, [uploadId, bucket, key, now - COMPLETED_UPLOAD_TTL_MS]);
    if (!r) return undefined;
    return {
      uploadId: String(r.upload_id), bucket: String(r.bucket), key: String(r.key), objectId: Number(r.object_id),
      versionId: String(r.version_id), etag: String(r.etag), checksums: JSON.parse(String(r.checksums)) as Record<string, string>,
      completedAt: Number(r.completed_at),
    };
  }
}

/**
 * Inside the unit of work that completed upload `uploadId` into `row`: record the answer, so a
 * completed upload always has its record, and forget records older than the TTL.
 */
export async function recordCompletion(sql: Sql, uploadId: string, row: ObjectRow, now = Date.now()): Promise<void> {
  await sql.run('DELETE FROM completed_uploads WHERE completed_at < $1', [now - COMPLETED_UPLOAD_TTL_MS]);
  await sql.run(`INSERT INTO completed_uploads(upload_id, bucket, key, object_id, version_id, etag, checksums, completed_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (upload_id) DO UPDATE SET bucket = excluded.bucket, key = excluded.key, object_id = excluded.object_id,
      version_id = excluded.version_id, etag = excluded.etag, checksums = excluded.checksums, completed_at = excluded.completed_at`, [
    uploadId, row.bucket, row.key, row.id, row.versionId, row.etag, JSON.stringify(row.checksums), now,
  ]);
}
