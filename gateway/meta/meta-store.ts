import type { AuditStore } from './audit-store.js';
import type { CompletedUploadStore } from './completed-uploads.js';
import type { JournalStore } from './journal.js';
import type { LedgerLogStore } from './ledger-log.js';
import type { NodePins } from './node-pins.js';
import type { LeaseStore } from './leases.js';
import type { NodeStore } from './nodes.js';
import type { RepairStore } from './repair.js';
import type { ReportStore } from './reports.js';
import type { SnapshotStore } from './snapshots.js';
import type { SseCStore, StoredSseC } from './sse-c.js';
import type { BucketQuotaStore } from './quota.js';
import type { EventOrigin, NotificationStore } from './notifications.js';
import type {
  AccessKeyRecord, BatchDeleteOutcome, BlobRow, BucketAccess, BucketPageQuery, BucketLockConfig, BucketRow, DeletedVersion, DeleteOutcome,
  DeleteTarget, DeleteVersionOptions, ListedObject, MissedPiece, NewObject, NodeRow, ObjectLockState, ObjectRow,
  ObjectWriteOptions, PartRef, Tag, UploadBound, UploadPartRow, UploadRow, VersionBound, VersioningState, VersionRow,
} from './types.js';

/**
 * The metadata as the rest of the gateway sees it: every read and write is a method, and a
 * change that spans several rows is one method that commits it whole (or not at all), so an
 * implementation on another database keeps the same guarantees. Every method is asynchronous
 * because one implementation is a database over the network shared by several gateways:
 * SQLite (store.ts, SqliteMetaStore, the embedded default) and PostgreSQL (pg/). Nothing
 * outside gateway/meta/ holds a database handle, and no caller may assume that nothing else
 * wrote between two calls: what must hold together is one method.
 */
export interface MetaStore {
  /**
   * Which database holds the metadata. SQLite (one gateway, the embedded default) also ships
   * its journal to the stores and snapshots itself there (`journal`, `snapshots`); PostgreSQL
   * is shared by several gateways and made durable by its own replication, so it has neither.
   */
  readonly backend: 'sqlite' | 'postgres';
  close(): Promise<void>;

  // ---- concerns kept in their own files, one instance per store
  /** The node registry: states, /status answers, pieces held (nodes.ts). */
  readonly nodes: NodeStore;
  /** Repair jobs, the walk over live blobs, placement moves, orphans (repair.ts). */
  readonly repairs: RepairStore;
  /** Audit roots, results, node scores and small persistent state (audit-store.ts). */
  readonly audit: AuditStore;
  /** SSE-C parameters of versions and uploads (sse-c.ts). */
  readonly sseC: SseCStore;
  /** Answers of completed multipart uploads, for retries (completed-uploads.ts). */
  readonly completedUploads: CompletedUploadStore;
  /** The signed report log (reports.ts; gateway/reports/log.ts signs). */
  readonly reports: ReportStore;
  /** The signed ledger-event log and the ledger entries it produced (ledger-log.ts; gateway/economy/ signs and settles). */
  readonly ledger: LedgerLogStore;
  /** Leases on background work, so several gateways run each job once (leases.ts). */
  readonly leases: LeaseStore;
  /** Metadata snapshots on the shard-stores and the journal entries they free (snapshots.ts). */
  readonly snapshots: SnapshotStore | undefined;
  /** The metadata journal's changes, position and entries (journal.ts). */
  readonly journal: JournalStore | undefined;
  /** Bucket hard quotas and the bytes each bucket holds (quota.ts). */
  readonly quotas: BucketQuotaStore;
  /**
   * Bucket notification rules and the event outbox (notifications.ts). Events are queued by
   * `commitObjectWith` (opts.event), `deleteVersion` and `deleteVersionsBatch` (event) in the
   * commit of the change they report.
   */
  readonly notifications: NotificationStore;
  /** The shard-stores' key pins; `log` hears of a key pinned on first contact (node-pins.ts). */
  nodePins(log?: (line: string) => void): Promise<NodePins>;

