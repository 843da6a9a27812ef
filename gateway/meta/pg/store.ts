import type { AuditStore } from '../audit-store.js';
import type { CompletedUploadStore } from '../completed-uploads.js';
import { MetaObjectLockedError } from '../errors.js';
import type { LeaseStore } from '../leases.js';
import type { LedgerLogStore } from '../ledger-log.js';
import type { MetaStore } from '../meta-store.js';
import type { NodePins } from '../node-pins.js';
import type { NodeStore } from '../nodes.js';
import type { EventOrigin, ObjectChange } from '../notifications.js';
import type { BucketQuotaStore } from '../quota.js';
import type { RepairStore } from '../repair.js';
import type { ReportStore } from '../reports.js';
import { parse, parseTags, toBlob, toObject, toPart, toUpload, toVersion } from '../rows.js';
import type { SseCStore, StoredSseC } from '../sse-c.js';
import { latestForReadSql, toLatestForRead } from '../read-version.js';
import type {
  BatchDeleteOutcome, BlobRow, DeletedVersion, DeleteOutcome, DeleteTarget, DeleteVersionOptions, ListedObject, MissedPiece, NewObject, NodeRow,
  ObjectLockState, ObjectRow, ObjectWriteOptions, PartRef, Tag, UploadBound, UploadPartRow, UploadRow, VersionBound, VersionRow,
} from '../types.js';
import { afterWrites } from './after-writes.js';
import { queueRepairTx } from './blobs.js';
import { lockBucketForWrite, type BucketForWrite } from './bucket-lock.js';
import { recordCompletion } from './completed-uploads.js';
import type { PgDb } from './db.js';
import { listObjects, listUploads, listVersions } from './listing.js';
import type { PgNotificationStore } from './notifications.js';
import { commitTx, deleteVersionTx, latestForUpdate, latestRowForUpdate, lockColumns, versionForUpdate } from './objects.js';
import { PgSettings } from './settings.js';
import { encodeSseC } from './sse-c.js';
import type { Tx } from './tx.js';
import { abortUploadTx, insertUpload, putPartTx, uploadTags } from './uploads.js';

const LATEST_FOR_READ = latestForReadSql('$1', '$2');

/** The stores of the concerns kept in their own files, built on the same database (open-store.ts). */
export interface PgConcerns {
  nodes: NodeStore;
  repairs: RepairStore;
  audit: AuditStore;
  sseC: SseCStore;
  completedUploads: CompletedUploadStore;
  reports: ReportStore;
  quotas: BucketQuotaStore;
  notifications: PgNotificationStore;
  ledger: LedgerLogStore;
  leases: LeaseStore;
  nodePins: (log?: (line: string) => void) => Promise<NodePins>;
}

/**
 * The metadata on PostgreSQL, shared by several gateways: SqliteMetaStore's methods with the
 * same meaning, each one unit of work (units.ts). Nothing read from the database is kept
 * beyond a method, except the node list for a second, as SQLite keeps it: another gateway's
 * write may come between any two calls.
 */
export class PgMetaStore extends PgSettings implements MetaStore {
  readonly backend = 'postgres';
  // A COMMIT is durable when it returns, and the database's own replication protects it:
  // no journal to ship, no snapshots to take.
  readonly journal = undefined;
  readonly snapshots = undefined;

  readonly nodes: NodeStore;
  readonly repairs: RepairStore;
  readonly audit: AuditStore;
  readonly sseC: SseCStore;
  readonly completedUploads: CompletedUploadStore;
  readonly reports: ReportStore;
  readonly quotas: BucketQuotaStore;
  readonly notifications: PgNotificationStore;
  readonly ledger: LedgerLogStore;
  readonly leases: LeaseStore;

  /** Moved by every write to the nodes table through this store, for listNodes' cache. */
  private nodesVersion = 0;
  private nodesCache: { version: number; at: number; rows: NodeRow[] } | undefined;

  private readonly pins: (log?: (line: string) => void) => Promise<NodePins>;

