import type { MetaStore } from '../meta/store.js';
import type { BucketRow, Tag } from '../meta/types.js';
import type { EndpointKind, Permission } from '../s3/router.js';
import type { ReqCtx } from '../request.js';
import { authorize, decideAccess, type AccessQuery, type Principal } from './authorize.js';
import { storedAcl } from './acl-grants.js';
import type { ConditionContext } from './condition-context.js';
import { conditionContext, type RequestFacts } from './request-context.js';
import { storedPolicy } from './policy.js';
import { storedPublicAccessBlock, type PublicAccessBlock } from './public-access-block.js';

/** A bucket's Block Public Access settings, when it has some. */
export function publicAccessBlockOf(meta: MetaStore, bucket: string): PublicAccessBlock | undefined {
  return storedPublicAccessBlock(meta.bucketAccess(bucket)?.publicAccessBlock);
}

/**
 * Everything decideAccess needs about one request, from the metadata: the bucket's ACL and
 * policy now, the object's ACL and tags only if asked. Also for checks a handler makes on a
 * second bucket (a CopyObject source: `accessQuery(meta, 'GetObject', 'read', src, key, caller)`).
 * `facts` (request-context.ts) gives the policy its condition keys; without them a condition
 * sees every key absent.
 */
export function accessQuery(
  meta: MetaStore, kind: EndpointKind, permission: Permission, bucket: BucketRow | undefined, key: string | undefined, caller: Principal | null,
  versionId?: string, facts?: RequestFacts,
): AccessQuery {
  const settings = bucket && meta.bucketAccess(bucket.name);
  const contexts = new Map<string, ConditionContext>();
  const conditions = (action: string): ConditionContext => {
    let ctx = contexts.get(action);
    if (!ctx) {
      ctx = conditionContext(facts!, {
        caller, action, ...(versionId !== undefined && { versionId }),
        existingTags: () => (bucket && key !== undefined ? existingTags(meta, bucket.name, key, versionId) : undefined),
      });
      contexts.set(action, ctx);
    }
    return ctx;
  };
  return {
    caller, kind, permission,
    ...(bucket && { bucket }),
    ...(key !== undefined && { key }),
    ...(versionId !== undefined && { versionId }),
    ...(settings && { bucketAcl: storedAcl(settings.acl) }),
    ...(settings?.policy && bucket && { policy: storedPolicy(settings.policy, bucket.name) }),
    ...(settings?.publicAccessBlock && { publicAccessBlock: storedPublicAccessBlock(settings.publicAccessBlock)! }),
    objectAcl: () => {
      const v = bucket && key !== undefined ? meta.objectAcl(bucket.name, key, versionId) : undefined;
      return v === undefined ? undefined : storedAcl(v);
    },
    ...(facts && { conditions }),
  };
}

/** The tags of the version a request is about (the current one unless named); undefined when there is none or it is a delete marker. */
function existingTags(meta: MetaStore, bucket: string, key: string, versionId: string | undefined): Tag[] | undefined {
  const v = versionId === undefined ? meta.getLatestVersion(bucket, key) : meta.getVersion(bucket, key, versionId);
  return v && !v.deleteMarker ? meta.objectTags(v.id) : undefined;
}

/**
 * AccessDenied unless the caller may also do each of `actions` on `key` of the request's
 * bucket: the actions a request needs besides its own for what its headers ask
 * (actions.ts objectWriteActions, BYPASS_GOVERNANCE). Decided like the request itself, so
 * the bucket owner may unless its policy denies it, and others only where the policy allows.
 */
export function authorizeActions(rc: ReqCtx, actions: readonly string[], key: string, versionId?: string): void {
  authorizeActionsFor(rc.pipeline.meta, rc.endpoint.kind, rc.bucket, key, rc.principal, actions, versionId, rc.facts);
}

/** authorizeActions for a caller the request does not sign for itself (a POST form's, with the form's facts). */
export function authorizeActionsFor(
  meta: MetaStore, kind: EndpointKind, bucket: BucketRow | undefined, key: string, caller: Principal | null, actions: readonly string[],
  versionId?: string, facts?: RequestFacts,
): void {
  for (const action of actions) authorize({ ...accessQuery(meta, kind, 'write', bucket, key, caller, versionId, facts), action });
}

/**
 * Whether the caller may also do `action` on `key`, decided as authorizeActions decides it, for
 * what a read answers only to those who may read it (a version's retention, legal hold, tag
 * count on GetObject and HeadObject).
 */
export function permitsAction(rc: ReqCtx, action: string, key: string, versionId?: string): boolean {
  return decideAccess({ ...accessQuery(rc.pipeline.meta, rc.endpoint.kind, 'read', rc.bucket, key, rc.principal, versionId, rc.facts), action }).allowed;
}
