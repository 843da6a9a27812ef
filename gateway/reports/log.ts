import type { ReportStore } from '../meta/reports.js';
import type { MonitorKeyRecord, MonitorLogRecord } from '../monitors/statement.js';
import { GENESIS, REPORT_TYP, reportHash, type ReportEntry, type ReportPayload } from './format.js';
import { signEntry, type LogSigningKey } from './jws.js';

/** An entry of another kind than a store's report: a monitor's key or statement (gateway/monitors/). */
export type OtherRecord = MonitorKeyRecord | MonitorLogRecord;

const ATTEMPTS = 3;

/**
 * The append-only log of signed reports (table report_log). Each entry is a compact JWS
 * whose payload carries its sequence number and the hash of the entry before it, so the
 * log can be checked offline by anyone with the public key: an entry removed, changed or
 * moved breaks the chain. Appends are serialised here (the publisher and monitors' statements
 * share the log) and checked against the tail by the store (one transaction).
 */
export class ReportLog {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: ReportStore, private readonly key: LogSigningKey) {}

  /** Sign and append reports, in order, in one transaction. */
  append(reports: Array<Omit<ReportPayload, 'v' | 'seq' | 'prev'>>): Promise<ReportEntry[]> {
    return this.write(reports.map((r) => ({ body: r, node: r.node, periodStart: r.periodStart, periodEnd: r.periodEnd })));
  }

  /** Sign and append one entry of another kind (a monitor's key or statement). */
  appendRecord(r: OtherRecord): Promise<ReportEntry> {
    // The node column indexes a store's reports; other kinds are filed under their author.
    const start = r.kind === 'monitor' ? r.periodStart : r.issuedAt;
    const end = r.kind === 'monitor' ? r.periodEnd : r.issuedAt;
    return this.write([{ body: r, node: `monitor:${r.monitor}`, periodStart: start, periodEnd: end }]).then((e) => e[0]!);
  }

  page(after: number, limit: number): Promise<ReportEntry[]> {
    return this.store.page(after, limit);
  }

  size(): Promise<number> {
    return this.store.size();
  }

  private write(items: Array<{ body: object; node: string; periodStart: number; periodEnd: number }>): Promise<ReportEntry[]> {
    const run = async (): Promise<ReportEntry[]> => {
      for (let attempt = 1; ; attempt++) {
        // Signing is not part of the store's transactions: sign against the current tail, then
        // insert only if the tail has not moved (another gateway may have appended meanwhile).
        const tail = await this.store.tail();
        try {
          return await this.signAndAppend(tail, items);
        } catch (err) {
          const now = await this.store.tail();
          if (attempt >= ATTEMPTS || now?.seq === tail?.seq) throw err;
        }
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async signAndAppend(tail: { seq: number; hash: string } | undefined, items: Array<{ body: object; node: string; periodStart: number; periodEnd: number }>): Promise<ReportEntry[]> {
    const afterSeq = tail?.seq ?? 0;
    let seq = afterSeq;
    let prev = tail?.hash ?? GENESIS;
    const signed: Array<{ seq: number; jws: string; hash: string; node: string; periodStart: number; periodEnd: number }> = [];
    for (const it of items) {
      const payload = { v: 1, seq: ++seq, prev, ...it.body };
      const jws = await signEntry(JSON.stringify(payload), REPORT_TYP, this.key);
      prev = reportHash(jws);
      signed.push({ seq, jws, hash: prev, node: it.node, periodStart: it.periodStart, periodEnd: it.periodEnd });
    }
    await this.store.append(afterSeq, signed);
    return signed.map((e) => ({ seq: e.seq, jws: e.jws }));
  }
}
