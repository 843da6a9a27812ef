import { compactVerify, importJWK, type JWK } from 'jose';
import { canonicalJson } from '../ledger/canonical.js';
import { isName } from '../ledger/types.js';
import type { AuditOutcome, OutcomeCounts } from '../meta/audit-store.js';
import { LOG_ALG, signEntry, type LogSigningKey } from '../reports/jws.js';

/**
 * What an independent monitor signs, and how its words enter the report log (issue 12).
 *
 * A monitor (`shardgate monitor`) challenges the stores with its own Ed25519 key and signs its
 * results as a statement: a compact JWS of type MONITOR_STATEMENT_TYP over the canonical JSON
 * of a MonitorStatement. The gateway appends the statement to the report log, inside a
 * gateway-signed entry of kind `monitor` that repeats its fields (so settlement reads them
 * without JWS code); anyone can check offline that the inner signature is the monitor's and
 * that the fields are the ones it signed: the gateway can leave a monitor's word out, never
 * change it. The monitor keys are registered in the same log (entries of kind
 * `monitor-key`), so the log alone says whose signatures count.
 */
export const MONITOR_STATEMENT_TYP = 'shardgate-monitor+jws';
/** A monitor's proof of who asks for the challenge material (short-lived, bound to the gateway and path). */
export const MONITOR_AUTH_TYP = 'shardgate-monitor-auth+jws';
export const MONITOR_AUTH_SCHEME = 'ShardgateMonitor';
export const MONITOR_MATERIAL_PATH = '/_shardgate/monitor/material';
export const MONITOR_STATEMENTS_PATH = '/_shardgate/monitor/statements';
/** How old (or how far ahead of the gateway's clock) a monitor's request token may be. */
export const MONITOR_AUTH_MAX_SKEW_MS = 5 * 60_000;
/** Most stores one statement may speak of, and most challenges per store. */
export const MAX_STATEMENT_STORES = 10_000;
export const MAX_CHALLENGES_PER_STORE = 100_000;

const OUTCOMES: readonly AuditOutcome[] = ['pass', 'wrong', 'missing', 'timeout', 'error'];

export interface MonitorStatement {
  v: 1;
  monitor: string;
  /** The kid of the gateway key whose log it is meant for: a statement is not replayable to another gateway. */
  gateway: string;
  /** The period its challenges ran in, ms since the epoch, [periodStart, periodEnd). */
  periodStart: number;
  periodEnd: number;
  /** Challenges run in the period: the sum of every result's outcomes (what the monitor is paid for). */
  challenges: number;
  results: Array<{ store: string; audits: OutcomeCounts }>;
}

/** A monitor's public key as registered: Ed25519, public members only. */
export interface MonitorJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

/** A report-log entry (beside v, seq, prev) registering a monitor's key, or revoking it (`jwk: null`). */
export interface MonitorKeyRecord {
  kind: 'monitor-key';
  monitor: string;
  jwk: MonitorJwk | null;
  issuedAt: number;
}

/** A report-log entry (beside v, seq, prev) carrying a monitor's statement and its fields. */
export interface MonitorLogRecord {
  kind: 'monitor';
  monitor: string;
  periodStart: number;
  periodEnd: number;
  challenges: number;
  results: MonitorStatement['results'];
  /** The monitor's compact JWS over the statement. */
  statement: string;
  issuedAt: number;
}

/** The statement's fields as a report-log entry repeats them. */
export function recordOf(s: MonitorStatement, jws: string, issuedAt: number): MonitorLogRecord {
  return { kind: 'monitor', monitor: s.monitor, periodStart: s.periodStart, periodEnd: s.periodEnd, challenges: s.challenges, results: s.results, statement: jws, issuedAt };
}

/** Whether an entry's repeated fields are exactly the statement's. */
export function sameFields(r: Pick<MonitorLogRecord, 'monitor' | 'periodStart' | 'periodEnd' | 'challenges' | 'results'>, s: MonitorStatement): boolean {
  const pick = (x: typeof r): string => canonicalJson({ monitor: x.monitor, periodStart: x.periodStart, periodEnd: x.periodEnd, challenges: x.challenges, results: x.results });
  return pick(r) === pick(s);
}

