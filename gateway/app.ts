import Koa from 'koa';
import { randomBytes } from 'node:crypto';
import { verifyRequest, type AuthResult } from './auth/sigv4.js';
import type { GatewayConfig } from './config.js';
import { toS3Error } from './errors.js';
import type { PipelineContext } from './pipeline/context.js';
import type { ReqCtx } from './request.js';
import { handleCreateBucket, handleDeleteBucket, handleGetBucketLocation, handleHeadBucket, handleListBuckets } from './s3/bucket.js';
import { handleDeleteObject } from './s3/delete.js';
import { S3Error } from './s3/errors.js';
import { handleGetObject, handleHeadObject } from './s3/get.js';
import { handleListObjects, handleListObjectsV2 } from './s3/list.js';
import {
  handleAbortMultipartUpload, handleCompleteMultipartUpload, handleCreateMultipartUpload, handleListParts, handleUploadPart,
} from './s3/multipart.js';
import { handleCopyObject, handleUploadPartCopy } from './s3/copy.js';
import { handleDeleteObjects } from './s3/delete-objects.js';
import { handlePutObject } from './s3/put.js';
import { parseEndpoint, permissionOf, type Endpoint, type ParsedEndpoint } from './s3/router.js';
import {
  handleDeleteBucketTagging, handleDeleteObjectTagging, handleGetBucketTagging, handleGetObjectTagging, handlePutBucketTagging,
  handlePutObjectTagging,
} from './s3/tagging.js';
import { handleListMultipartUploads } from './s3/uploads.js';
import type { RootCredentials } from './secrets.js';
import { adminMiddleware } from './admin/router.js';
import type { AdminContext } from './admin/context.js';
import { requestMetrics, type Metrics } from './metrics.js';

/** The owner id of the root user's buckets; stable when the root key is rotated. */
export const ROOT_OWNER = 'root';

export interface AppOptions {
  config: GatewayConfig;
  rootCredentials: RootCredentials;
  /** The admin API and metrics endpoint under /_shardgate/ (gateway/admin/router.ts). */
  admin?: AdminContext;
  /** Request counts, latencies and bytes per S3 operation. */
  metrics?: Metrics;
  /** Public read-only endpoints (the signed report log), mounted before the admin API. */
  publicRoutes?: Koa.Middleware;
}

interface Caller {
  accessKeyId: string;
  owner: string;
}

/**
 * The S3 front end: one pure parse of the request into an endpoint, one authentication,
 * one bucket lookup, then one exhaustive switch. Errors are thrown and rendered in one place.
 */
export function buildApp(pipeline: PipelineContext, opts: AppOptions): Koa {
  const app = new Koa({ proxy: false });
  const { config, rootCredentials } = opts;
  if (opts.metrics) app.use(requestMetrics(opts.metrics));

  const lookupCaller = (accessKeyId: string): (Caller & { secret: string }) | undefined => {
    if (accessKeyId === rootCredentials.accessKeyId) return { accessKeyId, owner: ROOT_OWNER, secret: rootCredentials.secretAccessKey };
    const k = pipeline.meta.getAccessKey(accessKeyId);
    return k && !k.disabled ? { accessKeyId, owner: k.owner, secret: k.secret } : undefined;
  };

  app.use(async (koa, next) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    koa.set('x-amz-request-id', requestId);
    koa.set('x-amz-id-2', randomBytes(24).toString('base64'));
    koa.set('server', 'shardgate');
    koa.state.requestId = requestId;
    try {
      await next();
    } catch (err) {
      renderError(koa, err, requestId);
    }
  });

  if (opts.publicRoutes) app.use(opts.publicRoutes);
  if (opts.admin) app.use(adminMiddleware(opts.admin));

  app.use(async (koa) => {
    const raw = koa.req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const rawQuery = q < 0 ? '' : raw.slice(q + 1);
    const headers = koa.req.headersDistinct as Record<string, string[]>;
    const parsed: ParsedEndpoint = parseEndpoint(
      { method: koa.method, rawPath, query: new URLSearchParams(rawQuery), headers, host: koa.get('host') || undefined },
      { baseDomains: config.domains },
    );
    koa.state.operation = parsed.endpoint.kind; // the metrics label (gateway/metrics.ts)
    const auth = verifyRequest({ method: koa.method, rawPath, rawQuery, headers }, (id) => lookupCaller(id)?.secret);
    if (!auth) throw new S3Error('AccessDenied', { message: 'Anonymous access is not allowed on this gateway' });
    const caller = lookupCaller(auth.accessKeyId)!;
    const rc = resolve(pipeline, config, koa.state.requestId as string, parsed, auth, caller);
    await dispatch(koa, rc);
    // S3 success answers without a document have an empty body, not Koa's status text. Not
    // for HEAD: an empty body would reset the Content-Length the handler set to the object's.
    if (koa.body == null && koa.method !== 'HEAD' && koa.status !== 204 && koa.status !== 304) koa.body = '';
  });

  // A body stream that fails after the headers went out (a GET losing its shard-stores
  // mid-object): cut the connection so the client sees a short read, never a hang.
  app.on('error', (err: unknown, koa?: Koa.Context) => {
    if (koa?.headerSent) koa.req.socket.destroy();
    console.error(`${(koa?.state.requestId as string | undefined) ?? '-'} ${koa?.method ?? ''} ${koa?.path ?? ''}:`, (err as Error)?.message ?? err);
  });

  return app;
}