  /**
   * From now on commits are not flushed one by one: whoever acknowledges a write, or acts on
   * committed state outside the metadata (deleting pieces), first awaits `durable()`.
   */
  enableGroupCommit(): void;
  /** WAL flushes done by group commit since the gateway started (0 without it). */
  flushCount(): number;
  /**
   * Resolves once every commit made so far is on disk (at once without group commit: each was
   * flushed) and, with a journal attached, shipped to the shard-stores too.
   */
  durable(): Promise<void>;
  /** From now on durable() also waits for the metadata journal (gateway/journal/shipper.ts). */
  attachJournal(flush: () => Promise<void>): void;
  /** `objectOwnership`: the bucket's Object Ownership setting (gateway/access/object-ownership.ts). */
  createBucket(name: string, owner: string, region: string, now?: number, objectOwnership?: string): Promise<void>;
  getBucket(name: string): Promise<BucketRow | undefined>;
  listBuckets(): Promise<BucketRow[]>;
  /** One page of an owner's buckets in name order (ListBuckets), paged in the query. */
  listBucketsPage(q: BucketPageQuery): Promise<BucketRow[]>;
  /** Deletes an empty bucket (aborting its unfinished uploads); false if it still holds objects. */
  deleteBucket(name: string): Promise<boolean>;
  upsertNode(n: {
    id: string;
    url: string;
    zone: string;
    capacity?: number | null;
    freeBytes?: number | null;
  }, now?: number): Promise<void>;
  listNodes(): Promise<NodeRow[]>;
  /** Record a blob before any of its pieces is written, so a crash leaves a trace to clean up. */
  insertWritingBlob(b: Omit<BlobRow, 'state'>): Promise<void>;
  /** A blob whose write failed (or whose delete must be retried): the collector deletes its pieces after `at` plus its grace. */
  discardBlob(id: string, at?: number): Promise<void>;
  getBlob(id: string): Promise<BlobRow | undefined>;
  /** Garbage blobs that became garbage before `before`, oldest first. */
  garbageBlobs(before: number, limit: number): Promise<BlobRow[]>;
  forgetBlob(id: string): Promise<void>;
  /** Blobs left 'writing' by a crashed or killed gateway become garbage. */
  sweepStaleWrites(olderThan: number): Promise<number>;
  /** The key's current version; undefined when it has none or the current one is a delete marker. */
  getObject(bucket: string, key: string): Promise<ObjectRow | undefined>;
  objectParts(objectId: number): Promise<PartRef[]>;
  /**
   * Make a fully written object visible, atomically: its blobs become live, the key's
   * previous version (and its blobs) goes away, missed pieces are queued for repair.
   * This commit is the moment the write is acknowledged.
   */
  commitObject(o: NewObject, missed?: MissedPiece[], now?: number, uploadId?: string): Promise<ObjectRow>;
  /**
   * DeleteObject without a versionId, as the bucket's versioning state says (see
   * `deleteVersion`); true if the key had a current version or a delete marker was added.
   */
  deleteObject(bucket: string, key: string): Promise<boolean>;
  /**
   * DeleteObject as S3 does it. With `versionId`: that version goes for good (its blobs
   * become garbage) unless Object Lock protects it; if it was current, the next newest
   * becomes current. Without: an unversioned bucket loses the key's version, a versioned
   * one gets a delete marker, a suspended one gets a "null" marker in place of its "null"
   * version. Throws MetaObjectLockedError when a lock forbids it.
   */
  deleteVersion(bucket: string, key: string, opts: DeleteVersionOptions): Promise<DeletedVersion>;
  bucketVersioning(bucket: string): Promise<VersioningState>;
  setBucketVersioning(bucket: string, state: 'Enabled' | 'Suspended'): Promise<void>;
  /** The Object Lock configuration of a lock-enabled bucket; null for any other bucket. */
  bucketObjectLock(bucket: string): Promise<BucketLockConfig | null>;
  /** Enable Object Lock on a bucket (with its default rule, if any); versioning goes on with it. */
  setBucketObjectLock(bucket: string, config: BucketLockConfig): Promise<void>;
  /** CreateBucket with x-amz-bucket-object-lock-enabled: the bucket, lock and versioning in one commit. */
  createLockedBucket(name: string, owner: string, region: string, now?: number, objectOwnership?: string): Promise<void>;
  /** The current version of a key, delete markers included. */
  getLatestVersion(bucket: string, key: string): Promise<VersionRow | undefined>;
  getVersion(bucket: string, key: string, versionId: string): Promise<VersionRow | undefined>;
  /**
   * Versions in ListObjectVersions order (key, then newest first), from a bound and, with
   * `below`, only keys before it (a prefix's upper bound): one index range scan per page.
   */
  listVersions(bucket: string, bound: VersionBound, limit: number, below?: string): Promise<VersionRow[]>;
  /** Replace the retention and legal hold of a version. */
  setObjectLock(objectId: number, lock: ObjectLockState): Promise<void>;
  /**
   * Change the lock of one version as one unit of work: `change` is given the version as it is
   * now (the key's latest, delete markers included, without `versionId`; undefined when there
   * is none), decides its new lock or throws, and no other write comes between. It must be a
   * pure function of its argument: a backend may call it again when it retries the transaction.
   */
  changeObjectLock(bucket: string, key: string, versionId: string | undefined,
    change: (row: VersionRow | undefined) => ObjectLockState): Promise<void>;
  /** Replace (or with null remove) the tag set of one version; false when that version is gone. */
  setVersionTags(objectId: number, tags: Tag[] | null): Promise<boolean>;
  /** A bucket's lifecycle rules as stored (gateway/s3/lifecycle.ts), or null when it has none. */
  bucketLifecycle<T>(bucket: string): Promise<T | null>;
  /** Replace (or with null remove) a bucket's lifecycle rules. */
  setBucketLifecycle(bucket: string, rules: unknown): Promise<void>;
  /** Names of the buckets that have lifecycle rules, for the lifecycle worker. */
  bucketsWithLifecycle(): Promise<string[]>;
  /** The lock a CreateMultipartUpload asked for, kept for CompleteMultipartUpload. */
  setUploadLock(uploadId: string, lock: ObjectLockState): Promise<void>;
  uploadLock(uploadId: string): Promise<ObjectLockState | undefined>;
  /**
   * Latest objects in key order after `after` (exclusive) or from `from` (inclusive) and, with
   * `below`, before it (exclusive): one index range scan per page.
   */
  listObjects(bucket: string, bound: { after: string } | { from: string }, limit: number, below?: string): Promise<ListedObject[]>;
  createUpload(u: UploadRow): Promise<void>;
  getUpload(id: string): Promise<UploadRow | undefined>;
  /** Attach a written part; a part uploaded again under the same number replaces the old one. */
  putPart(uploadId: string, part: UploadPartRow, missed?: MissedPiece[]): Promise<void>;
  listParts(uploadId: string, afterPart: number, limit: number): Promise<UploadPartRow[]>;
  allParts(uploadId: string): Promise<UploadPartRow[]>;
  abortUpload(id: string): Promise<boolean>;
  queueRepair(missed: MissedPiece[], now?: number): Promise<void>;
  repairBacklog(): Promise<number>;
  /**
   * `commitObject` with a write condition checked inside the same transaction, so of two
   * racing writes exactly one sees the condition hold, and with the object's tags. Without
   * `tags`, a completed upload passes on the tags of its CreateMultipartUpload.
   * Throws MetaPreconditionError when the condition does not hold at commit time.
   */
  commitObjectWith(o: NewObject, opts: ObjectWriteOptions, missed?: MissedPiece[], now?: number, uploadId?: string): Promise<ObjectRow>;
  /**
   * Record a new upload with the tags its object will get on completion and its SSE-C
   * parameters (null without SSE-C), in one commit.
   */
  createUploadWith(u: UploadRow, tags: Tag[] | undefined, sse?: StoredSseC | null): Promise<void>;
  /** Tags of an object version (empty when it has none). */
  objectTags(objectId: number): Promise<Tag[]>;
  /**
   * Replace (or with null remove) the tag set of a key's latest version. Returns the
   * version changed, or undefined when the key has none.
   */
  setObjectTags(bucket: string, key: string, tags: Tag[] | null): Promise<ObjectRow | undefined>;
  /** A bucket's tag set; null when it has none (NoSuchTagSet). */
  bucketTags(name: string): Promise<Tag[] | null>;
  /** Replace a bucket's tag set; null removes it. False when the bucket is gone. */
  setBucketTags(name: string, tags: Tag[] | null): Promise<boolean>;
  /**
   * Delete several keys in one transaction (one commit, one fsync, for up to 1000 keys).
   * Each target is decided on its own: a failed ETag condition does not stop the others.
   * A versionId that is not the key's current version deletes nothing and succeeds, as
   * deleting a version that does not exist does on S3.
   */
  deleteObjectsBatch(bucket: string, targets: ReadonlyArray<DeleteTarget>): Promise<DeleteOutcome[]>;
  /**
   * DeleteObjects with versions and Object Lock: each target as `deleteVersion` decides it
   * (a locked version is refused on its own), all in one transaction.
   */
  deleteVersionsBatch(bucket: string, targets: ReadonlyArray<DeleteTarget>, opts: {
    bypassGovernance: boolean;
    now?: number;
    /** Who deletes, for the bucket's event notifications. */
    event?: EventOrigin;
  }): Promise<BatchDeleteOutcome[]>;
  /**
   * Unfinished uploads of a bucket in listing order (key, then initiation time, then id),
   * strictly after `after` or, with `fromKey`, starting at that key.
   */
  listUploads(bucket: string, bound: UploadBound, limit: number, below?: string): Promise<UploadRow[]>;
  /** A new access key whose secret is stored only sealed (gateway/access/secret-box.ts). */
  createAccessKey(id: string, sealedSecret: Buffer, owner: string, now?: number): Promise<void>;
  /** One key with its sealed secret (null for a key stored before migration 6, whose `secret` is clear). */
  getAccessKeyRecord(id: string): Promise<AccessKeyRecord | undefined>;
  /** Every key, or one user's, by user then key id. */
  listAccessKeys(owner?: string): Promise<AccessKeyRecord[]>;
  /** False when the key does not exist. */
  setAccessKeyDisabled(id: string, disabled: boolean): Promise<boolean>;
  deleteAccessKey(id: string): Promise<boolean>;
  /** A bucket's access settings: canned ACL, policy JSON, CORS rules JSON, public access block JSON (null when unset). */
  bucketAccess(name: string): Promise<BucketAccess | undefined>;
  /** Set one access setting of a bucket (null removes it); false when the bucket is gone. */
  setBucketAccess(name: string, field: keyof BucketAccess, value: string | null): Promise<boolean>;
  /** The canned ACL of a key's latest version, or of `versionId` (null: private); undefined when there is none. */
  objectAcl(bucket: string, key: string, versionId?: string): Promise<string | null | undefined>;
  /** Set the canned ACL of one version (by row id); false when it is gone. */
  setObjectAcl(objectId: number, acl: string | null): Promise<boolean>;
}
