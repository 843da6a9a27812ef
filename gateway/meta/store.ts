import type { Statement } from 'better-sqlite3';
import { openMetaDb, withoutFsync, type Db } from './db.js';
import type {
  AccessKeyRow, BlobRow, BucketRow, ListedObject, MissedPiece, NewObject, NodeRow, ObjectRow, PartRef,
  UploadPartRow, UploadRow,
} from './types.js';

/** Thrown where a row the caller relies on is gone (e.g. an upload aborted meanwhile). */
export class MetaNotFoundError extends Error {
  code = 'ERR_META_NOT_FOUND';
  constructor(readonly what: 'bucket' | 'upload' | 'object', message: string) {
    super(message);
    this.name = 'MetaNotFoundError';
  }
}

/** A bucket create that lost to an existing bucket. */
export class MetaConflictError extends Error {
  code = 'ERR_META_CONFLICT';
  constructor(message: string, readonly owner: string) {
    super(message);
    this.name = 'MetaConflictError';
  }
}

type SqlRow = Record<string, unknown>;
const json = (v: unknown): string => JSON.stringify(v ?? {});
const parse = <T>(v: unknown): T => JSON.parse(String(v)) as T;

function toObject(r: SqlRow): ObjectRow {
  return {
    id: Number(r.id), bucket: String(r.bucket), key: String(r.key), versionId: String(r.version_id),
    size: Number(r.size), etag: String(r.etag), lastModified: Number(r.last_modified),
    contentType: (r.content_type as string | null) ?? null, headers: parse(r.headers), userMeta: parse(r.user_meta),
    checksums: parse(r.checksums), partsCount: r.parts_count == null ? null : Number(r.parts_count),
  };
}

function toBlob(r: SqlRow): BlobRow {
  return {
    id: String(r.id), size: Number(r.size), segmentSize: Number(r.segment_size), wrappedKey: r.wrapped_key as Buffer,
    placement: parse(r.placement), state: r.state as BlobRow['state'], createdAt: Number(r.created_at),
  };
}

function toPart(r: SqlRow): UploadPartRow {
  return {
    partNumber: Number(r.part_number), blobId: (r.blob_id as string | null) ?? null, size: Number(r.size),
    etag: String(r.etag), checksums: parse(r.checksums), lastModified: Number(r.last_modified ?? 0),
  };
}

function toUpload(r: SqlRow): UploadRow {
  return {
    id: String(r.id), bucket: String(r.bucket), key: String(r.key), owner: String(r.owner), createdAt: Number(r.created_at),
    contentType: (r.content_type as string | null) ?? null, headers: parse(r.headers), userMeta: parse(r.user_meta),
    checksumAlgorithm: (r.checksum_algorithm as string | null) ?? null, checksumType: (r.checksum_type as string | null) ?? null,
  };
}

/**
 * The smallest string greater than every string that starts with `prefix`, in the byte
 * order SQLite uses for TEXT (UTF-8 byte order equals code point order).
 */
export function prefixUpperBound(prefix: string): string | null {
  const cps = Array.from(prefix);
  while (cps.length) {
    const cp = cps.pop()!.codePointAt(0)!;
    if (cp < 0x10ffff) {
      const next = cp + 1 === 0xd800 ? 0xe000 : cp + 1;
      return cps.join('') + String.fromCodePoint(next);
    }
  }
  return null;
}

/**
 * Metadata behind one interface: the gateway never writes SQL elsewhere, so a deployment
 * can move this to a distributed SQL engine later. Statements are prepared once.
 */
export class MetaStore {
  readonly db: Db;
  private readonly s: Record<string, Statement>;

