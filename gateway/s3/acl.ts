import type Koa from 'koa';
import { aclColumn, aclOwner, grantsOf, storedAcl, type AclPermission, type Grant, type StoredAcl, ACL_PERMISSIONS } from '../access/acl-grants.js';
import { aclFromHeaders, groupGrantee, unresolvableEmail, userGrantee, type IsUser } from '../access/grant-headers.js';
import { checkAclAllowed } from '../access/public-access-block.js';
import { objectOwnershipOf, publicAccessBlockOf } from '../access/query.js';
import { aclsEnabled, checkAclUnderOwnership, objectAclOnWrite } from '../access/object-ownership.js';
import { userExists } from '../access/users.js';
import { decideWithLookups } from '../lookups.js';
import { bucketOf, keyOf, ownerOf, type ReqCtx } from '../request.js';
import { sendXml } from './bucket.js';
import { readCheckedBody } from './body.js';
import { S3Error } from './errors.js';
import { headerOf, type HeaderBag } from './headers.js';
import { resolveVersion, versionHeader, versionIdOf } from './versioning.js';
import { buildXml, childOf, childrenOf, parseXml, textOf, type XmlNode, type XmlObject } from './xml.js';

/**
 * Bucket and object ACLs: a canned ACL or any list of grants (acl-grants.ts), set with
 * `x-amz-acl`, the `x-amz-grant-*` headers or an AccessControlPolicy body.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
 */
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const MAX_ACL_BODY = 64 * 1024;
/** S3 keeps at most 100 grants in one ACL. */
const MAX_GRANTS = 100;

/** The AccessControlPolicy of an ACL: its grants exactly (a canned ACL's group grants before the owner's). */
export function buildAccessControlPolicy(owner: string, acl: StoredAcl): string {
  const o = ownerOf(owner);
  const grants: XmlNode[] = grantsOf(acl, owner).map((g) => ({ Grantee: granteeXml(g.grantee), Permission: g.permission }));
  return buildXml('AccessControlPolicy', { Owner: { ID: o.id, DisplayName: o.displayName }, AccessControlList: { Grant: grants } });
}

function granteeXml(g: Grant['grantee']): XmlNode {
  if (g.type === 'Group') return { '@_xmlns:xsi': XSI, '@_xsi:type': 'Group', URI: g.uri };
  const u = ownerOf(g.id);
  return { '@_xmlns:xsi': XSI, '@_xsi:type': 'CanonicalUser', ID: u.id, DisplayName: u.displayName };
}

/**
 * An AccessControlPolicy body as a grant list, kept as written (the owner's grant too, or none:
 * the owner keeps its rights as owner). The grantee's kind follows from its child element (ID,
 * URI or EmailAddress), which is what its xsi:type says. An unknown user id is InvalidArgument,
 * an e-mail address UnresolvableGrantByEmailAddress, a grant missing its parts MalformedACLError.
 */
export function parseAccessControlPolicy(body: Buffer, isUser: IsUser): StoredAcl {
  const root = parseXml(body, 'AccessControlPolicy');
  const list = childOf(root, 'AccessControlList');
  const grants = typeof list === 'object' ? childrenOf(list, 'Grant') : [];
  if (grants.length > MAX_GRANTS) throw new S3Error('MalformedACLError', { message: `An ACL may hold at most ${MAX_GRANTS} grants` });
  return { grants: grants.map((g) => parseGrant(g, isUser)) };
}

function parseGrant(g: XmlObject, isUser: IsUser): Grant {
  const grantee = childOf(g, 'Grantee');
  const permission = textOf(g, 'Permission') as AclPermission | undefined;
  if (typeof grantee !== 'object' || permission === undefined || !ACL_PERMISSIONS.includes(permission)) throw new S3Error('MalformedACLError');
  const id = textOf(grantee, 'ID');
  const uri = textOf(grantee, 'URI');
  const email = textOf(grantee, 'EmailAddress');
  if (id !== undefined) return { grantee: userGrantee(id, isUser), permission };
  if (uri !== undefined) return { grantee: groupGrantee(uri), permission };
  if (email !== undefined) throw unresolvableEmail(email);
  throw new S3Error('MalformedACLError');
}

/** The raw `x-amz-acl` of a request: it tells bucket-owner-full-control from private. */
function cannedOf(koa: Koa.Context): string | undefined {
  return headerOf(koa.req.headersDistinct, 'x-amz-acl');
}

