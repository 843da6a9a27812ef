/**
 * SQLite rows to the metadata types, and the JSON columns' encoding. Every column name of
 * the schema (migrations.ts) that the gateway reads is mapped here.
 */
import type { AccessKeyRecord, BlobRow, BucketRow, LockMode, ObjectRow, Tag, UploadPartRow, UploadRow, VersionRow } from './types.js';

export type SqlRow = Record<string, unknown>;
export const json = (v: unknown): string => JSON.stringify(v ?? {});
// Most JSON columns hold '{}': a listing of a thousand versions parses three a row.
export const parse = <T>(v: unknown): T => (v === '{}' ? {} : JSON.parse(String(v))) as T;

export function toObject(r: SqlRow): ObjectRow {
  return {
    id: Number(r.id), bucket: String(r.bucket), key: String(r.key), versionId: String(r.version_id),
    size: Number(r.size), etag: String(r.etag), lastModified: Number(r.last_modified),
    contentType: (r.content_type as string | null) ?? null, headers: parse(r.headers), userMeta: parse(r.user_meta),
    checksums: parse(r.checksums), partsCount: r.parts_count == null ? null : Number(r.parts_count),
  };
}

export function toBucket(r: SqlRow): BucketRow {
  return { name: String(r.name), owner: String(r.owner), region: String(r.region), createdAt: Number(r.created_at) };
}

export function toBlob(r: SqlRow): BlobRow {
  return {
    id: String(r.id), size: Number(r.size), segmentSize: Number(r.segment_size), wrappedKey: r.wrapped_key as Buffer,
    placement: parse(r.placement), state: r.state as BlobRow['state'], createdAt: Number(r.created_at),
  };
}

export function toPart(r: SqlRow): UploadPartRow {
  return {
    partNumber: Number(r.part_number), blobId: (r.blob_id as string | null) ?? null, size: Number(r.size),
    etag: String(r.etag), checksums: parse(r.checksums), lastModified: Number(r.last_modified ?? 0),
  };
}

export function toUpload(r: SqlRow): UploadRow {
  return {
    id: String(r.id), bucket: String(r.bucket), key: String(r.key), owner: String(r.owner), createdAt: Number(r.created_at),
    contentType: (r.content_type as string | null) ?? null, headers: parse(r.headers), userMeta: parse(r.user_meta),
    checksumAlgorithm: (r.checksum_algorithm as string | null) ?? null, checksumType: (r.checksum_type as string | null) ?? null,
    acl: (r.acl as string | null) ?? null,
  };
}

export function toVersion(r: SqlRow): VersionRow {
  // The object's row, extended in place: copying it with a spread was a third of the cost
  // of reading a version (every GET, HEAD and version listing reads one).
  const v = toObject(r) as VersionRow;
  v.isLatest = Number(r.is_latest) === 1;
  v.deleteMarker = Number(r.is_delete_marker) === 1;
  v.lock = {
    mode: (r.lock_mode as LockMode | null) ?? null, retainUntil: r.lock_until == null ? null : Number(r.lock_until),
    legalHold: r.legal_hold == null ? null : Number(r.legal_hold) === 1,
  };
  return v;
}

export function toAccessKeyRecord(r: SqlRow): AccessKeyRecord {
  return {
    accessKeyId: String(r.access_key_id), secret: String(r.secret), owner: String(r.owner),
    createdAt: Number(r.created_at), disabled: Boolean(r.disabled), sealedSecret: (r.sealed_secret as Buffer | null) ?? null,
  };
}

export function parseTags(v: unknown): Tag[] | undefined {
  return v == null ? undefined : parse<Tag[]>(v);
}
