/**
 * What the metadata store throws when a write cannot go ahead; handlers turn these into S3
 * errors (errors.ts toS3Error).
 */
import type { LockReason, WriteConditionFailure } from './types.js';

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

/** A write condition that did not hold when the write came to commit. */
export class MetaPreconditionError extends Error {
  code = 'ERR_META_PRECONDITION';
  constructor(readonly reason: WriteConditionFailure, message: string) {
    super(message);
    this.name = 'MetaPreconditionError';
  }
}

/** A delete of a version that Object Lock protects (S3 answers AccessDenied). */
export class MetaObjectLockedError extends Error {
  code = 'ERR_META_OBJECT_LOCKED';
  constructor(readonly reason: LockReason, message: string) {
    super(message);
    this.name = 'MetaObjectLockedError';
  }
}

/** A write that would take a bucket past its quota (gateway/meta/quota.ts). */
export class MetaQuotaError extends Error {
  code = 'ERR_META_QUOTA';
  constructor(readonly bucket: string, readonly quota: number, readonly used: number, message: string) {
    super(message);
    this.name = 'MetaQuotaError';
  }
}
