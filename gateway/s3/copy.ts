import type Koa from 'koa';
import { objectWriteActions } from '../access/actions.js';
import { CHECKSUM_ALGORITHMS, ChecksumSet, type ChecksumAlgorithm } from '../checksums.js';
import type { NewObject, PartRef, VersionRow } from '../meta/types.js';
import { openObjectStream } from '../object/read.js';
import { putBlob, type KeyWrap, type WrittenBlob } from '../pipeline/put-blob.js';
import type { KeyUnwrap } from '../pipeline/read-blob.js';
import { newSseC, parseCustomerKey, readerFor, encryptionHeaders, uploadWrap, wrapFor } from './sse-c.js';
import { commitOrDiscard, MAX_PUT_BYTES } from '../object/receive.js';
import { authorize } from '../access/authorize.js';
import { checkExpectedBucketOwner, SOURCE_EXPECTED_BUCKET_OWNER } from '../access/expected-owner.js';
import { accessQuery, authorizeActions, objectAclColumn } from '../access/query.js';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';
import { checkQuota } from './quota.js';
import { sendXml } from './bucket.js';
import { buildCopyObjectResult, buildCopyPartResult, type Checksums } from './documents.js';
import { S3Error } from './errors.js';
import { extractObjectHeaders, extractUserMetadata, headerOf, type ByteRange, type HeaderBag } from './headers.js';
import { eventOrigin } from './notification.js';
import { checkCopySourceConditions, checkWriteConditionOnArrival, commitConditionally, parseWriteCondition } from './preconditions.js';
import type { CopySource } from './router.js';
import { parseTaggingHeader } from './tagging.js';
import { lockForNewObject, lockHeadersAsked } from './object-lock.js';
import { resolveVersion, writtenVersionHeader } from './versioning.js';

/**
 * CopyObject and UploadPartCopy. The bytes are read from the source's blobs and streamed
 * into a new blob, as a PUT of them would be: re-encrypted under a fresh data key, never
 * held whole in memory (a few segments in flight on each side), and never shared with the
 * source, so deleting either object leaves the other intact.
 */

/** Largest source CopyObject takes in one request, as on AWS; larger objects are copied with UploadPartCopy. */
export const MAX_COPY_BYTES = 5 * 1024 ** 3;

interface Source {
  obj: VersionRow;
  parts: PartRef[];
  /** Opens the source's data keys: set for an SSE-C source (x-amz-copy-source-server-side-encryption-customer-*). */
  unwrap: KeyUnwrap | undefined;
}

/** The source version of a copy, after the checks AWS S3 makes on it. */
async function resolveSource(rc: ReqCtx, headers: HeaderBag, src: CopySource): Promise<Source> {
  const meta = rc.pipeline.meta;
  const bucket = await meta.getBucket(src.bucket);
  if (!bucket) throw new S3Error('NoSuchBucket', { extra: { BucketName: src.bucket } });
  checkExpectedBucketOwner(headerOf(headers, SOURCE_EXPECTED_BUCKET_OWNER), bucket);
  // Reading the source needs GetObject on it, decided as for any GET (owner, policy, ACL).
  authorize(await accessQuery(meta, 'GetObject', 'read', bucket, src.key, rc.principal, src.versionId, rc.facts));
  let obj: VersionRow;
  try {
    obj = await resolveVersion(meta, src.bucket, src.key, src.versionId);
  } catch (err) {
    // A delete marker named by version id cannot be a copy source.
    if (err instanceof S3Error && err.code === 'MethodNotAllowed') {
      throw new S3Error('InvalidRequest', { message: 'The source of a copy request may not specifically refer to a delete marker by version id.', cause: err });
    }
    throw err;
  }
  const unwrap = readerFor(await meta.sseC.objectSseC(obj.id), parseCustomerKey(headers, 'copy-source'));
  checkCopySourceConditions(headers, obj);
  return { obj, parts: await meta.objectParts(obj.id), unwrap };
}

interface Copied {
  blob: WrittenBlob;
  md5Hex: string;
  /** Lower-case algorithm → base64 value, as stored. */
  checksums: Record<string, string>;
}

