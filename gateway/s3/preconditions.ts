import type Koa from 'koa';
import { MetaPreconditionError } from '../meta/errors.js';
import { writeConditionFailure } from '../meta/rules.js';
import { type MetaStore } from '../meta/store.js';
import type { MissedPiece, NewObject, ObjectRow, ObjectWriteOptions, WriteCondition, WriteConditionFailure } from '../meta/types.js';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';
import { S3Error } from './errors.js';
import { headerOf, parseHttpDate, unquoteEtag, type HeaderBag } from './headers.js';
import { parseTaggingHeader } from './tagging.js';

/**
 * Conditional writes (`If-None-Match: *`, `If-Match: "etag"` on PutObject,
 * CompleteMultipartUpload and CopyObject) and the copy-source conditions of CopyObject and
 * UploadPartCopy.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 *
 * A write condition is checked twice: when the request arrives, so a write that cannot
 * succeed fails before its body is stored (412, or 404 for If-Match on a missing key), and
 * again inside the metadata transaction that commits the write, so that of racing writes
 * exactly one wins. A condition that held on arrival and fails at commit means a
 * concurrent write won: 409 ConditionalRequestConflict, and the client may retry.
 */

/** The write condition of a request's If-None-Match / If-Match headers, if any. */
export function parseWriteCondition(headers: HeaderBag): WriteCondition | undefined {
  const ifNoneMatch = headerOf(headers, 'if-none-match')?.trim();
  const ifMatch = headerOf(headers, 'if-match')?.trim();
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  const condition: WriteCondition = {};
  if (ifNoneMatch !== undefined) {
    // AWS S3 accepts only `*` here on writes.
    if (ifNoneMatch !== '*') throw new S3Error('NotImplemented', { message: 'If-None-Match on a write accepts only *', extra: { Header: 'If-None-Match' } });
    condition.ifNoneMatch = true;
  }
  if (ifMatch !== undefined) {
    if (ifMatch === '' || ifMatch.includes(',')) throw new S3Error('NotImplemented', { message: 'If-Match on a write accepts one ETag', extra: { Header: 'If-Match' } });
    condition.ifMatch = ifMatch === '*' ? '*' : unquoteEtag(ifMatch.replace(/^W\//, ''));
  }
  return condition;
}

/** The error for a write condition that fails when the request arrives. */
function arrivalError(failure: WriteConditionFailure, key: string): S3Error {
  switch (failure) {
    case 'exists':
      return new S3Error('PreconditionFailed', { extra: { Condition: 'If-None-Match' } });
    case 'etag-mismatch':
      return new S3Error('PreconditionFailed', { extra: { Condition: 'If-Match' } });
    case 'absent':
      return new S3Error('NoSuchKey', { extra: { Key: key } });
  }
}

/** Throws the 412/404 of a write condition that does not hold for the key right now. */
export async function checkWriteConditionOnArrival(meta: MetaStore, bucket: string, key: string, condition: WriteCondition): Promise<void> {
  const failure = writeConditionFailure(await meta.getObject(bucket, key), condition);
  if (failure) throw arrivalError(failure, key);
}

/**
 * `MetaStore.commitObjectWith` for a request whose condition held on arrival: a failure at
 * commit is a lost race, 409 ConditionalRequestConflict.
 */
export async function commitConditionally(
  meta: MetaStore, o: NewObject, opts: ObjectWriteOptions, missed?: MissedPiece[], now?: number, uploadId?: string,
): Promise<ObjectRow> {
  try {
    return await meta.commitObjectWith(o, opts, missed, now, uploadId);
  } catch (err) {
    if (err instanceof MetaPreconditionError) throw new S3Error('ConditionalRequestConflict', { extra: { Key: o.key }, cause: err });
    throw err;
  }
}

/**
 * The write options of a PutObject or CompleteMultipartUpload: its If-None-Match/If-Match
 * condition, checked now so a write that cannot succeed fails before its body is stored,
 * and (PutObject) its x-amz-tagging. Pass them to `commitConditionally`. A completed upload
 * takes the tags given when it was created.
 */
export async function writeOptionsOf(koa: Koa.Context, rc: ReqCtx): Promise<ObjectWriteOptions> {
  const headers = koa.req.headersDistinct as HeaderBag;
  const condition = parseWriteCondition(headers);
  const tags = rc.endpoint.kind === 'CompleteMultipartUpload' ? undefined : parseTaggingHeader(headers);
  if (condition) await checkWriteConditionOnArrival(rc.pipeline.meta, bucketOf(rc).name, keyOf(rc), condition);
  return { ...(condition && { condition }), ...(tags && { tags }) };
}

/**
 * The copy-source conditions of CopyObject and UploadPartCopy, against the source version:
 * 412 PreconditionFailed when one fails. As AWS S3 combines them, a matching
 * x-amz-copy-source-if-match overrides a failing if-unmodified-since, and a failing
 * if-none-match is not excused by a passing if-modified-since.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html#API_CopyObject_RequestSyntax
 */
export function checkCopySourceConditions(headers: HeaderBag, source: { etag: string; lastModified: number }): void {
  const ifMatch = headerOf(headers, 'x-amz-copy-source-if-match');
  const ifNoneMatch = headerOf(headers, 'x-amz-copy-source-if-none-match');
  const ifModifiedSince = parseHttpDate(headerOf(headers, 'x-amz-copy-source-if-modified-since'));
  const ifUnmodifiedSince = parseHttpDate(headerOf(headers, 'x-amz-copy-source-if-unmodified-since'));
  // HTTP dates have whole seconds.
  const modified = Math.floor(source.lastModified / 1000) * 1000;
  const failed = (condition: string): S3Error => new S3Error('PreconditionFailed', { extra: { Condition: condition } });
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, source.etag)) throw failed('x-amz-copy-source-If-Match');
  } else if (ifUnmodifiedSince && modified > ifUnmodifiedSince.getTime()) {
    throw failed('x-amz-copy-source-If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, source.etag)) throw failed('x-amz-copy-source-If-None-Match');
  } else if (ifModifiedSince && ifModifiedSince.getTime() <= Date.now() && modified <= ifModifiedSince.getTime()) {
    throw failed('x-amz-copy-source-If-Modified-Since');
  }
}

function etagListMatches(header: string, etag: string): boolean {
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || unquoteEtag(v.replace(/^W\//, '')) === etag;
  });
}