  constructor(file: string) {
    this.db = openMetaDb(file);
    const p = (sql: string): Statement => this.db.prepare(sql);
    this.s = {
      insertBucket: p('INSERT INTO buckets(name, owner, region, created_at) VALUES (?, ?, ?, ?)'),
      getBucket: p('SELECT * FROM buckets WHERE name = ?'),
      listBuckets: p('SELECT * FROM buckets ORDER BY name'),
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
      insertObject: p(`INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified, content_type, headers, user_meta, checksums, parts_count)
        VALUES (@bucket, @key, @versionId, 1, @size, @etag, @lastModified, @contentType, @headers, @userMeta, @checksums, @partsCount)`),
      insertObjectPart: p('INSERT INTO object_parts(object_id, part_number, blob_id, size, etag, checksums) VALUES (?, ?, ?, ?, ?, ?)'),
      deleteObjectRow: p('DELETE FROM objects WHERE id = ?'),
      garbageObjectBlobs: p(`UPDATE blobs SET state = 'garbage', garbage_at = ? WHERE id IN (SELECT blob_id FROM object_parts WHERE object_id = ?)`),
      listFrom: p(`SELECT key, size, etag, last_modified, checksums FROM objects
        WHERE bucket = ? AND is_latest = 1 AND key > ? ORDER BY key LIMIT ?`),
      listFromIncl: p(`SELECT key, size, etag, last_modified, checksums FROM objects
        WHERE bucket = ? AND is_latest = 1 AND key >= ? ORDER BY key LIMIT ?`),

      insertUpload: p(`INSERT INTO uploads(id, bucket, key, owner, created_at, content_type, headers, user_meta, checksum_algorithm, checksum_type)
        VALUES (@id, @bucket, @key, @owner, @createdAt, @contentType, @headers, @userMeta, @checksumAlgorithm, @checksumType)`),
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

      getAccessKey: p('SELECT * FROM access_keys WHERE access_key_id = ?'),
      upsertAccessKey: p(`INSERT INTO access_keys(access_key_id, secret, owner, created_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(access_key_id) DO UPDATE SET secret = excluded.secret, disabled = 0`),
    };
  }

  close(): void {
    this.db.close();
  }

  /**
   * A bookkeeping write without its own fsync (see withoutFsync): the 'writing' marker of a
   * blob (lost only with power, leaving shard files for a scrub to find), repair hints, node status.
   */
  relaxed<T>(fn: () => T): T {
    return withoutFsync(this.db, fn);
  }

  // ---- buckets

  createBucket(name: string, owner: string, region: string, now = Date.now()): void {
    this.db.transaction(() => {
      const existing = this.getBucket(name);
      if (existing) throw new MetaConflictError(`bucket ${name} exists`, existing.owner);
      this.s.insertBucket!.run(name, owner, region, now);
    }).immediate();
  }

  getBucket(name: string): BucketRow | undefined {
    const r = this.s.getBucket!.get(name) as SqlRow | undefined;
    return r && { name: String(r.name), owner: String(r.owner), region: String(r.region), createdAt: Number(r.created_at) };
  }

  listBuckets(): BucketRow[] {
    return (this.s.listBuckets!.all() as SqlRow[]).map((r) => ({
      name: String(r.name), owner: String(r.owner), region: String(r.region), createdAt: Number(r.created_at),
    }));
  }

  /** Deletes an empty bucket (aborting its unfinished uploads); false if it still holds objects. */
  deleteBucket(name: string): boolean {
    return this.db.transaction(() => {
      if (this.s.bucketHasObjects!.get(name)) return false;
      for (const u of this.s.bucketUploads!.all(name) as SqlRow[]) this.abortUploadTx(String(u.id));
      this.s.deleteBucket!.run(name);
      return true;
    }).immediate();
  }

  // ---- nodes

  upsertNode(n: { id: string; url: string; zone: string; capacity?: number | null; freeBytes?: number | null }, now = Date.now()): void {
    this.relaxed(() => this.s.upsertNode!.run({ id: n.id, url: n.url, zone: n.zone, capacity: n.capacity ?? null, freeBytes: n.freeBytes ?? null, now }));
  }

  listNodes(): NodeRow[] {
    return (this.s.listNodes!.all() as SqlRow[]).map((r) => ({
      id: String(r.id), url: String(r.url), zone: String(r.zone), capacity: r.capacity == null ? null : Number(r.capacity),
      freeBytes: r.free_bytes == null ? null : Number(r.free_bytes), state: r.state as NodeRow['state'], score: Number(r.score),
      addedAt: Number(r.added_at), lastSeen: r.last_seen == null ? null : Number(r.last_seen),
    }));
  }

  // ---- blobs

  /** Record a blob before any of its pieces is written, so a crash leaves a trace to clean up. */
  insertWritingBlob(b: Omit<BlobRow, 'state'>): void {
    this.relaxed(() => this.s.insertBlob!.run({ ...b, placement: JSON.stringify(b.placement) }));
  }

  /** A blob whose write failed: its pieces, if any, are deleted by the collector. */
  discardBlob(id: string): void {
    this.relaxed(() => this.s.setBlobGarbage!.run(Date.now(), id));
  }

  getBlob(id: string): BlobRow | undefined {
    const r = this.s.getBlob!.get(id) as SqlRow | undefined;
    return r && toBlob(r);
  }

