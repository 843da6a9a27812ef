import { hex, sha256 } from './api';

/**
 * The gateway's signed report log (gateway/reports/), read from its public endpoints and
 * checked in the browser as `shardgate admin verify-reports` checks it: every EdDSA signature
 * against the published key, the header type, sequence numbers 1..n, and each entry naming
 * the hash of the one before.
 */
const REPORTS_PATH = '/_shardgate/reports';
const REPORT_TYP = 'shardgate-report+jws';
const GENESIS = '0'.repeat(64);

export interface ReportPayload {
  seq: number;
  prev: string;
  node: string;
  zone: string;
  periodStart: number;
  periodEnd: number;
  audits: Record<'pass' | 'wrong' | 'missing' | 'timeout' | 'error', number>;
  uptime: { samples: number; up: number; ratio: number };
  score: number;
  state: string;
  issuedAt: number;
}

export interface CheckedLog {
  /** null: this browser cannot check Ed25519 signatures. */
  ok: boolean | null;
  entries: number;
  reports: ReportPayload[];
  errors: string[];
}

interface Page {
  key: string;
  entries: Array<{ seq: number; jws: string }>;
  next?: number;
}

const b64url = (s: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${path} answered HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function checkReportLog(): Promise<CheckedLog> {
  const entries: Page['entries'] = [];
  let keyPath = '';
  for (let after = 0; ;) {
    const page = await getJson<Page>(`${REPORTS_PATH}?after=${after}`);
    keyPath = page.key;
    entries.push(...page.entries);
    if (page.next === undefined) break;
    after = page.next;
  }
  const jwk = await getJson<JsonWebKey>(keyPath);
  let key: CryptoKey | null = null;
  try {
    key = await crypto.subtle.importKey('jwk', { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    key = null;
  }
  const errors: string[] = [];
  const reports: ReportPayload[] = [];
  let prev = GENESIS;
  for (const [i, e] of entries.entries()) {
    if (errors.length >= 20) break;
    const at = `entry ${i + 1} (seq ${e.seq})`;
    const [h = '', p = '', sig = ''] = e.jws.split('.');
    let payload: ReportPayload;
    try {
      const header = JSON.parse(new TextDecoder().decode(b64url(h))) as { alg?: string; typ?: string };
      if (header.alg !== 'EdDSA' || header.typ !== REPORT_TYP) throw new Error(`header is ${JSON.stringify(header)}`);
      if (key && !(await crypto.subtle.verify('Ed25519', key, b64url(sig), new TextEncoder().encode(`${h}.${p}`)))) throw new Error('bad signature');
      payload = JSON.parse(new TextDecoder().decode(b64url(p))) as ReportPayload;
    } catch (err) {
      errors.push(`${at}: signature does not verify (${err instanceof Error ? err.message : String(err)}): the entry was altered or not signed by this key`);
      prev = hex(await sha256(e.jws));
      continue;
    }
    if (payload.seq !== i + 1 || e.seq !== payload.seq) errors.push(`${at}: signed sequence number is ${payload.seq}, expected ${i + 1}: entries are missing, duplicated or reordered`);
    if (payload.prev !== prev) errors.push(`${at}: does not chain to the entry before it: an entry was removed, altered or reordered`);
    prev = hex(await sha256(e.jws));
    // Entries of independent monitors (their keys, their signed statements) are not a store's report.
    if ((payload as { kind?: unknown }).kind === undefined) reports.push(payload);
  }
  return { ok: key ? errors.length === 0 : null, entries: entries.length, reports, errors };
}
