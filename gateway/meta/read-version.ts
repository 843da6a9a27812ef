/**
 * A version as a GET or HEAD reads it, on SQLite and PostgreSQL alike: the row whole, with
 * what the answer needs besides (VersionRow.inline) read in the same statement.
 */
import { parse, parseTags, toBlob, toVersion, type SqlRow } from './rows.js';
import { decodeSseC } from './sse-c.js';
import type { PartRef, VersionRow } from './types.js';

/**
 * A version row read whole (SELECT *), with the columns objectTags and objectSseC would read
 * again, one statement each.
 */
export function toReadVersion(r: SqlRow): VersionRow {
  const v = toVersion(r);
  v.inline = { tags: parseTags(r.tags) ?? [], sseC: decodeSseC(r.sse_c) };
  return v;
}

/**
 * The latest version with its one part and that part's blob: one statement where there were
 * three (on PostgreSQL, three round trips). Parts and blobs come as p_ and b_ columns beside the
 * object's own; an object of several parts (parts_count set) reads them as before.
 * `$1`/`$2` or `?`/`?`: the placeholders of the driver.
 */
export function latestForReadSql(bucket: string, key: string): string {
  return `SELECT o.*,
      p.part_number AS p_part_number, p.blob_id AS p_blob_id, p.size AS p_size, p.etag AS p_etag, p.checksums AS p_checksums,
      b.id AS b_id, b.size AS b_size, b.segment_size AS b_segment_size, b.wrapped_key AS b_wrapped_key,
      b.placement AS b_placement, b.state AS b_state, b.created_at AS b_created_at
    FROM objects o
    LEFT JOIN object_parts p ON o.parts_count IS NULL AND p.object_id = o.id
    LEFT JOIN blobs b ON b.id = p.blob_id
    WHERE o.bucket = ${bucket} AND o.key = ${key} AND o.is_latest = 1`;
}

/** The rows of latestForReadSql as a version; undefined when the key has none. */
export function toLatestForRead(rows: SqlRow[]): VersionRow | undefined {
  const r = rows[0];
  if (!r) return undefined;
  const v = toReadVersion(r);
  // One part exactly: anything else (none yet, or several) is read part by part as before.
  if (rows.length === 1 && r.p_part_number != null && v.partsCount === null) {
    const ref: PartRef = {
      partNumber: Number(r.p_part_number), blobId: (r.p_blob_id as string | null) ?? null, size: Number(r.p_size),
      etag: String(r.p_etag), checksums: parse(r.p_checksums),
    };
    const blob = r.b_id == null ? undefined : toBlob({
      id: r.b_id, size: r.b_size, segment_size: r.b_segment_size, wrapped_key: r.b_wrapped_key,
      placement: r.b_placement, state: r.b_state, created_at: r.b_created_at,
    });
    v.inline!.part = { ref, blob };
  }
  return v;
}
