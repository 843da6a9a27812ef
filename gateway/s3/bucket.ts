import type Koa from 'koa';
import { aclColumn } from '../access/acl-grants.js';
import { aclsEnabled, checkBucketAclDisableable, parseObjectOwnershipHeader } from '../access/object-ownership.js';
import { MetaConflictError } from '../meta/errors.js';
import { bucketOf, ownerOf, type ReqCtx } from '../request.js';
import { readCheckedBody } from './body.js';
import { buildListAllMyBucketsResult, buildLocationConstraint, parseCreateBucketConfiguration } from './documents.js';
import { S3Error } from './errors.js';
import { buildXml } from './xml.js';
import type { Endpoint } from './router.js';
import { checkBucketName } from './names.js';

function sendXml(koa: Koa.Context, xml: string, status = 200): void {
  koa.status = status;
  koa.type = 'application/xml';
  koa.body = xml;
}
export { sendXml };

/**
 * ListBuckets — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
 * The caller's own buckets in name order, paged in the metadata query. Without max-buckets
 * a page holds up to the AWS account quota (10,000), which is every bucket of a usual owner.
 */
export async function handleListBuckets(koa: Koa.Context, rc: ReqCtx, ep: Extract<Endpoint, { kind: 'ListBuckets' }>): Promise<void> {
  const limit = ep.maxBuckets ?? MAX_BUCKETS_PAGE;
  // One more than the page, to know whether another page follows.
  const rows = await rc.pipeline.meta.listBucketsPage({
    owner: rc.owner, limit: limit + 1,
    ...(ep.continuationToken !== undefined && { after: decodeBucketToken(ep.continuationToken) }),
    ...(ep.prefix !== undefined && { prefix: ep.prefix }),
    ...(ep.bucketRegion !== undefined && { region: ep.bucketRegion }),
  });
  const page = rows.slice(0, limit);
  sendXml(koa, buildListAllMyBucketsResult({
    owner: ownerOf(rc.owner),
    buckets: page.map((b) => ({ name: b.name, creationDate: b.createdAt, region: b.region })),
    ...(rows.length > limit && { continuationToken: encodeBucketToken(page[page.length - 1]!.name) }),
    ...(ep.prefix !== undefined && { prefix: ep.prefix }),
  }));
}

const MAX_BUCKETS_PAGE = 10_000;

// The token names the last bucket of the page; opaque to clients, as on AWS.
function encodeBucketToken(lastName: string): string {
  return Buffer.from(lastName, 'utf8').toString('base64url');
}

function decodeBucketToken(token: string): string {
  const name = Buffer.from(token, 'base64url').toString('utf8');
  // Only a token this gateway gave out decodes and encodes back to itself.
  if (name !== '' && encodeBucketToken(name) === token) return name;
  throw new S3Error('InvalidArgument', { message: 'The continuation token provided is incorrect', extra: { ArgumentName: 'continuation-token', ArgumentValue: token } });
}

/** CreateBucket — https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html */
export async function handleCreateBucket(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const name = rc.bucketName!;
  checkBucketName(name);
  const body = await readCheckedBody(koa, rc, { limit: 64 * 1024, requireDigest: false });
  const location = parseCreateBucketConfiguration(body).locationConstraint;
  // The only region this gateway serves; AWS answers the same for a mismatch.
  if (location !== undefined && location !== rc.config.region) {
      throw new S3Error('IllegalLocationConstraintException', {
      message: `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    });
  }
  const objectLock = koa.get('x-amz-bucket-object-lock-enabled').trim().toLowerCase() === 'true';
  const ownership = parseObjectOwnershipHeader(koa.get('x-amz-object-ownership') || undefined);
  // S3 refuses a bucket made with ACLs disabled and an ACL of its own.
  if (!aclsEnabled(ownership) && rc.acl !== undefined) checkBucketAclDisableable(rc.acl, rc.owner);
  try {
    // A lock-enabled bucket starts with versioning on, as on AWS S3.
    if (objectLock) await rc.pipeline.meta.createLockedBucket(name, rc.owner, rc.config.region, Date.now(), ownership);
    else await rc.pipeline.meta.createBucket(name, rc.owner, rc.config.region, Date.now(), ownership);
  } catch (err) {
    if (err instanceof MetaConflictError) {
      // us-east-1 answers 200 to the owner re-creating a bucket; every other region says BucketAlreadyOwnedByYou.
      if (err.owner === rc.owner) {
        if (rc.config.region === 'us-east-1') {
          await keepBucketAcl(rc, name);
          koa.set('Location', `/${name}`);
          koa.status = 200;
          return;
        }
        throw new S3Error('BucketAlreadyOwnedByYou', { extra: { BucketName: name } });
      }
      throw new S3Error('BucketAlreadyExists', { extra: { BucketName: name } });
    }
    throw err;
  }
  await keepBucketAcl(rc, name);
  koa.set('Location', `/${name}`);
  koa.status = 200;
}

/** CreateBucket's `x-amz-acl` or `x-amz-grant-*`; us-east-1's owner re-create sets it again, as S3 resets the ACL there. */
async function keepBucketAcl(rc: ReqCtx, name: string): Promise<void> {
  if (rc.acl !== undefined) await rc.pipeline.meta.setBucketAccess(name, 'acl', aclColumn(rc.acl));
}

/** HeadBucket — https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html */
export async function handleHeadBucket(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  koa.set('x-amz-bucket-region', bucketOf(rc).region);
  koa.status = 200;
}

/** GetBucketLocation — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html */
export async function handleGetBucketLocation(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  sendXml(koa, buildLocationConstraint(bucketOf(rc).region));
}

/** DeleteBucket — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html */
export async function handleDeleteBucket(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const name = bucketOf(rc).name;
  if (!await rc.pipeline.meta.deleteBucket(name)) throw new S3Error('BucketNotEmpty', { extra: { BucketName: name } });
  koa.status = 204;
}

/**
 * GetBucketRequestPayment — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketRequestPayment.html
 * The bucket owner always pays here; clients such as s3cmd ask on every `info`.
 */
export async function handleGetBucketRequestPayment(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  bucketOf(rc);
  sendXml(koa, buildXml('RequestPaymentConfiguration', { Payer: 'BucketOwner' }));
}
