import type { ServerResponse } from 'node:http';
import type Koa from 'koa';
import { segmentBuffers } from '../../codec/buffer-pool.js';
import { checksumTypeOf } from '../checksums.js';
import { actionOf } from '../access/actions.js';
import { permitsAction } from '../access/query.js';
import type { ObjectRow, PartRef, VersionRow } from '../meta/types.js';
import { openObjectBody, partRange } from '../object/read.js';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';
import { checkReadConditions } from './conditions.js';
import { S3Error } from './errors.js';
import { lockHeaders } from './object-lock.js';
import { resolveVersion, versionHeader, versionIdOf } from './versioning.js';
import type { KeyUnwrap } from '../pipeline/read-blob.js';
import { parseCustomerKey, readerFor, encryptionHeaders } from './sse-c.js';
import {
  contentRange, formatHttpDate, objectResponseHeaders, parseRange, quoteEtag, RESPONSE_OVERRIDE_PARAMS,
  userMetadataHeaders, type ByteRange, type ResponseOverrides,
} from './headers.js';

interface Located {
  obj: VersionRow;
  parts: PartRef[];
  range: ByteRange | null;
  /** 206 when a Range or partNumber selected part of the object. */
  partial: boolean;
  /** How the blobs' data keys open: set for an SSE-C object, after the request's key was checked. */
  unwrap: KeyUnwrap | undefined;
  /** Headers echoing the request's SSE-C key. */
  sseC: Record<string, string>;
}

/**
 * The `response-*` overrides rewrite what a response says about the object (Content-Type,
 * Content-Disposition, ...): from anyone, they would let any public object be served as
 * text/html from this origin. As S3 does, only a signed request (the signer chose them; a
 * presigned URL covers its whole query) may use them.
 */
function refuseAnonymousOverrides(koa: Koa.Context, rc: ReqCtx): void {
  if (rc.auth !== null) return;
  if (Object.keys(RESPONSE_OVERRIDE_PARAMS).some((param) => koa.query[param] !== undefined)) {
    throw new S3Error('InvalidRequest', { message: 'Request specific response headers cannot be used for anonymous GET requests.' });
  }
}

/** Find the object and the bytes a GET/HEAD asks for; shared by both operations. */
async function locate(koa: Koa.Context, rc: ReqCtx): Promise<Located> {
  refuseAnonymousOverrides(koa, rc);
  const bucket = bucketOf(rc);
  const key = keyOf(rc);
  const obj = await resolveVersion(rc.pipeline.meta, bucket.name, key, versionIdOf(rc.endpoint));
  const customerKey = parseCustomerKey(koa.req.headersDistinct);
  const unwrap = readerFor(obj.inline ? obj.inline.sseC : await rc.pipeline.meta.sseC.objectSseC(obj.id), customerKey);
  const sseC = encryptionHeaders(customerKey);
  const parts = obj.inline?.part ? [obj.inline.part.ref] : await rc.pipeline.meta.objectParts(obj.id);
  const partParam = koa.query.partNumber;
  if (partParam !== undefined) {
    const n = Number(partParam);
    if (!/^\d+$/.test(String(partParam)) || n < 1 || n > 10000) {
      throw new S3Error('InvalidArgument', { message: 'Part number must be an integer between 1 and 10000, inclusive', extra: { ArgumentName: 'partNumber', ArgumentValue: String(partParam) } });
    }
    if (koa.get('range')) throw new S3Error('InvalidRequest', { message: 'Cannot specify both Range header and partNumber query parameter' });
    // A single-part object is its own part 1.
    const r = obj.partsCount === null ? (n === 1 ? { start: 0, end: obj.size - 1 } : undefined) : partRange(parts, n);
    if (!r) throw new S3Error('InvalidPartNumber', { message: 'The requested partnumber is not satisfiable', extra: { PartNumberRequested: String(n), ActualPartCount: String(obj.partsCount ?? 1) } });
    return { obj, parts, range: r.end >= r.start ? r : null, partial: obj.partsCount !== null, unwrap, sseC };
  }
  const range = parseRange(koa.get('range') || undefined, obj.size);
  return { obj, parts, range, partial: range !== null, unwrap, sseC };
}

/**
 * What a GET or HEAD tells about a version's lock and tags, each only to a caller who may read
 * it: the retention (mode, retain-until date) with s3:GetObjectRetention, the legal hold with
 * s3:GetObjectLegalHold, the tag count with s3:GetObjectTagging, as S3 answers. A public-read
 * object otherwise tells anyone how long it is locked and how many tags it has.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
 */
async function guardedHeaders(rc: ReqCtx, obj: VersionRow): Promise<Record<string, string>> {
  const versionId = versionIdOf(rc.endpoint);
  const may = (action: string): Promise<boolean> => permitsAction(rc, action, obj.key, versionId);
  const out = lockHeaders(obj.lock);
  if (out['x-amz-object-lock-mode'] !== undefined && !await may('s3:GetObjectRetention')) {
    delete out['x-amz-object-lock-mode'];
    delete out['x-amz-object-lock-retain-until-date'];
  }
  if (out['x-amz-object-lock-legal-hold'] !== undefined && !await may('s3:GetObjectLegalHold')) delete out['x-amz-object-lock-legal-hold'];
  const tagCount = (obj.inline?.tags ?? await rc.pipeline.meta.objectTags(obj.id)).length;
  if (tagCount > 0 && await may(actionOf('GetObjectTagging', versionId !== undefined))) out['x-amz-tagging-count'] = String(tagCount);
  return out;
}