/** A statement's shape checked; the reason it is refused otherwise. */
export function parseStatement(value: unknown): { ok: true; statement: MonitorStatement } | { ok: false; reason: string } {
  const bad = (reason: string) => ({ ok: false as const, reason });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('a statement is a JSON object');
  const s = value as Record<string, unknown>;
  if (s.v !== 1) return bad('v must be 1');
  if (!isName(s.monitor)) return bad('monitor must be a name (letters, digits, . _ -)');
  if (typeof s.gateway !== 'string' || s.gateway === '') return bad('gateway must be the kid of the gateway key');
  if (!Number.isSafeInteger(s.periodStart) || !Number.isSafeInteger(s.periodEnd) || (s.periodStart as number) < 0 || (s.periodEnd as number) <= (s.periodStart as number)) {
    return bad('periodStart and periodEnd must be ms since the epoch, start before end');
  }
  if (!Array.isArray(s.results) || s.results.length > MAX_STATEMENT_STORES) return bad(`results must be an array of at most ${MAX_STATEMENT_STORES} stores`);
  const seen = new Set<string>();
  let total = 0;
  const results: MonitorStatement['results'] = [];
  for (const r of s.results as unknown[]) {
    const x = r as { store?: unknown; audits?: Record<string, unknown> } | null;
    if (typeof x !== 'object' || x === null || !isName(x.store) || typeof x.audits !== 'object' || x.audits === null) return bad('each result is { store, audits }');
    if (seen.has(x.store)) return bad(`store ${x.store} is named twice`);
    seen.add(x.store);
    const audits = {} as OutcomeCounts;
    let n = 0;
    for (const k of OUTCOMES) {
      const v = x.audits[k];
      if (!Number.isSafeInteger(v) || (v as number) < 0) return bad(`audits.${k} of ${x.store} must be a non-negative integer`);
      audits[k] = v as number;
      n += v as number;
    }
    if (Object.keys(x.audits).some((k) => !OUTCOMES.includes(k as AuditOutcome))) return bad(`audits of ${x.store} name an unknown outcome`);
    if (n > MAX_CHALLENGES_PER_STORE) return bad(`more than ${MAX_CHALLENGES_PER_STORE} challenges of ${x.store} in one statement`);
    total += n;
    results.push({ store: x.store, audits });
  }
  if (s.challenges !== total) return bad(`challenges must be the sum of the results' outcomes (${total})`);
  const keys = Object.keys(s).filter((k) => !['v', 'monitor', 'gateway', 'periodStart', 'periodEnd', 'challenges', 'results'].includes(k));
  if (keys.length) return bad(`unknown field ${keys[0]}`);
  results.sort((a, b) => (a.store < b.store ? -1 : a.store > b.store ? 1 : 0));
  return { ok: true, statement: { v: 1, monitor: s.monitor, gateway: s.gateway, periodStart: s.periodStart as number, periodEnd: s.periodEnd as number, challenges: total, results } };
}

/** Sign a statement with the monitor's key. */
export function signStatement(s: MonitorStatement, key: LogSigningKey): Promise<string> {
  return signEntry(canonicalJson(s), MONITOR_STATEMENT_TYP, key);
}

/**
 * The statement a JWS carries, once its signature verifies with `jwk` and its shape is
 * right; throws with the reason otherwise.
 */
export async function openStatement(jws: string, jwk: MonitorJwk): Promise<MonitorStatement> {
  const payload = await openSigned(jws, MONITOR_STATEMENT_TYP, jwk);
  const p = parseStatement(JSON.parse(payload) as unknown);
  if (!p.ok) throw new Error(`not a statement: ${p.reason}`);
  return p.statement;
}

/** The monitor a signed statement names, read without checking the signature (to find its key). */
export function claimedMonitor(jws: unknown): string | undefined {
  if (typeof jws !== 'string') return undefined;
  try {
    const m = (JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { monitor?: unknown }).monitor;
    return isName(m) ? m : undefined;
  } catch {
    return undefined;
  }
}

