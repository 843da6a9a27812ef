import type Koa from 'koa';
import { createHash } from 'node:crypto';
import { objectWriteActions } from '../access/actions.js';
import { authorizeActions, objectAclColumn } from '../access/query.js';
import { randomAlnum } from '../ids.js';
import { ChecksumSet, checksumTypeOf, completedObjectChecksum, type CompletedObjectChecksum } from '../checksums.js';
import { combineBase64Crcs, CRC_SPECS } from '../crc-combine.js';
import type { ObjectRow, UploadRow } from '../meta/types.js';
import { answerStored, commitOrDiscard, receiveBody, storedChecksums } from '../object/receive.js';
import { bucketOf, keyOf, ownerOf, type ReqCtx } from '../request.js';
import { quotaRoom } from './quota.js';
import { readCheckedBody } from './body.js';
import { sendXml } from './bucket.js';
import {
  buildCompleteMultipartUploadResult, buildInitiateMultipartUploadResult, buildListPartsResult, parseCompleteMultipartUpload,
  type ChecksumAlgorithm, type Checksums,
} from './documents.js';
import { S3Error } from './errors.js';
import { extractObjectHeaders, extractUserMetadata, quoteEtag, unquoteEtag } from './headers.js';
import { checkObjectKey } from './names.js';
import { commitConditionally, writeOptionsOf } from './preconditions.js';
import { eventOrigin } from './notification.js';
import { parseTaggingHeader } from './tagging.js';
import { lockForNewObject, lockHeadersAsked, requireLockDigest } from './object-lock.js';
import { writtenVersionHeader } from './versioning.js';
import type { CompletedUpload } from '../meta/completed-uploads.js';
import { MetaNotFoundError } from '../meta/errors.js';
import { newSseC, parseCustomerKey, encryptionHeaders, uploadWrap, type CustomerKey } from './sse-c.js';

/** Every part but the last must be at least this big, as on AWS. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
const CHECKSUM_ALGORITHMS = new Set(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']);

/** The upload named by the request, in the request's bucket and key; NoSuchUpload otherwise. */
async function uploadOf(rc: ReqCtx, uploadId: string): Promise<UploadRow> {
  const u = await rc.pipeline.meta.getUpload(uploadId);
  if (!u || u.bucket !== bucketOf(rc).name || u.key !== keyOf(rc)) throw new S3Error('NoSuchUpload', { extra: { UploadId: uploadId } });
  return u;
}

