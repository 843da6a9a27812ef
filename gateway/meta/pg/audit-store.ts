import { randomBytes } from 'node:crypto';
import { N } from '../../../codec/erasure.js';
import type { AuditOutcome, AuditStore, AuditTarget, OutcomeCounts } from '../audit-store.js';
import type { SqlRow } from '../rows.js';
import type { PgDb } from './db.js';

const ROOT_BYTES = 32;

/** Audit roots, results, node scores and the trust layer's small state, on PostgreSQL. */
export class PgAuditStore implements AuditStore {
  constructor(private readonly db: PgDb) {}

  /** Keep a blob's 16 roots (piece order). */
  async setRoots(blobId: string, roots: readonly Buffer[]): Promise<void> {
    const all = Buffer.concat(roots);
    await this.db.writeLocked((sql) => sql.run(
      'INSERT INTO blob_roots(blob_id, roots) VALUES ($1, $2) ON CONFLICT (blob_id) DO UPDATE SET roots = excluded.roots', [blobId, all],
    ));
  }

  async getRoots(blobId: string): Promise<Buffer[] | undefined> {
    const r = await this.db.one('SELECT roots FROM blob_roots WHERE blob_id = $1', [blobId]);
    return r ? splitRoots(r.roots as Buffer) : undefined;
  }

  async dropStaleRoots(): Promise<number> {
    return this.db.writeLocked((sql) => sql.run('DELETE FROM blob_roots r WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = r.blob_id)'));
  }

  /**
   * Up to `limit` live pieces placed on the node that have roots: consecutive ones from a
   * random point of the blob id space (ids are random, so each round looks somewhere else).
   */
  async sampleOn(nodeId: string, limit: number): Promise<AuditTarget[]> {
    const from = randomBytes(16).toString('hex');
    const sample = (op: '>=' | '<', n: number): Promise<SqlRow[]> => this.db.query(`SELECT b.id, b.size, b.segment_size, j.ord - 1 AS piece, r.roots
      FROM blobs b CROSS JOIN LATERAL jsonb_array_elements_text(b.placement::jsonb) WITH ORDINALITY AS j(value, ord)
      JOIN blob_roots r ON r.blob_id = b.id
      WHERE b.id ${op} $1 AND b.state = 'live' AND j.value = $2 ORDER BY b.id, j.ord LIMIT $3`, [from, nodeId, n]);
    const rows = await sample('>=', limit);
    if (rows.length < limit) rows.push(...(await sample('<', limit - rows.length)));
    return rows.map((r) => ({
      blobId: String(r.id), piece: Number(r.piece), size: Number(r.size), segmentSize: Number(r.segment_size),
      root: splitRoots(r.roots as Buffer)[Number(r.piece)]!,
    }));
  }

  /** Live blobs with roots after `cursor`, in id order (the scrub's walk). */
  async liveAfter(cursor: string, limit: number): Promise<Array<{ id: string; size: number; segmentSize: number; placement: string[]; roots: Buffer[] }>> {
    const rows = await this.db.query(`SELECT b.id, b.size, b.segment_size, b.placement, r.roots FROM blobs b JOIN blob_roots r ON r.blob_id = b.id
      WHERE b.state = 'live' AND b.id > $1 ORDER BY b.id LIMIT $2`, [cursor, limit]);
    return rows.map((r) => ({
      id: String(r.id), size: Number(r.size), segmentSize: Number(r.segment_size),
      placement: JSON.parse(String(r.placement)) as string[], roots: splitRoots(r.roots as Buffer),
    }));
  }

  async record(nodeId: string, shardId: string, outcome: AuditOutcome, detail: string | null, at = Date.now()): Promise<void> {
    await this.db.writeLocked((sql) => sql.run(
      'INSERT INTO audits(node_id, at, shard_id, outcome, detail) VALUES ($1, $2, $3, $4, $5)', [nodeId, at, shardId, outcome, detail],
    ));
  }

  /** Audit outcomes of a node in [from, to). */
  async counts(nodeId: string, from: number, to: number): Promise<OutcomeCounts> {
    const out: OutcomeCounts = { pass: 0, wrong: 0, missing: 0, timeout: 0, error: 0 };
    const rows = await this.db.query('SELECT outcome, COUNT(*) AS n FROM audits WHERE node_id = $1 AND at >= $2 AND at < $3 GROUP BY outcome', [nodeId, from, to]);
    for (const r of rows) out[r.outcome as AuditOutcome] = Number(r.n);
    return out;
  }

  async last(nodeId: string, failuresOnly = false): Promise<{ at: number; outcome: AuditOutcome; shardId: string; detail: string | null } | undefined> {
    const r = await this.db.one(`SELECT at, outcome, shard_id, detail FROM audits
      WHERE node_id = $1 ${failuresOnly ? `AND outcome != 'pass'` : ''} ORDER BY id DESC LIMIT 1`, [nodeId]);
    return r && { at: Number(r.at), outcome: r.outcome as AuditOutcome, shardId: String(r.shard_id), detail: (r.detail as string | null) ?? null };
  }

  async setScore(nodeId: string, score: number): Promise<void> {
    await this.db.writeLocked((sql) => sql.run('UPDATE nodes SET score = $1 WHERE id = $2', [score, nodeId]));
  }

  async getState(key: string): Promise<string | undefined> {
    const r = await this.db.one('SELECT value FROM trust_state WHERE key = $1', [key]);
    return r === undefined ? undefined : String(r.value);
  }

  async setState(key: string, value: string): Promise<void> {
    await this.db.writeLocked((sql) => sql.run(
      'INSERT INTO trust_state(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value],
    ));
  }
}

function splitRoots(buf: Buffer): Buffer[] {
  return Array.from({ length: N }, (_, i) => buf.subarray(i * ROOT_BYTES, (i + 1) * ROOT_BYTES));
}
