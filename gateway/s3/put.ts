import type Koa from 'koa';
import { receiveBody, storedChecksums } from '../object/receive.js';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';
import { extractObjectHeaders, extractUserMetadata, quoteEtag } from './headers.js';
import { checkObjectKey } from './names.js';

/** PutObject — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html */
export async function handlePutObject(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const key = keyOf(rc);
  checkObjectKey(key);
  const headers = koa.req.headersDistinct as Record<string, string[]>;
  // Validate everything that can fail before taking the body.
  const objectHeaders = extractObjectHeaders(headers);
  const userMeta = extractUserMetadata(headers);
  const body = await receiveBody(koa, rc);
  const checksums = storedChecksums(body.checksums);
  try {
    rc.pipeline.meta.commitObject({
      bucket: bucket.name, key, size: body.blob.size, etag: body.md5Hex,
      contentType: objectHeaders.contentType ?? null, headers: { ...objectHeaders }, userMeta, checksums, partsCount: null,
      parts: [{ partNumber: 1, blobId: body.blob.blobId, size: body.blob.size, etag: body.md5Hex, checksums }],
    }, body.blob.missed);
  } catch (err) {
    if (body.blob.blobId) rc.pipeline.meta.discardBlob(body.blob.blobId);
    throw err;
  }
  koa.set('etag', quoteEtag(body.md5Hex));
  for (const [alg, v] of Object.entries(checksums)) koa.set(`x-amz-checksum-${alg}`, v);
  koa.status = 200;
}
