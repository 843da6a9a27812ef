/**
 * A bucket's Block Public Access settings, as S3 defines them:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
 * - blockPublicAcls: a request that sets a public canned ACL (public-read, public-read-write,
 *   authenticated-read) on the bucket or an object is refused (403).
 * - ignorePublicAcls: public ACLs grant nothing; only the owner and the policy decide.
 * - blockPublicPolicy: a bucket policy that allows Principal "*" is refused (403).
 * - restrictPublicBuckets: while the policy is public, its Allows for "*" reach nobody but the
 *   gateway's own users (anonymous callers are not let in by it).
 */
import { S3Error } from '../s3/errors.js';
import type { CannedAcl } from './canned-acl.js';
import type { BucketPolicy } from './policy.js';

export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

export const NO_BLOCK: PublicAccessBlock = { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };

/** The stored JSON column (null: none set). */
export function storedPublicAccessBlock(text: string | null | undefined): PublicAccessBlock | undefined {
  if (!text) return undefined;
  const v = JSON.parse(text) as Partial<PublicAccessBlock>;
  return {
    blockPublicAcls: v.blockPublicAcls === true, ignorePublicAcls: v.ignorePublicAcls === true,
    blockPublicPolicy: v.blockPublicPolicy === true, restrictPublicBuckets: v.restrictPublicBuckets === true,
  };
}

/** A policy is public when it allows everyone (Principal "*"). */
export function isPublicPolicy(policy: BucketPolicy): boolean {
  return policy.statements.some((s) => s.effect === 'Allow' && s.principals === '*');
}

/**
 * BlockPublicAcls: a public canned ACL may not be set (403), on the bucket or an object in it.
 * `block` is read only for a public ACL, so a private write costs no lookup.
 */
export function checkAclAllowed(acl: CannedAcl | undefined, block: () => PublicAccessBlock | undefined): void {
  if (acl !== undefined && acl !== 'private' && block()?.blockPublicAcls) {
    throw new S3Error('AccessDenied', { message: `Access Denied: the bucket's public access block refuses the ${acl} ACL` });
  }
}

/** BlockPublicPolicy: a public policy may not be set (403); `block` is read only for a public one. */
export function checkPolicyAllowed(policy: BucketPolicy, block: () => PublicAccessBlock | undefined): void {
  if (isPublicPolicy(policy) && block()?.blockPublicPolicy) {
    throw new S3Error('AccessDenied', { message: "Access Denied: the bucket's public access block refuses a public policy" });
  }
}
