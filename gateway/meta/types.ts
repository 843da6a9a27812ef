import type { EventOrigin, ObjectCreatedEvent } from './notifications.js';
import type { StoredSseC } from './sse-c.js';
/** Rows of the metadata store as the gateway sees them (camelCase, JSON columns parsed). */

export interface BucketRow {
  name: string;
  owner: string;
  region: string;
  createdAt: number;
}

/** A page of ListBuckets: an owner's buckets named after `after`, starting with `prefix`, in `region`. */
export interface BucketPageQuery {
  owner: string;
  limit: number;
  after?: string;
  prefix?: string;
  region?: string;
}

export interface NodeRow {
  id: string;
  url: string;
  zone: string;
  capacity: number | null;
  freeBytes: number | null;
  state: 'active' | 'suspect' | 'offline' | 'draining' | 'removed';
  score: number;
  addedAt: number;
  lastSeen: number | null;
}

export interface BlobRow {
  id: string;
  size: number;
  segmentSize: number;
  wrappedKey: Buffer;
  /** Node id holding piece i, for i in 0..15. */
  placement: string[];
  state: 'writing' | 'live' | 'garbage';
  createdAt: number;
}

/** Stored response headers that round-trip as sent (Content-Encoding, Cache-Control, ...). */
export type StoredHeaders = Record<string, string>;

export interface PartRef {
  partNumber: number;
  blobId: string | null;
  size: number;
  etag: string;
  checksums: Record<string, string>;
}

export interface ObjectRow {
  id: number;
  bucket: string;
  key: string;
  versionId: string;
  size: number;
  /** Without quotes. */
  etag: string;
  lastModified: number;
  contentType: string | null;
  headers: StoredHeaders;
  userMeta: Record<string, string>;
  checksums: Record<string, string>;
  /** Number of parts for a multipart object, null for a single PUT. */
  partsCount: number | null;
}

export interface NewObject {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  contentType: string | null;
  headers: StoredHeaders;
  userMeta: Record<string, string>;
  checksums: Record<string, string>;
  partsCount: number | null;
  parts: PartRef[];
  /** Retention and legal hold the new version starts with (Object Lock buckets only). */
  lock?: ObjectLockState;
  /** Its canned ACL, committed with it; NULL or absent is private. */
  acl?: string | null;
}

export interface UploadRow {
  id: string;
  bucket: string;
  key: string;
  owner: string;
  createdAt: number;
  contentType: string | null;
  headers: StoredHeaders;
  userMeta: Record<string, string>;
  checksumAlgorithm: string | null;
  checksumType: string | null;
  /** The canned ACL the completed object gets; NULL is private. */
  acl: string | null;
}

export interface UploadPartRow extends PartRef {
  lastModified: number;
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  checksumAlgorithm: string | null;
}

export interface AccessKeyRow {
  accessKeyId: string;
  secret: string;
  owner: string;
  createdAt: number;
  disabled: boolean;
}

/** Pieces that did not reach a store at write time, for the repair worker. */
export interface MissedPiece {
  blobId: string;
  piece: number;
  reason: string;
}

/** A bucket's versioning state: null until PutBucketVersioning first runs (then never again null). */
export type VersioningState = 'Enabled' | 'Suspended' | null;

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** The Object Lock state of one version: retention (mode and until, ms) and legal hold. */
export interface ObjectLockState {
  mode: LockMode | null;
  retainUntil: number | null;
  /** null: never set. */
  legalHold: boolean | null;
}

/** An object version as ListObjectVersions and version-addressed requests see it. */
export interface VersionRow extends ObjectRow {
  isLatest: boolean;
  deleteMarker: boolean;
  lock: ObjectLockState;
  /**
   * What a GET or HEAD answers with besides, when the lookup read it along (the SQLite store
   * reads the whole row): its tags and SSE-C parameters, and for an object of one part that
   * part and its blob. Absent otherwise: ask objectTags, sseC.objectSseC, objectParts and getBlob.
   */
  inline?: { tags: Tag[]; sseC: StoredSseC | null; part?: { ref: PartRef; blob: BlobRow | undefined } };
}

/** A lock-enabled bucket's configuration: the default retention applied to new versions, if any. */
export interface BucketLockConfig {
  rule?: { mode: LockMode; days?: number; years?: number };
}

/** An access key row with its sealed secret. */
export interface AccessKeyRecord extends AccessKeyRow {
  sealedSecret: Buffer | null;
}

/** Access settings of a bucket as stored (JSON text for policy and CORS). */
export interface BucketAccess {
  acl: string | null;
  policy: string | null;
  cors: string | null;
  /** PublicAccessBlockConfiguration as JSON (gateway/access/public-access-block.ts). */
  publicAccessBlock: string | null;
  /** BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter; null when deleted (gateway/access/object-ownership.ts). */
  objectOwnership: string | null;
}

/** An object tag (or bucket tag), as S3 names its parts. */
export interface Tag {
  key: string;
  value: string;
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
  /** What the write is and who made it, for the bucket's event notifications (queued in the same commit). */
  event?: EventOrigin & { name: ObjectCreatedEvent };
  /** The version's SSE-C parameters, recorded in the same commit (never visible without them). */
  sse?: StoredSseC | null;
  /**
   * With the commit's `uploadId`: record the completion (gateway/meta/completed-uploads.ts) in
   * the same commit, so a retried CompleteMultipartUpload gets the same answer.
   */
  recordCompletion?: boolean;
}

export type WriteConditionFailure = 'exists' | 'absent' | 'etag-mismatch';

/** One key of a DeleteObjects: `etag` (unquoted, or `*`) makes the delete conditional. */
export interface DeleteTarget {
  key: string;
  versionId?: string;
  etag?: string;
}

export type DeleteOutcome = 'deleted' | 'absent' | 'no-such-key' | 'precondition-failed';

export interface DeleteVersionOptions {
  versionId?: string;
  bypassGovernance?: boolean;
  now?: number;
  /** Without versionId: act only if this row is still the key's current version (lifecycle). */
  ifCurrentId?: number;
  /** Who deletes, for the bucket's event notifications (queued in the same commit); none without it. */
  event?: EventOrigin;
}

/** What a DeleteObject did: the version removed or the delete marker added (`versionId`). */
export interface DeletedVersion {
  /** False when there was nothing to delete (which succeeds, as on S3). */
  existed: boolean;
  versionId?: string;
  deleteMarker: boolean;
}

export type BatchDeleteOutcome =
  | ({ kind: 'deleted' } & DeletedVersion)
  | { kind: 'no-such-key' } | { kind: 'precondition-failed' } | { kind: 'locked'; reason: LockReason };

/** Where a page of ListObjectVersions starts: at or after a key, or after one version of a key. */
export type VersionBound = { fromKey: string } | { afterKey: string } | { key: string; beforeId: number };

export type LockReason = 'legal-hold' | 'compliance' | 'governance';

/** Where a page of ListMultipartUploads starts: after one upload, or at a key. */
export type UploadBound = { key: string; createdAt: number; id: string } | { fromKey: string };