/** Bytes [start, end] of the source into a new blob, with the `algorithm` checksum of them. */
async function copyBytes(
  rc: ReqCtx, src: Source, start: number, end: number, algorithm: ChecksumAlgorithm | undefined, wrap: KeyWrap | undefined,
): Promise<Copied> {
  const ctx = rc.pipeline;
  const set = new ChecksumSet(algorithm ? [algorithm] : []);
  const stream = await openObjectStream(ctx, src.parts, start, end, src.unwrap);
  const blob = await putBlob(ctx, (async function* () {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      set.update(chunk);
      yield chunk;
    }
  })(), wrap);
  const digest = set.digest();
  const checksums = algorithm && digest[algorithm] ? { [algorithm.toLowerCase()]: digest[algorithm] } : {};
  return { blob, md5Hex: blob.md5.toString('hex'), checksums };
}

/** The checksum to compute for a copy: the one the request names, else the source's own. */
function copyAlgorithm(headers: HeaderBag, sourceChecksums: Record<string, string>): ChecksumAlgorithm | undefined {
  const requested = headerOf(headers, 'x-amz-checksum-algorithm')?.trim().toUpperCase();
  if (requested !== undefined && requested !== '') {
    if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(requested)) {
      throw new S3Error('InvalidRequest', { message: 'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]' });
    }
    return requested as ChecksumAlgorithm;
  }
  const stored = Object.keys(sourceChecksums)[0]?.toUpperCase();
  return stored !== undefined && (CHECKSUM_ALGORITHMS as readonly string[]).includes(stored) ? (stored as ChecksumAlgorithm) : undefined;
}

function directive(headers: HeaderBag, name: 'x-amz-metadata-directive' | 'x-amz-tagging-directive'): 'COPY' | 'REPLACE' {
  const v = headerOf(headers, name)?.trim();
  if (v === undefined) return 'COPY';
  if (v === 'COPY' || v === 'REPLACE') return v;
  const what = name === 'x-amz-metadata-directive' ? 'metadata' : 'tagging';
  throw new S3Error('InvalidArgument', { message: `Unknown ${what} directive.`, extra: { ArgumentName: name, ArgumentValue: v } });
}

/**
 * A copy onto its own source must change something, or AWS S3 refuses it. The storage
 * class, encryption and website redirect headers count as changes there, so they do here.
 * A source named by its versionId is not "itself": copying an older version onto its key is
 * how S3 documents restoring it.
 */
function checkSelfCopy(rc: ReqCtx, headers: HeaderBag, src: CopySource, metadataDirective: 'COPY' | 'REPLACE'): void {
  if (src.bucket !== bucketOf(rc).name || src.key !== keyOf(rc) || metadataDirective === 'REPLACE' || src.versionId !== undefined) return;
  const changes = ['x-amz-storage-class', 'x-amz-server-side-encryption', 'x-amz-website-redirect-location', 'x-amz-server-side-encryption-customer-algorithm'];
  if (changes.some((h) => headerOf(headers, h) !== undefined)) return;
  throw new S3Error('InvalidRequest', {
    message: "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
  });
}

function toChecksums(stored: Record<string, string>): Checksums {
  return stored;
}

