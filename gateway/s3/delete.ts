import type Koa from 'koa';
import type { DeletedVersion } from '../meta/types.js';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';
import { authorizedBypass, lockedError } from './object-lock.js';
import { versionIdOf } from './versioning.js';
import { eventOrigin } from './notification.js';

/**
 * DeleteObject — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
 * Deleting a key or version that does not exist succeeds, as on AWS. On a versioned bucket
 * a delete without versionId adds a delete marker; with one, it removes that version for
 * good unless Object Lock protects it (403 AccessDenied). Bypassing GOVERNANCE retention needs
 * s3:BypassGovernanceRetention besides s3:DeleteObjectVersion.
 */
export async function handleDeleteObject(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const versionId = versionIdOf(rc.endpoint);
  const key = keyOf(rc);
  const bypass = await authorizedBypass(rc, koa.req.headersDistinct, key, versionId);
  let done: DeletedVersion;
  try {
    done = await rc.pipeline.meta.deleteVersion(bucketOf(rc).name, key, {
      ...(versionId !== undefined && { versionId }), bypassGovernance: bypass, event: eventOrigin(rc),
    });
  } catch (err) {
    throw lockedError(err);
  }
  if (done.deleteMarker) koa.set('x-amz-delete-marker', 'true');
  if (done.versionId !== undefined) koa.set('x-amz-version-id', done.versionId);
  koa.status = 204;
}
