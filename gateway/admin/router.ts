import type Koa from 'koa';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthError } from '../auth/errors.js';
import type { PayloadMode } from '../auth/payload-mode.js';
import { verifyRequest } from '../auth/sigv4.js';
import type { AdminContext, AdminRoute } from './context.js';
import { AdminError, toAdminError } from './errors.js';
import { ADMIN_ROUTES } from './routes.js';
import { continueIfAsked } from '../object/request-body.js';
import type { AccessState } from '../access-log.js';

/** Bucket names cannot start with `_`, so nothing under this prefix is an S3 path. */
export const ADMIN_PREFIX = '/_shardgate/admin/v1';
export const METRICS_PATH = '/_shardgate/metrics';
const MAX_BODY = 64 * 1024;

interface Matched {
  route: AdminRoute;
  params: Record<string, string>;
}

function match(routes: readonly AdminRoute[], method: string, path: string): Matched {
  const parts = path.split('/').filter(Boolean);
  let pathMatched = false;
  for (const route of routes) {
    const pattern = route.path.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((p, i) => {
      if (p.startsWith(':')) {
        params[p.slice(1)] = decodeParam(parts[i]!);
        return true;
      }
      return p === parts[i];
    });
    if (!ok) continue;
    pathMatched = true;
    if (route.method === method) return { route, params };
  }
  if (pathMatched) throw new AdminError(405, 'MethodNotAllowed', `${method} is not allowed on ${ADMIN_PREFIX}${path}`);
  throw new AdminError(404, 'NoSuchRoute', `no admin endpoint ${ADMIN_PREFIX}${path}`);
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new AdminError(400, 'InvalidRequest', `the path segment ${JSON.stringify(raw)} is not valid percent-encoding`);
  }
}

/**
 * The admin API and the metrics endpoint, mounted before the S3 handler. Admin requests
 * are SigV4-signed with the root credentials (as the CLI does), so no second secret exists;
 * bodies are JSON and their SHA-256 is part of the signature. The metrics endpoint also
 * takes `Authorization: Bearer $SHARDGATE_METRICS_TOKEN`, which is what a Prometheus
 * scraper can send; `GET /metrics` answers the same only when that header is present,
 * because without it `/metrics` is an S3 request for a bucket named "metrics".
 */
export function adminMiddleware(ctx: AdminContext, routes: readonly AdminRoute[] = ADMIN_ROUTES): Koa.Middleware {
  return async (koa, next) => {
    const raw = koa.req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const rawQuery = q < 0 ? '' : raw.slice(q + 1);
    const bearer = bearerToken(koa);
    const metricsAlias = rawPath === '/metrics' && bearer !== undefined;
    if (!rawPath.startsWith('/_shardgate/') && !metricsAlias) return next();
    koa.state.admin = true;
    const state = koa.state as AccessState;
    try {
      if (rawPath === METRICS_PATH || metricsAlias) {
        state.operation = 'admin:GetMetrics';
        if (koa.method !== 'GET') throw new AdminError(405, 'MethodNotAllowed', 'metrics are read with GET');
        if (bearer === undefined) {
          checkBody(authenticate(koa, ctx, rawPath, rawQuery), Buffer.alloc(0));
          state.user = ctx.rootCredentials.accessKeyId;
        } else if (!ctx.metricsToken || !tokenEquals(bearer, ctx.metricsToken)) {
          throw new AdminError(401, 'AccessDenied', ctx.metricsToken ? 'wrong metrics token' : 'no SHARDGATE_METRICS_TOKEN is set on the gateway; sign with SigV4 instead');
        }
        koa.type = 'text/plain; version=0.0.4; charset=utf-8';
        koa.body = await ctx.metrics.render();
        return;
      }
      if (!rawPath.startsWith(ADMIN_PREFIX + '/')) throw new AdminError(404, 'NoSuchRoute', `no endpoint ${rawPath}; the admin API is under ${ADMIN_PREFIX}`);
      // The signature is checked before anything of the body is asked for or read (no
      // `100 Continue` to strangers), and the body against its signed hash once read.
      state.operation = 'admin:Unknown';
      const signed = authenticate(koa, ctx, rawPath, rawQuery);
      state.user = ctx.rootCredentials.accessKeyId;
      const { route, params } = match(routes, koa.method, rawPath.slice(ADMIN_PREFIX.length));
      state.operation = `admin:${route.name}`;
      const body = await readBody(koa, signed);
      let json: unknown;
      if (body.length) {
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          throw new AdminError(400, 'InvalidRequest', 'the body is not valid JSON');
        }
      }
      const res = await route.handle({ params, query: new URLSearchParams(rawQuery), body: json }, ctx);
      koa.status = res.status ?? 200;
      koa.type = 'application/json';
      koa.body = JSON.stringify(res.body) + '\n';
    } catch (err) {
      const e = toAdminError(err);
      state.errorCode = e.code;
      if (e.status >= 500) console.error(`admin ${koa.method} ${rawPath}:`, err);
      // A body left unread must not be taken for the next request on this connection.
      if (!koa.req.complete) koa.set('connection', 'close');
      koa.status = e.status;
      if (e.status === 401) koa.set('www-authenticate', 'Bearer realm="shardgate metrics"');
      koa.type = 'application/json';
      koa.body = JSON.stringify({ error: { code: e.code, message: e.message } }) + '\n';
    }
  };
}