  /** Garbage blobs that became garbage before `before`, oldest first. */
  garbageBlobs(before: number, limit: number): BlobRow[] {
    return (this.s.garbageBlobs!.all(before, limit) as SqlRow[]).map(toBlob);
  }

  forgetBlob(id: string): void {
    this.relaxed(() => this.s.deleteBlob!.run(id));
  }

  /** Blobs left 'writing' by a crashed or killed gateway become garbage. */
  sweepStaleWrites(olderThan: number): number {
    return this.s.staleWriting!.run(Date.now(), olderThan).changes;
  }

  // ---- objects

  getObject(bucket: string, key: string): ObjectRow | undefined {
    const r = this.s.getLatest!.get(bucket, key) as SqlRow | undefined;
    return r && toObject(r);
  }

  objectParts(objectId: number): PartRef[] {
    return (this.s.objectParts!.all(objectId) as SqlRow[]).map(toPart);
  }

  /**
   * Make a fully written object visible, atomically: its blobs become live, the key's
   * previous version (and its blobs) goes away, missed pieces are queued for repair.
   * This commit is the moment the write is acknowledged.
   */
  commitObject(o: NewObject, missed: MissedPiece[] = [], now = Date.now(), uploadId?: string): ObjectRow {
    return this.db.transaction(() => {
      if (!this.getBucket(o.bucket)) throw new MetaNotFoundError('bucket', `bucket ${o.bucket} is gone`);
      if (uploadId !== undefined) {
        if (!this.s.getUpload!.get(uploadId)) throw new MetaNotFoundError('upload', `upload ${uploadId} is gone`);
        // Parts not named in the completed object are garbage; the named ones move to the object.
        const used = new Set(o.parts.map((p) => p.blobId));
        for (const p of this.s.allParts!.all(uploadId) as SqlRow[]) {
          if (p.blob_id && !used.has(String(p.blob_id))) this.s.setBlobGarbage!.run(now, p.blob_id);
        }
        this.s.deleteUpload!.run(uploadId);
      }
      this.removeLatest(o.bucket, o.key);
      const info = this.s.insertObject!.run({
        bucket: o.bucket, key: o.key, versionId: 'null', size: o.size, etag: o.etag, lastModified: now,
        contentType: o.contentType, headers: json(o.headers), userMeta: json(o.userMeta), checksums: json(o.checksums),
        partsCount: o.partsCount,
      });
      const id = Number(info.lastInsertRowid);
      for (const p of o.parts) {
        this.s.insertObjectPart!.run(id, p.partNumber, p.blobId, p.size, p.etag, json(p.checksums));
        if (p.blobId) this.s.setBlobLive!.run(p.size, p.blobId);
      }
      for (const m of missed) this.s.queueRepair!.run(m.blobId, m.piece, m.reason, now);
      return toObject(this.s.getLatest!.get(o.bucket, o.key) as SqlRow);
    }).immediate();
  }

  /** Delete the latest version of a key; true if there was one. */
  deleteObject(bucket: string, key: string): boolean {
    return this.db.transaction(() => this.removeLatest(bucket, key)).immediate();
  }

  private removeLatest(bucket: string, key: string): boolean {
    const old = this.s.getLatest!.get(bucket, key) as SqlRow | undefined;
    if (!old) return false;
    this.s.garbageObjectBlobs!.run(Date.now(), old.id);
    this.s.deleteObjectRow!.run(old.id);
    return true;
  }

  /** Latest objects in key order after `after` (exclusive) or from `from` (inclusive). */
  listObjects(bucket: string, bound: { after: string } | { from: string }, limit: number): ListedObject[] {
    const rows = 'after' in bound
      ? this.s.listFrom!.all(bucket, bound.after, limit) as SqlRow[]
      : this.s.listFromIncl!.all(bucket, bound.from, limit) as SqlRow[];
    return rows.map((r) => {
      const algs = Object.keys(parse<Record<string, string>>(r.checksums));
      return { key: String(r.key), size: Number(r.size), etag: String(r.etag), lastModified: Number(r.last_modified), checksumAlgorithm: algs[0] ?? null };
    });
  }

  // ---- multipart uploads

  createUpload(u: UploadRow): void {
    this.s.insertUpload!.run({ ...u, headers: json(u.headers), userMeta: json(u.userMeta) });
  }

  getUpload(id: string): UploadRow | undefined {
    const r = this.s.getUpload!.get(id) as SqlRow | undefined;
    return r && toUpload(r);
  }

