import type Koa from 'koa';
import type { JWK } from 'jose';
import { REPORT_KEY_PATH, REPORTS_PATH, type ReportPage } from './format.js';
import type { ReportLog } from './log.js';

const MAX_PAGE = 1_000;

/**
 * The public, read-only side of the report log: anyone may fetch the entries and the key
 * to check them (no credentials, as a transparency log should be). Mounted before the admin
 * API and S3: neither path can be a bucket (bucket names start with a letter or digit).
 *
 *   GET /_shardgate/reports[?after=SEQ&limit=N]  → ReportPage (JSON)
 *   GET /.well-known/shardgate/report-key.jwk     → the public JWK
 */
export function reportRoutes(log: ReportLog, publicJwk: JWK): Koa.Middleware {
  const key: JWK = { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, kid: publicJwk.kid, alg: 'EdDSA', use: 'sig' };
  return async (koa, next) => {
    const path = koa.path;
    if (path !== REPORTS_PATH && path !== REPORT_KEY_PATH) return next();
    if (koa.method !== 'GET' && koa.method !== 'HEAD') {
      koa.status = 405;
      koa.set('allow', 'GET, HEAD');
      koa.type = 'application/json';
      koa.body = JSON.stringify({ error: { code: 'MethodNotAllowed', message: 'the report log is read-only' } }) + '\n';
      return;
    }
    koa.set('cache-control', 'no-cache');
    if (path === REPORT_KEY_PATH) {
      koa.type = 'application/jwk+json';
      koa.body = JSON.stringify(key) + '\n';
      return;
    }
    const after = Math.max(0, Math.floor(Number(koa.query.after ?? 0)) || 0);
    const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(Number(koa.query.limit ?? MAX_PAGE)) || MAX_PAGE));
    const entries = await log.page(after, limit + 1);
    const page: ReportPage = { key: REPORT_KEY_PATH, entries: entries.slice(0, limit) };
    if (entries.length > limit) page.next = entries[limit - 1]!.seq;
    koa.type = 'application/json';
    koa.body = JSON.stringify(page) + '\n';
  };
}

/** Fetch a whole log and its key over HTTP (the verify-reports command). `url` is the gateway or the log URL. */
export async function fetchReportLog(url: string, timeoutMs = 30_000): Promise<{ entries: ReportPage['entries']; jwk: JWK; keyUrl: string; logUrl: string }> {
  const base = new URL(url);
  const logUrl = new URL(base.pathname.endsWith(REPORTS_PATH) ? base.pathname : REPORTS_PATH, base);
  const entries: ReportPage['entries'] = [];
  let after = 0;
  let keyPath = REPORT_KEY_PATH;
  for (;;) {
    const u = new URL(logUrl);
    u.searchParams.set('after', String(after));
    const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`${u.href} answered HTTP ${res.status}`);
    const page = await res.json() as ReportPage;
    if (!Array.isArray(page.entries)) throw new Error(`${u.href} is not a shardgate report log`);
    entries.push(...page.entries);
    keyPath = page.key || keyPath;
    if (page.next === undefined) break;
    after = page.next;
  }
  const keyUrl = new URL(keyPath, logUrl);
  const res = await fetch(keyUrl, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${keyUrl.href} answered HTTP ${res.status}`);
  return { entries, jwk: await res.json() as JWK, keyUrl: keyUrl.href, logUrl: logUrl.href };
}
