import type Koa from 'koa';
import type { Principal } from '../access/authorize.js';
import { objectWriteActions } from '../access/actions.js';
import { aclFromHeaders } from '../access/grant-headers.js';
import { ANONYMOUS_OWNER, userExists } from '../access/users.js';
import { parseAmzDate, parseCredential } from '../auth/credential.js';
import { ALGORITHM, hmac, signaturesEqual, signingKey } from '../auth/signing.js';
import { base64SignatureEqual, sha1Base64 } from '../auth/sigv2.js';
import { CHECKSUM_ALGORITHMS, ChecksumSet, expectedChecksums, verifyChecksums, type ChecksumAlgorithm, type ChecksumPlan } from '../checksums.js';
import { answerStored, commitOrDiscard, MAX_PUT_BYTES, storedChecksums, type QuotaRoom } from '../object/receive.js';
import { quotaRoom } from './quota.js';
import { detachedBody } from '../object/request-body.js';
import { putBlob, type WrittenBlob } from '../pipeline/put-blob.js';
import { bucketOf, type ReqCtx } from '../request.js';
import { S3Error } from './errors.js';
import { extractObjectHeaders, extractUserMetadata } from './headers.js';
import { checkObjectKey } from './names.js';
import { refuseSosapiWrite } from './sosapi.js';
import { checkPostPolicy, parsePostPolicy, postKey } from './post-policy.js';
import { formBoundary, readPostForm, type PostForm } from './post-form.js';
import { lockForNewObject, lockHeadersAsked } from './object-lock.js';
import { commitConditionally } from './preconditions.js';
import { eventOrigin } from './notification.js';
import { buildXml } from './xml.js';
import type { TagEntry } from './documents.js';
import { parseTagSet } from './tagging.js';
import { checkAclAllowed } from '../access/public-access-block.js';
import { decideWithLookups } from '../lookups.js';
import { objectAclColumn, publicAccessBlockOf } from '../access/query.js';

/** What the PostObject handler needs from the authentication layer: the form is its own credential. */
export interface PostObjectAccess {
  /** A usable key's secret and principal, or undefined when the key is unknown or disabled. */
  lookup(accessKeyId: string): Promise<{ secret: string; principal: Principal } | undefined>;
  /** Throws AccessDenied unless `caller` may PutObject `key` into the request's bucket; `fields` give the policy its condition keys. */
  authorizePut(caller: Principal | null, key: string, fields?: ReadonlyMap<string, string>): Promise<void>;
  /** Throws AccessDenied unless `caller` may also do each of `actions` on `key` (actions.ts objectWriteActions). */
  authorizeActions(caller: Principal | null, key: string, actions: readonly string[], fields: ReadonlyMap<string, string>): Promise<void>;
}

interface SizeRange {
  min: number;
  max: number;
}

/**
 * The signed policy of a form (SigV4: the signature is an HMAC of the base64 policy under
 * the key's signing key), checked against the form. No policy: an anonymous upload, which a
 * bucket policy must allow. https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html
 */
async function authenticateForm(fields: ReadonlyMap<string, string>, bucket: string, access: PostObjectAccess): Promise<{ caller: Principal | null; range?: SizeRange }> {
  const policyB64 = fields.get('policy');
  if (policyB64 === undefined) {
    if (fields.has('x-amz-signature') || fields.has('signature')) throw new S3Error('InvalidArgument', { message: 'Bucket POST must contain a field named policy when it is signed', extra: { ArgumentName: 'policy', ArgumentValue: '' } });
    return { caller: null };
  }
  if (fields.has('awsaccesskeyid')) return authenticateFormV2(fields, policyB64, bucket, access);
  const missing = ['x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature'].find((f) => !fields.get(f));
  if (missing) throw new S3Error('InvalidArgument', { message: `Bucket POST must contain a field named ${missing}`, extra: { ArgumentName: missing, ArgumentValue: '' } });
  if (fields.get('x-amz-algorithm') !== ALGORITHM) throw new S3Error('InvalidArgument', { message: 'Only AWS4-HMAC-SHA256 is supported', extra: { ArgumentName: 'x-amz-algorithm', ArgumentValue: fields.get('x-amz-algorithm')! } });
  const credential = parseCredential(fields.get('x-amz-credential')!);
  if (typeof credential === 'string') throw new S3Error('InvalidArgument', { message: `Invalid x-amz-credential: ${credential}`, extra: { ArgumentName: 'x-amz-credential', ArgumentValue: fields.get('x-amz-credential')! } });
  const date = fields.get('x-amz-date')!;
  if (!parseAmzDate(date) || !date.startsWith(credential.date)) {
    throw new S3Error('InvalidArgument', { message: 'x-amz-date must be YYYYMMDDTHHMMSSZ on the day of the credential', extra: { ArgumentName: 'x-amz-date', ArgumentValue: date } });
  }
  const key = await access.lookup(credential.accessKeyId);
  if (!key) throw new S3Error('InvalidAccessKeyId', { extra: { AWSAccessKeyId: credential.accessKeyId } });
  const expected = hmac(signingKey(key.secret, credential.date, credential.region, 's3'), policyB64).toString('hex');
  if (!signaturesEqual(expected, fields.get('x-amz-signature')!)) throw new S3Error('SignatureDoesNotMatch', { extra: { AWSAccessKeyId: credential.accessKeyId } });
  const range = checkPostPolicy(parsePostPolicy(policyB64), fields, bucket);
  return { caller: key.principal, ...(range && { range }) };
}