  /** Attach a written part; a part uploaded again under the same number replaces the old one. */
  putPart(uploadId: string, part: UploadPartRow, missed: MissedPiece[] = []): void {
    this.db.transaction(() => {
      if (!this.s.getUpload!.get(uploadId)) throw new MetaNotFoundError('upload', `upload ${uploadId} is gone`);
      const old = this.s.getPart!.get(uploadId, part.partNumber) as SqlRow | undefined;
      if (old?.blob_id) this.s.setBlobGarbage!.run(Date.now(), old.blob_id);
      this.s.upsertPart!.run(uploadId, part.partNumber, part.blobId, part.size, part.etag, json(part.checksums), part.lastModified);
      if (part.blobId) this.s.setBlobLive!.run(part.size, part.blobId);
      for (const m of missed) this.s.queueRepair!.run(m.blobId, m.piece, m.reason, part.lastModified);
    }).immediate();
  }

  listParts(uploadId: string, afterPart: number, limit: number): UploadPartRow[] {
    return (this.s.listParts!.all(uploadId, afterPart, limit) as SqlRow[]).map(toPart);
  }

  allParts(uploadId: string): UploadPartRow[] {
    return (this.s.allParts!.all(uploadId) as SqlRow[]).map(toPart);
  }

  abortUpload(id: string): boolean {
    return this.db.transaction(() => this.abortUploadTx(id)).immediate();
  }

  private abortUploadTx(id: string): boolean {
    if (!this.s.getUpload!.get(id)) return false;
    this.s.garbageUploadBlobs!.run(Date.now(), id);
    this.s.deleteUpload!.run(id);
    return true;
  }

  // ---- repair

  queueRepair(missed: MissedPiece[], now = Date.now()): void {
    this.relaxed(() => this.db.transaction(() => {
      for (const m of missed) this.s.queueRepair!.run(m.blobId, m.piece, m.reason, now);
    })());
  }

  repairBacklog(): number {
    return Number((this.s.repairBacklog!.get() as SqlRow).n);
  }

  // ---- access keys

  getAccessKey(id: string): AccessKeyRow | undefined {
    const r = this.s.getAccessKey!.get(id) as SqlRow | undefined;
    return r && {
      accessKeyId: String(r.access_key_id), secret: String(r.secret), owner: String(r.owner),
      createdAt: Number(r.created_at), disabled: Boolean(r.disabled),
    };
  }

