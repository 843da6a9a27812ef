import type { Statement } from 'better-sqlite3';
import { randomAlnum } from '../ids.js';
import { immediate, openMetaDb, withoutFsync, type Db } from './db.js';
import { GroupCommit } from './group-commit.js';
import { bucketQuotasFor, type BucketQuotaStore } from './quota.js';
import { auditStoreFor, type AuditStore } from './audit-store.js';
import { completedUploadsFor, type CompletedUploadStore } from './completed-uploads.js';
import { SqliteJournalStore, type JournalStore } from './journal.js';
import { SqliteListing } from './listing.js';
import type { MetaStore } from './meta-store.js';
import { SqliteNodePins, type NodePins } from './node-pins.js';
import { SqliteNodeStore, type NodeStore } from './nodes.js';
import { SqliteRepairStore, type RepairStore } from './repair.js';
import { SqliteReportStore, type ReportStore } from './reports.js';
import { SqliteLedgerLogStore, type LedgerLogStore } from './ledger-log.js';
import { SqliteLeaseStore, type LeaseStore } from './leases.js';
import { SqliteSnapshotStore, type SnapshotStore } from './snapshots.js';
import { sseCStoreFor, type SseCStore, type StoredSseC } from './sse-c.js';
import { SqliteNotificationStore, type EventOrigin, type NotificationStore } from './notifications.js';
import { prefixUpperBound } from './key-order.js';
import { latestForReadSql, toLatestForRead, toReadVersion } from './read-version.js';
import { objectRows } from './object-rows.js';
import { MetaConflictError, MetaNotFoundError, MetaObjectLockedError, MetaPreconditionError } from './errors.js';
import { json, parse, parseTags, toAccessKeyRecord, toBlob, toBucket, toObject, toPart, toUpload, type SqlRow } from './rows.js';
import { checkLock, writeConditionFailure } from './rules.js';
import type {
  AccessKeyRecord, BatchDeleteOutcome, BlobRow, BucketAccess, BucketPageQuery, BucketLockConfig, BucketRow, DeletedVersion, DeleteOutcome,
  DeleteTarget, DeleteVersionOptions, ListedObject, MissedPiece, NewObject, NodeRow, ObjectLockState, ObjectRow,
  ObjectWriteOptions, PartRef, Tag, UploadBound, UploadPartRow, UploadRow, VersionBound, VersioningState, VersionRow,
} from './types.js';

export type { MetaStore } from './meta-store.js';
export { prefixUpperBound } from './key-order.js';

/** The id of a new objects row: above every id ever used (migration 20). */
const NEXT_OBJECT_ID = `(SELECT value + 1 FROM id_high_water WHERE name = 'objects')`;


/**
 * The metadata on SQLite (better-sqlite3), the embedded default. Statements are prepared
 * once; `db` is for tests and tools of this package only, never for the rest of the gateway.
 */
export class SqliteMetaStore implements MetaStore {
  readonly db: Db;
  private readonly s: Record<string, Statement>;
  /** getLatestForRead's rows (objectRows): every GET and HEAD runs it. */
  private latestForRead: ((...params: unknown[]) => SqlRow[]) | undefined;
  private nodeStore: SqliteNodeStore | undefined;
  private repairStore: SqliteRepairStore | undefined;
  private reportStore: SqliteReportStore | undefined;
  private ledgerStore: SqliteLedgerLogStore | undefined;
  private leaseStore: SqliteLeaseStore | undefined;
  private snapshotStore: SqliteSnapshotStore | undefined;
  private journalStore: SqliteJournalStore | undefined;
  private listingQueries: SqliteListing | undefined;
  private notificationStore: SqliteNotificationStore | undefined;

  private readonly file: string;
  private groupCommit: GroupCommit | undefined;
  /** Moved by every write to the nodes table (a temporary trigger), for listNodes' cache. */
  private nodesVersion = 0;
  private nodesCache: { version: number; at: number; rows: NodeRow[] } | undefined;
  /** Moved by every write to the buckets table (a temporary trigger), for bucketRow's cache. */
  private bucketsVersion = 0;
  private readonly bucketRows = new Map<string, { version: number; at: number; row: SqlRow | undefined }>();

