import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { parse, toUpload, type SqlRow } from './rows.js';
import type { ListedObject, LockMode, UploadBound, UploadRow, VersionBound, VersionRow } from './types.js';

/**
 * The listing queries (ListObjects v1/v2, ListObjectVersions, ListMultipartUploads). Each
 * query is one range scan of an index on (bucket, key, ...): it starts at its bound, and a
 * prefix ends it (`key < below`, the prefix's upper bound, gateway/meta/key-order.ts), so no
 * query reads a row before its start or after its prefix, however large the bucket (the walk
 * over them, with its jumps past common prefixes, is gateway/s3/rollup.ts). Plain comparisons
 * and ORDER BY on indexed columns only, so the same SQL runs on PostgreSQL, given a key
 * column that compares bytes as SQLite's BINARY collation does (COLLATE "C").
 */

/** Where a page of latest objects starts: after a key (exclusive) or from one (inclusive). */
export type ObjectBound = { after: string } | { from: string };

type Variant = 'after' | 'from' | 'afterVersion';

const until = (below: boolean): string => (below ? ' AND key < @below' : '');

/** Latest versions that are not delete markers, by key: index objects_listed (migration 17), which holds only those. */
function objectsSql(start: 'after' | 'from', below: boolean): string {
  return `SELECT key, size, etag, last_modified, checksums FROM objects
    WHERE bucket = @bucket AND is_latest = 1 AND is_delete_marker = 0 AND key ${start === 'after' ? '>' : '>='} @key${until(below)}
    ORDER BY key LIMIT @limit`;
}

/**
 * What a version row holds (rows.ts toVersion), and no more: tags, ACLs and SSE-C parameters
 * stay in the table. Read as arrays (better-sqlite3 `raw`), which halves the cost of a page
 * against an object per row; `versionOf` maps them by position.
 */
const VERSION_COLUMNS = [
  'id', 'bucket', 'key', 'version_id', 'size', 'etag', 'last_modified', 'content_type', 'headers', 'user_meta', 'checksums', 'parts_count',
  'is_latest', 'is_delete_marker', 'lock_mode', 'lock_until', 'legal_hold',
] as const;

/** toVersion (rows.ts) for a row read as an array of VERSION_COLUMNS; a test checks they agree. */
function versionOf(r: unknown[]): VersionRow {
  const [id, bucket, key, versionId, size, etag, lastModified, contentType, headers, userMeta, checksums, partsCount, isLatest, deleteMarker,
    lockMode, lockUntil, legalHold] = r;
  return {
    id: Number(id), bucket: String(bucket), key: String(key), versionId: String(versionId), size: Number(size), etag: String(etag),
    lastModified: Number(lastModified), contentType: (contentType as string | null) ?? null, headers: parse(headers), userMeta: parse(userMeta),
    checksums: parse(checksums), partsCount: partsCount == null ? null : Number(partsCount),
    isLatest: Number(isLatest) === 1, deleteMarker: Number(deleteMarker) === 1,
    lock: { mode: (lockMode as LockMode | null) ?? null, retainUntil: lockUntil == null ? null : Number(lockUntil), legalHold: legalHold == null ? null : Number(legalHold) === 1 },
  };
}

/** Every version, by key then newest first: index objects_versions (bucket, key, id DESC), migration 17. */
function versionsSql(start: Variant, below: boolean): string {
  // After a version: the rest of its key (older ids), then later keys. `key >= @key` is what
  // the index range starts from; the OR only sorts out the first key's rows.
  const from = start === 'after' ? 'key > @key' : start === 'from' ? 'key >= @key' : 'key >= @key AND ((key = @key AND id < @beforeId) OR key > @key)';
  return `SELECT ${VERSION_COLUMNS.join(', ')} FROM objects WHERE bucket = @bucket AND ${from}${until(below)} ORDER BY key, id DESC LIMIT @limit`;
}