  putAccessKey(id: string, secret: string, owner: string, now = Date.now()): void {
    this.s.upsertAccessKey!.run(id, secret, owner, now);
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
  commitObjectWith(o: NewObject, opts: ObjectWriteOptions, missed: MissedPiece[] = [], now = Date.now(), uploadId?: string): ObjectRow {
    return this.db.transaction(() => {
      if (opts.condition) {
        const failure = writeConditionFailure(this.getObject(o.bucket, o.key), opts.condition);
        if (failure) throw new MetaPreconditionError(failure, `${o.bucket}/${o.key}: write condition failed (${failure})`);
      }
      let tags = opts.tags;
      if (tags === undefined && uploadId !== undefined) {
        const r = this.stmt('SELECT tags FROM uploads WHERE id = ?').get(uploadId) as SqlRow | undefined;
        tags = parseTags(r?.tags);
      }
      // Nested in this transaction, commitObject's own transaction becomes a savepoint.
      const row = this.commitObject(o, missed, now, uploadId);
      if (tags?.length) this.stmt('UPDATE objects SET tags = ? WHERE id = ?').run(JSON.stringify(tags), row.id);
      return row;
    }).immediate();
  }

  /** Record a new upload with the tags its object will get on completion. */
  createUploadWith(u: UploadRow, tags: Tag[] | undefined): void {
    this.db.transaction(() => {
      this.createUpload(u);
      if (tags?.length) this.stmt('UPDATE uploads SET tags = ? WHERE id = ?').run(JSON.stringify(tags), u.id);
    })();
  }

  /** Tags of an object version (empty when it has none). */
  objectTags(objectId: number): Tag[] {
    const r = this.stmt('SELECT tags FROM objects WHERE id = ?').get(objectId) as SqlRow | undefined;
    return parseTags(r?.tags) ?? [];
  }

  /**
   * Replace (or with null remove) the tag set of a key's latest version. Returns the
   * version changed, or undefined when the key has none.
   */
  setObjectTags(bucket: string, key: string, tags: Tag[] | null): ObjectRow | undefined {
    return this.db.transaction(() => {
      const obj = this.getObject(bucket, key);
      if (!obj) return undefined;
      this.stmt('UPDATE objects SET tags = ? WHERE id = ?').run(tags?.length ? JSON.stringify(tags) : null, obj.id);
      return obj;
    }).immediate();
  }

  /** A bucket's tag set; null when it has none (NoSuchTagSet). */
  bucketTags(name: string): Tag[] | null {
    const r = this.stmt('SELECT tags FROM buckets WHERE name = ?').get(name) as SqlRow | undefined;
    return parseTags(r?.tags) ?? null;
  }

  /** Replace a bucket's tag set; null removes it. False when the bucket is gone. */
  setBucketTags(name: string, tags: Tag[] | null): boolean {
    return this.stmt('UPDATE buckets SET tags = ? WHERE name = ?').run(tags === null ? null : JSON.stringify(tags), name).changes > 0;
  }

  /**
   * Delete several keys in one transaction (one commit, one fsync, for up to 1000 keys).
   * Each target is decided on its own: a failed ETag condition does not stop the others.
   * A versionId that is not the key's current version deletes nothing and succeeds, as
   * deleting a version that does not exist does on S3.
   */
  deleteObjectsBatch(bucket: string, targets: ReadonlyArray<DeleteTarget>): DeleteOutcome[] {
    return this.db.transaction(() => targets.map((t): DeleteOutcome => {
      const current = this.getObject(bucket, t.key);
      if (t.etag !== undefined) {
        if (!current) return 'no-such-key';
        if (t.etag !== '*' && t.etag !== current.etag) return 'precondition-failed';
      }
      if (t.versionId !== undefined && current && current.versionId !== t.versionId) return 'deleted';
      return this.removeLatest(bucket, t.key) ? 'deleted' : 'absent';
    })).immediate();
  }

  /**
   * Unfinished uploads of a bucket in listing order (key, then initiation time, then id),
   * strictly after `after` or, with `fromKey`, starting at that key.
   */
  listUploads(bucket: string, bound: UploadBound, limit: number): UploadRow[] {
    const rows = 'fromKey' in bound
      ? this.stmt(`SELECT * FROM uploads WHERE bucket = ? AND key >= ? ORDER BY key, created_at, id LIMIT ?`).all(bucket, bound.fromKey, limit)
      : this.stmt(`SELECT * FROM uploads WHERE bucket = ? AND (key > ? OR (key = ? AND (created_at > ? OR (created_at = ? AND id > ?))))
          ORDER BY key, created_at, id LIMIT ?`).all(bucket, bound.key, bound.key, bound.createdAt, bound.createdAt, bound.id, limit);
    return (rows as SqlRow[]).map(toUpload);
  }
}

/** An object tag (or bucket tag), as S3 names its parts. */
export interface Tag {
  key: string;
  value: string;
}

function parseTags(v: unknown): Tag[] | undefined {
  return v == null ? undefined : parse<Tag[]>(v);
}

/**
 * What must hold about a key's current version for a write to commit: `If-None-Match: *`
 * (no current version) and/or `If-Match` (the current version has this ETag, unquoted).
 */
export interface WriteCondition {
  ifNoneMatch?: true;
  ifMatch?: string;
}

export interface ObjectWriteOptions {
  condition?: WriteCondition;
  tags?: Tag[];
}

export type WriteConditionFailure = 'exists' | 'absent' | 'etag-mismatch';

/** Why `condition` does not hold for the key's current version, or undefined when it does. */
export function writeConditionFailure(current: { etag: string } | undefined, condition: WriteCondition): WriteConditionFailure | undefined {
  if (condition.ifNoneMatch && current) return 'exists';
  if (condition.ifMatch !== undefined) {
    if (!current) return 'absent';
    if (condition.ifMatch !== '*' && condition.ifMatch !== current.etag) return 'etag-mismatch';
  }
  return undefined;
}

/** A write condition that did not hold when the write came to commit. */
export class MetaPreconditionError extends Error {
  code = 'ERR_META_PRECONDITION';
  constructor(readonly reason: WriteConditionFailure, message: string) {
    super(message);
    this.name = 'MetaPreconditionError';
  }
}

/** One key of a DeleteObjects: `etag` (unquoted, or `*`) makes the delete conditional. */
export interface DeleteTarget {
  key: string;
  versionId?: string;
  etag?: string;
}

export type DeleteOutcome = 'deleted' | 'absent' | 'no-such-key' | 'precondition-failed';

/** Where a page of ListMultipartUploads starts: after one upload, or at a key. */
export type UploadBound = { key: string; createdAt: number; id: string } | { fromKey: string };
