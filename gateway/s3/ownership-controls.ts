import type Koa from 'koa';
import { storedAcl } from '../access/acl-grants.js';
import { checkBucketAclDisableable, isObjectOwnership, type ObjectOwnership } from '../access/object-ownership.js';
import { bucketOf, type ReqCtx } from '../request.js';
import { readCheckedBody } from './body.js';
import { sendXml } from './bucket.js';
import { S3Error } from './errors.js';
import { buildXml, childrenOf, malformedXml, parseXml, textOf } from './xml.js';

/**
 * Get/Put/DeleteBucketOwnershipControls: the bucket's Object Ownership (access/object-ownership.ts).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html
 */
const MAX_BODY = 16 * 1024;

/** GetBucketOwnershipControls — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketOwnershipControls.html */
export async function handleGetBucketOwnershipControls(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const stored = (await rc.pipeline.meta.bucketAccess(bucket.name))?.objectOwnership;
  if (stored == null || !isObjectOwnership(stored)) throw new S3Error('OwnershipControlsNotFoundError', { extra: { BucketName: bucket.name } });
  sendXml(koa, buildXml('OwnershipControls', { Rule: { ObjectOwnership: stored } }));
}

/** PutBucketOwnershipControls — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html */
export async function handlePutBucketOwnershipControls(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const ownership = parseOwnershipControls(await readCheckedBody(koa, rc, { limit: MAX_BODY, requireDigest: false }));
  if (ownership === 'BucketOwnerEnforced') checkBucketAclDisableable(storedAcl((await rc.pipeline.meta.bucketAccess(bucket.name))?.acl), bucket.owner);
  await rc.pipeline.meta.setBucketAccess(bucket.name, 'objectOwnership', ownership);
  koa.status = 200;
}

/** DeleteBucketOwnershipControls — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketOwnershipControls.html */
export async function handleDeleteBucketOwnershipControls(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  await rc.pipeline.meta.setBucketAccess(bucketOf(rc).name, 'objectOwnership', null);
  koa.status = 204;
}

/** An OwnershipControls document: exactly one Rule with a known ObjectOwnership. */
export function parseOwnershipControls(body: Buffer | string): ObjectOwnership {
  const rules = childrenOf(parseXml(body, 'OwnershipControls'), 'Rule');
  if (rules.length !== 1) throw malformedXml('OwnershipControls takes exactly one Rule');
  const v = textOf(rules[0]!, 'ObjectOwnership')?.trim();
  if (v === undefined || !isObjectOwnership(v)) throw malformedXml('ObjectOwnership must be BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter');
  return v;
}
