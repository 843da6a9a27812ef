import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/** One signed report as the log keeps it (gateway/reports/log.ts signs them). */
export interface StoredReport {
  seq: number;
  node: string;
  periodStart: number;
  periodEnd: number;
  jws: string;
  /** reportHash(jws): the next entry's `prev`. */
  hash: string;
}

/** The append-only report log (table report_log). */
export interface ReportStore {
  /** The last entry's sequence number and hash; undefined while the log is empty. */
  tail(): Promise<{ seq: number; hash: string } | undefined>;
  /**
   * Append entries signed against the tail `afterSeq` (0: empty log), all or none, in one
   * transaction. Throws if the tail moved meanwhile.
   */
  append(afterSeq: number, entries: readonly StoredReport[]): Promise<void>;
  page(after: number, limit: number): Promise<Array<{ seq: number; jws: string }>>;
  size(): Promise<number>;
}

type SqlRow = Record<string, unknown>;

/** Appends are serialised by SQLite's write lock (one immediate transaction). */
export class SqliteReportStore implements ReportStore {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      last: p('SELECT seq, hash FROM report_log ORDER BY seq DESC LIMIT 1'),
      insert: p('INSERT INTO report_log(seq, node_id, period_start, period_end, jws, hash) VALUES (?, ?, ?, ?, ?, ?)'),
      page: p('SELECT seq, jws FROM report_log WHERE seq > ? ORDER BY seq LIMIT ?'),
      count: p('SELECT COUNT(*) AS n FROM report_log'),
    };
  }

  async tail(): Promise<{ seq: number; hash: string } | undefined> {
    return this.tailTx();
  }

  private tailTx(): { seq: number; hash: string } | undefined {
    const r = this.s.last!.get() as SqlRow | undefined;
    return r && { seq: Number(r.seq), hash: String(r.hash) };
  }

  async append(afterSeq: number, entries: readonly StoredReport[]): Promise<void> {
    this.db.transaction(() => {
      if ((this.tailTx()?.seq ?? 0) !== afterSeq) throw new Error('report log changed while signing');
      for (const e of entries) this.s.insert!.run(e.seq, e.node, e.periodStart, e.periodEnd, e.jws, e.hash);
    }).immediate();
  }

  async page(after: number, limit: number): Promise<Array<{ seq: number; jws: string }>> {
    return (this.s.page!.all(after, limit) as SqlRow[]).map((r) => ({ seq: Number(r.seq), jws: String(r.jws) }));
  }

  async size(): Promise<number> {
    return Number((this.s.count!.get() as SqlRow).n);
  }
}
