import type Koa from 'koa';
import { pipeline } from 'node:stream/promises';
import { headerValue } from '../auth/canonical.js';
import { createPayloadVerifier } from '../auth/payload.js';
import { ChecksumSet, expectedChecksums, verifyChecksums, withoutObjectChecksumHeaders } from '../checksums.js';
import { detachedBody } from '../object/request-body.js';
import { StageErrors } from '../object/stage-errors.js';
import type { ReqCtx } from '../request.js';
import { S3Error } from './errors.js';

/**
 * A request document (XML) read whole, with the same integrity checks as an object body:
 * the SigV4 payload hash or aws-chunked signatures, Content-MD5 and any x-amz-checksum-*
 * (header or trailer). With `requireDigest`, a request that carries neither Content-MD5 nor
 * an additional checksum is refused, as AWS S3 refuses it for DeleteObjects and PutBucketTagging.
 * With `objectChecksumHeaders`, x-amz-checksum-* headers are left to the caller: on
 * CompleteMultipartUpload they state the completed object's checksum, not this document's.
 */
export async function readCheckedBody(
  koa: Koa.Context, rc: ReqCtx, opts: { limit: number; requireDigest: boolean; objectChecksumHeaders?: boolean },
): Promise<Buffer> {
  const headers = koa.req.headersDistinct as Record<string, string[]>;
  const plan = expectedChecksums(opts.objectChecksumHeaders ? withoutObjectChecksumHeaders(headers) : headers);
  if (opts.requireDigest && plan.contentMd5 === undefined && plan.expected === undefined) {
    throw new S3Error('InvalidRequest', { message: 'Missing required header for this request: Content-MD5' });
  }
  // A document declared too large is refused before a byte of it is asked for, and the
  // connection closed: its body is not worth reading to reuse it.
  const declared = Number(headerValue(headers, 'x-amz-decoded-content-length') ?? headerValue(headers, 'content-length'));
  if (declared > opts.limit) {
    koa.set('connection', 'close');
    throw new S3Error('MaxMessageLengthExceeded');
  }
  const verifier = createPayloadVerifier(rc.auth, headers);
  const set = new ChecksumSet(plan.compute);
  const chunks: Buffer[] = [];
  let size = 0;
  const stages = new StageErrors();
  await pipeline(detachedBody(koa), verifier, stages.sink(async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > opts.limit) throw new S3Error('MaxMessageLengthExceeded');
      set.update(chunk);
      chunks.push(chunk);
    }
  })).catch((err: unknown) => stages.rethrow(err));
  verifyChecksums(plan, set.digest(), verifier.trailers);
  return Buffer.concat(chunks);
}
