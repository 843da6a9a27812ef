import type Koa from 'koa';
import type { JWK } from 'jose';
import { REPORT_KEY_PATH, REPORTS_PATH, type ReportPage } from './format.js';
import { publishedKey } from './jws.js';
import type { ReportLog } from './log.js';

const MAX_PAGE = 1_000;

/** A read-only public endpoint: what it answers for a query, and as which media type. */
export interface PublicEndpoint {
  type?: string;
  get(query: Koa.Context['query']): Promise<unknown>;
}

/**
 * Public, read-only JSON endpoints (the signed logs and their key): anyone may fetch them, no
 * credentials, as a transparency log should be. Mounted before the admin API and S3: no path
 * under /_shardgate/ or /.well-known/ can be a bucket (bucket names start with a letter or digit).
 */
export function publicEndpoints(endpoints: Readonly<Record<string, PublicEndpoint>>, what: string): Koa.Middleware {
  return async (koa, next) => {
    const endpoint = Object.hasOwn(endpoints, koa.path) ? endpoints[koa.path] : undefined;
    if (endpoint === undefined) return next();
    if (koa.method !== 'GET' && koa.method !== 'HEAD') {
      koa.status = 405;
      koa.set('allow', 'GET, HEAD');
      koa.type = 'application/json';
      koa.body = JSON.stringify({ error: { code: 'MethodNotAllowed', message: `the ${what} is read-only` } }) + '\n';
      return;
    }
    koa.set('cache-control', 'no-cache');
    const body = await endpoint.get(koa.query);
    koa.type = endpoint.type ?? 'application/json';
    koa.body = JSON.stringify(body) + '\n';
  };
}

/** `?after=SEQ&limit=N` of a paged endpoint, clamped: bad values read as the defaults. */
export function pageQuery(query: Koa.Context['query']): { after: number; limit: number } {
  const after = Math.max(0, Math.floor(Number(query.after ?? 0)) || 0);
  const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(Number(query.limit ?? MAX_PAGE)) || MAX_PAGE));
  return { after, limit };
}

/** A page from `limit + 1` rows read: the first `limit`, and where the next page starts when more follow. */
export function pageOf<T extends { seq: number }>(rows: readonly T[], limit: number): { entries: T[]; next?: number } {
  const out: { entries: T[]; next?: number } = { entries: rows.slice(0, limit) };
  if (rows.length > limit) out.next = rows[limit - 1]!.seq;
  return out;
}

/**
 *   GET /_shardgate/reports[?after=SEQ&limit=N]  → ReportPage (JSON)
 *   GET /.well-known/shardgate/report-key.jwk     → the public JWK
 */
export function reportRoutes(log: ReportLog, publicJwk: JWK): Koa.Middleware {
  return publicEndpoints({
    [REPORT_KEY_PATH]: { type: 'application/jwk+json', get: async () => publishedKey(publicJwk) },
    [REPORTS_PATH]: {
      get: async (query) => {
        const { after, limit } = pageQuery(query);
        return { key: REPORT_KEY_PATH, ...pageOf(await log.page(after, limit + 1), limit) } satisfies ReportPage;
      },
    },
  }, 'report log');
}

/** Every page of a paged public endpoint (`{ entries, next? }`), from `url`, following `next`. */
export async function fetchPages<T, P extends { entries: T[]; next?: number }>(url: URL, timeoutMs = 30_000): Promise<{ entries: T[]; last: P }> {
  const entries: T[] = [];
  let after = 0;
  for (;;) {
    const u = new URL(url);
    u.searchParams.set('after', String(after));
    const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`${u.href} answered HTTP ${res.status}`);
    const page = await res.json() as P;
    if (!Array.isArray(page.entries)) throw new Error(`${u.href} is not a shardgate log`);
    entries.push(...page.entries);
    if (page.next === undefined) return { entries, last: page };
    if (!(page.next > after)) throw new Error(`${u.href} pages backwards (next ${page.next})`);
    after = page.next;
  }
}

/** Fetch a JSON document (a key, balances) with a timeout; throws with the URL on any HTTP error. */
export async function fetchJson<T>(url: URL, timeoutMs = 30_000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url.href} answered HTTP ${res.status}`);
  return await res.json() as T;
}

/** Fetch a whole log and its key over HTTP (the verify-reports command). `url` is the gateway or the log URL. */
export async function fetchReportLog(url: string, timeoutMs = 30_000): Promise<{ entries: ReportPage['entries']; jwk: JWK; keyUrl: string; logUrl: string }> {
  const base = new URL(url);
  const logUrl = new URL(base.pathname.endsWith(REPORTS_PATH) ? base.pathname : REPORTS_PATH, base);
  const { entries, last } = await fetchPages<ReportPage['entries'][number], ReportPage>(logUrl, timeoutMs);
  const keyUrl = new URL(last.key || REPORT_KEY_PATH, logUrl);
  return { entries, jwk: await fetchJson<JWK>(keyUrl, timeoutMs), keyUrl: keyUrl.href, logUrl: logUrl.href };
}
