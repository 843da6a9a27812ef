import type Koa from 'koa';
import type { BatchDeleteOutcome, DeleteTarget } from '../meta/types.js';
import { authorize } from '../access/authorize.js';
import { accessQuery, authorizeActions } from '../access/query.js';
import { BYPASS_GOVERNANCE } from '../access/actions.js';
import { bucketOf, type ReqCtx } from '../request.js';
import { readCheckedBody } from './body.js';
import { sendXml } from './bucket.js';
import { buildDeleteResult, parseDelete, type DeletedEntry, type DeleteErrorEntry } from './documents.js';
import { S3Error } from './errors.js';
import { unquoteEtag } from './headers.js';
import { checkObjectKey } from './names.js';
import { bypassGovernance } from './object-lock.js';
import { eventOrigin } from './notification.js';

/**
 * A Delete body holds at most 1000 keys of up to 1024 bytes each, and each may grow six
 * times when its characters are written as XML references.
 */
const MAX_DELETE_BODY = 8 * 1024 * 1024;

/**
 * DeleteObjects — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 * Every key is answered on its own, as Deleted or as an Error; Quiet leaves the
 * successes out. All the deletes commit in one metadata transaction.
 */
export async function handleDeleteObjects(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const request = parseDelete(await readCheckedBody(koa, rc, { limit: MAX_DELETE_BODY, requireDigest: true }));
  const bypass = bypassGovernance(koa.req.headersDistinct);
  const errors: DeleteErrorEntry[] = [];
  const targets: DeleteTarget[] = [];
  for (const o of request.objects) {
    try {
      checkObjectKey(o.key);
      // Each key is decided as its own DeleteObject (DeleteObjectVersion with a version id) would be,
      // the governance bypass included: every key left in the batch may use it.
      authorize(await accessQuery(rc.pipeline.meta, 'DeleteObject', 'write', bucket, o.key, rc.principal, o.versionId, rc.facts));
      if (bypass) await authorizeActions(rc, [BYPASS_GOVERNANCE], o.key, o.versionId);
    } catch (err) {
      if (!(err instanceof S3Error)) throw err;
      errors.push({ key: o.key, ...(o.versionId !== undefined && { versionId: o.versionId }), code: err.code, message: err.message });
      continue;
    }
    targets.push({ key: o.key, ...(o.versionId !== undefined && { versionId: o.versionId }), ...(o.etag !== undefined && { etag: unquoteEtag(o.etag) }) });
  }
  const outcomes = await rc.pipeline.meta.deleteVersionsBatch(bucket.name, targets, { bypassGovernance: bypass, event: eventOrigin(rc) });
  const deleted: DeletedEntry[] = [];
  targets.forEach((t, i) => {
    const outcome = outcomes[i]!;
    const error = outcomeError(outcome);
    const versionId = t.versionId !== undefined ? { versionId: t.versionId } : {};
    if (error) errors.push({ key: t.key, ...versionId, code: error.code, message: error.message });
    else if (!request.quiet) {
      // A delete marker added or removed is reported with its version id, as AWS S3 does.
      const marker = outcome.kind === 'deleted' && outcome.deleteMarker
        ? { deleteMarker: true, ...(outcome.versionId !== undefined && { deleteMarkerVersionId: outcome.versionId }) } : {};
      deleted.push({ key: t.key, ...versionId, ...marker });
    }
  });
  sendXml(koa, buildDeleteResult({ deleted, errors }));
}

function outcomeError(outcome: BatchDeleteOutcome): S3Error | undefined {
  switch (outcome.kind) {
    case 'deleted':
      // Deleting a key that does not exist succeeds, as on AWS S3.
      return undefined;
    case 'locked':
      return new S3Error('AccessDenied', { message: 'Access Denied because object protected by object lock.' });
    case 'no-such-key':
      return new S3Error('NoSuchKey');
    case 'precondition-failed':
      return new S3Error('PreconditionFailed');
  }
}
