import type Koa from 'koa';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';

/**
 * DeleteObject — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
 * Deleting a key that does not exist succeeds, as on AWS.
 */
export async function handleDeleteObject(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  rc.pipeline.meta.deleteObject(bucketOf(rc).name, keyOf(rc));
  koa.status = 204;
}
