import type Koa from 'koa';
import { pipeline } from 'node:stream/promises';
import { headerValue } from '../auth/canonical.js';
import { createPayloadVerifier } from '../auth/payload.js';
import { ChecksumSet, expectedChecksums, verifyChecksums, type VerifiedChecksums } from '../checksums.js';
import type { PipelineContext } from '../pipeline/context.js';
import { putBlob, type KeyWrap, type WrittenBlob } from '../pipeline/put-blob.js';
import { detachedBody } from './request-body.js';
import { StageErrors } from './stage-errors.js';
import type { ReqCtx } from '../request.js';
import { S3Error } from '../s3/errors.js';

/** How many bytes a write may still add to its bucket, and the error past that. */
export interface QuotaRoom {
  room: number;
  refuse(size: number): Error;
}

/** Largest single PUT or part, as on AWS. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;

export interface ReceivedBody {
  blob: WrittenBlob;
  /** Hex MD5 of the bytes received: the single-part ETag. */
  md5Hex: string;
  checksums: VerifiedChecksums;
}

/** Stored checksums: lower-case algorithm name → base64 value, as x-amz-checksum-<name> carries it. */
export function storedChecksums(v: VerifiedChecksums): Record<string, string> {
  return v.algorithm && v.value ? { [v.algorithm.toLowerCase()]: v.value } : {};
}

/**
 * Stream a request body into a new blob: SigV4 payload checks (aws-chunked, signed
 * SHA-256), additional checksums and Content-MD5 are verified on the way. Nothing becomes
 * visible here; on any failure the blob is discarded and the error thrown.
 */
export async function receiveBody(koa: Koa.Context, rc: ReqCtx, wrap?: KeyWrap, quota?: QuotaRoom): Promise<ReceivedBody> {
  const headers = koa.req.headersDistinct as Record<string, string[]>;
  const declared = declaredLength(koa);
  const tooLarge = (size: number): S3Error => new S3Error('EntityTooLarge', { extra: { ProposedSize: String(size), MaxSizeAllowed: String(MAX_PUT_BYTES) } });
  if (declared !== undefined && declared > MAX_PUT_BYTES) throw tooLarge(declared);
  // A body past the bucket's quota is refused before it is stored; the commit checks again.
  if (declared !== undefined && quota && declared > quota.room) throw quota.refuse(declared);
  let received = 0;
  const plan = expectedChecksums(headers);
  const verifier = createPayloadVerifier(rc.auth, headers);
  // MD5 is the ETag: the segment encoder computes it already, so it is not hashed twice.
  const set = new ChecksumSet(plan.compute.filter((n) => n !== 'MD5'));
  let blob: WrittenBlob | undefined;
  const ctx: PipelineContext = rc.pipeline;
  const stages = new StageErrors();
  try {
    await pipeline(detachedBody(koa), verifier, stages.through(async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        // A chunked body declares no length: the limit holds as it arrives.
        if ((received += chunk.length) > MAX_PUT_BYTES) throw tooLarge(received);
        if (quota && received > quota.room) throw quota.refuse(received);
        set.update(chunk);
        yield chunk;
      }
    }), stages.sink(async (source: AsyncIterable<Buffer>) => {
      blob = await putBlob(ctx, source, wrap);
    })).catch((err: unknown) => stages.rethrow(err));
    const written = blob!;
    const computed = { ...set.digest(), MD5: written.md5.toString('base64') };
    const checksums = verifyChecksums(plan, computed, verifier.trailers);
    return { blob: written, md5Hex: written.md5.toString('hex'), checksums };
  } catch (err) {
    if (blob?.blobId) await ctx.meta.discardBlob(blob.blobId);
    throw err;
  }
}

/**
 * The object's length as the request declares it. A body sent with `Transfer-Encoding:
 * chunked` (`curl -T -` from a pipe) has none and streams to its end; any other request
 * without a length is MissingContentLength.
 */
function declaredLength(koa: Koa.Context): number | undefined {
  const h = koa.req.headersDistinct as Record<string, string[]>;
  const decoded = headerValue(h, 'x-amz-decoded-content-length');
  const plain = headerValue(h, 'content-length');
  const v = decoded ?? plain;
  if (v === undefined) {
    if (/\bchunked\b/i.test(headerValue(h, 'transfer-encoding') ?? '')) return undefined;
    throw new S3Error('MissingContentLength');
  }
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
    throw new S3Error('InvalidArgument', { message: 'Content-Length must be a non-negative integer', extra: { ArgumentName: 'Content-Length', ArgumentValue: v } });
  }
  return n;
}

/**
 * Run the metadata commit that makes a freshly written blob visible. If the commit fails
 * (a lost condition, an upload aborted meanwhile), nothing refers to the blob: it is
 * garbage, and its shard files are collected.
 */
export async function commitOrDiscard<T>(ctx: PipelineContext, blob: WrittenBlob, commit: () => Promise<T>): Promise<T> {
  try {
    return await commit();
  } catch (err) {
    if (blob.blobId) await ctx.meta.discardBlob(blob.blobId);
    throw err;
  }
}

/** The answer to a PUT of bytes (PutObject, UploadPart): the ETag and the checksums stored. */
export function answerStored(koa: Koa.Context, md5Hex: string, checksums: Record<string, string>): void {
  koa.set('etag', `"${md5Hex}"`);
  for (const [alg, v] of Object.entries(checksums)) koa.set(`x-amz-checksum-${alg}`, v);
  koa.status = 200;
}
