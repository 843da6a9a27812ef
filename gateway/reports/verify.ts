import type { JWK } from 'jose';
import { GENESIS, REPORT_TYP, reportHash, type ReportEntry, type ReportPayload } from './format.js';
import { importPublicKey, openEntry } from './jws.js';
import { MonitorLogState } from '../monitors/log-check.js';

export interface VerifiedLog {
  ok: boolean;
  /** Payloads of the entries that verified, in log order. */
  reports: ReportPayload[];
  /** What is wrong, one line each; empty when ok. */
  errors: string[];
}

/**
 * Check a whole report log offline: every signature against the public key, the header
 * type, sequence numbers 1..n in order without gaps, each entry naming its predecessor's
 * hash, and per node, periods that move forward. Entries of independent monitors
 * (gateway/monitors/) are checked too: each statement signed by a monitor key registered
 * earlier in the log, for this gateway, repeated unchanged. Stops collecting after 20 errors.
 */
export async function verifyReportLog(entries: readonly ReportEntry[], publicJwk: JWK): Promise<VerifiedLog> {
  const errors: string[] = [];
  const reports: ReportPayload[] = [];
  if (publicJwk.d !== undefined) errors.push('the key given is a private key; reports are checked with the public one');
  const key = await importPublicKey(publicJwk);
  let prev = GENESIS;
  const lastPeriod = new Map<string, number>();
  const monitors = new MonitorLogState();
  for (const [i, e] of entries.entries()) {
    if (errors.length >= 20) break;
    const at = `entry ${i + 1} (seq ${e.seq})`;
    let payload: ReportPayload;
    try {
      payload = JSON.parse(await openEntry(e.jws, REPORT_TYP, key)) as ReportPayload;
    } catch (err) {
      errors.push(`${at}: signature does not verify (${(err as Error).message}): the entry was altered or not signed by this key`);
      prev = reportHash(e.jws);
      continue;
    }
    if (payload.seq !== i + 1 || e.seq !== payload.seq) {
      errors.push(`${at}: signed sequence number is ${payload.seq}, expected ${i + 1}: entries are missing, duplicated or reordered`);
    }
    if (payload.prev !== prev) {
      errors.push(`${at}: does not chain to the entry before it (prev ${payload.prev.slice(0, 12)}…, expected ${prev.slice(0, 12)}…): an entry was removed, altered or reordered`);
    }
    const kind = (payload as { kind?: unknown }).kind;
    if (kind === 'monitor-key') {
      const why = monitors.applyKey(payload);
      if (why) errors.push(`${at}: ${why}`);
    } else if (kind === 'monitor') {
      const why = await monitors.check(payload, publicJwk.kid);
      if (why) errors.push(`${at}: ${why}`);
    } else if (kind !== undefined) {
      errors.push(`${at}: unknown entry kind ${JSON.stringify(kind)}`);
    } else {
      const last = lastPeriod.get(payload.node);
      if (last !== undefined && payload.periodStart < last) errors.push(`${at}: period of ${payload.node} goes back in time`);
      lastPeriod.set(payload.node, payload.periodEnd);
    }
    prev = reportHash(e.jws);
    reports.push(payload);
  }
  return { ok: errors.length === 0, reports, errors };
}