/** Unfinished uploads by key, then initiation, then id: index uploads_by_key (bucket, key, created_at). */
function uploadsSql(start: 'from' | 'afterUpload', below: boolean): string {
  const from = start === 'from' ? 'key >= @key'
    : 'key >= @key AND (key > @key OR (key = @key AND (created_at > @createdAt OR (created_at = @createdAt AND id > @id))))';
  return `SELECT * FROM uploads WHERE bucket = @bucket AND ${from}${until(below)} ORDER BY key, created_at, id LIMIT @limit`;
}

/** Every listing statement by name, for EXPLAIN QUERY PLAN in tests. */
export function listingStatements(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const below of [false, true]) {
    const b = below ? '+below' : '';
    for (const s of ['after', 'from'] as const) out[`objects:${s}${b}`] = objectsSql(s, below);
    for (const s of ['after', 'from', 'afterVersion'] as const) out[`versions:${s}${b}`] = versionsSql(s, below);
    for (const s of ['from', 'afterUpload'] as const) out[`uploads:${s}${b}`] = uploadsSql(s, below);
  }
  return out;
}

/** Parameters that satisfy every listing statement, for EXPLAIN QUERY PLAN. */
export const PLAN_PARAMS = { bucket: 'b', key: 'k', below: 'l', limit: 1000, beforeId: 1, createdAt: 0, id: '' } as const;

/** The listing queries on SQLite, each prepared on first use. */
export class SqliteListing {
  private readonly prepared = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  private stmt(sql: string, raw = false): Statement {
    let st = this.prepared.get(sql);
    if (!st) {
      st = this.db.prepare(sql).raw(raw);
      this.prepared.set(sql, st);
    }
    return st;
  }

  objects(bucket: string, bound: ObjectBound, limit: number, below?: string): ListedObject[] {
    const after = 'after' in bound;
    // Rows as arrays (key, size, etag, last_modified, checksums), as for versions.
    const rows = this.stmt(objectsSql(after ? 'after' : 'from', below !== undefined), true)
      .all({ bucket, key: after ? bound.after : bound.from, limit, ...(below !== undefined && { below }) }) as unknown[][];
    return rows.map(([key, size, etag, lastModified, checksums]) => ({
      key: String(key), size: Number(size), etag: String(etag), lastModified: Number(lastModified), checksumAlgorithm: firstAlgorithm(checksums),
    }));
  }

  versions(bucket: string, bound: VersionBound, limit: number, below?: string): VersionRow[] {
    const b = below !== undefined ? { below } : {};
    const rows = 'fromKey' in bound
      ? this.stmt(versionsSql('from', below !== undefined), true).all({ bucket, key: bound.fromKey, limit, ...b })
      : 'afterKey' in bound
        ? this.stmt(versionsSql('after', below !== undefined), true).all({ bucket, key: bound.afterKey, limit, ...b })
        : this.stmt(versionsSql('afterVersion', below !== undefined), true).all({ bucket, key: bound.key, beforeId: bound.beforeId, limit, ...b });
    return (rows as unknown[][]).map(versionOf);
  }

  uploads(bucket: string, bound: UploadBound, limit: number, below?: string): UploadRow[] {
    const b = below !== undefined ? { below } : {};
    const rows = 'fromKey' in bound
      ? this.stmt(uploadsSql('from', below !== undefined)).all({ bucket, key: bound.fromKey, limit, ...b })
      : this.stmt(uploadsSql('afterUpload', below !== undefined)).all({ bucket, key: bound.key, createdAt: bound.createdAt, id: bound.id, limit, ...b });
    return (rows as SqlRow[]).map(toUpload);
  }
}

/** The first checksum algorithm of a version (ListObjects' ChecksumAlgorithm), without parsing '{}'. */
function firstAlgorithm(checksums: unknown): string | null {
  if (checksums === '{}' || checksums == null) return null;
  return Object.keys(parse<Record<string, string>>(checksums))[0] ?? null;
}
