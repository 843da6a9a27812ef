import type Koa from 'koa';
import { parseBucketPolicy, storedPolicy, MAX_POLICY_BYTES } from '../access/policy.js';
import { bucketOf, type ReqCtx } from '../request.js';
import { sendXml } from './bucket.js';
import { readCheckedBody } from './body.js';
import { S3Error } from './errors.js';
import { buildXml } from './xml.js';
import { isPublicAcl, storedAcl } from '../access/acl-grants.js';
import { checkPolicyAllowed, isPublicPolicy } from '../access/public-access-block.js';
import { publicAccessBlockOf } from '../access/query.js';

/** GetBucketPolicy — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html */
export async function handleGetBucketPolicy(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const policy = (await rc.pipeline.meta.bucketAccess(bucket.name))?.policy;
  if (!policy) throw new S3Error('NoSuchBucketPolicy', { extra: { BucketName: bucket.name } });
  // The document as the owner sent it, as AWS S3 returns it.
  koa.status = 200;
  koa.type = 'application/json';
  koa.body = policy;
}

/** PutBucketPolicy — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html */
export async function handlePutBucketPolicy(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const body = await readCheckedBody(koa, rc, { limit: MAX_POLICY_BYTES, requireDigest: false }).catch((err: unknown) => {
    // Too large is said the same way whatever the size.
    if (err instanceof S3Error && err.code === 'MaxMessageLengthExceeded') throw new S3Error('MalformedPolicy', { message: 'Policy exceeds the maximum allowed document size.' });
    throw err;
  });
  const text = body.toString('utf8');
  await checkPolicyAllowed(parseBucketPolicy(text, bucket.name), () => publicAccessBlockOf(rc.pipeline.meta, bucket.name));
  if (!await rc.pipeline.meta.setBucketAccess(bucket.name, 'policy', text)) throw new S3Error('NoSuchBucket', { extra: { BucketName: bucket.name } });
  koa.status = 204;
}

/** DeleteBucketPolicy — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketPolicy.html */
export async function handleDeleteBucketPolicy(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  await rc.pipeline.meta.setBucketAccess(bucketOf(rc).name, 'policy', null);
  koa.status = 204;
}

/**
 * GetBucketPolicyStatus — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicyStatus.html
 * Public when a statement allows everyone ("*").
 */
export async function handleGetBucketPolicyStatus(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const access = await rc.pipeline.meta.bucketAccess(bucket.name);
  // Public when anyone may act on it: an ACL grant to AllUsers or AuthenticatedUsers, or a policy Allow for Principal "*".
  const publicPolicy = access?.policy ? isPublicPolicy(storedPolicy(access.policy, bucket.name)) : false;
  const isPublic = publicPolicy || isPublicAcl(storedAcl(access?.acl));
  sendXml(koa, buildXml('PolicyStatus', { IsPublic: isPublic ? 'true' : 'false' }));
}