/** CopyObject — https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html */
export async function handleCopyObject(koa: Koa.Context, rc: ReqCtx, copySource: CopySource): Promise<void> {
  const bucket = bucketOf(rc);
  const key = keyOf(rc);
  const headers = koa.req.headersDistinct as HeaderBag;
  // Everything the request itself gets wrong fails before the source is looked at.
  const metadataDirective = directive(headers, 'x-amz-metadata-directive');
  const taggingDirective = directive(headers, 'x-amz-tagging-directive');
  const replaced = metadataDirective === 'REPLACE' ? { headers: extractObjectHeaders(headers), userMeta: extractUserMetadata(headers) } : undefined;
  const replacedTags = taggingDirective === 'REPLACE' ? parseTaggingHeader(headers) ?? [] : undefined;
  const condition = parseWriteCondition(headers);
  const customerKey = parseCustomerKey(headers);
  checkSelfCopy(rc, headers, copySource, metadataDirective);
  // An ACL, new tags or a lock in the headers each need their own permission on the destination.
  await authorizeActions(rc, objectWriteActions({ acl: rc.acl, tags: Boolean(replacedTags?.length), ...lockHeadersAsked(headers) }), key);

  const src = await resolveSource(rc, headers, copySource);
  if (src.obj.size > MAX_COPY_BYTES) {
    throw new S3Error('InvalidRequest', { message: `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_BYTES}` });
  }
  if (condition) await checkWriteConditionOnArrival(rc.pipeline.meta, bucket.name, key, condition);
  const lock = await lockForNewObject(rc.pipeline.meta, bucket.name, headers, false);
  const tags = replacedTags ?? await rc.pipeline.meta.objectTags(src.obj.id);
  const objectHeaders = replaced?.headers ?? src.obj.headers;
  const sse = customerKey ? newSseC(customerKey) : null;
  const wrap = sse && customerKey ? wrapFor(sse, customerKey) : undefined;
  await checkQuota(rc, bucket.name, src.obj.size, { key });
  const copied = await copyBytes(rc, src, 0, src.obj.size - 1, copyAlgorithm(headers, src.obj.checksums), wrap);
  const blobId = copied.blob.blobId;
  const o: NewObject = {
    bucket: bucket.name, key, size: copied.blob.size, etag: copied.md5Hex,
    contentType: replaced ? replaced.headers.contentType ?? null : src.obj.contentType,
    headers: { ...objectHeaders }, userMeta: replaced?.userMeta ?? src.obj.userMeta, checksums: copied.checksums, partsCount: null,
    parts: [{ partNumber: 1, blobId, size: copied.blob.size, etag: copied.md5Hex, checksums: copied.checksums }],
    // ACLs are not copied: the new object is private unless the copy asks otherwise, as on S3.
    ...(lock && { lock }), acl: await objectAclColumn(rc),
  };
  // The SSE-C parameters are recorded in the same commit as the version.
  const row = await commitOrDiscard(rc.pipeline, copied.blob, () => commitConditionally(rc.pipeline.meta, o, {
    ...(condition && { condition }), tags, sse, event: { name: 'ObjectCreated:Copy', ...eventOrigin(rc) },
  }, copied.blob.missed));
  koa.set({
    ...encryptionHeaders(customerKey),
    ...await writtenVersionHeader(rc.pipeline.meta, bucket.name, row.versionId),
    ...((await rc.pipeline.meta.bucketVersioning(copySource.bucket)) !== null && { 'x-amz-copy-source-version-id': src.obj.versionId }),
  });
  sendXml(koa, buildCopyObjectResult({
    etag: row.etag, lastModified: row.lastModified, checksums: toChecksums(copied.checksums),
    ...(Object.keys(copied.checksums).length > 0 && { checksumType: 'FULL_OBJECT' as const }),
  }));
}

/** UploadPartCopy — https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html */
export async function handleUploadPartCopy(
  koa: Koa.Context, rc: ReqCtx, uploadId: string, partNumber: number, copySource: CopySource, range: ByteRange | undefined,
): Promise<void> {
  const meta = rc.pipeline.meta;
  const headers = koa.req.headersDistinct as HeaderBag;
  const upload = await meta.getUpload(uploadId);
  if (!upload || upload.bucket !== bucketOf(rc).name || upload.key !== keyOf(rc)) throw new S3Error('NoSuchUpload', { extra: { UploadId: uploadId } });
  const customerKey = parseCustomerKey(headers);
  const wrap = uploadWrap(await meta.sseC.uploadSseC(uploadId), customerKey, true);
  const src = await resolveSource(rc, headers, copySource);
  const size = src.obj.size;
  if (range && (range.start >= size || range.end >= size)) {
    throw new S3Error('InvalidRange', {
      message: `Range specified is not valid for source object of size: ${size}`,
      extra: { RangeRequested: `bytes=${range.start}-${range.end}`, ActualObjectSize: String(size) },
    });
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  if (end - start + 1 > MAX_PUT_BYTES) {
    throw new S3Error('EntityTooLarge', { extra: { ProposedSize: String(end - start + 1), MaxSizeAllowed: String(MAX_PUT_BYTES) } });
  }
  await checkQuota(rc, upload.bucket, end - start + 1, { upload: { id: uploadId, partNumber } });
  // A part carries the checksum its upload was created with, so CompleteMultipartUpload can combine them.
  const algorithm = upload.checksumAlgorithm ? (upload.checksumAlgorithm as ChecksumAlgorithm) : undefined;
  const copied = await copyBytes(rc, src, start, end, algorithm, wrap);
  const lastModified = Date.now();
  await commitOrDiscard(rc.pipeline, copied.blob, () => meta.putPart(uploadId, {
    partNumber, blobId: copied.blob.blobId, size: copied.blob.size, etag: copied.md5Hex, checksums: copied.checksums, lastModified,
  }, copied.blob.missed));
  if ((await meta.bucketVersioning(copySource.bucket)) !== null) koa.set('x-amz-copy-source-version-id', src.obj.versionId);
  koa.set(encryptionHeaders(customerKey));
  sendXml(koa, buildCopyPartResult({ etag: copied.md5Hex, lastModified, checksums: toChecksums(copied.checksums) }));
}