  constructor(db: PgDb, concerns: PgConcerns) {
    super(db);
    const nodesChanged = (): void => {
      this.nodesVersion++;
    };
    this.nodes = afterWrites(concerns.nodes, ['join', 'setState', 'recordSeen'], nodesChanged);
    this.audit = afterWrites(concerns.audit, ['setScore'], nodesChanged);
    this.repairs = concerns.repairs;
    this.sseC = concerns.sseC;
    this.completedUploads = concerns.completedUploads;
    this.reports = concerns.reports;
    this.quotas = concerns.quotas;
    this.pins = concerns.nodePins;
    this.notifications = concerns.notifications;
    this.ledger = concerns.ledger;
    this.leases = concerns.leases;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  nodePins(log?: (line: string) => void): Promise<NodePins> {
    return this.pins(log);
  }

  protected committed(tx: Tx): void {
    if (tx.nodesChanged) this.nodesVersion++;
    if (tx.queuedEvents) this.notifications.wake();
  }

  // ---- durability: every COMMIT is

  enableGroupCommit(): void {
    // Nothing to batch: PostgreSQL groups the flushes of concurrent commits itself.
  }

  flushCount(): number {
    return 0;
  }

  durable(): Promise<void> {
    return Promise.resolve();
  }

  attachJournal(): void {
    // No journal on this backend (see `journal`).
  }

  // ---- buckets

  /** Deletes an empty bucket (aborting its unfinished uploads); false if it still holds objects. */
  deleteBucket(name: string): Promise<boolean> {
    return this.write(async (tx) => {
      // Taken for this unit alone: writes into the bucket hold it shared (objects.ts), so the
      // ones under way finish first and are seen below, and new ones wait and then find it gone.
      if (!await tx.sql.one('SELECT 1 AS one FROM buckets WHERE name = $1 FOR UPDATE', [name])) return true;
      if (await tx.sql.one('SELECT 1 FROM objects WHERE bucket = $1 LIMIT 1', [name])) return false;
      const now = Date.now();
      for (const u of await tx.sql.query<{ id: string }>('SELECT id FROM uploads WHERE bucket = $1', [name])) await abortUploadTx(tx.sql, u.id, now);
      await tx.sql.run('DELETE FROM bucket_usage WHERE bucket = $1', [name]);
      await tx.sql.run('DELETE FROM buckets WHERE name = $1', [name]);
      return true;
    });
  }

  // ---- nodes

  async upsertNode(n: { id: string; url: string; zone: string; capacity?: number | null; freeBytes?: number | null }, now = Date.now()): Promise<void> {
    await this.write(async (tx) => {
      await tx.sql.run(`INSERT INTO nodes(id, url, zone, capacity, free_bytes, added_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $6)
        ON CONFLICT (id) DO UPDATE SET url = excluded.url, zone = excluded.zone, capacity = COALESCE(excluded.capacity, nodes.capacity),
        free_bytes = COALESCE(excluded.free_bytes, nodes.free_bytes), last_seen = excluded.last_seen`,
      [n.id, n.url, n.zone, n.capacity ?? null, n.freeBytes ?? null, now]);
      tx.nodesChanged = true;
    });
  }

  /**
   * Every node. Each PUT's placement starts here, so the rows are kept until a write to the
   * table through this store or a second passes (another gateway may have written it).
   */
  async listNodes(): Promise<NodeRow[]> {
    const now = performance.now();
    const c = this.nodesCache;
    if (c && c.version === this.nodesVersion && now - c.at < 1000) return c.rows.map((r) => ({ ...r }));
    const version = this.nodesVersion;
    const rows = (await this.rows('SELECT * FROM nodes ORDER BY id COLLATE "C"')).map((r): NodeRow => ({
      id: String(r.id), url: String(r.url), zone: String(r.zone), capacity: r.capacity == null ? null : Number(r.capacity),
      freeBytes: r.free_bytes == null ? null : Number(r.free_bytes), state: r.state as NodeRow['state'], score: Number(r.score),
      addedAt: Number(r.added_at), lastSeen: r.last_seen == null ? null : Number(r.last_seen),
    }));
    // A write that landed while the rows were on their way leaves them uncached.
    if (version === this.nodesVersion) this.nodesCache = { version, at: now, rows };
    return rows.map((r) => ({ ...r }));
  }

  // ---- blobs

  /** Record a blob before any of its pieces is written, so a crash leaves a trace to clean up. */
  async insertWritingBlob(b: Omit<BlobRow, 'state'>): Promise<void> {
    await this.writeOne(`INSERT INTO blobs(id, size, segment_size, wrapped_key, placement, state, created_at) VALUES ($1, $2, $3, $4, $5, 'writing', $6)`,
      [b.id, b.size, b.segmentSize, b.wrappedKey, JSON.stringify(b.placement), b.createdAt]);
  }

  async discardBlob(id: string, at = Date.now()): Promise<void> {
    await this.writeOne(`UPDATE blobs SET state = 'garbage', garbage_at = $1 WHERE id = $2`, [at, id]);
  }

  async getBlob(id: string): Promise<BlobRow | undefined> {
    const r = await this.row('SELECT * FROM blobs WHERE id = $1', [id]);
    return r && toBlob(r);
  }

  async garbageBlobs(before: number, limit: number): Promise<BlobRow[]> {
    return (await this.rows(`SELECT * FROM blobs WHERE state = 'garbage' AND garbage_at < $1 ORDER BY garbage_at LIMIT $2`, [before, limit])).map(toBlob);
  }

  async forgetBlob(id: string): Promise<void> {
    await this.writeOne('DELETE FROM blobs WHERE id = $1', [id]);
  }

  /** Blobs left 'writing' by a crashed or killed gateway become garbage. */
  sweepStaleWrites(olderThan: number): Promise<number> {
    return this.writeOne(`UPDATE blobs SET state = 'garbage', garbage_at = $1 WHERE state = 'writing' AND created_at < $2`, [Date.now(), olderThan]);
  }

  // ---- objects and versions

  /** The key's current version; undefined when it has none or the current one is a delete marker. */
  async getObject(bucket: string, key: string): Promise<ObjectRow | undefined> {
    const r = await this.row('SELECT * FROM objects WHERE bucket = $1 AND key = $2 AND is_latest = 1', [bucket, key]);
    return r && Number(r.is_delete_marker) !== 1 ? toObject(r) : undefined;
  }

  async objectParts(objectId: number): Promise<PartRef[]> {
    return (await this.rows('SELECT * FROM object_parts WHERE object_id = $1 ORDER BY part_number', [objectId])).map(toPart);
  }

  commitObject(o: NewObject, missed: MissedPiece[] = [], now = Date.now(), uploadId?: string): Promise<ObjectRow> {
    return this.write((tx) => commitTx(tx, o, missed, now, uploadId));
  }

  /**
   * `commitObject` with a write condition checked inside the same transaction, so of two
   * racing writes exactly one sees the condition hold (the loser's retry sees the winner),
   * with the object's tags, SSE-C parameters, completion record and events.
   */
  commitObjectWith(o: NewObject, opts: ObjectWriteOptions, missed: MissedPiece[] = [], now = Date.now(), uploadId?: string): Promise<ObjectRow> {
    return this.write(async (tx) => {
      const { sql } = tx;
      const tags = opts.tags ?? (uploadId !== undefined ? await uploadTags(sql, uploadId) : undefined);
      const row = await commitTx(tx, o, missed, now, uploadId, opts.condition);
      if (tags?.length || opts.sse) {
        await sql.run('UPDATE objects SET tags = $1, sse_c = $2 WHERE id = $3',
          [tags?.length ? JSON.stringify(tags) : null, opts.sse ? encodeSseC(opts.sse) : null, row.id]);
      }
      if (opts.recordCompletion && uploadId !== undefined) await recordCompletion(sql, uploadId, row, now);
      if (opts.event) {
        const { name, ...origin } = opts.event;
        await this.queueEvents(tx, o.bucket, { name, key: o.key, size: row.size, etag: row.etag, ...(row.versionId !== 'null' && { versionId: row.versionId }) }, origin, now);
      }
      return row;
    });
  }

  async deleteObject(bucket: string, key: string): Promise<boolean> {
    return (await this.deleteVersion(bucket, key, {})).existed;
  }

  deleteVersion(bucket: string, key: string, opts: DeleteVersionOptions): Promise<DeletedVersion> {
    const now = opts.now ?? Date.now();
    return this.write((tx) => this.deleteAndReport(tx, bucket, key, opts, now));
  }

  /** deleteVersionTx, and the event it causes. */
  private async deleteAndReport(tx: Tx, bucket: string, key: string, opts: DeleteVersionOptions, now: number, bucketRow?: BucketForWrite): Promise<DeletedVersion> {
    const done = await deleteVersionTx(tx, bucket, key, opts, now, bucketRow);
    if (done.existed) {
      const name = done.deleteMarker && opts.versionId === undefined ? 'ObjectRemoved:DeleteMarkerCreated' : 'ObjectRemoved:Delete';
      const versionId = done.versionId ?? opts.versionId;
      await this.queueEvents(tx, bucket, { name, key, ...(versionId !== undefined && versionId !== 'null' && { versionId }) }, opts.event, now);
    }
    return done;
  }

  /**
   * Queue the events a change causes in its unit of work, by the bucket's rules as this
   * transaction reads them; the worker is woken once the unit has committed.
   */
  private async queueEvents(tx: Tx, bucket: string, change: ObjectChange, origin: EventOrigin | undefined, now: number): Promise<void> {
    if (await this.notifications.record(tx.sql, bucket, change, origin, now)) tx.queuedEvents = true;
  }

  /** The current version of a key, delete markers included. */
  async getLatestVersion(bucket: string, key: string): Promise<VersionRow | undefined> {
    return toLatestForRead(await this.rows(LATEST_FOR_READ, [bucket, key]));
  }

  async getVersion(bucket: string, key: string, versionId: string): Promise<VersionRow | undefined> {
    const r = await this.row('SELECT * FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3', [bucket, key, versionId]);
    return r && toVersion(r);
  }

  listVersions(bucket: string, bound: VersionBound, limit: number, below?: string): Promise<VersionRow[]> {
    return listVersions(this.alone, bucket, bound, limit, below);
  }

  /** Replace the retention and legal hold of a version. */
  async setObjectLock(objectId: number, lock: ObjectLockState): Promise<void> {
    await this.writeOne('UPDATE objects SET lock_mode = $1, lock_until = $2, legal_hold = $3 WHERE id = $4', [...lockColumns(lock), objectId]);
  }

  /** The version is read and changed in one unit; `change` may run again if the unit is retried. */
  async changeObjectLock(bucket: string, key: string, versionId: string | undefined, change: (row: VersionRow | undefined) => ObjectLockState): Promise<void> {
    await this.write(async (tx) => {
      const row = versionId === undefined ? await latestForUpdate(tx.sql, bucket, key) : await versionForUpdate(tx.sql, bucket, key, versionId);
      const lock = change(row);
      if (row) await tx.sql.run('UPDATE objects SET lock_mode = $1, lock_until = $2, legal_hold = $3 WHERE id = $4', [...lockColumns(lock), row.id]);
    });
  }

  async setVersionTags(objectId: number, tags: Tag[] | null): Promise<boolean> {
    return await this.writeOne('UPDATE objects SET tags = $1 WHERE id = $2 AND is_delete_marker = 0', [tags?.length ? JSON.stringify(tags) : null, objectId]) > 0;
  }

  async objectTags(objectId: number): Promise<Tag[]> {
    const r = await this.row('SELECT tags FROM objects WHERE id = $1', [objectId]);
    return parseTags(r?.tags) ?? [];
  }

  /** Replace (or with null remove) the tag set of a key's latest version; the version changed, or undefined when the key has none. */
  setObjectTags(bucket: string, key: string, tags: Tag[] | null): Promise<ObjectRow | undefined> {
    return this.write(async (tx) => {
      const r = await latestRowForUpdate(tx.sql, bucket, key);
      if (!r || Number(r.is_delete_marker) === 1) return undefined;
      await tx.sql.run('UPDATE objects SET tags = $1 WHERE id = $2', [tags?.length ? JSON.stringify(tags) : null, r.id]);
      return toObject(r);
    });
  }

  async objectAcl(bucket: string, key: string, versionId?: string): Promise<string | null | undefined> {
    const r = versionId === undefined
      ? await this.row<{ acl: string | null }>('SELECT acl FROM objects WHERE bucket = $1 AND key = $2 AND is_latest = 1', [bucket, key])
      : await this.row<{ acl: string | null }>('SELECT acl FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3', [bucket, key, versionId]);
    return r && (r.acl ?? null);
  }

  async setObjectAcl(objectId: number, acl: string | null): Promise<boolean> {
    return await this.writeOne('UPDATE objects SET acl = $1 WHERE id = $2 AND is_delete_marker = 0', [acl, objectId]) > 0;
  }

  listObjects(bucket: string, bound: { after: string } | { from: string }, limit: number, below?: string): Promise<ListedObject[]> {
    return listObjects(this.alone, bucket, bound, limit, below);
  }

  // ---- DeleteObjects: every target decided on its own, all in one unit

  deleteObjectsBatch(bucket: string, targets: ReadonlyArray<DeleteTarget>): Promise<DeleteOutcome[]> {
    return this.write(async (tx) => {
      const b = await lockBucketForWrite(tx.sql, bucket, false);
      const out: DeleteOutcome[] = [];
      for (const t of targets) {
        if (t.etag !== undefined) {
          const current = await currentEtag(tx, bucket, t.key);
          if (current === undefined) {
            out.push('no-such-key');
            continue;
          }
          if (t.etag !== '*' && t.etag !== current) {
            out.push('precondition-failed');
            continue;
          }
        }
        const done = await deleteVersionTx(tx, bucket, t.key, t.versionId !== undefined ? { versionId: t.versionId } : {}, Date.now(), b);
        out.push(t.versionId !== undefined || done.existed ? 'deleted' : 'absent');
      }
      return out;
    });
  }

  deleteVersionsBatch(bucket: string, targets: ReadonlyArray<DeleteTarget>, opts: { bypassGovernance: boolean; now?: number; event?: EventOrigin }): Promise<BatchDeleteOutcome[]> {
    const now = opts.now ?? Date.now();
    return this.write(async (tx) => {
      const b = await lockBucketForWrite(tx.sql, bucket, false);
      const out: BatchDeleteOutcome[] = [];
      for (const t of targets) {
        if (t.etag !== undefined) {
          const current = await currentEtag(tx, bucket, t.key);
          if (current === undefined) {
            out.push({ kind: 'no-such-key' });
            continue;
          }
          if (t.etag !== '*' && t.etag !== current) {
            out.push({ kind: 'precondition-failed' });
            continue;
          }
        }
        try {
          const done = await this.deleteAndReport(tx, bucket, t.key, {
            ...(t.versionId !== undefined && { versionId: t.versionId }), bypassGovernance: opts.bypassGovernance, now, ...(opts.event && { event: opts.event }),
          }, now, b);
          out.push({ kind: 'deleted', ...done });
        } catch (err) {
          // Lock checks come before any statement that writes, so a refused target leaves
          // nothing behind and the others go on in the same transaction.
          if (err instanceof MetaObjectLockedError) out.push({ kind: 'locked', reason: err.reason });
          else throw err;
        }
      }
      return out;
    });
  }

  // ---- multipart uploads

  async createUpload(u: UploadRow): Promise<void> {
    await this.write((tx) => insertUpload(tx.sql, u, undefined, null));
  }

  /** Record a new upload with the tags its object will get on completion and its SSE-C parameters, in one commit. */
  async createUploadWith(u: UploadRow, tags: Tag[] | undefined, sse: StoredSseC | null = null): Promise<void> {
    await this.write((tx) => insertUpload(tx.sql, u, tags, sse));
  }

  async getUpload(id: string): Promise<UploadRow | undefined> {
    const r = await this.row('SELECT * FROM uploads WHERE id = $1', [id]);
    return r && toUpload(r);
  }

  async setUploadLock(uploadId: string, lock: ObjectLockState): Promise<void> {
    await this.writeOne('UPDATE uploads SET object_lock = $1 WHERE id = $2', [JSON.stringify(lock), uploadId]);
  }

  async uploadLock(uploadId: string): Promise<ObjectLockState | undefined> {
    const r = await this.row<{ object_lock: string | null }>('SELECT object_lock FROM uploads WHERE id = $1', [uploadId]);
    return r?.object_lock == null ? undefined : parse<ObjectLockState>(r.object_lock);
  }

  async putPart(uploadId: string, part: UploadPartRow, missed: MissedPiece[] = []): Promise<void> {
    await this.write((tx) => putPartTx(tx.sql, uploadId, part, missed));
  }

  async listParts(uploadId: string, afterPart: number, limit: number): Promise<UploadPartRow[]> {
    return (await this.rows('SELECT * FROM upload_parts WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3', [uploadId, afterPart, limit])).map(toPart);
  }

  async allParts(uploadId: string): Promise<UploadPartRow[]> {
    return (await this.rows('SELECT * FROM upload_parts WHERE upload_id = $1 ORDER BY part_number', [uploadId])).map(toPart);
  }

  abortUpload(id: string): Promise<boolean> {
    return this.write((tx) => abortUploadTx(tx.sql, id, Date.now()));
  }

  listUploads(bucket: string, bound: UploadBound, limit: number, below?: string): Promise<UploadRow[]> {
    return listUploads(this.alone, bucket, bound, limit, below);
  }

  // ---- repair

  async queueRepair(missed: MissedPiece[], now = Date.now()): Promise<void> {
    if (missed.length) await this.write((tx) => queueRepairTx(tx.sql, missed, now));
  }

  async repairBacklog(): Promise<number> {
    return Number((await this.row<{ n: number }>('SELECT COUNT(*) AS n FROM repair_queue'))!.n);
  }
}

/** The ETag of the key's current version, undefined when it has none (or a delete marker), locked for the unit. */
async function currentEtag(tx: Tx, bucket: string, key: string): Promise<string | undefined> {
  const r = await latestForUpdate(tx.sql, bucket, key);
  return r && !r.deleteMarker ? r.etag : undefined;
}
