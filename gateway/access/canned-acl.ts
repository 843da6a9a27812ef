import { S3Error } from '../s3/errors.js';
import { OBJECT_WRITES } from '../s3/router.js';
import type { StoredAcl } from './acl-grants.js';
import { aclFromHeaders, type IsUser, type ValueOf } from './grant-headers.js';

// The column helpers live with the grants; re-exported for the write paths that import them here.
export { aclColumn, storedAcl } from './acl-grants.js';

/**
 * The canned ACLs this gateway keeps: `private` (owner only), `public-read` (anyone, signed
 * or not, may read), `public-read-write` (anyone may also write objects into the bucket),
 * `authenticated-read` (any caller with a valid key may read) and `log-delivery-write`.
 * Their grants are listed in acl-grants.ts.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl
 */
export type CannedAcl = 'private' | 'public-read' | 'public-read-write' | 'authenticated-read' | 'log-delivery-write';

const KEPT: ReadonlySet<string> = new Set<CannedAcl>(['private', 'public-read', 'public-read-write', 'authenticated-read', 'log-delivery-write']);

/** The `x-amz-acl` header: undefined when absent; a canned ACL S3 knows but we do not keep is NotImplemented. */
export function parseCannedAcl(value: string | undefined): CannedAcl | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (KEPT.has(v)) return v as CannedAcl;
  // The bucket owner owns every object here, so these grant nothing more.
  if (v === 'bucket-owner-read' || v === 'bucket-owner-full-control') return 'private';
  if (v === 'aws-exec-read') throw new S3Error('NotImplemented', { message: 'The canned ACL aws-exec-read is not supported' });
  throw new S3Error('InvalidArgument', { extra: { ArgumentName: 'x-amz-acl', ArgumentValue: value } });
}

/** Writes that take `x-amz-acl` or `x-amz-grant-*` and keep the ACL on what they create (a multipart upload: on completion). */
const takesAcl = (kind: string): boolean => kind === 'CreateBucket' || OBJECT_WRITES.has(kind);

/**
 * The ACL a write asks for in its headers, checked before the write starts so that a bad value
 * fails without writing. Other requests ignore the headers, as S3 does (PutBucketAcl and
 * PutObjectAcl read theirs with their body, gateway/s3/acl.ts).
 */
export function aclOnWrite(kind: string, get: ValueOf, isUser: IsUser): StoredAcl | undefined {
  return takesAcl(kind) ? aclFromHeaders(get, isUser) : undefined;
}
