import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { ObjectRow } from './types.js';

/** How long a completed upload's answer is kept for a retried CompleteMultipartUpload. */
export const COMPLETED_UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

/** What a CompleteMultipartUpload answered (migration 9), to answer a retry the same way. */
export interface CompletedUpload {
  uploadId: string;
  bucket: string;
  key: string;
  /** The objects row the upload became. */
  objectId: number;
  versionId: string;
  /** Without quotes. */
  etag: string;
  /** The object's checksums as answered (name → base64, composite ones with "-<parts>"). */
  checksums: Record<string, string>;
  completedAt: number;
}

type SqlRow = Record<string, unknown>;

/**
 * Records of completed multipart uploads. A client whose Complete answer was lost (a timeout)
 * retries it; the upload is gone by then, and AWS S3 answers the retry as it answered the
 * first call. One instance per database (completedUploadsFor).
 */
export interface CompletedUploadStore {
  // Recorded with the object: ObjectWriteOptions.recordCompletion.
  /** The completion of `uploadId` into bucket/key, if recorded within the TTL and its object version still stands. */
  lookup(uploadId: string, bucket: string, key: string, now?: number): Promise<CompletedUpload | undefined>;
}

export class SqliteCompletedUploadStore implements CompletedUploadStore {
  private readonly s: Record<'insert' | 'prune' | 'lookup', Statement>;

  constructor(db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      insert: p(`INSERT OR REPLACE INTO completed_uploads(upload_id, bucket, key, object_id, version_id, etag, checksums, completed_at)
        VALUES (@uploadId, @bucket, @key, @objectId, @versionId, @etag, @checksums, @completedAt)`),
      prune: p('DELETE FROM completed_uploads WHERE completed_at < ?'),
      // The answer stands only while the version it names does, with the same ETag: a retry
      // after the object was deleted or replaced is NoSuchUpload, as on AWS S3.
      lookup: p(`SELECT c.* FROM completed_uploads c
        JOIN objects o ON o.id = c.object_id AND o.bucket = c.bucket AND o.key = c.key
          AND o.version_id = c.version_id AND o.etag = c.etag AND o.is_delete_marker = 0
        WHERE c.upload_id = ? AND c.bucket = ? AND c.key = ? AND c.completed_at >= ?`),
    };
  }

  /**
   * Record that upload `uploadId` completed into `row`, inside the transaction that commits
   * the row (store.ts), so a completed upload always has its record. Records older than the
   * TTL are forgotten on the way.
   */
  recordTx(uploadId: string, row: ObjectRow, now: number): void {
    this.s.prune.run(now - COMPLETED_UPLOAD_TTL_MS);
    this.s.insert.run({
      uploadId, bucket: row.bucket, key: row.key, objectId: row.id, versionId: row.versionId, etag: row.etag,
      checksums: JSON.stringify(row.checksums), completedAt: now,
    });
  }

  /** The completion of `uploadId` into bucket/key, if recorded within the TTL and its object version still stands. */
  async lookup(uploadId: string, bucket: string, key: string, now = Date.now()): Promise<CompletedUpload | undefined> {
    const r = this.s.lookup.get(uploadId, bucket, key, now - COMPLETED_UPLOAD_TTL_MS) as SqlRow | undefined;
    if (!r) return undefined;
    return {
      uploadId: String(r.upload_id), bucket: String(r.bucket), key: String(r.key), objectId: Number(r.object_id),
      versionId: String(r.version_id), etag: String(r.etag), checksums: JSON.parse(String(r.checksums)) as Record<string, string>,
      completedAt: Number(r.completed_at),
    };
  }
}

const stores = new WeakMap<Db, SqliteCompletedUploadStore>();

export function completedUploadsFor(db: Db): SqliteCompletedUploadStore {
  let s = stores.get(db);
  if (!s) stores.set(db, (s = new SqliteCompletedUploadStore(db)));
  return s;
}
