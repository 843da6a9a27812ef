import type { MetaStore } from '../meta/store.js';
import type { BucketRow, Tag } from '../meta/types.js';
import type { EndpointKind, Permission } from '../s3/router.js';
import type { ReqCtx } from '../request.js';
import { authorize, decideAccess, type AccessQuery, type Principal } from './authorize.js';
import { aclColumn, storedAcl, type StoredAcl } from './acl-grants.js';
import { headerOf } from '../s3/headers.js';
import { aclsEnabled, checkAclUnderOwnership, effectiveOwnership, objectAclOnWrite, type ObjectOwnership } from './object-ownership.js';
import type { ConditionContext } from './condition-context.js';
import { conditionContext, type RequestFacts } from './request-context.js';
import { storedPolicy } from './policy.js';
import { storedPublicAccessBlock, type PublicAccessBlock } from './public-access-block.js';

/** A bucket's Block Public Access settings, when it has some. */
export async function publicAccessBlockOf(meta: MetaStore, bucket: string): Promise<PublicAccessBlock | undefined> {
  return storedPublicAccessBlock((await meta.bucketAccess(bucket))?.publicAccessBlock);
}

/**
 * Everything decideAccess needs about one request, from the metadata: the bucket's ACL and
 * policy now, the object's ACL and tags only if the decision asks for them. Also for checks a
 * handler makes on a second bucket (a CopyObject source: `accessQuery(meta, 'GetObject', 'read', src, key, caller)`).
 * `facts` (request-context.ts) gives the policy its condition keys; without them a condition
 * sees every key absent. `action`: an action the request needs besides its own (AccessQuery.action).
 */
export async function accessQuery(
  meta: MetaStore, kind: EndpointKind, permission: Permission, bucket: BucketRow | undefined, key: string | undefined, caller: Principal | null,
  versionId?: string, facts?: RequestFacts, action?: string,
): Promise<AccessQuery> {
  const settings = bucket && await meta.bucketAccess(bucket.name);
  // With ACLs disabled (BucketOwnerEnforced) the ACLs kept from before count for nothing.
  const acls = aclsEnabled(effectiveOwnership(settings?.objectOwnership));
  // The object's ACL and tags, once read; `asked` records what a decision wanted before they were.
  let objectAcl: { value: StoredAcl | undefined } | undefined;
  let tags: { value: Tag[] | undefined } | undefined;
  const asked = { acl: false, tags: false };
  const contexts = new Map<string, ConditionContext>();
  const conditions = (a: string): ConditionContext => {
    let ctx = contexts.get(a);
    if (!ctx) {
      ctx = conditionContext(facts!, {
        caller, action: a, ...(versionId !== undefined && { versionId }),
        existingTags: () => {
          if (tags) return tags.value;
          asked.tags = true;
          return undefined;
        },
      });
      contexts.set(a, ctx);
    }
    return ctx;
  };
  const q: AccessQuery = {
    caller, kind, permission,
    ...(bucket && { bucket }),
    ...(key !== undefined && { key }),
    ...(versionId !== undefined && { versionId }),
    ...(action !== undefined && { action }),
    ...(settings && { bucketAcl: acls ? storedAcl(settings.acl) : 'private' }),
    ...(settings?.policy && bucket && { policy: storedPolicy(settings.policy, bucket.name) }),
    ...(settings?.publicAccessBlock && { publicAccessBlock: storedPublicAccessBlock(settings.publicAccessBlock)! }),
    objectAcl: () => {
      if (objectAcl) return objectAcl.value;
      asked.acl = true;
      return undefined;
    },
    ...(facts && { conditions }),
  };
  if (bucket && key !== undefined) {
    // decideAccess is synchronous and needs the object's ACL or tags on few paths (a caller
    // other than the owner, a policy on existing tags): decide once without them and read
    // only what that asked for, until nothing more is asked. Each round reads something new.
    for (;;) {
      asked.acl = asked.tags = false;
      decideAccess(q);
      contexts.clear(); // a condition context keeps the tags it was given
      if (!asked.acl && !asked.tags) break;
      if (asked.tags) tags = { value: await existingTags(meta, bucket.name, key, versionId) };
      if (asked.acl) {
        const v = await meta.objectAcl(bucket.name, key, versionId);
        objectAcl = { value: v === undefined ? undefined : acls ? storedAcl(v) : 'private' };
      }
    }
  }
  return q;
}

/** The tags of the version a request is about (the current one unless named); undefined when there is none or it is a delete marker. */
async function existingTags(meta: MetaStore, bucket: string, key: string, versionId: string | undefined): Promise<Tag[] | undefined> {
  const v = versionId === undefined ? await meta.getLatestVersion(bucket, key) : await meta.getVersion(bucket, key, versionId);
  return v && !v.deleteMarker ? v.inline?.tags ?? meta.objectTags(v.id) : undefined;
}

/**
 * AccessDenied unless the caller may also do each of `actions` on `key` of the request's
 * bucket: the actions a request needs besides its own for what its headers ask
 * (actions.ts objectWriteActions, BYPASS_GOVERNANCE). Decided like the request itself, so
 * the bucket owner may unless its policy denies it, and others only where the policy allows.
 */
export async function authorizeActions(rc: ReqCtx, actions: readonly string[], key: string, versionId?: string): Promise<void> {
  await authorizeActionsFor(rc.pipeline.meta, rc.endpoint.kind, rc.bucket, key, rc.principal, actions, versionId, rc.facts);
}

/** authorizeActions for a caller the request does not sign for itself (a POST form's, with the form's facts). */
export async function authorizeActionsFor(
  meta: MetaStore, kind: EndpointKind, bucket: BucketRow | undefined, key: string, caller: Principal | null, actions: readonly string[],
  versionId?: string, facts?: RequestFacts,
): Promise<void> {
  for (const action of actions) authorize(await accessQuery(meta, kind, 'write', bucket, key, caller, versionId, facts, action));
}

/**
 * Whether the caller may also do `action` on `key`, decided as authorizeActions decides it, for
 * what a read answers only to those who may read it (a version's retention, legal hold, tag
 * count on GetObject and HeadObject).
 */
export async function permitsAction(rc: ReqCtx, action: string, key: string, versionId?: string): Promise<boolean> {
  return decideAccess(await accessQuery(rc.pipeline.meta, rc.endpoint.kind, 'read', rc.bucket, key, rc.principal, versionId, rc.facts, action)).allowed;
}

/** A bucket's Object Ownership setting (NULL, deleted: ObjectWriter). */
export async function objectOwnershipOf(meta: MetaStore, bucket: string): Promise<ObjectOwnership> {
  return effectiveOwnership((await meta.bucketAccess(bucket))?.objectOwnership);
}

/**
 * The ACL column of an object `writer` writes into the request's bucket: refused when the bucket
 * has ACLs disabled and the request sets one (AccessControlListNotSupported), else the ACL the
 * bucket's Object Ownership gives it (object-ownership.ts objectAclOnWrite). `canned` is the raw
 * `x-amz-acl` (or a form's `acl` field), which tells bucket-owner-full-control from private.
 */
export async function objectAclColumn(
  rc: ReqCtx, acl: StoredAcl | undefined = rc.acl, canned = headerOf(rc.facts.headers, 'x-amz-acl'), writer = rc.owner,
): Promise<string | null> {
  const bucket = rc.bucket!;
  const ownership = await objectOwnershipOf(rc.pipeline.meta, bucket.name);
  checkAclUnderOwnership(ownership, { canned, acl }, bucket.owner, 'object', writer);
  return aclColumn(objectAclOnWrite(ownership, { canned, acl }, writer, bucket.owner));
}