/** The ACL a PutBucketAcl/PutObjectAcl asks for: the headers (canned or grants), else the body. */
async function requestedAcl(koa: Koa.Context, rc: ReqCtx): Promise<StoredAcl> {
  // Grantees are checked against the users as the headers or the document name them (decideWithLookups).
  const isUser = (id: string): Promise<boolean> => userExists(rc.pipeline.meta, id);
  const headers = koa.req.headersDistinct as HeaderBag;
  const fromHeaders = await decideWithLookups(isUser, (known: IsUser) => aclFromHeaders((name) => headerOf(headers, name), known), { value: true });
  const body = await readCheckedBody(koa, rc, { limit: MAX_ACL_BODY, requireDigest: false });
  if (fromHeaders !== undefined) {
    if (body.length) throw new S3Error('UnexpectedContent', { message: 'This request does not support content with x-amz-acl or x-amz-grant-* headers' });
    return fromHeaders;
  }
  if (!body.length) throw new S3Error('MalformedACLError');
  return decideWithLookups(isUser, (known: IsUser) => parseAccessControlPolicy(body, known), { value: true });
}

/**
 * A stored ACL as it counts: with ACLs disabled (BucketOwnerEnforced) every ACL reads as the
 * bucket owner's FULL_CONTROL, whatever was kept from before.
 */
async function effectiveAcl(rc: ReqCtx, stored: string | null | undefined): Promise<StoredAcl> {
  return aclsEnabled(await objectOwnershipOf(rc.pipeline.meta, bucketOf(rc).name)) ? storedAcl(stored) : 'private';
}

/** GetBucketAcl — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html */
export async function handleGetBucketAcl(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  sendXml(koa, buildAccessControlPolicy(bucket.owner, await effectiveAcl(rc, (await rc.pipeline.meta.bucketAccess(bucket.name))?.acl)));
}

/** PutBucketAcl — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html */
export async function handlePutBucketAcl(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const acl = await requestedAcl(koa, rc);
  checkAclUnderOwnership(await objectOwnershipOf(rc.pipeline.meta, bucket.name), { canned: cannedOf(koa), acl }, bucket.owner, 'bucket');
  await checkAclAllowed(acl, () => publicAccessBlockOf(rc.pipeline.meta, bucket.name));
  await rc.pipeline.meta.setBucketAccess(bucket.name, 'acl', aclColumn(acl));
  koa.status = 200;
}

/** GetObjectAcl (of the current version or of `versionId`) — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html */
export async function handleGetObjectAcl(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const row = await resolveVersion(rc.pipeline.meta, bucket.name, keyOf(rc), versionIdOf(rc.endpoint));
  const acl = await effectiveAcl(rc, await rc.pipeline.meta.objectAcl(bucket.name, row.key, row.versionId));
  koa.set(await versionHeader(rc.pipeline.meta, bucket.name, row.versionId));
  // An object belongs to its bucket's owner unless its ACL names another (object-ownership.ts).
  sendXml(koa, buildAccessControlPolicy(aclOwner(acl, bucket.owner), acl));
}

/** PutObjectAcl (of the current version or of `versionId`) — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html */
export async function handlePutObjectAcl(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  await resolveVersion(rc.pipeline.meta, bucket.name, keyOf(rc), versionIdOf(rc.endpoint)); // errors before the body is read
  const requested = await requestedAcl(koa, rc);
  const ownership = await objectOwnershipOf(rc.pipeline.meta, bucket.name);
  checkAclUnderOwnership(ownership, { canned: cannedOf(koa), acl: requested }, bucket.owner, 'object');
  await checkAclAllowed(requested, () => publicAccessBlockOf(rc.pipeline.meta, bucket.name));
  // Resolved again after the body: the current version may have changed meanwhile.
  const row = await resolveVersion(rc.pipeline.meta, bucket.name, keyOf(rc), versionIdOf(rc.endpoint));
  // The object keeps its owner: a new ACL replaces the grants, never the ownership.
  const owner = aclOwner(storedAcl(await rc.pipeline.meta.objectAcl(bucket.name, row.key, row.versionId)), bucket.owner);
  const acl = objectAclOnWrite(ownership === 'BucketOwnerPreferred' ? 'ObjectWriter' : ownership, { canned: cannedOf(koa), acl: requested }, owner, bucket.owner);
  if (!await rc.pipeline.meta.setObjectAcl(row.id, aclColumn(acl))) throw new S3Error('NoSuchKey', { extra: { Key: keyOf(rc) } });
  koa.set(await versionHeader(rc.pipeline.meta, bucket.name, row.versionId));
  koa.status = 200;
}
