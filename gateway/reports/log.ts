import type { ReportStore } from '../meta/reports.js';
import { GENESIS, REPORT_TYP, reportHash, type ReportEntry, type ReportPayload } from './format.js';
import { signEntry, type LogSigningKey } from './jws.js';

/**
 * The append-only log of signed reports (table report_log). Each entry is a compact JWS
 * whose payload carries its sequence number and the hash of the entry before it, so the
 * log can be checked offline by anyone with the public key: an entry removed, changed or
 * moved breaks the chain. Appends are serialised by the store (one transaction).
 */
export class ReportLog {
  constructor(private readonly store: ReportStore, private readonly key: LogSigningKey) {}

  /** Sign and append reports, in order, in one transaction. */
  async append(reports: Array<Omit<ReportPayload, 'v' | 'seq' | 'prev'>>): Promise<ReportEntry[]> {
    // Signing is not part of the store's transactions: sign against the current tail, then
    // insert only if the tail has not moved (one gateway writes this log, so it does not).
    const tail = await this.store.tail();
    const afterSeq = tail?.seq ?? 0;
    let seq = afterSeq;
    let prev = tail?.hash ?? GENESIS;
    const signed: Array<{ payload: ReportPayload; jws: string; hash: string }> = [];
    for (const r of reports) {
      const payload: ReportPayload = { v: 1, seq: ++seq, prev, ...r };
      const jws = await signEntry(JSON.stringify(payload), REPORT_TYP, this.key);
      prev = reportHash(jws);
      signed.push({ payload, jws, hash: prev });
    }
    await this.store.append(afterSeq, signed.map((e) => ({
      seq: e.payload.seq, node: e.payload.node, periodStart: e.payload.periodStart, periodEnd: e.payload.periodEnd, jws: e.jws, hash: e.hash,
    })));
    return signed.map((e) => ({ seq: e.payload.seq, jws: e.jws }));
  }

  page(after: number, limit: number): Promise<ReportEntry[]> {
    return this.store.page(after, limit);
  }

  size(): Promise<number> {
    return this.store.size();
  }
}