function bearerToken(koa: Koa.Context): string | undefined {
  const h = koa.get('authorization');
  return /^Bearer\s+/i.test(h) ? h.replace(/^Bearer\s+/i, '').trim() : undefined;
}

function tokenEquals(a: string, b: string): boolean {
  // Hashing first makes the comparison constant-time whatever the lengths.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Only the root credentials may use the admin API: the request's signature, before its body is read. */
function authenticate(koa: Koa.Context, ctx: AdminContext, rawPath: string, rawQuery: string): PayloadMode {
  const root = ctx.rootCredentials;
  const headers = koa.req.headersDistinct as Record<string, string[]>;
  let auth;
  try {
    auth = verifyRequest({ method: koa.method, rawPath, rawQuery, headers }, (id) => (id === root.accessKeyId ? root.secretAccessKey : undefined));
  } catch (err) {
    if (err instanceof AuthError && err.code === 'InvalidAccessKeyId') {
      throw new AdminError(403, 'AccessDenied', 'only the root credentials (SHARDGATE_ROOT_USER/SHARDGATE_ROOT_PASSWORD) may use the admin API', { cause: err });
    }
    if (err instanceof AuthError) throw new AdminError(403, 'AccessDenied', `${err.code}: ${err.message}`, { cause: err });
    throw err;
  }
  if (!auth) {
    const what = rawPath === METRICS_PATH || rawPath === '/metrics' ? 'SigV4 with the root credentials or Authorization: Bearer $SHARDGATE_METRICS_TOKEN' : 'SigV4 with the root credentials';
    throw new AdminError(401, 'AccessDenied', `authentication required: ${what}`);
  }
  return auth.payload;
}

/** The signed body hash must match the body. */
function checkBody(mode: PayloadMode, body: Buffer): void {
  if (mode.kind === 'sha256') {
    if (createHash('sha256').update(body).digest('hex') !== mode.hex) throw new AdminError(403, 'AccessDenied', 'the body does not match its signed SHA-256');
  } else if (body.length) {
    throw unsignedBody();
  }
}

function unsignedBody(): AdminError {
  return new AdminError(400, 'InvalidRequest', 'admin request bodies must be signed: send x-amz-content-sha256 with the body hash');
}

function tooLarge(): AdminError {
  return new AdminError(400, 'InvalidRequest', `admin request bodies are at most ${MAX_BODY} bytes`);
}

/** The body of an authenticated request, refused by its declared length before a byte is asked for. */
async function readBody(koa: Koa.Context, mode: PayloadMode): Promise<Buffer> {
  const length = koa.req.headers['content-length'];
  const declared = length === undefined ? undefined : Number(length);
  const hasBody = koa.req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared > 0);
  if (!hasBody) {
    checkBody(mode, Buffer.alloc(0));
    return Buffer.alloc(0);
  }
  if (mode.kind !== 'sha256') throw unsignedBody();
  if (declared !== undefined && declared > MAX_BODY) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  continueIfAsked(koa.req, koa.res);
  for await (const chunk of koa.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw tooLarge();
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  checkBody(mode, body);
  return body;
}
