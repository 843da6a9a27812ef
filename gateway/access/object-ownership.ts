import { S3Error } from '../s3/errors.js';
import { grantsOf, userGrant, type Grant, type StoredAcl } from './acl-grants.js';

/**
 * S3 Object Ownership, a bucket setting: whether ACLs count, and who owns what others write.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
 * - BucketOwnerEnforced (the default for new buckets): ACLs are disabled; a request that sets
 *   one other than the bucket owner's full control is refused (AccessControlListNotSupported),
 *   ACLs read back as the owner's FULL_CONTROL, and the bucket owner owns every object.
 * - BucketOwnerPreferred: ACLs count; an object written with bucket-owner-full-control belongs
 *   to the bucket owner, any other to its writer.
 * - ObjectWriter: ACLs count; an object belongs to its writer.
 * Here the bucket owner keeps its rights on every object of its bucket whoever owns it (AWS
 * gives it only what the object's ACL grants): the owner of an object written by another user
 * gets that object's FULL_CONTROL and is named as its owner, and nothing is taken away.
 */
export type ObjectOwnership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';
export const OBJECT_OWNERSHIPS: readonly ObjectOwnership[] = ['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'];
export const DEFAULT_OBJECT_OWNERSHIP: ObjectOwnership = 'BucketOwnerEnforced';

export function isObjectOwnership(v: string): v is ObjectOwnership {
  return (OBJECT_OWNERSHIPS as readonly string[]).includes(v);
}

/** The `x-amz-object-ownership` header of CreateBucket: the default when absent, InvalidArgument when unknown. */
export function parseObjectOwnershipHeader(value: string | undefined): ObjectOwnership {
  if (value === undefined || value.trim() === '') return DEFAULT_OBJECT_OWNERSHIP;
  const v = value.trim();
  if (!isObjectOwnership(v)) throw new S3Error('InvalidArgument', { message: 'Invalid x-amz-object-ownership header', extra: { ArgumentName: 'x-amz-object-ownership', ArgumentValue: value } });
  return v;
}

/** A stored setting; NULL (deleted with DeleteBucketOwnershipControls) behaves as ObjectWriter, as on S3. */
export function effectiveOwnership(stored: string | null | undefined): ObjectOwnership {
  return stored != null && isObjectOwnership(stored) ? stored : 'ObjectWriter';
}

export const aclsEnabled = (o: ObjectOwnership): boolean => o !== 'BucketOwnerEnforced';

/** What a request asked for: the raw `x-amz-acl` value (it tells bucket-owner-full-control from private) and the parsed ACL. */
export interface AclRequest {
  canned: string | undefined;
  acl: StoredAcl | undefined;
}

/** Whether every grant of an explicit list is `owner`'s FULL_CONTROL (the one ACL S3 takes with ACLs disabled). */
function ownerFullControlOnly(acl: StoredAcl, owner: string): boolean {
  return typeof acl !== 'string' && acl.grants.every((g) => g.permission === 'FULL_CONTROL' && g.grantee.type === 'CanonicalUser' && g.grantee.id === owner);
}

/** Canned ACLs that, written by the bucket owner itself, mean the owner's full control and nothing else. */
const OWNER_ONLY_CANNED = new Set(['private', 'bucket-owner-read', 'bucket-owner-full-control']);

/**
 * With ACLs disabled, S3 takes only no ACL at all or the bucket owner's full control
 * (bucket-owner-full-control, or grants of FULL_CONTROL to the owner alone, "or an equivalent
 * form"); a bucket's own ACL may also be `private`. An object the bucket owner writes itself
 * (`writer`) may also say `private`: for that writer it is the same ACL, and clients such as
 * rclone send `x-amz-acl: private` on every upload by default. Anything else: 400
 * AccessControlListNotSupported.
 */
export function checkAclUnderOwnership(ownership: ObjectOwnership, req: AclRequest, bucketOwner: string, on: 'bucket' | 'object', writer?: string): void {
  if (aclsEnabled(ownership) || req.acl === undefined) return;
  const canned = req.canned?.trim();
  if (canned === 'bucket-owner-full-control' || (on === 'bucket' && canned === 'private')) return;
  if (canned !== undefined && writer === bucketOwner && OWNER_ONLY_CANNED.has(canned)) return;
  if (canned === undefined && ownerFullControlOnly(req.acl, bucketOwner)) return;
  throw new S3Error('AccessControlListNotSupported');
}

/**
 * The ACL an object is written with, and its owner when that is not the bucket owner. Under
 * ObjectWriter, and under BucketOwnerPreferred without bucket-owner-full-control, an object a
 * user writes into someone else's bucket is that user's: its canned grants are spelled out with
 * the writer's FULL_CONTROL (and the bucket owner's grant of bucket-owner-read/-full-control).
 */
export function objectAclOnWrite(ownership: ObjectOwnership, req: AclRequest, writer: string, bucketOwner: string): StoredAcl | undefined {
  if (!aclsEnabled(ownership)) return undefined;
  const canned = req.canned?.trim();
  const writerOwns = writer !== bucketOwner && !(ownership === 'BucketOwnerPreferred' && canned === 'bucket-owner-full-control');
  if (!writerOwns) return req.acl;
  const grants: Grant[] = [...grantsOf(req.acl ?? 'private', writer)];
  if (canned === 'bucket-owner-full-control') grants.push(userGrant(bucketOwner, 'FULL_CONTROL'));
  if (canned === 'bucket-owner-read') grants.push(userGrant(bucketOwner, 'READ'));
  return { owner: writer, grants };
}

/**
 * ACLs may be disabled only on a bucket whose own ACL grants nobody but its owner, as S3
 * requires (else 400 InvalidBucketAclWithObjectOwnership): access the ACL gave would vanish.
 */
export function checkBucketAclDisableable(acl: StoredAcl, owner: string): void {
  const others = grantsOf(acl).some((g) => !(g.grantee.type === 'CanonicalUser' && g.grantee.id === owner));
  if (others) throw new S3Error('InvalidBucketAclWithObjectOwnership');
}
