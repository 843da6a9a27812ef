import type Koa from 'koa';
import type { VersionRow } from '../meta/types.js';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';
import { sendXml } from './bucket.js';
import { readCheckedBody } from './body.js';
import { buildTagging, parseTagging, type TagEntry } from './documents.js';
import { S3Error } from './errors.js';
import { headerOf, type HeaderBag } from './headers.js';
import { resolveVersion, versionHeader, versionIdOf } from './versioning.js';

/**
 * Object and bucket tagging, with the limits AWS S3 applies.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/CostAllocTagging.html
 */
export const MAX_OBJECT_TAGS = 10;
export const MAX_BUCKET_TAGS = 50;
/** In Unicode characters, not bytes. */
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;
const MAX_TAGGING_BODY = 64 * 1024;

function invalidTag(message: string): S3Error {
  return new S3Error('InvalidTag', { message });
}

/**
 * Throws InvalidTag unless `tags` is a valid tag set for an object or a bucket: not too many,
 * unique non-empty keys, keys and values within their lengths, no key in the reserved `aws:`
 * namespace. Here we are more lenient than AWS S3, which also restricts the characters to
 * letters, digits, spaces and `_.:/=+-@`: clients that send others are not refused.
 */
export function checkTagSet(tags: readonly TagEntry[], scope: 'object' | 'bucket'): void {
  const max = scope === 'object' ? MAX_OBJECT_TAGS : MAX_BUCKET_TAGS;
  if (tags.length > max) throw invalidTag(`${scope === 'object' ? 'Object' : 'Bucket'} tags cannot be greater than ${max}`);
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    const keyLength = Array.from(key).length;
    if (keyLength === 0) throw invalidTag('The TagKey you have provided is invalid');
    if (keyLength > MAX_TAG_KEY_LENGTH) throw invalidTag('The TagKey you have provided is too long, max 128');
    if (Array.from(value).length > MAX_TAG_VALUE_LENGTH) throw invalidTag('The TagValue you have provided is too long, max 256');
    if (key.toLowerCase().startsWith('aws:')) throw invalidTag('Your TagKey cannot be prefixed with aws:');
    if (seen.has(key)) throw invalidTag('Cannot provide multiple Tags with the same key');
    seen.add(key);
  }
}

/** A Tagging document (PutObjectTagging, PutBucketTagging, a POST form's `tagging` field), its tags checked. */
export function parseTagSet(body: string | Buffer, scope: 'object' | 'bucket'): TagEntry[] {
  const { tagSet } = parseTagging(body);
  checkTagSet(tagSet, scope);
  return tagSet;
}

/**
 * The `x-amz-tagging` header of PutObject, CreateMultipartUpload and CopyObject: tags as a
 * URL query string (`k1=v1&k2=v2`). Undefined when the header is absent.
 */
export function parseTaggingHeader(headers: HeaderBag): TagEntry[] | undefined {
  const raw = headerOf(headers, 'x-amz-tagging');
  if (raw === undefined) return undefined;
  const tags: TagEntry[] = [];
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const [k, v] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    tags.push({ key: queryDecode(k), value: queryDecode(v) });
  }
  checkTagSet(tags, 'object');
  return tags;
}

function queryDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch (err) {
    throw new S3Error('InvalidArgument', { message: 'The header x-amz-tagging must be URL-encoded', extra: { ArgumentName: 'x-amz-tagging', ArgumentValue: s }, cause: err });
  }
}

/**
 * The version a tagging request is about: the one named by versionId, else the key's
 * current one; NoSuchKey/NoSuchVersion otherwise. Answers carry its x-amz-version-id.
 */
async function taggedObject(koa: Koa.Context, rc: ReqCtx): Promise<VersionRow> {
  const meta = rc.pipeline.meta;
  const obj = await resolveVersion(meta, bucketOf(rc).name, keyOf(rc), versionIdOf(rc.endpoint));
  koa.set(await versionHeader(meta, obj.bucket, obj.versionId));
  return obj;
}

function gone(rc: ReqCtx, obj: VersionRow): S3Error {
  const versionId = versionIdOf(rc.endpoint);
  return versionId === undefined ? new S3Error('NoSuchKey', { extra: { Key: obj.key } }) : new S3Error('NoSuchVersion', { extra: { Key: obj.key, VersionId: versionId } });
}

/** GetObjectTagging — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html */
export async function handleGetObjectTagging(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const obj = await taggedObject(koa, rc);
  sendXml(koa, buildTagging({ tagSet: await rc.pipeline.meta.objectTags(obj.id) }));
}

/** PutObjectTagging — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html */
export async function handlePutObjectTagging(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const obj = await taggedObject(koa, rc);
  const tagSet = parseTagSet(await readCheckedBody(koa, rc, { limit: MAX_TAGGING_BODY, requireDigest: false }), 'object');
  // The version may have been deleted while the body was read.
  if (!await rc.pipeline.meta.setVersionTags(obj.id, tagSet)) throw gone(rc, obj);
  koa.status = 200;
}

/** DeleteObjectTagging — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjectTagging.html */
export async function handleDeleteObjectTagging(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const obj = await taggedObject(koa, rc);
  if (!await rc.pipeline.meta.setVersionTags(obj.id, null)) throw gone(rc, obj);
  koa.status = 204;
}

/** GetBucketTagging — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketTagging.html */
export async function handleGetBucketTagging(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const tags = await rc.pipeline.meta.bucketTags(bucket.name);
  if (tags === null) throw new S3Error('NoSuchTagSet', { extra: { BucketName: bucket.name } });
  sendXml(koa, buildTagging({ tagSet: tags }));
}

/** PutBucketTagging — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html */
export async function handlePutBucketTagging(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const tagSet = parseTagSet(await readCheckedBody(koa, rc, { limit: MAX_TAGGING_BODY, requireDigest: true }), 'bucket');
  if (!await rc.pipeline.meta.setBucketTags(bucket.name, tagSet)) throw new S3Error('NoSuchBucket', { extra: { BucketName: bucket.name } });
  koa.status = 204;
}

/** DeleteBucketTagging — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketTagging.html */
export async function handleDeleteBucketTagging(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  await rc.pipeline.meta.setBucketTags(bucketOf(rc).name, null);
  koa.status = 204;
}

