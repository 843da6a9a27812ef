import type Koa from 'koa';
import { bucketOf, type ReqCtx } from '../request.js';
import { readCheckedBody } from './body.js';
import { sendXml } from './bucket.js';
import { S3Error } from './errors.js';
import { SSE_ALGORITHM } from './sse.js';
import { buildXml, childOf, childrenOf, parseXml, textOf } from './xml.js';

/**
 * Bucket default encryption. Every bucket here encrypts every object under gateway-managed
 * keys (sse.ts), which is the configuration AWS reports for a bucket nobody configured:
 * SSE-S3 (AES256). Asking for that again is accepted; asking for KMS keys, which do not
 * exist here, is refused; removing it changes nothing, as objects stay encrypted.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketEncryption.html
 */
const MAX_BODY = 64 * 1024;

/** GetBucketEncryption */
export async function handleGetBucketEncryption(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  bucketOf(rc);
  sendXml(koa, buildXml('ServerSideEncryptionConfiguration', {
    Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: SSE_ALGORITHM }, BucketKeyEnabled: false },
  }));
}

/** PutBucketEncryption: AES256 is what every bucket does already. */
export async function handlePutBucketEncryption(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  bucketOf(rc);
  const root = parseXml(await readCheckedBody(koa, rc, { limit: MAX_BODY, requireDigest: false }), 'ServerSideEncryptionConfiguration');
  const rules = childrenOf(root, 'Rule');
  if (!rules.length) throw new S3Error('MalformedXML');
  for (const rule of rules) {
    const byDefault = childOf(rule, 'ApplyServerSideEncryptionByDefault');
    const algorithm = typeof byDefault === 'object' ? textOf(byDefault, 'SSEAlgorithm') : undefined;
    if (algorithm === undefined) throw new S3Error('MalformedXML');
    if (algorithm === 'aws:kms' || algorithm === 'aws:kms:dsse') {
      throw new S3Error('NotImplemented', { message: `${algorithm} is not supported: every object is encrypted with gateway-managed keys (AES256)` });
    }
    if (algorithm !== SSE_ALGORITHM) throw new S3Error('MalformedXML', { message: `Unknown SSEAlgorithm ${algorithm}` });
  }
  koa.status = 200;
}

/** DeleteBucketEncryption: objects stay encrypted under gateway-managed keys. */
export async function handleDeleteBucketEncryption(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  bucketOf(rc);
  koa.status = 204;
}