/** CreateMultipartUpload — https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html */
export async function handleCreateMultipartUpload(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const key = keyOf(rc);
  checkObjectKey(key);
  const headers = koa.req.headersDistinct as Record<string, string[]>;
  // What the completed object will get (ACL, tags, lock) is decided, and authorized, now.
  const tags = parseTaggingHeader(headers);
  await authorizeActions(rc, objectWriteActions({ acl: rc.acl, tags: Boolean(tags?.length), ...lockHeadersAsked(headers) }), key);
  const objectHeaders = extractObjectHeaders(headers);
  const algorithm = koa.get('x-amz-checksum-algorithm').toUpperCase() || null;
  if (algorithm && !CHECKSUM_ALGORITHMS.has(algorithm)) {
    throw new S3Error('InvalidRequest', { message: 'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]' });
  }
  const lock = await lockForNewObject(rc.pipeline.meta, bucket.name, headers, false);
  const customerKey = parseCustomerKey(headers);
  const checksumType = koa.get('x-amz-checksum-type').toUpperCase() || null;
  if (checksumType !== null && checksumType !== 'COMPOSITE' && checksumType !== 'FULL_OBJECT') {
    throw new S3Error('InvalidRequest', { message: 'Value for x-amz-checksum-type header is invalid.' });
  }
  // Only CRCs combine into a whole-object value; SHA checksums of parts can only be composed.
  if (checksumType === 'FULL_OBJECT' && (algorithm === 'SHA1' || algorithm === 'SHA256')) {
    throw new S3Error('InvalidRequest', { message: `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.` });
  }
  const uploadId = randomAlnum(64);
  // Every part and the completed object take this salt: one key-encryption key per object.
  await rc.pipeline.meta.createUploadWith({
    id: uploadId, bucket: bucket.name, key, owner: rc.owner, createdAt: Date.now(),
    contentType: objectHeaders.contentType ?? null, headers: { ...objectHeaders }, userMeta: extractUserMetadata(headers),
    checksumAlgorithm: algorithm, checksumType, acl: await objectAclColumn(rc),
  }, tags, customerKey ? newSseC(customerKey) : null);
  // The lock is decided now (a default retention counts from the upload's creation) and applied on completion.
  if (lock) await rc.pipeline.meta.setUploadLock(uploadId, lock);
  if (algorithm) {
    // The type the object will get: CRC64NVME is always FULL_OBJECT, the others COMPOSITE unless asked (objectChecksum).
    koa.set({ 'x-amz-checksum-algorithm': algorithm, 'x-amz-checksum-type': checksumType ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE') });
  }
  koa.set(encryptionHeaders(customerKey));
  sendXml(koa, buildInitiateMultipartUploadResult({ bucket: bucket.name, key, uploadId }));
}

/** UploadPart — https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html */
export async function handleUploadPart(koa: Koa.Context, rc: ReqCtx, uploadId: string, partNumber: number): Promise<void> {
  await uploadOf(rc, uploadId);
  const headers = koa.req.headersDistinct as Record<string, string[]>;
  if (await rc.pipeline.meta.uploadLock(uploadId)) requireLockDigest(headers, 'Put Part');
  const customerKey = parseCustomerKey(headers);
  const wrap = uploadWrap(await rc.pipeline.meta.sseC.uploadSseC(uploadId), customerKey, true);
  const body = await receiveBody(koa, rc, wrap, await quotaRoom(rc, bucketOf(rc).name, { upload: { id: uploadId, partNumber } }));
  const checksums = storedChecksums(body.checksums);
  await commitOrDiscard(rc.pipeline, body.blob, () => rc.pipeline.meta.putPart(uploadId, {
    partNumber, blobId: body.blob.blobId, size: body.blob.size, etag: body.md5Hex, checksums, lastModified: Date.now(),
  }, body.blob.missed));
  answerStored(koa, body.md5Hex, checksums);
  koa.set(encryptionHeaders(customerKey));
}

/** CompleteMultipartUpload — https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html */
export async function handleCompleteMultipartUpload(koa: Koa.Context, rc: ReqCtx, uploadId: string): Promise<void> {
  const bucket = bucketOf(rc);
  const key = keyOf(rc);
  const upload = await rc.pipeline.meta.getUpload(uploadId);
  if (!upload || upload.bucket !== bucket.name || upload.key !== key) return answerRetriedComplete(koa, rc, uploadId);
  const headers = koa.req.headersDistinct as Record<string, string[]>;
  const customerKey = parseCustomerKey(headers);
  const sse = await rc.pipeline.meta.sseC.uploadSseC(uploadId);
  uploadWrap(sse, customerKey, false);
  const claimed = completedObjectChecksum(headers);
  const writeOptions = await writeOptionsOf(koa, rc);
  const requested = parseCompleteMultipartUpload(await readCompleteBody(koa, rc)).parts;
  const stored = new Map((await rc.pipeline.meta.allParts(uploadId)).map((p) => [p.partNumber, p]));
  // Every listed part must exist before any size matters: a list naming a missing part is
  // InvalidPart even when an earlier part is also too small, as AWS S3 answers.
  const parts = requested.map((r) => {
    const p = stored.get(r.partNumber);
    if (!p || unquoteEtag(r.etag) !== p.etag || !listedChecksumsMatch(r.checksums, p.checksums)) {
      throw new S3Error('InvalidPart', { extra: { UploadId: uploadId, PartNumber: String(r.partNumber), ETag: r.etag } });
    }
    return p;
  });
  for (const p of parts.slice(0, -1)) {
    if (p.size < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', { extra: { ProposedSize: String(p.size), MinSizeAllowed: String(MIN_PART_BYTES), PartNumber: String(p.partNumber), ETag: quoteEtag(p.etag) } });
    }
  }
  // The multipart ETag: MD5 of the concatenated binary part MD5s, then "-<part count>".
  const md5s = createHash('md5');
  for (const p of parts) md5s.update(Buffer.from(p.etag, 'hex'));
  const etag = `${md5s.digest('hex')}-${parts.length}`;
  const checksums = objectChecksum(upload.checksumAlgorithm as ChecksumAlgorithm | null, upload.checksumType, parts);
  checkClaimedChecksum(claimed, upload.checksumAlgorithm, checksums);
  const lock = await rc.pipeline.meta.uploadLock(uploadId);
  const now = Date.now();
  let row: ObjectRow;
  try {
    // The completion is recorded with the object, and its SSE-C parameters, in one
    // transaction, for a retried Complete.
    row = await commitConditionally(rc.pipeline.meta, {
      bucket: bucket.name, key, size: parts.reduce((s, p) => s + p.size, 0), etag,
      contentType: upload.contentType, headers: upload.headers, userMeta: upload.userMeta, checksums, partsCount: parts.length,
      parts: parts.map((p) => ({ partNumber: p.partNumber, blobId: p.blobId, size: p.size, etag: p.etag, checksums: p.checksums })),
      ...(lock && { lock }), acl: upload.acl,
    }, { ...writeOptions, sse, recordCompletion: true, event: { name: 'ObjectCreated:CompleteMultipartUpload', ...eventOrigin(rc) } }, [], now, uploadId);
  } catch (err) {
    // A retry that overtook the call it retries (still reading its document when the retry
    // came) finds the upload completed at commit: it gets that call's answer.
    const done = err instanceof MetaNotFoundError && err.what === 'upload' ? await rc.pipeline.meta.completedUploads.lookup(uploadId, bucket.name, key) : undefined;
    if (!done) throw err;
    return answerRecorded(koa, rc, done, claimed, customerKey);
  }
  await answerCompleted(koa, rc, { versionId: row.versionId, etag, checksums, sse: sse !== null, customerKey });
}

/**
 * A CompleteMultipartUpload whose upload is gone: if it is one that completed into this
 * bucket and key, and the version it made still stands, the same answer again, as AWS S3
 * gives it to a client that retries after losing the first answer; NoSuchUpload otherwise.
 * The write conditions are not checked again: they held for the write being answered.
 */
async function answerRetriedComplete(koa: Koa.Context, rc: ReqCtx, uploadId: string): Promise<void> {
  const done = await rc.pipeline.meta.completedUploads.lookup(uploadId, bucketOf(rc).name, keyOf(rc));
  if (!done) throw new S3Error('NoSuchUpload', { extra: { UploadId: uploadId } });
  const headers = koa.req.headersDistinct as Record<string, string[]>;
  const customerKey = parseCustomerKey(headers);
  const claimed = completedObjectChecksum(headers);
  // The document is still read and checked (its parts were checked by the first call).
  parseCompleteMultipartUpload(await readCompleteBody(koa, rc));
  await answerRecorded(koa, rc, done, claimed, customerKey);
}

/** The answer recorded for a completed upload, to a request whose SSE-C key and stated checksum agree with it. */
async function answerRecorded(
  koa: Koa.Context, rc: ReqCtx, done: CompletedUpload, claimed: CompletedObjectChecksum | undefined, customerKey: CustomerKey | undefined,
): Promise<void> {
  const sse = await rc.pipeline.meta.sseC.objectSseC(done.objectId);
  uploadWrap(sse, customerKey, false);
  const algorithm = Object.keys(done.checksums)[0]?.toUpperCase() ?? null;
  checkClaimedChecksum(claimed, algorithm, done.checksums);
  await answerCompleted(koa, rc, { versionId: done.versionId, etag: done.etag, checksums: done.checksums, sse: sse !== null, customerKey });
}

/** The CompleteMultipartUpload document; its x-amz-checksum-* headers are the object's (completedObjectChecksum). */
function readCompleteBody(koa: Koa.Context, rc: ReqCtx): Promise<Buffer> {
  return readCheckedBody(koa, rc, { limit: 4 * 1024 * 1024, requireDigest: false, objectChecksumHeaders: true });
}

/**
 * The object checksum a CompleteMultipartUpload states, against the one the object gets:
 * the upload's algorithm, and the same value (composite "<digest>-<parts>" or full object).
 */
function checkClaimedChecksum(claimed: CompletedObjectChecksum | undefined, algorithm: string | null, checksums: Record<string, string>): void {
  if (!claimed) return;
  if (claimed.algorithm !== algorithm) {
    throw new S3Error('InvalidRequest', {
      message: `Checksum Type mismatch occurred, expected checksum Type: ${algorithm?.toLowerCase() ?? 'null'}, actual checksum Type: ${claimed.algorithm.toLowerCase()}`,
    });
  }
  const computed = checksums[claimed.algorithm.toLowerCase()];
  if (computed === undefined) {
    throw new S3Error('InvalidRequest', { message: `The object's ${claimed.algorithm} cannot be checked: a part of the upload has no ${claimed.algorithm} checksum.` });
  }
  if (computed !== claimed.value) {
    throw new S3Error('BadDigest', {
      message: `The ${claimed.algorithm} you specified did not match the calculated checksum.`,
      extra: { ClientComputedChecksum: claimed.value, S3ComputedChecksum: computed },
    });
  }
}

async function answerCompleted(
  koa: Koa.Context, rc: ReqCtx, a: { versionId: string; etag: string; checksums: Record<string, string>; sse: boolean; customerKey: CustomerKey | undefined },
): Promise<void> {
  const bucket = bucketOf(rc);
  const key = keyOf(rc);
  // An SSE-C upload completes without the key: its algorithm is all there is to echo then.
  const encryption = a.sse && !a.customerKey ? { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' } : encryptionHeaders(a.customerKey);
  koa.set({ ...await writtenVersionHeader(rc.pipeline.meta, bucket.name, a.versionId), ...encryption });
  const host = koa.get('host') || 'localhost';
  const [whole] = Object.values(a.checksums);
  sendXml(koa, buildCompleteMultipartUploadResult({
    location: `${koa.protocol}://${host}/${encodeURIComponent(bucket.name)}/${key.split('/').map(encodeURIComponent).join('/')}`,
    bucket: bucket.name, key, etag: a.etag, checksums: a.checksums,
    // A completed upload's checksum is of the upload's one algorithm, if any (objectChecksum).
    ...(whole !== undefined && { checksumType: checksumTypeOf(whole) }),
  }));
}

/**
 * Whether the part checksums a CompleteMultipartUpload lists agree with the ones stored for
 * those parts (a mismatch is InvalidPart, as for an ETag). One the part was stored without
 * cannot be checked and is let through: the part's ETag already names its bytes.
 */
function listedChecksumsMatch(listed: Checksums, stored: Record<string, string>): boolean {
  return Object.entries(listed).every(([name, value]) => stored[name] === undefined || stored[name] === value);
}

/**
 * The object checksum of a completed multipart upload, from its parts' checksums, as S3
 * computes it. FULL_OBJECT (CRC64NVME always; CRC32 and CRC32C when the upload asked for it):
 * the CRC of the whole object, combined from the part CRCs and sizes without the bytes.
 * COMPOSITE (the default for CRC32, CRC32C, SHA1 and SHA256): the algorithm over the
 * concatenated binary part checksums, then "-<part count>". Nothing when a part lacks one.
 */
function objectChecksum(algorithm: ChecksumAlgorithm | null, type: string | null, parts: ReadonlyArray<{ size: number; checksums: Record<string, string> }>): Record<string, string> {
  if (!algorithm) return {};
  const name = algorithm.toLowerCase();
  if (!parts.every((p) => p.checksums[name])) return {};
  if (algorithm === 'CRC64NVME' || (type === 'FULL_OBJECT' && (algorithm === 'CRC32' || algorithm === 'CRC32C'))) {
    return { [name]: combineBase64Crcs(CRC_SPECS[algorithm], parts.map((p) => ({ crc: p.checksums[name]!, size: p.size }))) };
  }
  if (type === 'FULL_OBJECT') return {}; // SHA checksums cannot be combined; AWS refuses this at CreateMultipartUpload
  const set = new ChecksumSet([algorithm]);
  for (const p of parts) set.update(Buffer.from(p.checksums[name]!, 'base64'));
  return { [name]: `${set.digest()[algorithm]!}-${parts.length}` };
}

/** AbortMultipartUpload — https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html */
export async function handleAbortMultipartUpload(koa: Koa.Context, rc: ReqCtx, uploadId: string): Promise<void> {
  await uploadOf(rc, uploadId);
  await rc.pipeline.meta.abortUpload(uploadId);
  koa.status = 204;
}

/** ListParts — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html */
export async function handleListParts(koa: Koa.Context, rc: ReqCtx, uploadId: string, maxParts: number, marker: number): Promise<void> {
  const upload = await uploadOf(rc, uploadId);
  const rows = await rc.pipeline.meta.listParts(uploadId, marker, maxParts + 1);
  const truncated = rows.length > maxParts;
  const parts = rows.slice(0, maxParts);
  const last = parts[parts.length - 1];
  sendXml(koa, buildListPartsResult({
    bucket: upload.bucket, key: upload.key, uploadId, partNumberMarker: marker,
    ...(last ? { nextPartNumberMarker: last.partNumber } : {}),
    maxParts, isTruncated: truncated,
    parts: parts.map((p) => ({ partNumber: p.partNumber, lastModified: p.lastModified, etag: p.etag, size: p.size, checksums: p.checksums })),
    initiator: ownerOf(upload.owner), owner: ownerOf(upload.owner),
    ...(upload.checksumAlgorithm ? { checksumAlgorithm: upload.checksumAlgorithm as ChecksumAlgorithm } : {}),
  }));
}
