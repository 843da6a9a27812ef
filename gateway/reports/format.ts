import { createHash } from 'node:crypto';
import type { OutcomeCounts } from '../meta/audit-store.js';

/** The JWS header `typ` of a report; a verifier refuses anything else. */
export const REPORT_TYP = 'shardgate-report+jws';
export const REPORT_ALG = 'EdDSA';
/** `prev` of the first entry. */
export const GENESIS = '0'.repeat(64);
export const REPORTS_PATH = '/_shardgate/reports';
export const REPORT_KEY_PATH = '/.well-known/shardgate/report-key.jwk';

/** The signed payload of one report: one node, one period. */
export interface ReportPayload {
  v: 1;
  /** Position in the log, from 1, without gaps. */
  seq: number;
  /** Hash of the previous entry (reportHash), GENESIS for the first. */
  prev: string;
  node: string;
  zone: string;
  /** The period reported, ms since the epoch, [periodStart, periodEnd). */
  periodStart: number;
  periodEnd: number;
  audits: OutcomeCounts;
  uptime: { samples: number; up: number; ratio: number };
  score: number;
  state: string;
  issuedAt: number;
  /**
   * What the economy pays by (gateway/ledger/service.ts), absent from entries written before
   * it existed (which still verify): bytes held over the period in byte-hours and bytes served,
   * as decimal strings (this gateway writes; safe integers read too), and whether the store was
   * drained as lost for failing its audits.
   */
  storedByteHours?: string | number;
  servedBytes?: string | number;
  lost?: boolean;
}

export type ReportServiceFields = Pick<ReportPayload, 'storedByteHours' | 'servedBytes' | 'lost'>;

/** One entry of the log as served. */
export interface ReportEntry {
  seq: number;
  jws: string;
}

export interface ReportPage {
  /** Where the public key is (absolute path on the same origin). */
  key: string;
  entries: ReportEntry[];
  /** Present when more entries follow: ask again with ?after=<next>. */
  next?: number;
}

/** An entry's hash, which the next entry names: SHA-256 of the compact JWS text. */
export function reportHash(jws: string): string {
  return createHash('sha256').update(jws).digest('hex');
}
