import type { MetaStore } from '../meta/store.js';
import type { BucketRow } from '../meta/types.js';
import type { EndpointKind, Permission } from '../s3/router.js';
import type { AccessQuery, Principal } from './authorize.js';
import { storedAcl } from './canned-acl.js';
import { storedPolicy } from './policy.js';
import { storedPublicAccessBlock, type PublicAccessBlock } from './public-access-block.js';

/**
 * Everything decideAccess needs about one request, from the metadata: the bucket's ACL and
 * policy now, the object's ACL only if asked. Also for checks a handler makes on a second
 * bucket (a CopyObject source: `accessQuery(meta, 'GetObject', 'read', src, key, caller)`).
 */
/** A bucket's Block Public Access settings, when it has some. */
export function publicAccessBlockOf(meta: MetaStore, bucket: string): PublicAccessBlock | undefined {
  return storedPublicAccessBlock(meta.bucketAccess(bucket)?.publicAccessBlock);
}

export function accessQuery(
  meta: MetaStore, kind: EndpointKind, permission: Permission, bucket: BucketRow | undefined, key: string | undefined, caller: Principal | null,
  versionId?: string,
): AccessQuery {
  const settings = bucket && meta.bucketAccess(bucket.name);
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
  };
}
