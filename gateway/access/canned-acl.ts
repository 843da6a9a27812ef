import { S3Error } from '../s3/errors.js';
import { OBJECT_WRITES } from '../s3/router.js';

/**
 * The canned ACLs this gateway keeps: `private` (owner only), `public-read` (anyone, signed
 * or not, may read), `public-read-write` (anyone may also write objects into the bucket) and
 * `authenticated-read` (any caller with a valid key may read). Other grants are not stored.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl
 */
export type CannedAcl = 'private' | 'public-read' | 'public-read-write' | 'authenticated-read';

const KEPT: ReadonlySet<string> = new Set<CannedAcl>(['private', 'public-read', 'public-read-write', 'authenticated-read']);

const KNOWN = new Set(['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control', 'log-delivery-write']);

/** The `x-amz-acl` header: undefined when absent; a canned ACL S3 knows but we do not keep is NotImplemented. */
export function parseCannedAcl(value: string | undefined): CannedAcl | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (KEPT.has(v)) return v as CannedAcl;
  // The bucket owner is always the only one with write access here, so these grant nothing more.
  if (v === 'bucket-owner-read' || v === 'bucket-owner-full-control') return 'private';
  if (KNOWN.has(v)) throw new S3Error('NotImplemented', { message: `The canned ACL ${v} is not supported; use private, public-read, public-read-write or authenticated-read` });
  throw new S3Error('InvalidArgument', { extra: { ArgumentName: 'x-amz-acl', ArgumentValue: value } });
}

/** What an ACL column keeps for a canned ACL: NULL is private. */
export function aclColumn(acl: CannedAcl | undefined): string | null {
  return acl === undefined || acl === 'private' ? null : acl;
}

/** A stored ACL column: NULL (or anything unknown) means private. */
export function storedAcl(v: string | null | undefined): CannedAcl {
  return v != null && KEPT.has(v) ? (v as CannedAcl) : 'private';
}

/**
 * What a canned ACL lets someone other than the owner do: READ (list a bucket, get an object)
 * and, for a bucket, WRITE (put and delete its objects). `authenticated` is whether the
 * caller signed with a valid key (the AuthenticatedUsers group).
 */
export function aclAllows(acl: CannedAcl | undefined, what: 'read' | 'write', authenticated: boolean): boolean {
  switch (acl) {
    case 'public-read': return what === 'read';
    case 'public-read-write': return true;
    case 'authenticated-read': return what === 'read' && authenticated;
    default: return false;
  }
}

/** Writes that take `x-amz-acl` and keep it on what they create (a multipart upload: on completion). */
const takesAcl = (kind: string): boolean => kind === 'CreateBucket' || OBJECT_WRITES.has(kind);

/**
 * The canned ACL a write asks for, checked before the write starts so that a bad value
 * fails without writing. Other requests ignore the header, as S3 does.
 */
export function cannedAclOnWrite(kind: string, header: string | undefined): CannedAcl | undefined {
  return takesAcl(kind) ? parseCannedAcl(header) : undefined;
}
