import type Koa from 'koa';
import { aclColumn, parseCannedAcl, storedAcl, type CannedAcl } from '../access/canned-acl.js';
import { checkAclAllowed } from '../access/public-access-block.js';
import { publicAccessBlockOf } from '../access/query.js';
import { bucketOf, keyOf, ownerOf, type ReqCtx } from '../request.js';
import { sendXml } from './bucket.js';
import { readCheckedBody } from './body.js';
import { S3Error } from './errors.js';
import { headerOf, type HeaderBag } from './headers.js';
import { resolveVersion, versionHeader, versionIdOf } from './versioning.js';
import { buildXml, childOf, childrenOf, parseXml, textOf, type XmlNode, type XmlObject } from './xml.js';

/**
 * Bucket and object ACLs, kept as one of the canned ACLs private and public-read. Grants are
 * accepted as a header (`x-amz-acl`) or as an AccessControlPolicy body that says the same.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
 */
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
/** The group grants each canned ACL adds to the owner's FULL_CONTROL, as S3 lists them. */
const GROUP_GRANTS: Record<CannedAcl, Array<[string, 'READ' | 'WRITE']>> = {
  private: [],
  'public-read': [[ALL_USERS, 'READ']],
  'public-read-write': [[ALL_USERS, 'READ'], [ALL_USERS, 'WRITE']],
  'authenticated-read': [[AUTHENTICATED_USERS, 'READ']],
};
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const MAX_ACL_BODY = 64 * 1024;

export function buildAccessControlPolicy(owner: string, acl: CannedAcl): string {
  const o = ownerOf(owner);
  // Group grants first, then the owner's, in the order S3 lists a canned ACL's grants.
  const grants: XmlNode[] = GROUP_GRANTS[acl].map(([uri, permission]) => ({ Grantee: { '@_xmlns:xsi': XSI, '@_xsi:type': 'Group', URI: uri }, Permission: permission }));
  grants.push({ Grantee: { '@_xmlns:xsi': XSI, '@_xsi:type': 'CanonicalUser', ID: o.id, DisplayName: o.displayName }, Permission: 'FULL_CONTROL' });
  return buildXml('AccessControlPolicy', { Owner: { ID: o.id, DisplayName: o.displayName }, AccessControlList: { Grant: grants } });
}

/**
 * An AccessControlPolicy body as a canned ACL: FULL_CONTROL for the owner, plus exactly the
 * group grants of one canned ACL (GROUP_GRANTS). Any other grant is NotImplemented here.
 */
export function parseAccessControlPolicy(body: Buffer, owner: string): CannedAcl {
  const root = parseXml(body, 'AccessControlPolicy');
  const list = childOf(root, 'AccessControlList');
  const grants = typeof list === 'object' ? childrenOf(list, 'Grant') : [];
  const groupGrants = new Set<string>();
  for (const g of grants) {
    const grantee = childOf(g, 'Grantee');
    const permission = textOf(g, 'Permission');
    const who = typeof grantee === 'object' ? grantee : ({} as XmlObject);
    const uri = textOf(who, 'URI');
    if (textOf(who, 'ID') === owner && permission === 'FULL_CONTROL') continue;
    if (uri !== undefined && (permission === 'READ' || permission === 'WRITE')) groupGrants.add(`${uri} ${permission}`);
    else throw unsupportedGrants();
  }
  const want = [...groupGrants].sort().join('\n');
  const match = (Object.keys(GROUP_GRANTS) as CannedAcl[]).find((acl) => GROUP_GRANTS[acl].map(([u, p]) => `${u} ${p}`).sort().join('\n') === want);
  if (!match) throw unsupportedGrants();
  return match;
}

function unsupportedGrants(): S3Error {
  return new S3Error('NotImplemented', { message: 'Only the grants of the canned ACLs private, public-read, public-read-write and authenticated-read are supported' });
}

/** The ACL a PutBucketAcl/PutObjectAcl asks for: the header, else the body. */
async function requestedAcl(koa: Koa.Context, rc: ReqCtx, owner: string): Promise<CannedAcl> {
  const header = parseCannedAcl(headerOf(koa.req.headersDistinct as HeaderBag, 'x-amz-acl'));
  const body = await readCheckedBody(koa, rc, { limit: MAX_ACL_BODY, requireDigest: false });
  if (header !== undefined) {
    if (body.length) throw new S3Error('UnexpectedContent', { message: 'This request does not support content with x-amz-acl' });
    return header;
  }
  if (!body.length) throw new S3Error('MalformedACLError');
  return parseAccessControlPolicy(body, owner);
}

/** GetBucketAcl — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html */
export async function handleGetBucketAcl(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  sendXml(koa, buildAccessControlPolicy(bucket.owner, storedAcl(rc.pipeline.meta.bucketAccess(bucket.name)?.acl)));
}

/** PutBucketAcl — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html */
export async function handlePutBucketAcl(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const acl = await requestedAcl(koa, rc, bucket.owner);
  checkAclAllowed(acl, () => publicAccessBlockOf(rc.pipeline.meta, bucket.name));
  rc.pipeline.meta.setBucketAccess(bucket.name, 'acl', aclColumn(acl));
  koa.status = 200;
}

/** GetObjectAcl (of the current version or of `versionId`) — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html */
export async function handleGetObjectAcl(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const row = resolveVersion(rc.pipeline.meta, bucket.name, keyOf(rc), versionIdOf(rc.endpoint));
  const acl = rc.pipeline.meta.objectAcl(bucket.name, row.key, row.versionId);
  koa.set(versionHeader(rc.pipeline.meta, bucket.name, row.versionId));
  // Objects here belong to their bucket's owner.
  sendXml(koa, buildAccessControlPolicy(bucket.owner, storedAcl(acl)));
}

/** PutObjectAcl (of the current version or of `versionId`) — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html */
export async function handlePutObjectAcl(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  resolveVersion(rc.pipeline.meta, bucket.name, keyOf(rc), versionIdOf(rc.endpoint)); // errors before the body is read
  const acl = await requestedAcl(koa, rc, bucket.owner);
  checkAclAllowed(acl, () => publicAccessBlockOf(rc.pipeline.meta, bucket.name));
  // Resolved again after the body: the current version may have changed meanwhile.
  const row = resolveVersion(rc.pipeline.meta, bucket.name, keyOf(rc), versionIdOf(rc.endpoint));
  if (!rc.pipeline.meta.setObjectAcl(row.id, aclColumn(acl))) throw new S3Error('NoSuchKey', { extra: { Key: keyOf(rc) } });
  koa.set(versionHeader(rc.pipeline.meta, bucket.name, row.versionId));
  koa.status = 200;
}
