import Koa from 'koa';
import { checkSseCTransport } from './s3/sse-c.js';
import { checkStorageClass } from './s3/storage-class.js';
import { checkServerSideEncryption, SSE_HEADER } from './s3/sse.js';
import { accessKeyIdNamedBy, headersSignedInQuery, verifyRequest, type AuthResult } from './auth/sigv4.js';
import type { GatewayConfig } from './config.js';
import { toS3Error } from './errors.js';
import { newHostId, newRequestId } from './ids.js';
import { hasUnmetExpectation } from './object/request-body.js';
import type { BucketRow } from './meta/types.js';
import type { PipelineContext } from './pipeline/context.js';
import type { ReqCtx } from './request.js';
import { handleGetObjectAttributes } from './s3/attributes.js';
import { handleDeletePublicAccessBlock, handleGetPublicAccessBlock, handlePutPublicAccessBlock } from './s3/public-access-block.js';
import { handleDeleteBucketEncryption, handleGetBucketEncryption, handlePutBucketEncryption } from './s3/bucket-encryption.js';
import { handleCreateBucket, handleDeleteBucket, handleGetBucketLocation, handleGetBucketRequestPayment, handleHeadBucket, handleListBuckets } from './s3/bucket.js';
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
import { handleSosapi, SOSAPI_PREFIX } from './s3/sosapi.js';
import { bucketOfRequest, OBJECT_WRITES, parseEndpoint, permissionOf, type Endpoint, type ParsedEndpoint } from './s3/router.js';
import {
  handleDeleteBucketTagging, handleDeleteObjectTagging, handleGetBucketTagging, handleGetObjectTagging, handlePutBucketTagging,
  handlePutObjectTagging,
} from './s3/tagging.js';
import { handleListMultipartUploads } from './s3/uploads.js';
import { handleGetBucketVersioning, handleListObjectVersions, handlePutBucketVersioning, versionIdOf } from './s3/versioning.js';
import { handleDeleteBucketLifecycle, handleGetBucketLifecycleConfiguration, handlePutBucketLifecycleConfiguration } from './s3/lifecycle.js';
import {
  handleGetObjectLegalHold, handleGetObjectLockConfiguration, handleGetObjectRetention, handlePutObjectLegalHold,
  handlePutObjectLockConfiguration, handlePutObjectRetention,
} from './s3/object-lock.js';
import type { RootCredentials } from './secrets.js';
import { adminMiddleware } from './admin/router.js';
import { consoleMiddleware } from './console/static.js';
import type { AdminContext } from './admin/context.js';
import { requestMetrics, type Metrics } from './metrics.js';
import { accessLog, type AccessState } from './access-log.js';
import type { Logger } from './log.js';
import { authorize, type Principal } from './access/authorize.js';
import { accessQuery, authorizeActionsFor, objectOwnershipOf, publicAccessBlockOf } from './access/query.js';
import { checkAclUnderOwnership } from './access/object-ownership.js';
import { httpRequestFacts, postObjectFacts, type RequestFacts } from './access/request-context.js';
import { aclOnWrite } from './access/grant-headers.js';
import type { StoredAcl } from './access/acl-grants.js';
import { ANONYMOUS_OWNER, ROOT_OWNER, userExists } from './access/users.js';
import { decideWithLookups } from './lookups.js';
import { checkAclAllowed } from './access/public-access-block.js';
import { checkExpectedBucketOwner, EXPECTED_BUCKET_OWNER } from './access/expected-owner.js';
import { openSecret } from './access/secret-box.js';
import { attachMasterKey } from './admin/keys.js';
import { handleGetBucketAcl, handleGetObjectAcl, handlePutBucketAcl, handlePutObjectAcl } from './s3/acl.js';
import { applyCorsHeaders, handleDeleteBucketCors, handleGetBucketCors, handleOptions, handlePutBucketCors } from './s3/cors.js';
import { handlePostObject, type PostObjectAccess } from './s3/post-object.js';
import { handleDeleteBucketOwnershipControls, handleGetBucketOwnershipControls, handlePutBucketOwnershipControls } from './s3/ownership-controls.js';
import { handleGetBucketNotificationConfiguration, handlePutBucketNotificationConfiguration } from './s3/notification.js';
import { handleDeleteBucketPolicy, handleGetBucketPolicy, handleGetBucketPolicyStatus, handlePutBucketPolicy } from './s3/policy.js';


