import { randomAlnum } from '../../ids.js';
import { MetaNotFoundError, MetaPreconditionError } from '../errors.js';
import { json, toObject, toVersion, type SqlRow } from '../rows.js';
import { checkLock, writeConditionFailure } from '../rules.js';
import type { DeletedVersion, DeleteVersionOptions, MissedPiece, NewObject, ObjectLockState, ObjectRow, VersionRow, WriteCondition } from '../types.js';
import { lockBucketForWrite, type BucketForWrite } from './bucket-lock.js';
import type { Sql } from './db.js';
import { assertWithin } from './usage.js';
import { consumeUpload } from './uploads.js';
import { queueRepairTx, setBlobsLive } from './blobs.js';
import type { Tx } from './tx.js';

/**
 * The writes of object versions inside a unit of work (PgDb.writeLocked, READ COMMITTED):
 * store.ts's commitObject, deleteVersion and their helpers, statement for statement, with
 * every row a write decides on locked first. Locks are always taken in one order, so that
 * writers queue instead of deadlocking: the bucket row, then the key's current version (or
 * the version named), then the upload a commit completes, then the bucket's usage slot.
 * - The bucket row FOR KEY SHARE: writers share it, DeleteBucket (FOR UPDATE) waits for them
 *   and they for it. A bucket with a quota is taken FOR NO KEY UPDATE by writes that add
 *   bytes, so its usage is read and raised by one writer at a time and the quota is exact;
 *   buckets without one never serialize their writers.
 * - The key's current version FOR UPDATE: two writers of one key queue on it, and the
 *   second decides on what the first committed. A new key has no row to lock: the unique
 *   index objects_latest (bucket, key) WHERE is_latest = 1 makes two first versions collide,
 *   and the loser (23505) runs again from the start and then finds the winner.
 * - Version ids come from the sequence only once the key is held (its current version
 *   locked, or no version at all), so a key's versions are in the order they committed.
 */

/** A new version id: 32 letters and digits (about 190 random bits), as opaque as S3's. */
export function newVersionId(): string {
  return randomAlnum(32);
}

/**
 * The key's current version, delete markers included, locked for this unit; undefined when
 * the key has none. At READ COMMITTED a row found and then waited for is checked again once
 * its lock is granted, and drops out of the result if the writer that held it replaced or
 * removed it: no row then may mean "replaced meanwhile", so a fresh statement looks again
 * before the key is taken for absent.
 */
export async function latestForUpdate(sql: Sql, bucket: string, key: string): Promise<VersionRow | undefined> {
  const r = await latestRowForUpdate(sql, bucket, key);
  return r && toVersion(r);
}

/** latestForUpdate's row as the table holds it. */
export async function latestRowForUpdate(sql: Sql, bucket: string, key: string): Promise<SqlRow | undefined> {
  for (;;) {
    const r = await sql.one('SELECT * FROM objects WHERE bucket = $1 AND key = $2 AND is_latest = 1 FOR UPDATE', [bucket, key]);
    if (r) return r;
    if (!await sql.one('SELECT 1 AS one FROM objects WHERE bucket = $1 AND key = $2 AND is_latest = 1', [bucket, key])) return undefined;
  }
}

/** A version by id, locked for this unit; ids never change, so a row that drops out on its re-check is gone. */
export async function versionForUpdate(sql: Sql, bucket: string, key: string, versionId: string): Promise<VersionRow | undefined> {
  const r = await sql.one('SELECT * FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3 FOR UPDATE', [bucket, key, versionId]);
  return r && toVersion(r);
}

/**
 * Make a fully written object visible (MetaStore.commitObject): its blobs become live, the
 * key's previous version stops being current (a replaced "null" version goes with its blobs),
 * the upload it completes goes, missed pieces are queued for repair. With `condition`, the
 * write happens only if it holds against the key's current version, locked for the check.
 */
