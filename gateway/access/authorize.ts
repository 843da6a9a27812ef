import type { BucketRow } from '../meta/types.js';
import { S3Error } from '../s3/errors.js';
import type { EndpointKind, Permission } from '../s3/router.js';
import { actionOf, resourceOf } from './actions.js';
import { aclGrants, type AclPermission, type StoredAcl } from './acl-grants.js';
import { isPublicPolicy, type PublicAccessBlock } from './public-access-block.js';
import { NO_CONDITION_KEYS, type ConditionContext } from './condition-context.js';
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
  /**
   * An action the request needs besides its own (actions.ts objectWriteActions): what a header
   * asks for, such as s3:BypassGovernanceRetention or s3:PutObjectRetention. Decided like any
   * action, so a bucket policy grants or denies it; the owner holds it unless a Deny says otherwise.
   */
  action?: string;
  bucketAcl?: StoredAcl;
  /** The bucket's Block Public Access settings, when it has some. */
  publicAccessBlock?: PublicAccessBlock;
  policy?: BucketPolicy;
  /** The object's ACL, asked only when it can decide (a caller other than the owner); undefined when there is no such object. */
  objectAcl?: () => StoredAcl | undefined;
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
 * 2. `owner` endpoints (bucket configuration, policy) are the owner's alone. The owner always
 *    reaches the bucket's policy and ACL (OWNER_REPAIRS), so a policy or ACL that locks everyone
 *    out can be repaired.
 * 3. Otherwise an explicit Deny in the bucket policy wins, for the owner too, on configuration
 *    requests as well.
 * 4. The owner, then a policy Allow, then an ACL grant of the permission the action needs
 *    (ACL_ACTIONS): the object's for reading it or its ACL, the bucket's for listing it, writing
 *    into it and its ACL (as on AWS S3, a bucket's READ does not open its objects).
 */
export function decideAccess(q: AccessQuery): Decision {
  if (q.permission === 'none') return { allowed: true, via: 'open' };
  if (q.permission === 'authenticated' || !q.bucket) {
    return q.caller ? { allowed: true, via: 'open' } : { allowed: false, why: 'anonymous' };
  }
  const owner = q.caller !== null && (q.caller.admin || q.caller.owner === q.bucket.owner);
  if (q.permission === 'owner' && !owner) return { allowed: false, why: q.caller ? 'not-owner' : 'anonymous' };
  if (owner && q.action === undefined && OWNER_REPAIRS.has(q.kind)) return { allowed: true, via: 'owner' };
  const action = q.action ?? actionOf(q.kind, q.versionId !== undefined);
  const verdict = q.policy
    ? evaluatePolicy(q.policy, { principal: q.caller?.owner ?? null, action, resource: resourceOf(q.kind, q.bucket.name, q.key), ...(q.conditions && { context: q.conditions(action) }) })
    : 'none';
  // A Deny binds the owner's configuration requests too (a policy that denies
  // s3:PutBucketVersioning guards versioning against stolen owner keys), as on S3.
  if (verdict === 'deny') return { allowed: false, why: 'explicit-deny' };
  if (q.permission === 'owner') return { allowed: true, via: 'owner' };
  if (owner) return { allowed: true, via: 'owner' };
  const block = q.publicAccessBlock;
  // RestrictPublicBuckets: a public policy lets in the gateway's users, never anonymous callers.
  if (verdict === 'allow' && !(block?.restrictPublicBuckets && q.caller === null && isPublicPolicy(q.policy!))) return { allowed: true, via: 'policy' };
  const need = ACL_ACTIONS[action];
  if (need) {
    const acl = need.on === 'bucket' ? q.bucketAcl : q.key !== undefined ? q.objectAcl?.() : undefined;
    // IgnorePublicAcls: grants to AllUsers and AuthenticatedUsers count for nothing; grants to users still do.
    if (aclGrants(acl, q.caller?.owner ?? null, need.permission, block?.ignorePublicAcls)) return { allowed: true, via: 'acl' };
    // A caller who may list the bucket learns that a key is missing (404) rather than 403, as on S3.
    if (need.permission === 'READ' && need.on === 'object' && acl === undefined && q.objectAcl && q.key !== undefined && mayList(q)) {
      return { allowed: true, via: 'acl' };
    }
  }
  return { allowed: false, why: q.caller ? 'no-grant' : 'anonymous' };
}

/**
 * Whether the caller may list the place of the missing key `q.key`: the bucket's ACL, or a policy
 * Allow of s3:ListBucket for a listing with the key as its prefix (what S3 asks, so that a grant
 * limited by `s3:prefix` to `home/alice/*` reveals missing keys under it and no others).
 */
function mayList(q: AccessQuery): boolean {
  if (!q.bucket || q.key === undefined) return false;
  if (aclGrants(q.bucketAcl, q.caller?.owner ?? null, 'READ', q.publicAccessBlock?.ignorePublicAcls)) return true;
  return q.policy !== undefined
    && evaluatePolicy(q.policy, {
      principal: q.caller?.owner ?? null, action: 's3:ListBucket', resource: resourceOf('ListObjects', q.bucket.name, undefined),
      context: listingOf(q.key, q.conditions?.('s3:ListBucket') ?? NO_CONDITION_KEYS),
    }) === 'allow';
}

/** The keys of a listing of `prefix` alone: the request's other keys stay, its list parameters do not. */
function listingOf(prefix: string, request: ConditionContext): ConditionContext {
  return {
    values(key) {
      const k = key.toLowerCase();
      if (k === 's3:prefix') return [prefix];
      if (k === 's3:delimiter' || k === 's3:max-keys') return undefined;
      return request.values(key);
    },
  };
}

/**
 * What the owner reaches whatever the policy says, so that a policy or ACL that locks everyone
 * out can always be read and repaired (S3 exempts the policy actions likewise).
 */
const OWNER_REPAIRS: ReadonlySet<EndpointKind> = new Set<EndpointKind>([
  'GetBucketAcl', 'PutBucketAcl', 'GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy',
]);

/**
 * The ACL permission each action needs, and on what, as S3 maps ACL permissions to actions
 * (FULL_CONTROL gives all of them). Actions not listed here are never granted by an ACL.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#permissions
 */
const ACL_ACTIONS: Readonly<Record<string, { on: 'bucket' | 'object'; permission: AclPermission }>> = {
  's3:ListBucket': { on: 'bucket', permission: 'READ' },
  's3:ListBucketVersions': { on: 'bucket', permission: 'READ' },
  's3:ListBucketMultipartUploads': { on: 'bucket', permission: 'READ' },
  's3:PutObject': { on: 'bucket', permission: 'WRITE' },
  's3:DeleteObject': { on: 'bucket', permission: 'WRITE' },
  's3:DeleteObjectVersion': { on: 'bucket', permission: 'WRITE' },
  's3:AbortMultipartUpload': { on: 'bucket', permission: 'WRITE' },
  's3:GetBucketAcl': { on: 'bucket', permission: 'READ_ACP' },
  's3:PutBucketAcl': { on: 'bucket', permission: 'WRITE_ACP' },
  // An object's READ covers its versions too (s3:GetObjectVersion), as on S3.
  's3:GetObject': { on: 'object', permission: 'READ' },
  's3:GetObjectVersion': { on: 'object', permission: 'READ' },
  's3:GetObjectAcl': { on: 'object', permission: 'READ_ACP' },
  's3:GetObjectVersionAcl': { on: 'object', permission: 'READ_ACP' },
  's3:PutObjectAcl': { on: 'object', permission: 'WRITE_ACP' },
  's3:PutObjectVersionAcl': { on: 'object', permission: 'WRITE_ACP' },
};

/** decideAccess, throwing AccessDenied when the answer is no. */
export function authorize(q: AccessQuery): void {
  const d = decideAccess(q);
  if (!d.allowed) throw new S3Error('AccessDenied');
}