/**
 * A form signed with Signature Version 2 (boto3's generate_presigned_post by default):
 * `signature` is the base64 HMAC-SHA1 of the base64 policy under the secret key.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/HTTPPOSTForms.html
 */
async function authenticateFormV2(fields: ReadonlyMap<string, string>, policyB64: string, bucket: string, access: PostObjectAccess): Promise<{ caller: Principal | null; range?: SizeRange }> {
  const accessKeyId = fields.get('awsaccesskeyid')!;
  const signature = fields.get('signature');
  if (!signature) throw new S3Error('InvalidArgument', { message: 'Bucket POST must contain a field named signature', extra: { ArgumentName: 'signature', ArgumentValue: '' } });
  const key = await access.lookup(accessKeyId);
  if (!key) throw new S3Error('InvalidAccessKeyId', { extra: { AWSAccessKeyId: accessKeyId } });
  if (!base64SignatureEqual(sha1Base64(key.secret, policyB64), signature)) throw new S3Error('SignatureDoesNotMatch', { extra: { AWSAccessKeyId: accessKeyId } });
  const range = checkPostPolicy(parsePostPolicy(policyB64), fields, bucket);
  return { caller: key.principal, ...(range && { range }) };
}

/** The file's bytes, refused once they pass the policy's or S3's size limit or the bucket's quota, fed to `set` on the way. */
async function* limited(body: AsyncIterable<Buffer>, max: number, set: ChecksumSet, quota: QuotaRoom | undefined): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new S3Error('EntityTooLarge', { extra: { MaxSizeAllowed: String(max) } });
    if (quota && size > quota.room) throw quota.refuse(size);
    set.update(chunk);
    yield chunk;
  }
}

/**
 * The file's checksum as the form states it, in the fields PutObject takes as headers:
 * `x-amz-checksum-<algorithm>` (a value to verify) and `x-amz-checksum-algorithm` (which,
 * without a value, asks S3 to compute and store that checksum). The rules and errors are
 * PutObject's (expectedChecksums).
 */
function formChecksumPlan(fields: ReadonlyMap<string, string>): ChecksumPlan {
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) {
    if (name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-algorithm') headers[name] = value;
  }
  const named = fields.get('x-amz-checksum-algorithm')?.trim().toUpperCase();
  if (named === undefined) return expectedChecksums(headers);
  // With a value, the algorithm must agree with it, as x-amz-sdk-checksum-algorithm must.
  if (Object.keys(headers).length) return expectedChecksums({ ...headers, 'x-amz-sdk-checksum-algorithm': named });
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(named)) {
    throw new S3Error('InvalidRequest', { message: 'Value for x-amz-checksum-algorithm is invalid.' });
  }
  return expectedChecksums(headers, { defaultAlgorithm: named as ChecksumAlgorithm });
}

/**
 * PostObject: a browser form upload (multipart/form-data with the fields, then the file).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */
export async function handlePostObject(koa: Koa.Context, rc: ReqCtx, access: PostObjectAccess): Promise<void> {
  const bucket = bucketOf(rc);
  const boundary = formBoundary(koa.get('content-type') || undefined);
  const { fields, file } = await readForm(koa, boundary);
  const rawKey = fields.get('key');
  if (rawKey === undefined) {
    throw new S3Error('InvalidArgument', { message: "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", extra: { ArgumentName: 'key', ArgumentValue: '' } });
  }
  if (!file) throw new S3Error('IncorrectNumberOfFilesInPostRequest');
  // Never store in the clear what the uploader asked to have encrypted under its own key.
  if ([...fields.keys()].some((f) => f.startsWith('x-amz-server-side-encryption-customer-'))) {
    throw new S3Error('NotImplemented', { message: 'SSE-C fields in a POST form are not supported; upload with PutObject and the SSE-C headers' });
  }
  // The policy is checked against the key that will be written, not its template.
  const key = postKey(rawKey, file.filename);
  const { caller, range } = await authenticateForm(new Map(fields).set('key', key), bucket.name, access);
  checkObjectKey(key);
  refuseSosapiWrite(key);
  await access.authorizePut(caller, key, fields);
  const acl = await decideWithLookups((id: string) => userExists(rc.pipeline.meta, id), (isUser) => aclFromHeaders((name) => fields.get(name === 'x-amz-acl' ? 'acl' : name), isUser), { value: true });
  await checkAclAllowed(acl, () => publicAccessBlockOf(rc.pipeline.meta, bucket.name));
  const aclColumnOfForm = await objectAclColumn(rc, acl, fields.get('acl'), caller?.owner ?? ANONYMOUS_OWNER);
  // Only a Content-Type field sets the object's type, as on S3: the file part's own header is
  // whatever the uploader's browser says, and no policy condition covers it.
  const bag: Record<string, string> = Object.fromEntries(fields);
  const tags = formTags(fields.get('tagging'));
  // The fields are PutObject's headers: an ACL, tags or a lock each need their own permission,
  // and the bucket's default retention applies when the form names no lock.
  await access.authorizeActions(caller, key, objectWriteActions({ acl, tags: Boolean(tags?.length), ...lockHeadersAsked(bag) }), fields);
  // No digest is asked for, unlike PutObject's lock headers: a form has no Content-MD5 header.
  const lock = await lockForNewObject(rc.pipeline.meta, bucket.name, bag, false);
  const objectHeaders = extractObjectHeaders(bag);
  const userMeta = extractUserMetadata(bag);
  const plan = formChecksumPlan(fields);
  // MD5 is the ETag: the segment encoder computes it already, so it is not hashed twice.
  const set = new ChecksumSet(plan.compute.filter((n) => n !== 'MD5'));

  let blob: WrittenBlob | undefined;
  let checksums: Record<string, string>;
  try {
    blob = await putBlob(rc.pipeline, limited(file.body, Math.min(range?.max ?? MAX_PUT_BYTES, MAX_PUT_BYTES), set, await quotaRoom(rc, bucket.name, { key })));
    if (range && blob.size < range.min) throw new S3Error('EntityTooSmall', { extra: { MinSizeAllowed: String(range.min), ProposedSize: String(blob.size) } });
    checksums = storedChecksums(verifyChecksums(plan, { ...set.digest(), MD5: blob.md5.toString('base64') }));
  } catch (err) {
    if (blob?.blobId) await rc.pipeline.meta.discardBlob(blob.blobId);
    throw err;
  }
  const written = blob;
  const etag = written.md5.toString('hex');
  await commitOrDiscard(rc.pipeline, written, () => commitConditionally(rc.pipeline.meta, {
    bucket: bucket.name, key, size: written.size, etag, contentType: objectHeaders.contentType ?? null, headers: { ...objectHeaders },
    userMeta, checksums, partsCount: null, parts: [{ partNumber: 1, blobId: written.blobId, size: written.size, etag, checksums }],
    ...(lock && { lock }), acl: aclColumnOfForm,
  }, { ...(tags && { tags }), event: { name: 'ObjectCreated:Post', ...eventOrigin(rc, caller?.owner) } }, written.missed));
  answerStored(koa, etag, checksums);
  answer(koa, fields, bucket.name, key, etag);
}

/**
 * The form's fields and file. A form refused part way (too large, malformed) leaves the rest
 * of the body unread: the answer closes the connection, or the client would wait on it.
 */
async function readForm(koa: Koa.Context, boundary: string): Promise<PostForm> {
  const body = detachedBody(koa);
  try {
    return await readPostForm(body, boundary);
  } catch (err) {
    koa.set('connection', 'close');
    body.destroy();
    throw err;
  }
}

/** The `tagging` field: a Tagging document, as PutObjectTagging takes it (not PutObject's query string). */
function formTags(field: string | undefined): TagEntry[] | undefined {
  return field === undefined ? undefined : parseTagSet(field, 'object');
}

function answer(koa: Koa.Context, fields: ReadonlyMap<string, string>, bucket: string, key: string, etag: string): void {
  const location = `${koa.protocol}://${koa.get('host')}/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
  koa.set('location', location);
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (redirect && URL.canParse(redirect)) {
    const url = new URL(redirect);
    url.searchParams.set('bucket', bucket);
    url.searchParams.set('key', key);
    url.searchParams.set('etag', `"${etag}"`);
    koa.status = 303;
    koa.set('location', url.toString());
    koa.body = '';
    return;
  }
  const status = fields.get('success_action_status');
  if (status === '201') {
    koa.status = 201;
    koa.type = 'application/xml';
    koa.body = buildXml('PostResponse', { Location: location, Bucket: bucket, Key: key, ETag: `"${etag}"` }, null);
  } else {
    koa.status = status === '200' ? 200 : 204;
  }
}