function resolve(pipeline: PipelineContext, config: GatewayConfig, requestId: string, parsed: ParsedEndpoint, auth: AuthResult, caller: Caller): ReqCtx {
  const { endpoint } = parsed;
  const permission = permissionOf(endpoint);
  let bucket;
  if (parsed.bucket !== undefined && endpoint.kind !== 'CreateBucket') {
    bucket = pipeline.meta.getBucket(parsed.bucket);
    if (!bucket) throw new S3Error('NoSuchBucket', { extra: { BucketName: parsed.bucket } });
    // Until bucket policies exist, a bucket is its owner's alone.
    if (permission !== 'none' && permission !== 'authenticated' && bucket.owner !== caller.owner) {
      throw new S3Error('AccessDenied');
    }
  }
  return {
    requestId, endpoint, bucketName: parsed.bucket, bucket, key: parsed.key,
    accessKeyId: caller.accessKeyId, owner: caller.owner, auth, pipeline, config,
  };
}

async function dispatch(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const ep: Endpoint = rc.endpoint;
  switch (ep.kind) {
    case 'ListBuckets': return handleListBuckets(koa, rc);
    case 'CreateBucket': return handleCreateBucket(koa, rc);
    case 'HeadBucket': return handleHeadBucket(koa, rc);
    case 'DeleteBucket': return handleDeleteBucket(koa, rc);
    case 'GetBucketLocation': return handleGetBucketLocation(koa, rc);
    case 'ListObjectsV2': return handleListObjectsV2(koa, rc, ep);
    case 'ListObjects': return handleListObjects(koa, rc, ep);
    case 'PutObject': return handlePutObject(koa, rc);
    case 'GetObject': return handleGetObject(koa, rc);
    case 'HeadObject': return handleHeadObject(koa, rc);
    case 'DeleteObject': return handleDeleteObject(koa, rc);
    case 'CreateMultipartUpload': return handleCreateMultipartUpload(koa, rc);
    case 'UploadPart': return handleUploadPart(koa, rc, ep.uploadId, ep.partNumber);
    case 'CompleteMultipartUpload': return handleCompleteMultipartUpload(koa, rc, ep.uploadId);
    case 'AbortMultipartUpload': return handleAbortMultipartUpload(koa, rc, ep.uploadId);
    case 'ListParts': return handleListParts(koa, rc, ep.uploadId, ep.maxParts ?? 1000, ep.partNumberMarker ?? 0);
    case 'CopyObject': return handleCopyObject(koa, rc, ep.copySource);
    case 'UploadPartCopy': return handleUploadPartCopy(koa, rc, ep.uploadId, ep.partNumber, ep.copySource, ep.copySourceRange);
    case 'DeleteObjects': return handleDeleteObjects(koa, rc);
    case 'ListMultipartUploads': return handleListMultipartUploads(koa, rc, ep);
    case 'GetObjectTagging': return handleGetObjectTagging(koa, rc);
    case 'PutObjectTagging': return handlePutObjectTagging(koa, rc);
    case 'DeleteObjectTagging': return handleDeleteObjectTagging(koa, rc);
    case 'GetBucketTagging': return handleGetBucketTagging(koa, rc);
    case 'PutBucketTagging': return handlePutBucketTagging(koa, rc);
    case 'DeleteBucketTagging': return handleDeleteBucketTagging(koa, rc);
    default:
      throw new S3Error('NotImplemented', { message: `${ep.kind} is not implemented yet` });
  }
}

/** Headers an error answer keeps; everything a handler set for a success is dropped. */
const KEEP = /^(x-amz-request-id|x-amz-id-2|server|access-control-.*|vary|connection)$/i;

function renderError(koa: Koa.Context, err: unknown, requestId: string): void {
  const e = toS3Error(err);
  if (e.status >= 500) console.error(`${requestId} ${koa.method} ${koa.path}:`, err);
  if (koa.headerSent || !koa.writable) {
    // Mid-body: the only honest signal left is to cut the connection.
    koa.req.socket.destroy();
    return;
  }
  for (const name of Object.keys(koa.response.headers)) if (!KEEP.test(name)) koa.remove(name);
  koa.set(e.headers);
  koa.status = e.status;
  // For HEAD, Koa sends the headers and drops the body.
  koa.type = 'application/xml';
  koa.body = e.toXml(requestId, koa.path);
}
