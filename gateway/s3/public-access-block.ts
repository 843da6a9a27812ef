import type Koa from 'koa';
import type { PublicAccessBlock } from '../access/public-access-block.js';
import { publicAccessBlockOf } from '../access/query.js';
import { bucketOf, type ReqCtx } from '../request.js';
import { readCheckedBody } from './body.js';
import { sendXml } from './bucket.js';
import { S3Error } from './errors.js';
import { buildXml, parseXml, textOf } from './xml.js';

/** Get/Put/DeletePublicAccessBlock — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html */
const MAX_BODY = 16 * 1024;
const FIELDS = [
  ['BlockPublicAcls', 'blockPublicAcls'], ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'], ['RestrictPublicBuckets', 'restrictPublicBuckets'],
] as const;

export async function handleGetPublicAccessBlock(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const block = await publicAccessBlockOf(rc.pipeline.meta, bucket.name);
  if (!block) throw new S3Error('NoSuchPublicAccessBlockConfiguration', { extra: { BucketName: bucket.name } });
  sendXml(koa, buildXml('PublicAccessBlockConfiguration', Object.fromEntries(FIELDS.map(([xml, key]) => [xml, block[key]]))));
}

export async function handlePutPublicAccessBlock(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const root = parseXml(await readCheckedBody(koa, rc, { limit: MAX_BODY, requireDigest: false }), 'PublicAccessBlockConfiguration');
  const block = {} as Record<keyof PublicAccessBlock, boolean>;
  for (const [xml, key] of FIELDS) {
    const v = textOf(root, xml)?.trim().toLowerCase();
    if (v !== undefined && v !== 'true' && v !== 'false') throw new S3Error('MalformedXML', { message: `${xml} must be true or false` });
    block[key] = v === 'true'; // an element left out is false, as on S3
  }
  await rc.pipeline.meta.setBucketAccess(bucket.name, 'publicAccessBlock', JSON.stringify(block));
  koa.status = 200;
}

export async function handleDeletePublicAccessBlock(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  await rc.pipeline.meta.setBucketAccess(bucket.name, 'publicAccessBlock', null);
  koa.status = 204;
}