export async function commitTx(
  tx: Tx, o: NewObject, missed: readonly MissedPiece[], now: number, uploadId?: string, condition?: WriteCondition,
): Promise<ObjectRow> {
  const { sql } = tx;
  const bucket = await lockBucketForWrite(sql, o.bucket, o.size > 0);
  if (!bucket) throw new MetaNotFoundError('bucket', `bucket ${o.bucket} is gone`);
  // Versioning on: a new version id, the old versions stay. Otherwise the new version is
  // "null" and replaces the key's "null" version, as S3 does.
  const versionId = bucket.versioning === 'Enabled' ? newVersionId() : 'null';
  const params = [
    o.bucket, o.key, versionId, o.size, o.etag, now, o.contentType, json(o.headers), json(o.userMeta), json(o.checksums), o.partsCount, o.acl ?? null,
    ...lockColumns(o.lock),
  ];
  // A key with no current version has no versions at all (deleting the current one makes
  // the newest left current), so an unconditional write of a new key, the common case of a
  // backup, simply goes in: one statement, the unique index standing in for the key's lock
  // (a writer of the key that has not committed yet makes it wait, then do nothing).
  let row = condition ? undefined : await sql.one(`${INSERT_OBJECT} ON CONFLICT (bucket, key) WHERE is_latest = 1 DO NOTHING RETURNING *`, params);
  if (!row) {
    const latest = await latestForUpdate(sql, o.bucket, o.key);
    if (condition) {
      const failure = writeConditionFailure(latest && !latest.deleteMarker ? latest : undefined, condition);
      if (failure) throw new MetaPreconditionError(failure, `${o.bucket}/${o.key}: write condition failed (${failure})`);
    }
    await supersede(tx, latest, o.bucket, o.key, versionId, now);
    // With no current version found, a writer of the key's first version may get in first:
    // this insert then fails (23505) and the unit runs again, and finds that version.
    row = (await sql.one(`${INSERT_OBJECT} RETURNING *`, params))!;
  }
  if (uploadId !== undefined) await consumeUpload(sql, uploadId, o.parts, now);
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
 * Make room for a new current version `versionId` of a key whose current version `latest`
 * this unit holds: it stops being current, and a "null" version replaced by a new "null"
 * version goes with its blobs.
 */
async function supersede(tx: Tx, latest: VersionRow | undefined, bucket: string, key: string, versionId: string, now: number): Promise<void> {
  // No current version, no versions: nothing to replace. Not even a "null" version another
  // writer may have committed since: this unit decided on the key being empty, and its
  // insert collides with that version's row and runs the unit again.
  if (!latest) return;
  if (versionId === 'null') {
    const old = latest.versionId === 'null' ? latest : await versionForUpdate(tx.sql, bucket, key, 'null');
    if (old) await purge(tx, old, now);
    if (old?.id === latest.id) return;
  }
  await tx.sql.run('UPDATE objects SET is_latest = 0 WHERE id = $1', [latest.id]);
}

/** Remove one version row for good; its blobs become garbage and its bytes leave the bucket. */
async function purge(tx: Tx, row: { id: number; bucket: string; size: number }, now: number): Promise<void> {
  await tx.sql.run(`UPDATE blobs SET state = 'garbage', garbage_at = $1 WHERE id IN (SELECT blob_id FROM object_parts WHERE object_id = $2)`, [now, row.id]);
  await tx.sql.run('DELETE FROM object_parts WHERE object_id = $1', [row.id]);
  await tx.sql.run('DELETE FROM objects WHERE id = $1', [row.id]);
  tx.addUsage(row.bucket, -row.size);
}

/**
 * DeleteObject as S3 does it (MetaStore.deleteVersion), inside a unit of work. `bucketRow`
 * saves locking the bucket again when the caller (DeleteObjects) already holds it.
 */
export async function deleteVersionTx(
  tx: Tx, bucket: string, key: string, opts: DeleteVersionOptions, now: number, bucketRow?: BucketForWrite,
): Promise<DeletedVersion> {
  const { sql } = tx;
  const b = bucketRow ?? await lockBucketForWrite(sql, bucket, false);
  if (opts.versionId !== undefined) {
    const row = await versionForUpdate(sql, bucket, key, opts.versionId);
    if (!row) return { existed: false, versionId: opts.versionId, deleteMarker: false };
    checkLock(row, opts.bypassGovernance === true, now);
    await purge(tx, row, now);
    if (row.isLatest) await promoteNewest(sql, bucket, key);
    return { existed: true, versionId: row.versionId, deleteMarker: row.deleteMarker };
  }
  const latest = await latestForUpdate(sql, bucket, key);
  if (opts.ifCurrentId !== undefined && latest?.id !== opts.ifCurrentId) return { existed: false, deleteMarker: false };
  const versioning = b?.versioning ?? null;
  if (versioning === null) {
    if (!latest) return { existed: false, deleteMarker: false };
    checkLock(latest, opts.bypassGovernance === true, now);
    await purge(tx, latest, now);
    return { existed: true, deleteMarker: false };
  }
  const markerId = versioning === 'Enabled' ? newVersionId() : 'null';
  if (markerId === 'null' && latest) {
    const nullRow = latest.versionId === 'null' ? latest : await versionForUpdate(sql, bucket, key, 'null');
    if (nullRow) checkLock(nullRow, opts.bypassGovernance === true, now);
  }
  await supersede(tx, latest, bucket, key, markerId, now);
  await sql.run(`INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified, is_delete_marker)
    VALUES ($1, $2, $3, 1, 0, '', $4, 1)`, [bucket, key, markerId, now]);
  return { existed: true, versionId: markerId, deleteMarker: true };
}

/**
 * The current version was deleted: the newest version left becomes current. The row picked
 * may be deleted by another unit while this one waits for it (a DeleteObject of that very
 * version); the update then changes nothing, and the next newest is tried.
 */
async function promoteNewest(sql: Sql, bucket: string, key: string): Promise<void> {
  for (;;) {
    const changed = await sql.run(`UPDATE objects SET is_latest = 1
      WHERE id = (SELECT id FROM objects WHERE bucket = $1 AND key = $2 ORDER BY id DESC LIMIT 1)`, [bucket, key]);
    if (changed > 0) return;
    if (!await sql.one('SELECT 1 AS one FROM objects WHERE bucket = $1 AND key = $2 LIMIT 1', [bucket, key])) return;
  }
}