async function openSigned(jws: string, typ: string, jwk: MonitorJwk): Promise<string> {
  const key = await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, LOG_ALG);
  const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: [LOG_ALG] });
  if (protectedHeader.typ !== typ) throw new Error(`typ is ${String(protectedHeader.typ)}, expected ${typ}`);
  return new TextDecoder().decode(payload);
}

/**
 * A monitor key as given to `admin ledger monitor add`: a public Ed25519 JWK (object or JSON
 * text), or its bare `x` (43 base64url characters). A private key is refused.
 */
export function parseMonitorKey(value: unknown): { ok: true; jwk: MonitorJwk } | { ok: false; reason: string } {
  let v = value;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[A-Za-z0-9_-]{43}$/.test(t)) return { ok: true, jwk: { kty: 'OKP', crv: 'Ed25519', x: t } };
    try {
      v = JSON.parse(t) as unknown;
    } catch {
      return { ok: false, reason: 'a monitor key is a public Ed25519 JWK, or its x (43 base64url characters)' };
    }
  }
  const j = v as JWK | null;
  if (typeof j !== 'object' || j === null) return { ok: false, reason: 'a monitor key is a public Ed25519 JWK' };
  if (j.d !== undefined) return { ok: false, reason: 'that is a private key: give the public one (monitor-key.pub.jwk)' };
  if (j.kty !== 'OKP' || j.crv !== 'Ed25519' || typeof j.x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(j.x)) return { ok: false, reason: 'only Ed25519 (OKP) keys are accepted' };
  return { ok: true, jwk: { kty: 'OKP', crv: 'Ed25519', x: j.x } };
}

/** What a monitor's request token says: who asks, of which gateway, for which path, when. */
export interface MonitorAuthClaims {
  monitor: string;
  gateway: string;
  path: string;
  iat: number;
}

/** `Authorization` header value for a monitor's request to `path` of the gateway whose kid is `gateway`. */
export async function monitorAuthorization(claims: MonitorAuthClaims, key: LogSigningKey): Promise<string> {
  return `${MONITOR_AUTH_SCHEME} ${await signEntry(canonicalJson(claims), MONITOR_AUTH_TYP, key)}`;
}

/**
 * The registered monitor behind a request's Authorization header, or the reason it is
 * refused: the token must be signed by the monitor's registered key, name this gateway and
 * this path, and be at most MONITOR_AUTH_MAX_SKEW_MS old (or ahead).
 */
export async function authenticateMonitor(
  header: string | undefined, keyOf: (monitor: string) => MonitorJwk | undefined, expect: { gateway: string; path: string }, now = Date.now(),
): Promise<{ ok: true; monitor: string } | { ok: false; reason: string }> {
  const m = /^ShardgateMonitor\s+(\S+)$/.exec(header ?? '');
  if (!m) return { ok: false, reason: `send Authorization: ${MONITOR_AUTH_SCHEME} <token signed by a registered monitor key>` };
  const name = claimedMonitor(m[1]);
  const jwk = name === undefined ? undefined : keyOf(name);
  if (name === undefined || jwk === undefined) return { ok: false, reason: `monitor ${name ?? '?'} is not registered (shardgate admin ledger monitor add)` };
  let claims: Partial<MonitorAuthClaims>;
  try {
    claims = JSON.parse(await openSigned(m[1]!, MONITOR_AUTH_TYP, jwk)) as Partial<MonitorAuthClaims>;
  } catch (err) {
    return { ok: false, reason: `the token does not verify with ${name}'s registered key: ${(err as Error).message}` };
  }
  if (claims.gateway !== expect.gateway || claims.path !== expect.path) return { ok: false, reason: 'the token is for another gateway or path' };
  if (typeof claims.iat !== 'number' || Math.abs(now - claims.iat) > MONITOR_AUTH_MAX_SKEW_MS) return { ok: false, reason: 'the token is too old (or the clocks disagree by over 5 minutes)' };
  return { ok: true, monitor: name };
}
