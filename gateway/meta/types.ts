/** Rows of the metadata store as the gateway sees them (camelCase, JSON columns parsed). */

export interface BucketRow {
  name: string;
  owner: string;
  region: string;
  createdAt: number;
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
}

/** A lock-enabled bucket's configuration: the default retention applied to new versions, if any. */
export interface BucketLockConfig {
  rule?: { mode: LockMode; days?: number; years?: number };
}
