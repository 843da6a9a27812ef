import type { Statement } from 'better-sqlite3';
import { CompactSign, type CryptoKey } from 'jose';
import type { Db } from '../meta/db.js';
import { GENESIS, REPORT_ALG, REPORT_TYP, reportHash, type ReportEntry, type ReportPayload } from './format.js';

type SqlRow = Record<string, unknown>;

/**
 * The append-only log of signed reports (table report_log). Each entry is a compact JWS
 * whose payload carries its sequence number and the hash of the entry before it, so the
 * log can be checked offline by anyone with the public key: an entry removed, changed or
 * moved breaks the chain. Appends are serialised by SQLite's write lock (one transaction).
 */
export class ReportLog {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db, private readonly key: { kid: string; privateKey: CryptoKey }) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      last: p('SELECT seq, hash FROM report_log ORDER BY seq DESC LIMIT 1'),
      insert: p('INSERT INTO report_log(seq, node_id, period_start, period_end, jws, hash) VALUES (?, ?, ?, ?, ?, ?)'),
      page: p('SELECT seq, jws FROM report_log WHERE seq > ? ORDER BY seq LIMIT ?'),
      count: p('SELECT COUNT(*) AS n FROM report_log'),
    };
  }

  /** Sign and append reports, in order, in one transaction. */
  async append(reports: Array<Omit<ReportPayload, 'v' | 'seq' | 'prev'>>): Promise<ReportEntry[]> {
    // Signing is async, SQLite transactions are not: sign against the current tail, then
    // insert only if the tail has not moved (one gateway writes this log, so it does not).
    const tail = this.s.last!.get() as SqlRow | undefined;
    let seq = tail ? Number(tail.seq) : 0;
    let prev = tail ? String(tail.hash) : GENESIS;
    const signed: Array<{ payload: ReportPayload; jws: string; hash: string }> = [];
    for (const r of reports) {
      const payload: ReportPayload = { v: 1, seq: ++seq, prev, ...r };
      const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: REPORT_ALG, typ: REPORT_TYP, kid: this.key.kid })
        .sign(this.key.privateKey);
      prev = reportHash(jws);
      signed.push({ payload, jws, hash: prev });
    }
    this.db.transaction(() => {
      const now = this.s.last!.get() as SqlRow | undefined;
      if ((now ? Number(now.seq) : 0) !== (tail ? Number(tail.seq) : 0)) throw new Error('report log changed while signing');
      for (const e of signed) this.s.insert!.run(e.payload.seq, e.payload.node, e.payload.periodStart, e.payload.periodEnd, e.jws, e.hash);
    }).immediate();
    return signed.map((e) => ({ seq: e.payload.seq, jws: e.jws }));
  }

  page(after: number, limit: number): ReportEntry[] {
    return (this.s.page!.all(after, limit) as SqlRow[]).map((r) => ({ seq: Number(r.seq), jws: String(r.jws) }));
  }

  size(): number {
    return Number((this.s.count!.get() as SqlRow).n);
  }
}
