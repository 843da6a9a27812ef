import type Koa from 'koa';
import { objectWriteActions } from '../access/actions.js';
import { authorizeActions, objectAclColumn } from '../access/query.js';
import { answerStored, commitOrDiscard, receiveBody, storedChecksums } from '../object/receive.js';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';
import { extractObjectHeaders, extractUserMetadata } from './headers.js';
import { checkObjectKey } from './names.js';
import { lockForNewObject, lockHeadersAsked } from './object-lock.js';
import { parseTaggingHeader } from './tagging.js';
import { commitConditionally, writeOptionsOf } from './preconditions.js';
import { eventOrigin } from './notification.js';
import { writtenVersionHeader } from './versioning.js';
import { quotaRoom } from './quota.js';
import { newSseC, parseCustomerKey, encryptionHeaders, wrapFor } from './sse-c.js';

/** PutObject — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html */
export async function handlePutObject(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const key = keyOf(rc);
  checkObjectKey(key);
  const headers = koa.req.headersDistinct as Record<string, string[]>;
  // An ACL, tags or a lock in the headers each need their own permission besides s3:PutObject.
  await authorizeActions(rc, objectWriteActions({ acl: rc.acl, tags: Boolean(parseTaggingHeader(headers)?.length), ...lockHeadersAsked(headers) }), key);
  // Validate everything that can fail before taking the body.
  const objectHeaders = extractObjectHeaders(headers);
  const userMeta = extractUserMetadata(headers);
  const writeOptions = await writeOptionsOf(koa, rc);
  const lock = await lockForNewObject(rc.pipeline.meta, bucket.name, headers, true);
  const customerKey = parseCustomerKey(headers);
  const sse = customerKey ? newSseC(customerKey) : null;
  const body = await receiveBody(koa, rc, sse && customerKey ? wrapFor(sse, customerKey) : undefined, await quotaRoom(rc, bucket.name, { key }));
  const checksums = storedChecksums(body.checksums);
  // The SSE-C parameters are recorded in the same commit as the version.
  const row = await commitOrDiscard(rc.pipeline, body.blob, async () => commitConditionally(rc.pipeline.meta, {
    bucket: bucket.name, key, size: body.blob.size, etag: body.md5Hex,
    contentType: objectHeaders.contentType ?? null, headers: { ...objectHeaders }, userMeta, checksums, partsCount: null,
    parts: [{ partNumber: 1, blobId: body.blob.blobId, size: body.blob.size, etag: body.md5Hex, checksums }],
    ...(lock && { lock }), acl: await objectAclColumn(rc),
  }, { ...writeOptions, sse, event: { name: 'ObjectCreated:Put', ...eventOrigin(rc) } }, body.blob.missed));
  answerStored(koa, body.md5Hex, checksums);
  // A single PUT's checksum is of the whole object; S3 says so (UploadPart's answer does not).
  if (Object.keys(checksums).length) koa.set('x-amz-checksum-type', 'FULL_OBJECT');
  koa.set({ ...await writtenVersionHeader(rc.pipeline.meta, bucket.name, row.versionId), ...encryptionHeaders(customerKey) });
}