  constructor(file: string) {
    this.file = file;
    this.db = openMetaDb(file);
    const p = (sql: string): Statement => this.db.prepare(sql);
    this.s = {
      insertBucket: p('INSERT INTO buckets(name, owner, region, created_at, object_ownership) VALUES (?, ?, ?, ?, ?)'),
      getBucket: p('SELECT * FROM buckets WHERE name = ?'),
      listBuckets: p('SELECT * FROM buckets ORDER BY name'),
      listBucketsPage: p(`SELECT * FROM buckets WHERE owner = @owner AND name > @after AND name >= @prefix
        AND (@prefixEnd IS NULL OR name < @prefixEnd) AND (@region IS NULL OR region = @region) ORDER BY name LIMIT @limit`),
      deleteBucket: p('DELETE FROM buckets WHERE name = ?'),
      bucketHasObjects: p('SELECT 1 FROM objects WHERE bucket = ? LIMIT 1'),
      bucketUploads: p('SELECT id FROM uploads WHERE bucket = ?'),

      upsertNode: p(`INSERT INTO nodes(id, url, zone, capacity, free_bytes, added_at, last_seen) VALUES (@id, @url, @zone, @capacity, @freeBytes, @now, @now)
        ON CONFLICT(id) DO UPDATE SET url = excluded.url, zone = excluded.zone, capacity = COALESCE(excluded.capacity, capacity),
        free_bytes = COALESCE(excluded.free_bytes, free_bytes), last_seen = excluded.last_seen`),
      listNodes: p('SELECT * FROM nodes ORDER BY id'),

      insertBlob: p(`INSERT INTO blobs(id, size, segment_size, wrapped_key, placement, state, created_at)
        VALUES (@id, @size, @segmentSize, @wrappedKey, @placement, 'writing', @createdAt)`),
      setBlobLive: p(`UPDATE blobs SET state = 'live', size = ? WHERE id = ?`),
      setBlobGarbage: p(`UPDATE blobs SET state = 'garbage', garbage_at = ? WHERE id = ?`),
      getBlob: p('SELECT * FROM blobs WHERE id = ?'),
      deleteBlob: p('DELETE FROM blobs WHERE id = ?'),
      garbageBlobs: p(`SELECT * FROM blobs WHERE state = 'garbage' AND garbage_at < ? ORDER BY garbage_at LIMIT ?`),
      staleWriting: p(`UPDATE blobs SET state = 'garbage', garbage_at = ? WHERE state = 'writing' AND created_at < ?`),

      getLatest: p('SELECT * FROM objects WHERE bucket = ? AND key = ? AND is_latest = 1'),
      objectParts: p('SELECT * FROM object_parts WHERE object_id = ? ORDER BY part_number'),
      getLatestForRead: p(latestForReadSql('?', '?')),
      // Ids above every id ever used (migration 20), never a deleted row's.
      insertObject: p(`INSERT INTO objects(id, bucket, key, version_id, is_latest, size, etag, last_modified, content_type, headers, user_meta, checksums, parts_count, acl)
        VALUES (${NEXT_OBJECT_ID}, @bucket, @key, @versionId, 1, @size, @etag, @lastModified, @contentType, @headers, @userMeta, @checksums, @partsCount, @acl)`),
      insertObjectPart: p('INSERT INTO object_parts(object_id, part_number, blob_id, size, etag, checksums) VALUES (?, ?, ?, ?, ?, ?)'),
      deleteObjectRow: p('DELETE FROM objects WHERE id = ?'),
      garbageObjectBlobs: p(`UPDATE blobs SET state = 'garbage', garbage_at = ? WHERE id IN (SELECT blob_id FROM object_parts WHERE object_id = ?)`),

      insertUpload: p(`INSERT INTO uploads(id, bucket, key, owner, created_at, content_type, headers, user_meta, checksum_algorithm, checksum_type, acl)
        VALUES (@id, @bucket, @key, @owner, @createdAt, @contentType, @headers, @userMeta, @checksumAlgorithm, @checksumType, @acl)`),
      getUpload: p('SELECT * FROM uploads WHERE id = ?'),
      deleteUpload: p('DELETE FROM uploads WHERE id = ?'),
      getPart: p('SELECT * FROM upload_parts WHERE upload_id = ? AND part_number = ?'),
      upsertPart: p(`INSERT INTO upload_parts(upload_id, part_number, blob_id, size, etag, checksums, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(upload_id, part_number) DO UPDATE SET blob_id = excluded.blob_id, size = excluded.size, etag = excluded.etag,
        checksums = excluded.checksums, last_modified = excluded.last_modified`),
      listParts: p('SELECT * FROM upload_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?'),
      allParts: p('SELECT * FROM upload_parts WHERE upload_id = ? ORDER BY part_number'),
      garbageUploadBlobs: p(`UPDATE blobs SET state = 'garbage', garbage_at = ? WHERE id IN (SELECT blob_id FROM upload_parts WHERE upload_id = ?)`),

      queueRepair: p('INSERT OR IGNORE INTO repair_queue(blob_id, piece, reason, enqueued_at) VALUES (?, ?, ?, ?)'),
      repairBacklog: p('SELECT COUNT(*) AS n FROM repair_queue'),
      upsertAccessKey: p(`INSERT INTO access_keys(access_key_id, secret, owner, created_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(access_key_id) DO UPDATE SET secret = excluded.secret, disabled = 0`),
    };
    // Every write to the nodes table through this connection, whichever module makes it,
    // moves nodesVersion (temporary triggers: nothing is added to the file's schema).
    this.db.function('shardgate_nodes_changed', { deterministic: false, directOnly: true }, () => {
      this.nodesVersion++;
      return null;
    });
    for (const ev of ['INSERT', 'UPDATE', 'DELETE']) {
      this.db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS nodes_changed_${ev.toLowerCase()} AFTER ${ev} ON main.nodes BEGIN SELECT shardgate_nodes_changed(); END`);
    }
    // The same for buckets: their rows are read by every request and written by configuration calls only.
    this.db.function('shardgate_buckets_changed', { deterministic: false, directOnly: true }, () => {
      this.bucketsVersion++;
      return null;
    });
    for (const ev of ['INSERT', 'UPDATE', 'DELETE']) {
      this.db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS buckets_changed_${ev.toLowerCase()} AFTER ${ev} ON main.buckets BEGIN SELECT shardgate_buckets_changed(); END`);
    }
    // Most buckets have no quota, which their cached row tells without a query per write.
    bucketQuotasFor(this.db).hasNoQuota = (bucket) => {
      const row = this.bucketRow(bucket);
      return row !== undefined && row.quota == null;
    };
  }

  readonly backend = 'sqlite' as const;

  async close(): Promise<void> {
    await this.groupCommit?.close();
    this.db.close();
  }

  get nodes(): NodeStore {
    return (this.nodeStore ??= new SqliteNodeStore(this.db));
  }

  get repairs(): RepairStore {
    return (this.repairStore ??= new SqliteRepairStore(this.db));
  }

  get reports(): ReportStore {
    return (this.reportStore ??= new SqliteReportStore(this.db));
  }

  get leases(): LeaseStore {
    return (this.leaseStore ??= new SqliteLeaseStore(this.db));
  }

  get ledger(): LedgerLogStore {
    return (this.ledgerStore ??= new SqliteLedgerLogStore(this.db));
  }

  get snapshots(): SnapshotStore {
    return (this.snapshotStore ??= new SqliteSnapshotStore(this.db));
  }

  /** The listing queries (listing.ts). */
  private get listing(): SqliteListing {
    return (this.listingQueries ??= new SqliteListing(this.db));
  }

  get journal(): JournalStore {
    return (this.journalStore ??= new SqliteJournalStore(this.db));
  }

  get notifications(): NotificationStore {
    return this.notify;
  }

  private get notify(): SqliteNotificationStore {
    return (this.notificationStore ??= new SqliteNotificationStore(this.db));
  }

  get audit(): AuditStore {
    return auditStoreFor(this.db);
  }

  get sseC(): SseCStore {
    return sseCStoreFor(this.db);
  }

  get quotas(): BucketQuotaStore {
    return bucketQuotasFor(this.db);
  }

  get completedUploads(): CompletedUploadStore {
    return completedUploadsFor(this.db);
  }

  async nodePins(log?: (line: string) => void): Promise<NodePins> {
    return new SqliteNodePins(this.db, log);
  }

  /**
   * From now on commits are not flushed one by one: whoever acknowledges a write, or acts on
   * committed state outside the metadata (deleting pieces), first awaits `durable()`. The
   * gateway server turns this on; tools and tests that open the metadata keep a flush per commit.
   */
  private shipJournal: (() => Promise<void>) | undefined;

  enableGroupCommit(): void {
    this.groupCommit ??= new GroupCommit(this.db, `${this.file}-wal`, this.file);
  }

  /** WAL flushes done by group commit since the gateway started (0 without it). */
  flushCount(): number {
    return this.groupCommit?.flushes ?? 0;
  }

  /**
   * Resolves once every commit made so far is on disk (at once without group commit: each was
   * flushed) and, with a journal attached, shipped to the shard-stores too.
   */
  async durable(): Promise<void> {
    const local = this.groupCommit ? this.groupCommit.durable() : Promise.resolve();
    if (!this.shipJournal) return local;
    // Both must hold before an answer; neither waits for the other.
    await Promise.all([local, this.shipJournal()]);
  }

  /** From now on durable() also waits for the metadata journal (gateway/journal/shipper.ts). */
  attachJournal(flush: () => Promise<void>): void {
    this.shipJournal = flush;
  }

  /**
   * A bookkeeping write without its own fsync (see withoutFsync): the 'writing' marker of a
   * blob (lost only with power, leaving shard files for a scrub to find), repair hints, node status.
   * Under group commit no commit has its own fsync.
   */
  relaxed<T>(fn: () => T): T {
    return this.groupCommit ? fn() : withoutFsync(this.db, fn);
  }

  // ---- buckets

  /** `objectOwnership`: the bucket's Object Ownership setting (gateway/access/object-ownership.ts). */
  async createBucket(name: string, owner: string, region: string, now = Date.now(), objectOwnership = 'BucketOwnerEnforced'): Promise<void> {
    immediate(this.db, () => this.createBucketTx(name, owner, region, now, objectOwnership));
  }

  private createBucketTx(name: string, owner: string, region: string, now: number, objectOwnership: string): void {
    const existing = this.getBucketTx(name);
    if (existing) throw new MetaConflictError(`bucket ${name} exists`, existing.owner);
    this.notify.forget(name);
    this.s.insertBucket!.run(name, owner, region, now, objectOwnership);
  }

  async getBucket(name: string): Promise<BucketRow | undefined> {
    return this.getBucketTx(name);
  }

  /** The synchronous form of a public method, for use inside another one's transaction (never awaited there). */
  private getBucketTx(name: string): BucketRow | undefined {
    const r = this.bucketRow(name);
    return r && toBucket(r);
  }

  /**
   * A bucket's whole row. Every request reads its bucket (to route it, to authorize it, for
   * its versioning), about three statements that showed as a tenth of a 4 KiB GET's gateway
   * CPU, while the rows change only by configuration calls. So rows are kept until any write
   * to the table through this connection (bucketsVersion) or a second passes (a restore that
   * replaced the file). Inside a transaction (every object commit) a kept row still answers,
   * as a write to the table there moves bucketsVersion too; a row read there is never kept:
   * a write that rolls back must not leave its row behind.
   */
  private bucketRow(name: string): SqlRow | undefined {
    const now = performance.now();
    const c = this.bucketRows.get(name);
    if (c && c.version === this.bucketsVersion && now - c.at < 1000) return c.row;
    const row = this.s.getBucket!.get(name) as SqlRow | undefined;
    if (this.db.inTransaction) return row;
    // Bounded: a flood of requests for names that do not exist must not grow it without end.
    if (this.bucketRows.size >= 10_000) this.bucketRows.clear();
    this.bucketRows.set(name, { version: this.bucketsVersion, at: now, row });
    return row;
  }

  async listBuckets(): Promise<BucketRow[]> {
    return (this.s.listBuckets!.all() as SqlRow[]).map(toBucket);
  }

  /** One page of an owner's buckets in name order (ListBuckets), paged in the query. */
  async listBucketsPage(q: BucketPageQuery): Promise<BucketRow[]> {
    const prefix = q.prefix ?? '';
    return (this.s.listBucketsPage!.all({
      owner: q.owner, after: q.after ?? '', prefix, prefixEnd: prefix === '' ? null : prefixUpperBound(prefix), region: q.region ?? null, limit: q.limit,
    }) as SqlRow[]).map(toBucket);
  }

  /** Deletes an empty bucket (aborting its unfinished uploads); false if it still holds objects. */
  async deleteBucket(name: string): Promise<boolean> {
    return immediate(this.db, () => {
      if (this.s.bucketHasObjects!.get(name)) return false;
      for (const u of this.s.bucketUploads!.all(name) as SqlRow[]) this.abortUploadTx(String(u.id));
      this.notify.forget(name);
      this.s.deleteBucket!.run(name);
      return true;
    });
  }

  // ---- nodes

  async upsertNode(n: { id: string; url: string; zone: string; capacity?: number | null; freeBytes?: number | null }, now = Date.now()): Promise<void> {
    this.relaxed(() => this.s.upsertNode!.run({ id: n.id, url: n.url, zone: n.zone, capacity: n.capacity ?? null, freeBytes: n.freeBytes ?? null, now }));
  }

  /**
   * Every node. Each PUT's placement starts here, so the rows are kept until a write to the
   * table (nodesVersion) or a second passes (another process may have written the file).
   */
  async listNodes(): Promise<NodeRow[]> {
    const now = performance.now();
    const c = this.nodesCache;
    if (c && c.version === this.nodesVersion && now - c.at < 1000) return c.rows.map((r) => ({ ...r }));
    const rows = (this.s.listNodes!.all() as SqlRow[]).map((r): NodeRow => ({
      id: String(r.id), url: String(r.url), zone: String(r.zone), capacity: r.capacity == null ? null : Number(r.capacity),
      freeBytes: r.free_bytes == null ? null : Number(r.free_bytes), state: r.state as NodeRow['state'], score: Number(r.score),
      addedAt: Number(r.added_at), lastSeen: r.last_seen == null ? null : Number(r.last_seen),
    }));
    this.nodesCache = { version: this.nodesVersion, at: now, rows };
    return rows.map((r) => ({ ...r }));
  }

  // ---- blobs

  /** Record a blob before any of its pieces is written, so a crash leaves a trace to clean up. */
  async insertWritingBlob(b: Omit<BlobRow, 'state'>): Promise<void> {
    this.relaxed(() => this.s.insertBlob!.run({ ...b, placement: JSON.stringify(b.placement) }));
  }

  /** A blob whose write failed (or whose delete must be retried): the collector deletes its pieces after `at` plus its grace. */
  async discardBlob(id: string, at = Date.now()): Promise<void> {
    this.relaxed(() => this.s.setBlobGarbage!.run(at, id));
  }

  async getBlob(id: string): Promise<BlobRow | undefined> {
    const r = this.s.getBlob!.get(id) as SqlRow | undefined;
    return r && toBlob(r);
  }

  /** Garbage blobs that became garbage before `before`, oldest first. */
  async garbageBlobs(before: number, limit: number): Promise<BlobRow[]> {
    return (this.s.garbageBlobs!.all(before, limit) as SqlRow[]).map(toBlob);
  }

  async forgetBlob(id: string): Promise<void> {
    this.relaxed(() => this.s.deleteBlob!.run(id));
  }

  /** Blobs left 'writing' by a crashed or killed gateway become garbage. */
  async sweepStaleWrites(olderThan: number): Promise<number> {
    return this.s.staleWriting!.run(Date.now(), olderThan).changes;
  }

  // ---- objects

  /** The key's current version; undefined when it has none or the current one is a delete marker. */
  async getObject(bucket: string, key: string): Promise<ObjectRow | undefined> {
    return this.getObjectTx(bucket, key);
  }

  private getObjectTx(bucket: string, key: string): ObjectRow | undefined {
    const r = this.s.getLatest!.get(bucket, key) as SqlRow | undefined;
    return r && !r.is_delete_marker ? toObject(r) : undefined;
  }

  async objectParts(objectId: number): Promise<PartRef[]> {
    return (this.s.objectParts!.all(objectId) as SqlRow[]).map(toPart);
  }

  /**
   * Make a fully written object visible, atomically: its blobs become live, the key's
   * previous version (and its blobs) goes away, missed pieces are queued for repair.
   * This commit is the moment the write is acknowledged.
   */
  async commitObject(o: NewObject, missed: MissedPiece[] = [], now = Date.now(), uploadId?: string): Promise<ObjectRow> {
    return immediate(this.db, () => this.commitObjectTx(o, missed, now, uploadId));
  }

  private commitObjectTx(o: NewObject, missed: MissedPiece[], now: number, uploadId: string | undefined): ObjectRow {
    if (!this.getBucketTx(o.bucket)) throw new MetaNotFoundError('bucket', `bucket ${o.bucket} is gone`);
    if (uploadId !== undefined) {
      if (!this.s.getUpload!.get(uploadId)) throw new MetaNotFoundError('upload', `upload ${uploadId} is gone`);
      // Parts not named in the completed object are garbage; the named ones move to the object.
      const used = new Set(o.parts.map((p) => p.blobId));
      for (const p of this.s.allParts!.all(uploadId) as SqlRow[]) {
        if (p.blob_id && !used.has(String(p.blob_id))) this.s.setBlobGarbage!.run(now, p.blob_id);
      }
      this.s.deleteUpload!.run(uploadId);
    }
    // Versioning on: a new version id, the old versions stay. Otherwise the new version is
    // "null" and replaces the key's "null" version, as S3 does.
    const versionId = this.bucketVersioningTx(o.bucket) === 'Enabled' ? newVersionId() : 'null';
    this.supersede(o.bucket, o.key, versionId);
    const info = this.s.insertObject!.run({
      bucket: o.bucket, key: o.key, versionId, size: o.size, etag: o.etag, lastModified: now,
      contentType: o.contentType, headers: json(o.headers), userMeta: json(o.userMeta), checksums: json(o.checksums),
      partsCount: o.partsCount, acl: o.acl ?? null,
    });
    const id = Number(info.lastInsertRowid);
    for (const p of o.parts) {
      this.s.insertObjectPart!.run(id, p.partNumber, p.blobId, p.size, p.etag, json(p.checksums));
      if (p.blobId) this.s.setBlobLive!.run(p.size, p.blobId);
    }
    // Checked once the rows are in: the counter then has the replaced version taken off.
    bucketQuotasFor(this.db).assertWithin(o.bucket, o.size);
    for (const m of missed) this.s.queueRepair!.run(m.blobId, m.piece, m.reason, now);
    if (o.lock) this.setObjectLockTx(id, o.lock);
    return toObject(this.s.getLatest!.get(o.bucket, o.key) as SqlRow);
  }

  /**
   * DeleteObject without a versionId, as the bucket's versioning state says (see
   * `deleteVersion`); true if the key had a current version or a delete marker was added.
   */
  async deleteObject(bucket: string, key: string): Promise<boolean> {
    return (await this.deleteVersion(bucket, key, {})).existed;
  }

  /**
   * DeleteObject as S3 does it. With `versionId`: that version goes for good (its blobs
   * become garbage) unless Object Lock protects it; if it was current, the next newest
   * becomes current. Without: an unversioned bucket loses the key's version, a versioned
   * one gets a delete marker, a suspended one gets a "null" marker in place of its "null"
   * version. Throws MetaObjectLockedError when a lock forbids it.
   */
  async deleteVersion(bucket: string, key: string, opts: DeleteVersionOptions): Promise<DeletedVersion> {
    const now = opts.now ?? Date.now();
    return immediate(this.db, () => this.deleteVersionTx(bucket, key, opts, now));
  }

  /** deleteVersion with its events, inside the caller's transaction. */
  private deleteVersionTx(bucket: string, key: string, opts: DeleteVersionOptions, now: number): DeletedVersion {
    const done = this.removeVersionTx(bucket, key, opts, now);
    if (done.existed) {
      const name = done.deleteMarker && opts.versionId === undefined ? 'ObjectRemoved:DeleteMarkerCreated' : 'ObjectRemoved:Delete';
      const versionId = done.versionId ?? opts.versionId;
      this.notify.record(bucket, { name, key, ...(versionId !== undefined && versionId !== 'null' && { versionId }) }, opts.event, now);
    }
    return done;
  }

  private removeVersionTx(bucket: string, key: string, opts: DeleteVersionOptions, now: number): DeletedVersion {
    if (opts.versionId !== undefined) {
      const row = this.getVersionTx(bucket, key, opts.versionId);
      if (!row) return { existed: false, versionId: opts.versionId, deleteMarker: false };
      checkLock(row, opts.bypassGovernance === true, now);
      this.purge(row.id, now);
      if (row.isLatest) this.stmt(`UPDATE objects SET is_latest = 1 WHERE id =
        (SELECT id FROM objects WHERE bucket = ? AND key = ? ORDER BY id DESC LIMIT 1)`).run(bucket, key);
      return { existed: true, versionId: row.versionId, deleteMarker: row.deleteMarker };
    }
    if (opts.ifCurrentId !== undefined && this.getLatestVersionTx(bucket, key)?.id !== opts.ifCurrentId) {
      return { existed: false, deleteMarker: false };
    }
    const versioning = this.bucketVersioningTx(bucket);
    if (versioning === null) {
      const row = this.getLatestVersionTx(bucket, key);
      if (!row) return { existed: false, deleteMarker: false };
      checkLock(row, opts.bypassGovernance === true, now);
      this.purge(row.id, now);
      return { existed: true, deleteMarker: false };
    }
    const markerId = versioning === 'Enabled' ? newVersionId() : 'null';
    if (markerId === 'null') {
      const nullRow = this.getVersionTx(bucket, key, 'null');
      if (nullRow) checkLock(nullRow, opts.bypassGovernance === true, now);
    }
    this.supersede(bucket, key, markerId, now);
    this.stmt(`INSERT INTO objects(id, bucket, key, version_id, is_latest, size, etag, last_modified, is_delete_marker)
      VALUES (${NEXT_OBJECT_ID}, ?, ?, ?, 1, 0, '', ?, 1)`).run(bucket, key, markerId, now);
    return { existed: true, versionId: markerId, deleteMarker: true };
  }

  /**
   * Make room for a new current version `versionId` of a key: the current one stops being
   * current, and a "null" version replaced by a new "null" version goes with its blobs.
   */
  private supersede(bucket: string, key: string, versionId: string, now = Date.now()): void {
    if (versionId === 'null') {
      const old = this.stmt(`SELECT id FROM objects WHERE bucket = ? AND key = ? AND version_id = 'null'`).get(bucket, key) as SqlRow | undefined;
      if (old) this.purge(Number(old.id), now);
    }
    this.stmt('UPDATE objects SET is_latest = 0 WHERE bucket = ? AND key = ? AND is_latest = 1').run(bucket, key);
  }

  /** Remove one version row for good; its blobs become garbage. */
  private purge(objectId: number, now: number): void {
    this.s.garbageObjectBlobs!.run(now, objectId);
    this.s.deleteObjectRow!.run(objectId);
  }

  // ---- versioning and Object Lock (migration 5)

  async bucketVersioning(bucket: string): Promise<VersioningState> {
    return this.bucketVersioningTx(bucket);
  }

  private bucketVersioningTx(bucket: string): VersioningState {
    return (this.bucketRow(bucket)?.versioning as VersioningState | undefined) ?? null;
  }

  async setBucketVersioning(bucket: string, state: 'Enabled' | 'Suspended'): Promise<void> {
    this.stmt('UPDATE buckets SET versioning = ? WHERE name = ?').run(state, bucket);
  }

  /** The Object Lock configuration of a lock-enabled bucket; null for any other bucket. */
  async bucketObjectLock(bucket: string): Promise<BucketLockConfig | null> {
    const r = this.bucketRow(bucket);
    return r?.object_lock == null ? null : parse<BucketLockConfig>(r.object_lock);
  }

  /** Enable Object Lock on a bucket (with its default rule, if any); versioning goes on with it. */
  async setBucketObjectLock(bucket: string, config: BucketLockConfig): Promise<void> {
    this.setBucketObjectLockTx(bucket, config);
  }

  private setBucketObjectLockTx(bucket: string, config: BucketLockConfig): void {
    this.stmt(`UPDATE buckets SET object_lock = ?, versioning = 'Enabled' WHERE name = ?`).run(JSON.stringify(config), bucket);
  }

  /** CreateBucket with x-amz-bucket-object-lock-enabled: the bucket, lock and versioning in one commit. */
  async createLockedBucket(name: string, owner: string, region: string, now = Date.now(), objectOwnership = 'BucketOwnerEnforced'): Promise<void> {
    immediate(this.db, () => {
      this.createBucketTx(name, owner, region, now, objectOwnership);
      this.setBucketObjectLockTx(name, {});
    });
  }

  /** The current version of a key, delete markers included. */
  async getLatestVersion(bucket: string, key: string): Promise<VersionRow | undefined> {
    this.latestForRead ??= objectRows(this.s.getLatestForRead!);
    return toLatestForRead(this.latestForRead(bucket, key));
  }

  private getLatestVersionTx(bucket: string, key: string): VersionRow | undefined {
    const r = this.s.getLatest!.get(bucket, key) as SqlRow | undefined;
    return r && toReadVersion(r);
  }

  async getVersion(bucket: string, key: string, versionId: string): Promise<VersionRow | undefined> {
    return this.getVersionTx(bucket, key, versionId);
  }

  private getVersionTx(bucket: string, key: string, versionId: string): VersionRow | undefined {
    const r = this.stmt('SELECT * FROM objects WHERE bucket = ? AND key = ? AND version_id = ?').get(bucket, key, versionId) as SqlRow | undefined;
    return r && toReadVersion(r);
  }

  /** Versions in ListObjectVersions order (key, then newest first), from a bound. */
  async listVersions(bucket: string, bound: VersionBound, limit: number, below?: string): Promise<VersionRow[]> {
    return this.listing.versions(bucket, bound, limit, below);
  }

  /** Replace the retention and legal hold of a version. */
  async setObjectLock(objectId: number, lock: ObjectLockState): Promise<void> {
    this.setObjectLockTx(objectId, lock);
  }

  private setObjectLockTx(objectId: number, lock: ObjectLockState): void {
    this.stmt('UPDATE objects SET lock_mode = ?, lock_until = ?, legal_hold = ? WHERE id = ?')
      .run(lock.mode, lock.retainUntil, lock.legalHold === null ? null : lock.legalHold ? 1 : 0, objectId);
  }

  async changeObjectLock(bucket: string, key: string, versionId: string | undefined,
    change: (row: VersionRow | undefined) => ObjectLockState): Promise<void> {
    immediate(this.db, () => {
      const row = versionId === undefined ? this.getLatestVersionTx(bucket, key) : this.getVersionTx(bucket, key, versionId);
      const lock = change(row);
      // `change` refuses a version that is not there; should it not, there is nothing to change.
      if (row) this.setObjectLockTx(row.id, lock);
    });
  }

  /** Replace (or with null remove) the tag set of one version; false when that version is gone. */
  async setVersionTags(objectId: number, tags: Tag[] | null): Promise<boolean> {
    return this.stmt('UPDATE objects SET tags = ? WHERE id = ? AND is_delete_marker = 0').run(tags?.length ? JSON.stringify(tags) : null, objectId).changes > 0;
  }

  /** A bucket's lifecycle rules as stored (gateway/s3/lifecycle.ts), or null when it has none. */
  async bucketLifecycle<T>(bucket: string): Promise<T | null> {
    const r = this.stmt('SELECT lifecycle FROM buckets WHERE name = ?').get(bucket) as SqlRow | undefined;
    return r?.lifecycle == null ? null : parse<T>(r.lifecycle);
  }

  /** Replace (or with null remove) a bucket's lifecycle rules. */
  async setBucketLifecycle(bucket: string, rules: unknown): Promise<void> {
    this.stmt('UPDATE buckets SET lifecycle = ? WHERE name = ?').run(rules === null ? null : JSON.stringify(rules), bucket);
  }

  /** Names of the buckets that have lifecycle rules, for the lifecycle worker. */
  async bucketsWithLifecycle(): Promise<string[]> {
    return (this.stmt('SELECT name FROM buckets WHERE lifecycle IS NOT NULL ORDER BY name').all() as SqlRow[]).map((r) => String(r.name));
  }

  /** The lock a CreateMultipartUpload asked for, kept for CompleteMultipartUpload. */
  async setUploadLock(uploadId: string, lock: ObjectLockState): Promise<void> {
    this.stmt('UPDATE uploads SET object_lock = ? WHERE id = ?').run(JSON.stringify(lock), uploadId);
  }

  async uploadLock(uploadId: string): Promise<ObjectLockState | undefined> {
    const r = this.stmt('SELECT object_lock FROM uploads WHERE id = ?').get(uploadId) as SqlRow | undefined;
    return r?.object_lock == null ? undefined : parse<ObjectLockState>(r.object_lock);
  }

  /** Latest objects in key order after `after` (exclusive) or from `from` (inclusive), before `below`. */
  async listObjects(bucket: string, bound: { after: string } | { from: string }, limit: number, below?: string): Promise<ListedObject[]> {
    return this.listing.objects(bucket, bound, limit, below);
  }

  // ---- multipart uploads

  async createUpload(u: UploadRow): Promise<void> {
    this.createUploadTx(u);
  }

  private createUploadTx(u: UploadRow): void {
    this.s.insertUpload!.run({ ...u, headers: json(u.headers), userMeta: json(u.userMeta) });
  }

  async getUpload(id: string): Promise<UploadRow | undefined> {
    const r = this.s.getUpload!.get(id) as SqlRow | undefined;
    return r && toUpload(r);
  }

  /** Attach a written part; a part uploaded again under the same number replaces the old one. */
  async putPart(uploadId: string, part: UploadPartRow, missed: MissedPiece[] = []): Promise<void> {
    immediate(this.db, () => {
      const upload = this.s.getUpload!.get(uploadId) as SqlRow | undefined;
      if (!upload) throw new MetaNotFoundError('upload', `upload ${uploadId} is gone`);
      bucketQuotasFor(this.db).assertRoomTx(String(upload.bucket), part.size, { id: uploadId, partNumber: part.partNumber });
      const old = this.s.getPart!.get(uploadId, part.partNumber) as SqlRow | undefined;
      if (old?.blob_id) this.s.setBlobGarbage!.run(Date.now(), old.blob_id);
      this.s.upsertPart!.run(uploadId, part.partNumber, part.blobId, part.size, part.etag, json(part.checksums), part.lastModified);
      if (part.blobId) this.s.setBlobLive!.run(part.size, part.blobId);
      for (const m of missed) this.s.queueRepair!.run(m.blobId, m.piece, m.reason, part.lastModified);
    });
  }

  async listParts(uploadId: string, afterPart: number, limit: number): Promise<UploadPartRow[]> {
    return (this.s.listParts!.all(uploadId, afterPart, limit) as SqlRow[]).map(toPart);
  }

  async allParts(uploadId: string): Promise<UploadPartRow[]> {
    return (this.s.allParts!.all(uploadId) as SqlRow[]).map(toPart);
  }

  async abortUpload(id: string): Promise<boolean> {
    return immediate(this.db, () => this.abortUploadTx(id));
  }

  private abortUploadTx(id: string): boolean {
    if (!this.s.getUpload!.get(id)) return false;
    this.s.garbageUploadBlobs!.run(Date.now(), id);
    this.s.deleteUpload!.run(id);
    return true;
  }

  // ---- repair

  async queueRepair(missed: MissedPiece[], now = Date.now()): Promise<void> {
    this.relaxed(() => this.db.transaction(() => {
      for (const m of missed) this.s.queueRepair!.run(m.blobId, m.piece, m.reason, now);
    })());
  }

  async repairBacklog(): Promise<number> {
    return Number((this.s.repairBacklog!.get() as SqlRow).n);
  }

  // ---- conditional writes, tags, DeleteObjects, ListMultipartUploads (migration 3)

  /** Statements of the methods below, prepared on first use and then reused. */
  private readonly lazy = new Map<string, Statement>();

  private stmt(sql: string): Statement {
    let st = this.lazy.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.lazy.set(sql, st);
    }
    return st;
  }

  /**
   * `commitObject` with a write condition checked inside the same transaction, so of two
   * racing writes exactly one sees the condition hold, and with the object's tags. Without
   * `tags`, a completed upload passes on the tags of its CreateMultipartUpload.
   * Throws MetaPreconditionError when the condition does not hold at commit time.
   */
  async commitObjectWith(o: NewObject, opts: ObjectWriteOptions, missed: MissedPiece[] = [], now = Date.now(), uploadId?: string): Promise<ObjectRow> {
    return immediate(this.db, () => {
      if (opts.condition) {
        const failure = writeConditionFailure(this.getObjectTx(o.bucket, o.key), opts.condition);
        if (failure) throw new MetaPreconditionError(failure, `${o.bucket}/${o.key}: write condition failed (${failure})`);
      }
      let tags = opts.tags;
      if (tags === undefined && uploadId !== undefined) {
        const r = this.stmt('SELECT tags FROM uploads WHERE id = ?').get(uploadId) as SqlRow | undefined;
        tags = parseTags(r?.tags);
      }
      const row = this.commitObjectTx(o, missed, now, uploadId);
      if (tags?.length) this.stmt('UPDATE objects SET tags = ? WHERE id = ?').run(JSON.stringify(tags), row.id);
      if (opts.recordCompletion && uploadId !== undefined) completedUploadsFor(this.db).recordTx(uploadId, row, now);
      if (opts.sse) sseCStoreFor(this.db).setObjectTx(row.id, opts.sse);
      if (opts.event) {
        const { name, ...origin } = opts.event;
        const change = { name, key: o.key, size: row.size, etag: row.etag, ...(row.versionId !== 'null' && { versionId: row.versionId }) };
        this.notify.record(o.bucket, change, origin, now);
      }
      return row;
    });
  }

  /** Record a new upload with the tags its object will get on completion and its SSE-C parameters. */
  async createUploadWith(u: UploadRow, tags: Tag[] | undefined, sse?: StoredSseC | null): Promise<void> {
    immediate(this.db, () => {
      this.createUploadTx(u);
      if (tags?.length) this.stmt('UPDATE uploads SET tags = ? WHERE id = ?').run(JSON.stringify(tags), u.id);
      if (sse) sseCStoreFor(this.db).setUploadTx(u.id, sse);
    });
  }

  /** Tags of an object version (empty when it has none). */
  async objectTags(objectId: number): Promise<Tag[]> {
    const r = this.stmt('SELECT tags FROM objects WHERE id = ?').get(objectId) as SqlRow | undefined;
    return parseTags(r?.tags) ?? [];
  }

  /**
   * Replace (or with null remove) the tag set of a key's latest version. Returns the
   * version changed, or undefined when the key has none.
   */
  async setObjectTags(bucket: string, key: string, tags: Tag[] | null): Promise<ObjectRow | undefined> {
    return immediate(this.db, () => {
      const obj = this.getObjectTx(bucket, key);
      if (!obj) return undefined;
      this.stmt('UPDATE objects SET tags = ? WHERE id = ?').run(tags?.length ? JSON.stringify(tags) : null, obj.id);
      return obj;
    });
  }

  /** A bucket's tag set; null when it has none (NoSuchTagSet). */
  async bucketTags(name: string): Promise<Tag[] | null> {
    const r = this.stmt('SELECT tags FROM buckets WHERE name = ?').get(name) as SqlRow | undefined;
    return parseTags(r?.tags) ?? null;
  }

  /** Replace a bucket's tag set; null removes it. False when the bucket is gone. */
  async setBucketTags(name: string, tags: Tag[] | null): Promise<boolean> {
    return this.stmt('UPDATE buckets SET tags = ? WHERE name = ?').run(tags === null ? null : JSON.stringify(tags), name).changes > 0;
  }

  /**
   * Delete several keys in one transaction (one commit, one fsync, for up to 1000 keys).
   * Each target is decided on its own: a failed ETag condition does not stop the others.
   * A versionId that is not the key's current version deletes nothing and succeeds, as
   * deleting a version that does not exist does on S3.
   */
  async deleteObjectsBatch(bucket: string, targets: ReadonlyArray<DeleteTarget>): Promise<DeleteOutcome[]> {
    return immediate(this.db, () => targets.map((t): DeleteOutcome => {
      const current = this.getObjectTx(bucket, t.key);
      if (t.etag !== undefined) {
        if (!current) return 'no-such-key';
        if (t.etag !== '*' && t.etag !== current.etag) return 'precondition-failed';
      }
      if (t.versionId !== undefined) {
        this.deleteVersionTx(bucket, t.key, { versionId: t.versionId }, Date.now());
        return 'deleted';
      }
      return this.deleteVersionTx(bucket, t.key, {}, Date.now()).existed ? 'deleted' : 'absent';
    }));
  }

  /**
   * DeleteObjects with versions and Object Lock: each target as `deleteVersion` decides it
   * (a locked version is refused on its own), all in one transaction.
   */
  async deleteVersionsBatch(bucket: string, targets: ReadonlyArray<DeleteTarget>, opts: { bypassGovernance: boolean; now?: number; event?: EventOrigin }): Promise<BatchDeleteOutcome[]> {
    const now = opts.now ?? Date.now();
    return immediate(this.db, () => targets.map((t): BatchDeleteOutcome => {
      if (t.etag !== undefined) {
        const current = this.getObjectTx(bucket, t.key);
        if (!current) return { kind: 'no-such-key' };
        if (t.etag !== '*' && t.etag !== current.etag) return { kind: 'precondition-failed' };
      }
      try {
        return {
          kind: 'deleted',
          // A savepoint of its own: a refused version leaves the batch as it was.
          ...immediate(this.db, () => this.deleteVersionTx(bucket, t.key, {
            ...(t.versionId !== undefined && { versionId: t.versionId }), bypassGovernance: opts.bypassGovernance, now, ...(opts.event && { event: opts.event }),
          }, now)),
        };
      } catch (err) {
        if (err instanceof MetaObjectLockedError) return { kind: 'locked', reason: err.reason };
        throw err;
      }
    }));
  }

  /**
   * Unfinished uploads of a bucket in listing order (key, then initiation time, then id),
   * strictly after `after` or, with `fromKey`, starting at that key.
   */
  async listUploads(bucket: string, bound: UploadBound, limit: number, below?: string): Promise<UploadRow[]> {
    return this.listing.uploads(bucket, bound, limit, below);
  }

  // ---- access: several users' keys, ACLs, policies, CORS (migration 6)

  /** A new access key whose secret is stored only sealed (gateway/access/secret-box.ts). */
  async createAccessKey(id: string, sealedSecret: Buffer, owner: string, now = Date.now()): Promise<void> {
    this.stmt(`INSERT INTO access_keys(access_key_id, secret, sealed_secret, owner, created_at) VALUES (?, '', ?, ?, ?)`)
      .run(id, sealedSecret, owner, now);
  }

  /** One key with its sealed secret (null for a key stored before migration 6, whose `secret` is clear). */
  async getAccessKeyRecord(id: string): Promise<AccessKeyRecord | undefined> {
    const r = this.stmt('SELECT * FROM access_keys WHERE access_key_id = ?').get(id) as SqlRow | undefined;
    return r && toAccessKeyRecord(r);
  }

  /** Every key, or one user's, by user then key id. */
  async listAccessKeys(owner?: string): Promise<AccessKeyRecord[]> {
    const rows = owner === undefined
      ? this.stmt('SELECT * FROM access_keys ORDER BY owner, access_key_id').all()
      : this.stmt('SELECT * FROM access_keys WHERE owner = ? ORDER BY access_key_id').all(owner);
    return (rows as SqlRow[]).map(toAccessKeyRecord);
  }

  /** False when the key does not exist. */
  async setAccessKeyDisabled(id: string, disabled: boolean): Promise<boolean> {
    return this.stmt('UPDATE access_keys SET disabled = ? WHERE access_key_id = ?').run(disabled ? 1 : 0, id).changes > 0;
  }

  async deleteAccessKey(id: string): Promise<boolean> {
    return this.stmt('DELETE FROM access_keys WHERE access_key_id = ?').run(id).changes > 0;
  }

  /** A bucket's access settings: canned ACL, policy JSON, CORS rules JSON, public access block JSON (null when unset). */
  async bucketAccess(name: string): Promise<BucketAccess | undefined> {
    const r = this.bucketRow(name);
    const text = (v: unknown): string | null => (v as string | null) ?? null;
    return r && {
      acl: text(r.acl), policy: text(r.policy), cors: text(r.cors), publicAccessBlock: text(r.public_access_block), objectOwnership: text(r.object_ownership),
    };
  }

  /** Set one access setting of a bucket (null removes it); false when the bucket is gone. */
  async setBucketAccess(name: string, field: keyof BucketAccess, value: string | null): Promise<boolean> {
    const column = { acl: 'acl', policy: 'policy', cors: 'cors', publicAccessBlock: 'public_access_block', objectOwnership: 'object_ownership' }[field];
    return this.stmt(`UPDATE buckets SET ${column} = ? WHERE name = ?`).run(value, name).changes > 0;
  }

  /** The canned ACL of a key's latest version, or of `versionId` (null: private); undefined when there is none. */
  async objectAcl(bucket: string, key: string, versionId?: string): Promise<string | null | undefined> {
    const r = (versionId === undefined
      ? this.stmt('SELECT acl FROM objects WHERE bucket = ? AND key = ? AND is_latest = 1').get(bucket, key)
      : this.stmt('SELECT acl FROM objects WHERE bucket = ? AND key = ? AND version_id = ?').get(bucket, key, versionId)) as SqlRow | undefined;
    return r && ((r.acl as string | null) ?? null);
  }

  /** Set the canned ACL of one version (by row id); false when it is gone. */
  async setObjectAcl(objectId: number, acl: string | null): Promise<boolean> {
    return this.stmt('UPDATE objects SET acl = ? WHERE id = ? AND is_delete_marker = 0').run(acl, objectId).changes > 0;
  }
}

/** A new version id: 32 letters and digits (about 190 random bits), as opaque as S3's. */
function newVersionId(): string {
  return randomAlnum(32);
}