export interface AppOptions {
  config: GatewayConfig;
  rootCredentials: RootCredentials;
  /** The admin API and metrics endpoint under /_shardgate/ (gateway/admin/router.ts). */
  admin?: AdminContext;
  /** Request counts, latencies and bytes per S3 operation. */
  metrics?: Metrics;
  /** Public read-only endpoints (the signed report log), mounted before the admin API. */
  publicRoutes?: Koa.Middleware;
  /** The access log: one line per request (gateway/access-log.ts). */
  log?: Logger;
  /** The web console's built files (default: dist/console of this package); false: no console. */
  consoleDir?: string | false;
}

interface Caller extends Principal {
  accessKeyId: string;
}

/**
 * The S3 front end: one pure parse of the request into an endpoint, one authentication,
 * one bucket lookup, then one exhaustive switch. Errors are thrown and rendered in one place.
 */
export function buildApp(pipeline: PipelineContext, opts: AppOptions): Koa {
  const app = new Koa({ proxy: false });
  const { config, rootCredentials } = opts;
  if (opts.log) app.use(accessLog(opts.log));
  if (opts.metrics) app.use(requestMetrics(opts.metrics));

  const lookupCaller = async (accessKeyId: string): Promise<(Caller & { secret: string }) | undefined> => {
    if (accessKeyId === rootCredentials.accessKeyId) return { accessKeyId, owner: ROOT_OWNER, admin: true, secret: rootCredentials.secretAccessKey };
    // Disabled and deleted keys are unknown keys: InvalidAccessKeyId.
    const k = await pipeline.meta.getAccessKeyRecord(accessKeyId);
    if (!k || k.disabled) return undefined;
    const secret = k.sealedSecret ? openSecret(pipeline.masterKey, accessKeyId, k.sealedSecret) : k.secret;
    return { accessKeyId, owner: k.owner, admin: false, secret };
  };

  app.use(async (koa, next) => {
    const requestId = newRequestId();
    koa.set('x-amz-request-id', requestId);
    koa.set('x-amz-id-2', newHostId());
    koa.set('server', 'shardgate');
    koa.state.requestId = requestId;
    try {
      await next();
    } catch (err) {
      renderError(koa, err, requestId);
    }
  });

  // An Expect other than 100-continue (gateway/server.ts) is refused before anything else, the
  // admin API included: the client may be holding its body back until it hears from us.
  app.use(async (koa, next) => {
    if (hasUnmetExpectation(koa.req)) throw new S3Error('ExpectationFailed');
    await next();
  });

  /** Wait for every commit so far to be durable, timed for the metrics (by the request's operation). */
  const durable = async (koa: Koa.Context): Promise<void> => {
    const started = process.hrtime.bigint();
    try {
      await pipeline.meta.durable();
    } finally {
      const operation = koa.state.operation as string | undefined;
      if (operation && !koa.state.admin) opts.metrics?.durableWait.observe({ operation }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };

  // Nothing that acknowledges a write is answered before the write is durable: on disk
  // (group commit: gateway/meta/group-commit.ts) and shipped to the shard-stores (the metadata
  // journal: gateway/journal/). An answer that waited for a failed flush becomes an error,
  // never an acknowledgement. Reads acknowledge nothing: they neither wait nor fail for it.
  app.use(async (koa, next) => {
    if (koa.method === 'GET' || koa.method === 'HEAD' || koa.method === 'OPTIONS') return next();
    try {
      await next();
    } catch (err) {
      // The request failed on its own: its error is the answer, whatever the flush says.
      await durable(koa).catch(() => undefined);
      throw err;
    }
    await durable(koa);
  });

  if (opts.consoleDir !== false) app.use(consoleMiddleware(opts.consoleDir === undefined ? {} : { dir: opts.consoleDir }));
  if (opts.publicRoutes) app.use(opts.publicRoutes);
  if (opts.admin) {
    attachMasterKey(opts.admin, pipeline.masterKey);
    app.use(adminMiddleware(opts.admin));
  }

  // A request from an origin the bucket's CORS rules allow gets their headers on every answer:
  // set before anything can fail, the routing included (the error hook keeps Access-Control-*).
  app.use(async (koa, next) => {
    await applyCorsHeaders(koa, pipeline.meta, bucketOfRequest({ rawPath: koa.req.url ?? '/', host: koa.get('host') || undefined }, { baseDomains: config.domains }));
    return next();
  });

  app.use(async (koa) => {
    const raw = koa.req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const rawQuery = q < 0 ? '' : raw.slice(q + 1);
    const headers = koa.req.headersDistinct as Record<string, string[]>;
    // The signature is checked against what the client sent; routing and handlers see the
    // header values a presigned URL signed in its query as well.
    const sent = { ...headers };
    let adopted: ReadonlyMap<string, string> = new Map();
    const route = (plusIsLiteral: boolean): { query: URLSearchParams; parsed: ParsedEndpoint } => {
      dropAdopted(koa.req, adopted, sent);
      adopted = headersSignedInQuery(rawQuery, plusIsLiteral);
      adoptQueryHeaders(koa.req, adopted);
      const query = new URLSearchParams(plusIsLiteral ? rawQuery.replace(/\+/g, '%2B') : rawQuery);
      const parsed = parseEndpoint({ method: koa.method, rawPath, query, headers, host: koa.get('host') || undefined }, { baseDomains: config.domains });
      koa.state.operation = parsed.endpoint.kind; // the metrics label (gateway/metrics.ts)
      (koa.state as AccessState).bucket = parsed.bucket;
      (koa.state as AccessState).key = parsed.key;
      return { query, parsed };
    };
    let { query, parsed } = route(false);
    const hostBucket = parsed.style === 'virtual-hosted' ? parsed.bucket : undefined;
    // A CORS preflight is never signed (browsers send no credentials with it): a presigned URL's
    // query, signed for the method that follows, must not make it fail.
    // The caller's key is read from the metadata once the signature names it (decideWithLookups).
    const callers = new Map<string, (Caller & { secret: string }) | undefined>();
    const knownCaller = async (id: string): Promise<(Caller & { secret: string }) | undefined> => {
      if (!callers.has(id)) callers.set(id, await lookupCaller(id));
      return callers.get(id);
    };
    const now = new Date();
    // The key a well-formed Authorization header names is read before the check begins, so
    // the check runs once instead of stopping at the lookup and starting over.
    const named = parsed.endpoint.kind === 'Options' ? undefined : accessKeyIdNamedBy(koa.req.headers.authorization);
    const secrets = new Map<string, string | undefined>();
    if (named !== undefined) secrets.set(named, (await knownCaller(named))?.secret);
    const auth = parsed.endpoint.kind === 'Options' ? null : await decideWithLookups(
      async (id: string) => (await knownCaller(id))?.secret,
      (secretOf) => verifyRequest({ method: koa.method, rawPath, rawQuery, headers: sent, ...(hostBucket !== undefined && { hostBucket }) }, secretOf, now),
      undefined, secrets,
    );
    if (auth?.plusIsLiteral) {
      // Signed with `+` as a plus sign: read the query so everywhere (koa.query too), or a `%2B`
      // the signer meant could be sent raw and acted on as a space.
      koa.req.url = `${rawPath}?${rawQuery.replace(/\+/g, '%2B')}`;
      ({ query, parsed } = route(true));
    }
    // An unsigned request goes on as anonymous; resolve() lets it through only where a bucket policy or ACL allows.
    const caller = auth ? (await knownCaller(auth.accessKeyId))! : null;
    if (caller) (koa.state as AccessState).user = caller.accessKeyId;
    const acl = await decideWithLookups((id: string) => userExists(pipeline.meta, id), (isUser) => aclOnWrite(parsed.endpoint.kind, (name) => koa.get(name) || undefined, isUser), { value: true });
    const facts = httpRequestFacts(koa.req, query, auth, config.trustedProxies);
    if (facts.transport.clientAddress) (koa.state as AccessState).client = facts.transport.clientAddress;
    const rc = await resolve(pipeline, config, koa.state.requestId as string, parsed, auth, caller, acl, facts, koa.get(EXPECTED_BUCKET_OWNER) || undefined);
    checkStorageClass(parsed.endpoint.kind, koa.get('x-amz-storage-class') || undefined);
    const bucketName = rc.bucket?.name;
    if (bucketName !== undefined) await checkAclAllowed(acl, () => publicAccessBlockOf(pipeline.meta, bucketName));
    // An ACL a bucket with ACLs disabled refuses is refused before any byte is written.
    if (rc.bucket && OBJECT_WRITES.has(parsed.endpoint.kind)) {
      checkAclUnderOwnership(await objectOwnershipOf(pipeline.meta, rc.bucket.name), { canned: koa.get('x-amz-acl') || undefined, acl }, rc.bucket.owner, 'object', rc.owner);
    }
    checkServerSideEncryption(parsed.endpoint.kind, koa.get(SSE_HEADER) || undefined);
    checkSseCTransport(headers, facts.transport);
    const postAccess: PostObjectAccess = {
      lookup: async (id) => {
        const c = await knownCaller(id);
        return c && { secret: c.secret, principal: c };
      },
      authorizePut: async (who, key, fields) => {
        // The form's signature is verified by now: its signer and key are the request's.
        const state = koa.state as AccessState;
        state.key = key;
        if (who && 'accessKeyId' in who) state.user = (who as Caller).accessKeyId;
        authorize(await accessQuery(pipeline.meta, 'PutObject', 'write', rc.bucket, key, who, undefined, postObjectFacts(facts, fields ?? new Map())));
      },
      authorizeActions: (who, key, actions, fields) => authorizeActionsFor(pipeline.meta, 'PutObject', rc.bucket, key, who, actions, undefined, postObjectFacts(facts, fields)),
    };
    await dispatch(koa, rc, postAccess);
    // S3 success answers without a document have an empty body, not Koa's status text. Not
    // for HEAD: an empty body would reset the Content-Length the handler set to the object's.
    if (koa.body == null && koa.method !== 'HEAD' && koa.status !== 204 && koa.status !== 304) koa.body = '';
  });

  // A body stream that fails after the headers went out (a GET losing its shard-stores
  // mid-object): cut the connection so the client sees a short read, never a hang.
  app.on('error', (err: unknown, koa?: Koa.Context) => {
    if (koa?.headerSent) koa.req.socket.destroy();
    // Anyone can open uploads and drop them: a line each would let them flood the log.
    if (isClientDisconnect(err)) {
      opts.metrics?.clientDisconnects.inc({ operation: (koa?.state.operation as string | undefined) ?? 'Unknown' });
      return;
    }
    console.error(`${(koa?.state.requestId as string | undefined) ?? '-'} ${koa?.method ?? ''} ${koa?.path ?? ''}:`, (err as Error)?.message ?? err);
  });

  return app;
}

async function resolve(
  pipeline: PipelineContext, config: GatewayConfig, requestId: string, parsed: ParsedEndpoint, auth: AuthResult | null, caller: Caller | null,
  acl: StoredAcl | undefined, facts: RequestFacts, expectedOwner: string | undefined,
): Promise<ReqCtx> {
  const { endpoint } = parsed;
  const permission = permissionOf(endpoint);
  let bucket: BucketRow | undefined;
  if (parsed.bucket !== undefined && endpoint.kind !== 'CreateBucket') {
    bucket = await pipeline.meta.getBucket(parsed.bucket);
    if (!bucket) throw new S3Error('NoSuchBucket', { extra: { BucketName: parsed.bucket } });
    checkExpectedBucketOwner(expectedOwner, bucket);
  }
  const key = parsed.key;
  // Requests whose keys are in the body are authorized key by key by their handlers: a POST
  // form upload (unsigned at the HTTP level) and DeleteObjects, so that a policy denying
  // deletes under a prefix holds for batch deletes too.
  if (endpoint.kind !== 'PostObject' && endpoint.kind !== 'DeleteObjects') {
    authorize(await accessQuery(pipeline.meta, endpoint.kind, permission, bucket, key, caller, versionIdOf(endpoint), facts));
  }
  return {
    requestId, endpoint, bucketName: parsed.bucket, bucket, key,
    accessKeyId: caller?.accessKeyId ?? '', owner: caller?.owner ?? ANONYMOUS_OWNER,
    principal: caller && { owner: caller.owner, admin: caller.admin }, auth, pipeline, config, acl, facts,
  };
}

/**
 * A presigned URL's header values (metadata, ACL, and for SigV2 Content-Type and Content-MD5)
 * travel in its query and are applied as headers (see headersSignedInQuery). The signature
 * check that follows covers them: a URL that was not signed so fails there.
 */
function adoptQueryHeaders(req: Koa.Context['req'], fromQuery: ReadonlyMap<string, string>): void {
  const distinct = req.headersDistinct as Record<string, string[]>;
  for (const [name, value] of fromQuery) {
    req.headers[name] = value;
    distinct[name] = [value];
  }
}

/** Undoes adoptQueryHeaders for the headers the client did not send itself (to adopt another reading). */
function dropAdopted(req: Koa.Context['req'], adopted: ReadonlyMap<string, string>, sent: Readonly<Record<string, unknown>>): void {
  const distinct = req.headersDistinct as Record<string, string[]>;
  for (const name of adopted.keys()) {
    if (name in sent) continue;
    delete req.headers[name];
    delete distinct[name];
  }
}

async function dispatch(koa: Koa.Context, rc: ReqCtx, postAccess: PostObjectAccess): Promise<void> {
  const ep: Endpoint = rc.endpoint;
  if (rc.key?.startsWith(SOSAPI_PREFIX) && await handleSosapi(koa, rc, rc.key)) return;
  switch (ep.kind) {
    case 'ListBuckets': return handleListBuckets(koa, rc, ep);
    case 'CreateBucket': return handleCreateBucket(koa, rc);
    case 'HeadBucket': return handleHeadBucket(koa, rc);
    case 'DeleteBucket': return handleDeleteBucket(koa, rc);
    case 'GetBucketLocation': return handleGetBucketLocation(koa, rc);
    case 'GetBucketRequestPayment': return handleGetBucketRequestPayment(koa, rc);
    case 'GetBucketEncryption': return handleGetBucketEncryption(koa, rc);
    case 'GetPublicAccessBlock': return handleGetPublicAccessBlock(koa, rc);
    case 'PutPublicAccessBlock': return handlePutPublicAccessBlock(koa, rc);
    case 'DeletePublicAccessBlock': return handleDeletePublicAccessBlock(koa, rc);
    case 'PutBucketEncryption': return handlePutBucketEncryption(koa, rc);
    case 'DeleteBucketEncryption': return handleDeleteBucketEncryption(koa, rc);
    case 'GetObjectAttributes': return handleGetObjectAttributes(koa, rc, ep.versionId);
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
    case 'GetBucketVersioning': return handleGetBucketVersioning(koa, rc);
    case 'PutBucketVersioning': return handlePutBucketVersioning(koa, rc);
    case 'ListObjectVersions': return handleListObjectVersions(koa, rc, ep);
    case 'GetObjectLockConfiguration': return handleGetObjectLockConfiguration(koa, rc);
    case 'PutObjectLockConfiguration': return handlePutObjectLockConfiguration(koa, rc);
    case 'GetObjectRetention': return handleGetObjectRetention(koa, rc);
    case 'PutObjectRetention': return handlePutObjectRetention(koa, rc);
    case 'GetObjectLegalHold': return handleGetObjectLegalHold(koa, rc);
    case 'PutObjectLegalHold': return handlePutObjectLegalHold(koa, rc);
    case 'GetBucketLifecycleConfiguration': return handleGetBucketLifecycleConfiguration(koa, rc);
    case 'PutBucketLifecycleConfiguration': return handlePutBucketLifecycleConfiguration(koa, rc);
    case 'DeleteBucketLifecycle': return handleDeleteBucketLifecycle(koa, rc);
    case 'Options': return handleOptions(koa, rc);
    case 'PostObject': return handlePostObject(koa, rc, postAccess);
    case 'GetBucketAcl': return handleGetBucketAcl(koa, rc);
    case 'PutBucketAcl': return handlePutBucketAcl(koa, rc);
    case 'GetObjectAcl': return handleGetObjectAcl(koa, rc);
    case 'PutObjectAcl': return handlePutObjectAcl(koa, rc);
    case 'GetBucketPolicy': return handleGetBucketPolicy(koa, rc);
    case 'PutBucketPolicy': return handlePutBucketPolicy(koa, rc);
    case 'DeleteBucketPolicy': return handleDeleteBucketPolicy(koa, rc);
    case 'GetBucketPolicyStatus': return handleGetBucketPolicyStatus(koa, rc);
    case 'GetBucketCors': return handleGetBucketCors(koa, rc);
    case 'PutBucketCors': return handlePutBucketCors(koa, rc);
    case 'DeleteBucketCors': return handleDeleteBucketCors(koa, rc);
    case 'GetBucketOwnershipControls': return handleGetBucketOwnershipControls(koa, rc);
    case 'PutBucketOwnershipControls': return handlePutBucketOwnershipControls(koa, rc);
    case 'DeleteBucketOwnershipControls': return handleDeleteBucketOwnershipControls(koa, rc);
    case 'GetBucketNotificationConfiguration': return handleGetBucketNotificationConfiguration(koa, rc);
    case 'PutBucketNotificationConfiguration': return handlePutBucketNotificationConfiguration(koa, rc);
    default:
      throw new S3Error('NotImplemented', { message: `${ep.kind} is not implemented yet` });
  }
}

/** Socket error codes of a client that closed the connection mid-request. */
const CLIENT_GONE: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * An error of the client's connection, not of the gateway: it went away mid-request, or broke
 * HTTP framing (Node's parser errors, `HPE_*`: a body cut short, a bad chunk size). Faults of
 * the gateway's own streams (shard-store reads) carry other codes.
 */
export function isClientDisconnect(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (CLIENT_GONE.has(code) || code.startsWith('HPE_'));
}

/** Headers an error answer keeps; everything a handler set for a success is dropped. */
const KEEP = /^(x-amz-request-id|x-amz-id-2|server|access-control-.*|vary|connection)$/i;

function renderError(koa: Koa.Context, err: unknown, requestId: string): void {
  const e = toS3Error(err);
  (koa.state as AccessState).errorCode = e.code;
  // A fault gets its stack; an answer given on purpose (501 for what is not implemented, 503
  // with too few stores) is one line, so that clients probing features cannot flood the log.
  if (e.status >= 500) {
    if (err instanceof S3Error && e.code !== 'InternalError') {
      if (e.code !== 'NotImplemented') console.error(`${requestId} ${koa.method} ${koa.path}: ${e.code}: ${e.message}`);
    } else {
      console.error(`${requestId} ${koa.method} ${koa.path}:`, err);
    }
  }
  if (koa.headerSent || !koa.writable) {
    // Mid-body: the only honest signal left is to cut the connection.
    koa.req.socket.destroy();
    return;
  }
  for (const name of Object.keys(koa.response.headers)) if (!KEEP.test(name)) koa.remove(name);
  // Answered before its body was read (a refused upload): on a kept-alive connection Node
  // would read and drop the whole body before the next request. Closing lingers briefly
  // instead, so the answer still reaches the client (http-limits.ts lingerIfUnread).
  if (!koa.req.complete) koa.set('connection', 'close');
  koa.set(e.headers);
  koa.status = e.status;
  // For HEAD, Koa sends the headers and drops the body.
  koa.type = 'application/xml';
  koa.body = e.toXml(requestId, koa.path);
}
