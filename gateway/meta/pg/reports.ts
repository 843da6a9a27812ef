import type { ReportStore, StoredReport } from '../reports.js';
import type { PgDb } from './db.js';

/** Another writer appended to the report log after the entries were signed against its tail. */
export class ReportTailMovedError extends Error {
  code = 'ERR_REPORT_TAIL_MOVED';
  constructor() {
    super('report log changed while signing');
    this.name = 'ReportTailMovedError';
  }
}

/**
 * The report log on PostgreSQL. Two gateways appending after the same tail cannot both win:
 * `seq` is the primary key, so the loser's first entry collides with the winner's (23505);
 * its unit runs again, finds the tail moved, and the append fails (ReportTailMovedError):
 * the chain never forks.
 */
export class PgReportStore implements ReportStore {
  constructor(private readonly db: PgDb) {}

  async tail(): Promise<{ seq: number; hash: string } | undefined> {
    const r = await this.db.one('SELECT seq, hash FROM report_log ORDER BY seq DESC LIMIT 1');
    return r && { seq: Number(r.seq), hash: String(r.hash) };
  }

  async append(afterSeq: number, entries: readonly StoredReport[]): Promise<void> {
    try {
      await this.db.writeLocked(async (sql) => {
        const tail = await sql.one('SELECT seq FROM report_log ORDER BY seq DESC LIMIT 1');
        if (Number(tail?.seq ?? 0) !== afterSeq) throw new ReportTailMovedError();
        for (const e of entries) {
          await sql.run('INSERT INTO report_log(seq, node_id, period_start, period_end, jws, hash) VALUES ($1, $2, $3, $4, $5, $6)', [
            e.seq, e.node, e.periodStart, e.periodEnd, e.jws, e.hash,
          ]);
        }
      });
    } catch (err) {
      // The other append committed first and took these sequence numbers.
      if ((err as { code?: string }).code === '23505') throw new ReportTailMovedError();
      throw err;
    }
  }

  async page(after: number, limit: number): Promise<Array<{ seq: number; jws: string }>> {
    const rows = await this.db.query('SELECT seq, jws FROM report_log WHERE seq > $1 ORDER BY seq LIMIT $2', [after, limit]);
    return rows.map((r) => ({ seq: Number(r.seq), jws: String(r.jws) }));
  }

  async size(): Promise<number> {
    return Number((await this.db.one('SELECT COUNT(*) AS n FROM report_log'))!.n);
  }
}
