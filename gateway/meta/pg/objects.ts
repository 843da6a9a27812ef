import { randomAlnum } from '../../ids.js';
import { MetaNotFoundError } from '../errors.js';
import { json, toObject, toVersion } from '../rows.js';
import { checkLock } from '../rules.js';
import type { DeletedVersion, DeleteVersionOptions, MissedPiece, NewObject, ObjectLockState, ObjectRow, VersioningState, VersionRow } from '../types.js';
import type { Sql } from './db.js';
import { assertWithin } from './usage.js';
import { consumeUpload } from './uploads.js';
import { queueRepairTx, setBlobsLive } from './blobs.js';
import type { Tx } from './tx.js';

/**
 * The writes of object versions inside a unit of work: store.ts's commitObject,
 * deleteVersion and their helpers, statement for statement. Rows a write decides on are read
 * FOR UPDATE: two gateways writing one key then queue on its current version instead of both
 * deciding on a snapshot that is about to change (SERIALIZABLE would catch it at commit
 * anyway; the lock makes the loser wait and retry once rather than do its work twice). The
 * unique index on (bucket, key) WHERE is_latest = 1 keeps one current version per key.
 */

/** A new version id: 32 letters and digits (about 190 random bits), as opaque as S3's. */
export function newVersionId(): string {
  return randomAlnum(32);
}

/** What a write needs to know of its bucket; undefined when the bucket is gone. */
export async function bucketForWrite(sql: Sql, bucket: string): Promise<{ versioning: VersioningState; quota: number | null } | undefined> {
  const r = await sql.one<{ versioning: VersioningState; quota: number | null }>('SELECT versioning, quota FROM buckets WHERE name = $1', [bucket]);
  return r && { versioning: r.versioning ?? null, quota: r.quota == null ? null : Number(r.quota) };
}

/** The key's current version, delete markers included, locked for this unit. */
export async function latestForUpdate(sql: Sql, bucket: string, key: string): Promise<VersionRow | undefined> {
  const r = await sql.one('SELECT * FROM objects WHERE bucket = $1 AND key = $2 AND is_latest = 1 FOR UPDATE', [bucket, key]);
  return r && toVersion(r);
}

async function versionForUpdate(sql: Sql, bucket: string, key: string, versionId: string): Promise<VersionRow | undefined> {
  const r = await sql.one('SELECT * FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3 FOR UPDATE', [bucket, key, versionId]);
  return r && toVersion(r);
}

/**
 * Make a fully written object visible (MetaStore.commitObject): its blobs become live, the
 * key's previous version stops being current (a replaced "null" version goes with its blobs),
 * the upload it completes goes, missed pieces are queued for repair.
 */
export async function commitTx(tx: Tx, o: NewObject, missed: readonly MissedPiece[], now: number, uploadId?: string): Promise<ObjectRow> {
  const { sql } = tx;
  const bucket = await bucketForWrite(sql, o.bucket);
  if (!bucket) throw new MetaNotFoundError('bucket', `bucket ${o.bucket} is gone`);
  if (uploadId !== undefined) await consumeUpload(sql, uploadId, o.parts, now);
  // Versioning on: a new version id, the old versions stay. Otherwise the new version is
  // "null" and replaces the key's "null" version, as S3 does.
  const versionId = bucket.versioning === 'Enabled' ? newVersionId() : 'null';
  // A key with no current version has no versions at all: the new row simply goes in. Tried
  // first, without reading the key, because under SERIALIZABLE a read that finds nothing
  // locks the index page it looked at, and concurrent writes of neighbouring new keys would
  // then fail one another; the unique index objects_latest decides instead (a writer of the
  // same key that committed meanwhile makes this a serialization failure, retried).
  const params = [
    o.bucket, o.key, versionId, o.size, o.etag, now, o.contentType, json(o.headers), json(o.userMeta), json(o.checksums), o.partsCount, o.acl ?? null,
    ...lockColumns(o.lock),
  ];
  let row = await sql.one(`${INSERT_OBJECT} ON CONFLICT (bucket, key) WHERE is_latest = 1 DO NOTHING RETURNING *`, params);
  if (!row) {
    await supersede(tx, o.bucket, o.key, versionId, now);
    row = (await sql.one(`${INSERT_OBJECT} RETURNING *`, params))!;
  }
  const id = Number(row.id);
  await insertParts(sql, id, o.parts);
  tx.addUsage(o.bucket, o.size);
  // Checked once the rows are in: the counter then has the replaced version taken off.
  await assertWithin(tx, o.bucket, bucket.quota, o.size);
  await queueRepairTx(sql, missed, now);
  return toObject(row);
}

