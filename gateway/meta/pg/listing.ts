import type { ObjectBound } from '../listing.js';
import { parse, toUpload, toVersion } from '../rows.js';
import type { ListedObject, UploadBound, UploadRow, VersionBound, VersionRow } from '../types.js';
import type { Sql } from './db.js';

/**
 * The listing queries on PostgreSQL, the same range scans as on SQLite (../listing.ts): each
 * starts at its bound on an index over (bucket, key, ...) and a prefix ends it (`key <
 * below`), so a page reads its rows and no others, however large the bucket. Keys are
 * COLLATE "C" in the schema, so comparisons and ORDER BY go by bytes, as SQLite's BINARY
 * does; the ORDER BY names the collation again so that a page's order can never follow the
 * database's locale. Parameters: $1 bucket, $2 the bound's key, $3 the limit, then the
 * bound's other fields, then `below`.
 */

const until = (below: boolean, n: number): string => (below ? ` AND key < $${n}` : '');

/** Latest versions that are not delete markers, by key: the partial index objects_listed. */
function objectsSql(start: 'after' | 'from', below: boolean): string {
  return `SELECT key, size, etag, last_modified, checksums FROM objects
    WHERE bucket = $1 AND is_latest = 1 AND is_delete_marker = 0 AND key ${start === 'after' ? '>' : '>='} $2${until(below, 4)}
    ORDER BY key COLLATE "C" LIMIT $3`;
}

/**
 * What a version row holds (rows.ts toVersion), and no more: tags, ACLs and SSE-C parameters
 * stay in the table.
 */
const VERSION_COLUMNS = 'id, bucket, key, version_id, size, etag, last_modified, content_type, headers, user_meta, checksums, parts_count, '
  + 'is_latest, is_delete_marker, lock_mode, lock_until, legal_hold';

/** Every version, by key then newest first: index objects_versions (bucket, key, id DESC). */
function versionsSql(start: 'after' | 'from' | 'afterVersion', below: boolean): string {
  // After a version: the rest of its key (older ids, $4 the version's id), then later keys.
  // `key >= $2` is what the index range starts from; the OR only sorts out the first key's rows.
  const from = start === 'after' ? 'key > $2' : start === 'from' ? 'key >= $2' : 'key >= $2 AND ((key = $2 AND id < $4) OR key > $2)';
  return `SELECT ${VERSION_COLUMNS} FROM objects WHERE bucket = $1 AND ${from}${until(below, start === 'afterVersion' ? 5 : 4)}
    ORDER BY key COLLATE "C", id DESC LIMIT $3`;
}

/** Unfinished uploads by key, then initiation ($4), then id ($5): index uploads_by_key (bucket, key, created_at). */
function uploadsSql(start: 'from' | 'afterUpload', below: boolean): string {
  const from = start === 'from' ? 'key >= $2'
    : 'key >= $2 AND (key > $2 OR (key = $2 AND (created_at > $4 OR (created_at = $4 AND id > $5))))';
  return `SELECT * FROM uploads WHERE bucket = $1 AND ${from}${until(below, start === 'from' ? 4 : 6)}
    ORDER BY key COLLATE "C", created_at, id COLLATE "C" LIMIT $3`;
}

/** Every listing statement by name with parameters that satisfy it, for EXPLAIN in tests. */
export function pgListingStatements(): Record<string, { sql: string; params: unknown[] }> {
  const out: Record<string, { sql: string; params: unknown[] }> = {};
  for (const below of [false, true]) {
    const b = below ? '+below' : '';
    const tail = below ? ['l'] : [];
    for (const s of ['after', 'from'] as const) out[`objects:${s}${b}`] = { sql: objectsSql(s, below), params: ['b', 'k', 1000, ...tail] };
    for (const s of ['after', 'from'] as const) out[`versions:${s}${b}`] = { sql: versionsSql(s, below), params: ['b', 'k', 1000, ...tail] };
    out[`versions:afterVersion${b}`] = { sql: versionsSql('afterVersion', below), params: ['b', 'k', 1000, 1, ...tail] };
    out[`uploads:from${b}`] = { sql: uploadsSql('from', below), params: ['b', 'k', 1000, ...tail] };
    out[`uploads:afterUpload${b}`] = { sql: uploadsSql('afterUpload', below), params: ['b', 'k', 1000, 0, '', ...tail] };
  }
  return out;
}

export async function listObjects(sql: Sql, bucket: string, bound: ObjectBound, limit: number, below?: string): Promise<ListedObject[]> {
  const after = 'after' in bound;
  const rows = await sql.query<{ key: string; size: number; etag: string; last_modified: number; checksums: string }>(
    objectsSql(after ? 'after' : 'from', below !== undefined), [bucket, after ? bound.after : bound.from, limit, ...(below !== undefined ? [below] : [])]);
  return rows.map((r) => ({
    key: r.key, size: Number(r.size), etag: r.etag, lastModified: Number(r.last_modified), checksumAlgorithm: firstAlgorithm(r.checksums),
  }));
}

export async function listVersions(sql: Sql, bucket: string, bound: VersionBound, limit: number, below?: string): Promise<VersionRow[]> {
  const tail = below !== undefined ? [below] : [];
  const rows = 'fromKey' in bound
    ? await sql.query(versionsSql('from', below !== undefined), [bucket, bound.fromKey, limit, ...tail])
    : 'afterKey' in bound
      ? await sql.query(versionsSql('after', below !== undefined), [bucket, bound.afterKey, limit, ...tail])
      : await sql.query(versionsSql('afterVersion', below !== undefined), [bucket, bound.key, limit, bound.beforeId, ...tail]);
  return rows.map(toVersion);
}

export async function listUploads(sql: Sql, bucket: string, bound: UploadBound, limit: number, below?: string): Promise<UploadRow[]> {
  const tail = below !== undefined ? [below] : [];
  const rows = 'fromKey' in bound
    ? await sql.query(uploadsSql('from', below !== undefined), [bucket, bound.fromKey, limit, ...tail])
    : await sql.query(uploadsSql('afterUpload', below !== undefined), [bucket, bound.key, limit, bound.createdAt, bound.id, ...tail]);
  return rows.map(toUpload);
}

/** The first checksum algorithm of a version (ListObjects' ChecksumAlgorithm), without parsing '{}'. */
function firstAlgorithm(checksums: unknown): string | null {
  if (checksums === '{}' || checksums == null) return null;
  return Object.keys(parse<Record<string, string>>(checksums))[0] ?? null;
}
