import type { BucketRow } from '../meta/types.js';
import { S3Error } from '../s3/errors.js';
import type { EndpointKind, Permission } from '../s3/router.js';
import { actionOf, resourceOf } from './actions.js';
import { aclAllows, type CannedAcl } from './canned-acl.js';
import { isPublicPolicy, type PublicAccessBlock } from './public-access-block.js';
import type { ConditionContext } from './condition-context.js';
import { evaluatePolicy, type BucketPolicy } from './policy.js';

/** Who is asking: a user id with `admin` for the root credentials, or null when unsigned. */
export interface Principal {
  owner: string;
  /** The root user administers every bucket (as its operator can anyway). */
  admin: boolean;
}

export interface AccessQuery {
  caller: Principal | null;
  kind: EndpointKind;
  permission: Permission;
  bucket?: BucketRow;
  key?: string;
  /** The version the request names, if any: it selects the `...Version` IAM actions. */
  versionId?: string;
  bucketAcl?: CannedAcl;
  /** The bucket's Block Public Access settings, when it has some. */
  publicAccessBlock?: PublicAccessBlock;
  policy?: BucketPolicy;
  /** The object's canned ACL, asked only when it can decide (an anonymous or foreign read); undefined when there is no such object. */
  objectAcl?: () => CannedAcl | undefined;
  /** The request's policy condition keys for an action (request-context.ts); without it every key is absent. */
  conditions?: (action: string) => ConditionContext;
}

export type Decision =
  | { allowed: true; via: 'open' | 'owner' | 'policy' | 'acl' }
  | { allowed: false; why: 'anonymous' | 'explicit-deny' | 'not-owner' | 'no-grant' };

/**
 * The one access decision of the gateway, from the endpoint's permission (router.ts
 * permissionOf), the caller, and the bucket's owner, policy and ACLs:
 * 1. `none` (CORS preflight) is open; `authenticated` needs a valid key.
 * 2. `owner` endpoints (bucket configuration, ACLs, policy) are the owner's alone, so an owner
 *    can always repair a policy that locks everyone out.
 * 3. Otherwise an explicit Deny in the bucket policy wins, for the owner too.
 * 4. The owner, then a policy Allow, then a public-read ACL: the object's for reading it, the
 *    bucket's for listing it (as on AWS S3, a public-read bucket does not open its objects).
 */
export function decideAccess(q: AccessQuery): Decision {
  if (q.permission === 'none') return { allowed: true, via: 'open' };
  if (q.permission === 'authenticated' || !q.bucket) {
    return q.caller ? { allowed: true, via: 'open' } : { allowed: false, why: 'anonymous' };
  }
  const owner = q.caller !== null && (q.caller.admin || q.caller.owner === q.bucket.owner);
  if (q.permission === 'owner') return owner ? { allowed: true, via: 'owner' } : { allowed: false, why: q.caller ? 'not-owner' : 'anonymous' };
  const action = actionOf(q.kind, q.versionId !== undefined);
  const verdict = q.policy
    ? evaluatePolicy(q.policy, { principal: q.caller?.owner ?? null, action, resource: resourceOf(q.kind, q.bucket.name, q.key), ...(q.conditions && { context: q.conditions(action) }) })
    : 'none';
  if (verdict === 'deny') return { allowed: false, why: 'explicit-deny' };
  if (owner) return { allowed: true, via: 'owner' };
  const block = q.publicAccessBlock;
  // RestrictPublicBuckets: a public policy lets in the gateway's users, never anonymous callers.
  if (verdict === 'allow' && !(block?.restrictPublicBuckets && q.caller === null && isPublicPolicy(q.policy!))) return { allowed: true, via: 'policy' };
  // IgnorePublicAcls: ACLs grant nothing beyond the owner.
  if (block?.ignorePublicAcls) return { allowed: false, why: q.caller ? 'no-grant' : 'anonymous' };
  const authenticated = q.caller !== null;
  // The bucket's READ lists it; its WRITE puts and deletes objects in it.
  if (BUCKET_READ.has(action) && aclAllows(q.bucketAcl, 'read', authenticated)) return { allowed: true, via: 'acl' };
  if (q.permission === 'write' && BUCKET_WRITE.has(action) && aclAllows(q.bucketAcl, 'write', authenticated)) return { allowed: true, via: 'acl' };
  // An object's READ grant covers its versions too (s3:GetObjectVersion), as on S3. The
  // bucket's ACL does not: a public-read bucket lists its keys, its objects stay private.
  if ((action === 's3:GetObject' || action === 's3:GetObjectVersion') && q.key !== undefined) {
    const acl = q.objectAcl?.();
    if (aclAllows(acl, 'read', authenticated)) return { allowed: true, via: 'acl' };
    // A caller who may list the bucket learns that a key is missing (404) rather than 403, as on S3.
    if (acl === undefined && q.objectAcl && mayList(q)) return { allowed: true, via: 'acl' };
  }
  return { allowed: false, why: q.caller ? 'no-grant' : 'anonymous' };
}

/** Whether the caller may list the bucket: its ACL, or a policy Allow of s3:ListBucket. */
function mayList(q: AccessQuery): boolean {
  if (!q.bucket) return false;
  if (!q.publicAccessBlock?.ignorePublicAcls && aclAllows(q.bucketAcl, 'read', q.caller !== null)) return true;
  return q.policy !== undefined
    && evaluatePolicy(q.policy, {
      principal: q.caller?.owner ?? null, action: 's3:ListBucket', resource: resourceOf('ListObjects', q.bucket.name, undefined),
      ...(q.conditions && { context: q.conditions('s3:ListBucket') }),
    }) === 'allow';
}

/** What a bucket ACL's READ and WRITE grants allow, as S3 maps ACL permissions to actions. */
const BUCKET_READ = new Set(['s3:ListBucket', 's3:ListBucketVersions', 's3:ListBucketMultipartUploads']);
const BUCKET_WRITE = new Set(['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:AbortMultipartUpload']);

/** decideAccess, throwing AccessDenied when the answer is no. */
export function authorize(q: AccessQuery): void {
  const d = decideAccess(q);
  if (!d.allowed) throw new S3Error('AccessDenied');
}