/**
 * The checksum headers of a GET/HEAD with checksum mode on: the object's, with its type. A
 * part of a multipart object (`partNumber`) gets that part's checksum, with the object's type,
 * as S3 answers it (the SDKs validate the part's bytes against it); a Range gets none, as no
 * stored checksum covers it.
 */
function checksumHeaders(koa: Koa.Context, obj: VersionRow, partial: boolean, parts: PartRef[]): Record<string, string> {
  const [stored] = Object.entries(obj.checksums);
  if (!stored) return {};
  const [alg, value] = stored;
  const type = { 'x-amz-checksum-type': checksumTypeOf(value) };
  if (!partial) return { [`x-amz-checksum-${alg}`]: value, ...type };
  if (koa.query.partNumber === undefined) return {};
  const part = parts.find((p) => p.partNumber === Number(koa.query.partNumber));
  const partValue = part?.checksums[alg];
  return partValue === undefined ? {} : { [`x-amz-checksum-${alg}`]: partValue, ...type };
}

/** The headers of a GET/HEAD answer (read before the body is opened: nothing is left to fail once it is). */
async function objectHeadersOf(koa: Koa.Context, rc: ReqCtx, { obj, parts, partial, sseC }: Located): Promise<Record<string, string>> {
  const meta = rc.pipeline.meta;
  const overrides: ResponseOverrides = {};
  for (const [param, header] of Object.entries(RESPONSE_OVERRIDE_PARAMS)) {
    const v = koa.query[param];
    if (typeof v === 'string') overrides[header] = v;
  }
  // Gathered into one object by assignment: an object literal of several spreads took V8's
  // slow path, about 1.5 us on every GET and HEAD.
  const headers = objectResponseHeaders(obj.headers, overrides);
  Object.assign(headers, userMetadataHeaders(obj.userMeta));
  headers.etag = quoteEtag(obj.etag);
  headers['last-modified'] = formatHttpDate(obj.lastModified);
  headers['accept-ranges'] = 'bytes';
  Object.assign(headers, await versionHeader(meta, obj.bucket, obj.versionId), await guardedHeaders(rc, obj), sseC);
  if (obj.partsCount !== null) headers['x-amz-mp-parts-count'] = String(obj.partsCount);
  if (koa.get('x-amz-checksum-mode').toUpperCase() === 'ENABLED') Object.assign(headers, checksumHeaders(koa, obj, partial, parts));
  return headers;
}

function setObjectHeaders(koa: Koa.Context, { obj, range, partial }: Located, headers: Record<string, string>): void {
  koa.set(headers);
  const length = range ? range.end - range.start + 1 : obj.size;
  if (partial && range) {
    koa.status = 206;
    koa.set('content-range', contentRange(range, obj.size));
  } else {
    koa.status = 200;
  }
  koa.length = length;
}

/**
 * A streamed body's whole decoded segments go back to the segment pool once the socket has
 * written them: the stream is piped into the response, which calls write(chunk) without a
 * callback, so the write is given one. The callback runs only once the chunk left the
 * process; after a failed or cut-short write the chunk is left to the collector. Anything
 * that is not a pooled segment (a range's slice, headers) is ignored by the pool. Without
 * this a 64 MiB GET made 64 MiB of garbage, a sixth of its main thread in collections.
 */
function giveBackOnceFlushed(res: ServerResponse): void {
  // Wrapped, and called with the response as `this`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const write = res.write as (chunk: unknown, ...rest: unknown[]) => boolean;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
    if (rest.length > 0 || !Buffer.isBuffer(chunk)) return write.call(this, chunk, ...rest);
    return write.call(this, chunk, (err?: Error | null) => {
      if (!err) segmentBuffers.give(chunk);
    });
  } as ServerResponse['write'];
}

/** GetObject — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html */
export async function handleGetObject(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const loc = await locate(koa, rc);
  if (checkReadConditions(koa, loc.obj.etag, loc.obj.lastModified)) return notModified(koa, loc.obj);
  const start = loc.range?.start ?? 0;
  const end = loc.range?.end ?? loc.obj.size - 1;
  const headers = await objectHeadersOf(koa, rc, loc);
  const body = await openObjectBody(rc.pipeline, loc.parts, start, end, loc.unwrap, loc.obj.inline?.part?.blob);
  setObjectHeaders(koa, loc, headers);
  koa.body = body;
  // A whole decoded segment served as one Buffer: once the response has handed every byte
  // to the socket, its memory is reused (codec/buffer-pool.ts; anything else is ignored).
  // Not on 'close': a response cut short may still have the buffer queued.
  if (Buffer.isBuffer(body)) koa.res.once('finish', () => segmentBuffers.give(body));
  else giveBackOnceFlushed(koa.res);
  // Objects are served on the same origin as the web console: an HTML object opened in a
  // browser must not run as that origin (its storage, its service workers). A sandboxed
  // document is an origin of its own; S3 clients ignore the header.
  koa.set('content-security-policy', 'sandbox');
  // Koa would otherwise replace the stored Content-Type with its guess for the body.
  koa.set('content-type', (koa.response.headers['content-type'] as string | undefined) ?? 'binary/octet-stream');
}

/** HeadObject — https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html */
export async function handleHeadObject(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const loc = await locate(koa, rc);
  if (checkReadConditions(koa, loc.obj.etag, loc.obj.lastModified)) return notModified(koa, loc.obj);
  setObjectHeaders(koa, loc, await objectHeadersOf(koa, rc, loc));
}

function notModified(koa: Koa.Context, obj: ObjectRow): void {
  koa.status = 304;
  koa.set({ etag: quoteEtag(obj.etag), 'last-modified': formatHttpDate(obj.lastModified) });
}