const INSERT_OBJECT = `INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified, content_type, headers, user_meta,
  checksums, parts_count, acl, lock_mode, lock_until, legal_hold) VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`;

/** Retention and legal hold as the objects columns hold them (legal_hold: NULL never set, 0 off, 1 on). */
export function lockColumns(lock: ObjectLockState | undefined): [string | null, number | null, number | null] {
  if (!lock) return [null, null, null];
  return [lock.mode, lock.retainUntil, lock.legalHold === null ? null : lock.legalHold ? 1 : 0];
}

/** The object's parts in one statement (a completed upload may have 10,000), and their blobs live. */
async function insertParts(sql: Sql, objectId: number, parts: NewObject['parts']): Promise<void> {
  if (parts.length === 0) return;
  await sql.run(`INSERT INTO object_parts(object_id, part_number, blob_id, size, etag, checksums)
    SELECT $1, p.n, p.blob, p.size, p.etag, p.checksums FROM unnest($2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS p(n, blob, size, etag, checksums)`, [
    objectId, parts.map((p) => p.partNumber), parts.map((p) => p.blobId), parts.map((p) => p.size), parts.map((p) => p.etag), parts.map((p) => json(p.checksums)),
  ]);
  await setBlobsLive(sql, parts);
}

/**
 * Make room for a new current version `versionId` of a key: the current one stops being
 * current, and a "null" version replaced by a new "null" version goes with its blobs.
 */
async function supersede(tx: Tx, bucket: string, key: string, versionId: string, now: number): Promise<void> {
  // Locking the current version first orders racing writers of the key, even when it is not
  // the "null" one.
  const latest = await latestForUpdate(tx.sql, bucket, key);
  if (versionId === 'null') {
    const old = latest?.versionId === 'null' ? latest : await versionForUpdate(tx.sql, bucket, key, 'null');
    if (old) await purge(tx, old, now);
    if (old && old.id === latest?.id) return;
  }
  if (latest) await tx.sql.run('UPDATE objects SET is_latest = 0 WHERE id = $1', [latest.id]);
}

/** Remove one version row for good; its blobs become garbage and its bytes leave the bucket. */
async function purge(tx: Tx, row: { id: number; bucket: string; size: number }, now: number): Promise<void> {
  await tx.sql.run(`UPDATE blobs SET state = 'garbage', garbage_at = $1 WHERE id IN (SELECT blob_id FROM object_parts WHERE object_id = $2)`, [now, row.id]);
  await tx.sql.run('DELETE FROM object_parts WHERE object_id = $1', [row.id]);
  await tx.sql.run('DELETE FROM objects WHERE id = $1', [row.id]);
  tx.addUsage(row.bucket, -row.size);
}

/** DeleteObject as S3 does it (MetaStore.deleteVersion), inside a unit of work. */
export async function deleteVersionTx(tx: Tx, bucket: string, key: string, opts: DeleteVersionOptions, now: number): Promise<DeletedVersion> {
  const { sql } = tx;
  if (opts.versionId !== undefined) {
    const row = await versionForUpdate(sql, bucket, key, opts.versionId);
    if (!row) return { existed: false, versionId: opts.versionId, deleteMarker: false };
    checkLock(row, opts.bypassGovernance === true, now);
    await purge(tx, row, now);
    if (row.isLatest) {
      await sql.run(`UPDATE objects SET is_latest = 1 WHERE id = (SELECT id FROM objects WHERE bucket = $1 AND key = $2 ORDER BY id DESC LIMIT 1)`, [bucket, key]);
    }
    return { existed: true, versionId: row.versionId, deleteMarker: row.deleteMarker };
  }
  const latest = await latestForUpdate(sql, bucket, key);
  if (opts.ifCurrentId !== undefined && latest?.id !== opts.ifCurrentId) return { existed: false, deleteMarker: false };
  const versioning = (await bucketForWrite(sql, bucket))?.versioning ?? null;
  if (versioning === null) {
    if (!latest) return { existed: false, deleteMarker: false };
    checkLock(latest, opts.bypassGovernance === true, now);
    await purge(tx, latest, now);
    return { existed: true, deleteMarker: false };
  }
  const markerId = versioning === 'Enabled' ? newVersionId() : 'null';
  if (markerId === 'null') {
    const nullRow = latest?.versionId === 'null' ? latest : await versionForUpdate(sql, bucket, key, 'null');
    if (nullRow) checkLock(nullRow, opts.bypassGovernance === true, now);
  }
  await supersede(tx, bucket, key, markerId, now);
  await sql.run(`INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified, is_delete_marker)
    VALUES ($1, $2, $3, 1, 0, '', $4, 1)`, [bucket, key, markerId, now]);
  return { existed: true, versionId: markerId, deleteMarker: true };
}
