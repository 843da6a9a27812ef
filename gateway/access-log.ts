import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import type { Logger } from './log.js';
import { countBodies } from './body-counts.js';

/**
 * What the request path leaves in `koa.state` for the access log, set where it becomes known:
 * the request id (app.ts), the operation, bucket and key (the S3 router, or the admin API),
 * the caller once authenticated, and the S3 error code of an error answer.
 */
export interface AccessState {
  requestId?: string;
  operation?: string;
  bucket?: string;
  key?: string;
  user?: string;
  errorCode?: string;
  /** The client a trusted proxy (SHARDGATE_TRUSTED_PROXIES) relayed for, when it named one. */
  client?: string;
}

/** Keys are at most 1024 bytes; longer values are cut here, so a line stays a line. */
const MAX_FIELD = 1024;
const MAX_AGENT = 256;

function cap(v: string | undefined, max = MAX_FIELD): string | undefined {
  return v === undefined || v.length <= max ? v : `${v.slice(0, max)}...`;
}

/**
 * One line per request, at info, once its response is over (or its client went away): never
 * headers, never the query string, so no signature, credential, session token, SSE-C key or
 * POST policy can reach the log. Requests without a bucket (unrouted ones, the admin API) log
 * their path instead, without the query.
 *
 * bytes_in and bytes_out count bodies, as S3's own access logs do: the request body bytes
 * received from the client, and the response body bytes handed to the connection (for an
 * aborted request, those written before the client left).
 */
export function accessLog(logger: Logger): Koa.Middleware {
  return async (koa, next) => {
    if (!logger.isLevelEnabled('info')) return next();
    const started = process.hrtime.bigint();
    const { req, res } = koa;
    const counts = countBodies(req, res);
    res.once('close', () => {
      const s = koa.state as AccessState;
      const aborted = !res.writableFinished;
      const operation = s.operation ?? 'Unknown';
      logger.info({
        req_id: s.requestId,
        operation,
        bucket: cap(s.bucket),
        key: cap(s.key),
        ...(s.bucket === undefined && { path: cap(pathOf(req.url)) }),
        // An answer cut off before its headers has no status: 499 is the usual sign of a client that closed the request.
        status: aborted && !res.headersSent ? 499 : res.statusCode,
        ...(s.errorCode !== undefined && { error: s.errorCode }),
        ...(aborted && { aborted: true }),
        bytes_in: counts.in,
        bytes_out: counts.out,
        duration_ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        user: s.user ?? 'anonymous',
        remote: req.socket.remoteAddress,
        ...(s.client !== undefined && { client: s.client }),
        agent: cap(req.headers['user-agent'], MAX_AGENT),
      }, 'request');
    });
    await next();
  };
}

/**
 * The line of a request refused before it reached the S3 layer (the connection cap's 503
 * SlowDown, http-limits.ts): anyone can cause those, and an operator watching for overload
 * must see them in the same log as the rest.
 */
export function logRefusal(logger: Logger, req: IncomingMessage, res: ServerResponse, code: string): void {
  if (!logger.isLevelEnabled('info')) return;
  const started = process.hrtime.bigint();
  res.once('close', () => {
    logger.info({
      operation: 'Unknown',
      path: cap(pathOf(req.url)),
      status: res.statusCode,
      error: code,
      ...(!res.writableFinished && { aborted: true }),
      bytes_in: 0,
      duration_ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
      user: 'anonymous',
      remote: req.socket.remoteAddress,
      agent: cap(req.headers['user-agent'], MAX_AGENT),
    }, 'request');
  });
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? raw : raw.slice(0, q);
}
