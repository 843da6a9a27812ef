import { LedgerTailMovedError, SHARD_FILE_LENGTH_SQL, entryOf, type LedgerEntryRow, type LedgerLogStore, type StoredLedgerEntry } from '../ledger-log.js';
import type { PgDb } from './db.js';

/**
 * The ledger log on PostgreSQL. The tail is checked in a SERIALIZABLE transaction and `seq`
 * is the primary key, so of two gateways appending after the same tail one fails with
 * LedgerTailMovedError and the chain never forks.
 */
export class PgLedgerLogStore implements LedgerLogStore {
  constructor(private readonly db: PgDb) {}

  tail(): Promise<{ seq: number; hash: string; at: number } | undefined> {
    return this.db.read(async (sql) => {
      const r = await sql.one('SELECT seq, hash, at FROM ledger_log ORDER BY seq DESC LIMIT 1');
      return r && { seq: Number(r.seq), hash: String(r.hash), at: Number(r.at) };
    });
  }

  async append(afterSeq: number, entries: readonly StoredLedgerEntry[], ledgerEntries: readonly LedgerEntryRow[] = []): Promise<void> {
    try {
      await this.db.write(async (sql) => {
        const tail = await sql.one('SELECT seq FROM ledger_log ORDER BY seq DESC LIMIT 1');
        if (Number(tail?.seq ?? 0) !== afterSeq) throw new LedgerTailMovedError();
        for (const e of entries) {
          await sql.run('INSERT INTO ledger_log(seq, kind, era, at, jws, hash) VALUES ($1, $2, $3, $4, $5, $6)', [e.seq, e.kind, e.era, e.at, e.jws, e.hash]);
        }
        for (const e of ledgerEntries) {
          await sql.run('INSERT INTO ledger_entries(seq, era, reason, from_account, to_account, amount, ref) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
            e.seq, e.era, e.reason, e.from, e.to, e.amount, e.ref ?? null,
          ]);
        }
      });
    } catch (err) {
      // The other append committed first and took these sequence numbers (or settled the era).
      if ((err as { code?: string }).code === '23505') throw new LedgerTailMovedError();
      throw err;
    }
  }

  page(after: number, limit: number): Promise<Array<{ seq: number; jws: string }>> {
    return this.db.read(async (sql) => {
      const rows = await sql.query('SELECT seq, jws FROM ledger_log WHERE seq > $1 ORDER BY seq LIMIT $2', [after, limit]);
      return rows.map((r) => ({ seq: Number(r.seq), jws: String(r.jws) }));
    });
  }

  size(): Promise<number> {
    return this.db.read(async (sql) => Number((await sql.one('SELECT COUNT(*) AS n FROM ledger_log'))?.n ?? 0));
  }

  settlements(): Promise<Array<{ era: number; seq: number }>> {
    return this.db.read(async (sql) => {
      const rows = await sql.query(`SELECT era, seq FROM ledger_log WHERE kind = 'settlement' ORDER BY era`);
      return rows.map((r) => ({ era: Number(r.era), seq: Number(r.seq) }));
    });
  }

  entries(after: number, limit: number): Promise<LedgerEntryRow[]> {
    return this.db.read(async (sql) => (await sql.query('SELECT * FROM ledger_entries WHERE seq > $1 ORDER BY seq LIMIT $2', [after, limit])).map(entryOf));
  }

  bytesHeld(): Promise<Map<string, number>> {
    // Piece i of a blob is element i of its placement: ordinality counts from 1.
    return this.db.read(async (sql) => {
      const rows = await sql.query(`SELECT j.value AS node, SUM(${SHARD_FILE_LENGTH_SQL}) AS bytes
        FROM blobs b, jsonb_array_elements_text(b.placement::jsonb) WITH ORDINALITY AS j(value, idx)
        WHERE b.state = 'live' AND NOT EXISTS (SELECT 1 FROM repair_queue q WHERE q.blob_id = b.id AND q.piece = j.idx - 1)
        GROUP BY j.value`);
      return new Map(rows.map((r) => [String(r.node), Number(r.bytes)]));
    });
  }
}
