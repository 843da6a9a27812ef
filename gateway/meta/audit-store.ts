import type { Statement } from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { N } from '../../codec/erasure.js';
import { withoutFsync, type Db } from './db.js';

/** How one challenged shard file answered. */
export type AuditOutcome = 'pass' | 'wrong' | 'missing' | 'timeout' | 'error';
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['pass', 'wrong', 'missing', 'timeout', 'error'];

/** A live piece an audit may challenge. */
export interface AuditTarget {
  blobId: string;
  piece: number;
  size: number;
  segmentSize: number;
  /** The hash-tree root of this shard file, from write time. */
  root: Buffer;
}

export type OutcomeCounts = Record<AuditOutcome, number>;

type SqlRow = Record<string, unknown>;
const ROOT_BYTES = 32;

/**
 * Metadata of audits and scrubs (migration 4): the roots kept at write time, the audit
 * results, node scores, and small persistent state. One instance per database: the write
 * path asks for it per blob, so statements are prepared once (auditStoreFor).
 */
export interface AuditStore {
  /** Keep a blob's 16 roots (piece order). Not fsynced: the object commit that follows is. */
  setRoots(blobId: string, roots: readonly Buffer[]): Promise<void>;
  getRoots(blobId: string): Promise<Buffer[] | undefined>;
  dropStaleRoots(): Promise<number>;
  /**
   * Up to `limit` live pieces placed on the node that have roots: consecutive ones from a
   * random point of the blob id space (ids are random, so each round looks somewhere else).
   */
  sampleOn(nodeId: string, limit: number): Promise<AuditTarget[]>;
  /** Live blobs with roots after `cursor`, in id order (the scrub's walk). */
  liveAfter(cursor: string, limit: number): Promise<Array<{
    id: string;
    size: number;
    segmentSize: number;
    placement: string[];
    roots: Buffer[];
  }>>;
  record(nodeId: string, shardId: string, outcome: AuditOutcome, detail: string | null, at?: number): Promise<void>;
  /** Audit outcomes of a node in [from, to). */
  counts(nodeId: string, from: number, to: number): Promise<OutcomeCounts>;
  last(nodeId: string, failuresOnly?: boolean): Promise<{
    at: number;
    outcome: AuditOutcome;
    shardId: string;
    detail: string | null;
  } | undefined>;
  setScore(nodeId: string, score: number): Promise<void>;
  getState(key: string): Promise<string | undefined>;
  setState(key: string, value: string): Promise<void>;
}

export class SqliteAuditStore implements AuditStore {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      setRoots: p('INSERT OR REPLACE INTO blob_roots(blob_id, roots) VALUES (?, ?)'),
      getRoots: p('SELECT roots FROM blob_roots WHERE blob_id = ?'),
      dropStaleRoots: p(`DELETE FROM blob_roots WHERE blob_id NOT IN (SELECT id FROM blobs)`),
      // From a random blob id on, in id order (the primary key): a random sample without a scan of every
      // blob. `+b.state` keeps SQLite on the primary key rather than the state index (which sorts them all).
      sampleFrom: p(`SELECT b.id, b.size, b.segment_size, j.key AS piece, r.roots FROM blobs b, json_each(b.placement) j
        JOIN blob_roots r ON r.blob_id = b.id WHERE b.id >= ? AND +b.state = 'live' AND j.value = ? ORDER BY b.id LIMIT ?`),
      sampleBefore: p(`SELECT b.id, b.size, b.segment_size, j.key AS piece, r.roots FROM blobs b, json_each(b.placement) j
        JOIN blob_roots r ON r.blob_id = b.id WHERE b.id < ? AND +b.state = 'live' AND j.value = ? ORDER BY b.id LIMIT ?`),
      liveAfter: p(`SELECT b.id, b.size, b.segment_size, b.placement, r.roots FROM blobs b JOIN blob_roots r ON r.blob_id = b.id
        WHERE +b.state = 'live' AND b.id > ? ORDER BY b.id LIMIT ?`),
      record: p('INSERT INTO audits(node_id, at, shard_id, outcome, detail) VALUES (?, ?, ?, ?, ?)'),
      counts: p('SELECT outcome, COUNT(*) AS n FROM audits WHERE node_id = ? AND at >= ? AND at < ? GROUP BY outcome'),
      last: p('SELECT at, outcome, shard_id, detail FROM audits WHERE node_id = ? ORDER BY id DESC LIMIT 1'),
      lastFailure: p(`SELECT at, outcome, shard_id, detail FROM audits WHERE node_id = ? AND outcome != 'pass' ORDER BY id DESC LIMIT 1`),
      setScore: p('UPDATE nodes SET score = ? WHERE id = ?'),
      getState: p('SELECT value FROM trust_state WHERE key = ?'),
      setState: p('INSERT INTO trust_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
  }

  /** Keep a blob's 16 roots (piece order). Not fsynced: the object commit that follows is. */
  async setRoots(blobId: string, roots: readonly Buffer[]): Promise<void> {
    withoutFsync(this.db, () => this.s.setRoots!.run(blobId, Buffer.concat(roots as Buffer[])));
  }

  async getRoots(blobId: string): Promise<Buffer[] | undefined> {
    const r = this.s.getRoots!.get(blobId) as SqlRow | undefined;
    return r ? splitRoots(r.roots as Buffer) : undefined;
  }

  async dropStaleRoots(): Promise<number> {
    return this.s.dropStaleRoots!.run().changes;
  }

  /**
   * Up to `limit` live pieces placed on the node that have roots: consecutive ones from a
   * random point of the blob id space (ids are random, so each round looks somewhere else).
   */
  async sampleOn(nodeId: string, limit: number): Promise<AuditTarget[]> {
    const from = randomBytes(16).toString('hex');
    const rows = this.s.sampleFrom!.all(from, nodeId, limit) as SqlRow[];
    if (rows.length < limit) rows.push(...(this.s.sampleBefore!.all(from, nodeId, limit - rows.length) as SqlRow[]));
    return rows.map((r) => ({
      blobId: String(r.id), piece: Number(r.piece), size: Number(r.size), segmentSize: Number(r.segment_size),
      root: splitRoots(r.roots as Buffer)[Number(r.piece)]!,
    }));
  }

  /** Live blobs with roots after `cursor`, in id order (the scrub's walk). */
  async liveAfter(cursor: string, limit: number): Promise<Array<{ id: string; size: number; segmentSize: number; placement: string[]; roots: Buffer[] }>> {
    return (this.s.liveAfter!.all(cursor, limit) as SqlRow[]).map((r) => ({
      id: String(r.id), size: Number(r.size), segmentSize: Number(r.segment_size),
      placement: JSON.parse(String(r.placement)) as string[], roots: splitRoots(r.roots as Buffer),
    }));
  }

  async record(nodeId: string, shardId: string, outcome: AuditOutcome, detail: string | null, at = Date.now()): Promise<void> {
    withoutFsync(this.db, () => this.s.record!.run(nodeId, at, shardId, outcome, detail));
  }

  /** Audit outcomes of a node in [from, to). */
  async counts(nodeId: string, from: number, to: number): Promise<OutcomeCounts> {
    const out: OutcomeCounts = { pass: 0, wrong: 0, missing: 0, timeout: 0, error: 0 };
    for (const r of this.s.counts!.all(nodeId, from, to) as SqlRow[]) out[r.outcome as AuditOutcome] = Number(r.n);
    return out;
  }

  async last(nodeId: string, failuresOnly = false): Promise<{ at: number; outcome: AuditOutcome; shardId: string; detail: string | null } | undefined> {
    const r = (failuresOnly ? this.s.lastFailure! : this.s.last!).get(nodeId) as SqlRow | undefined;
    return r && { at: Number(r.at), outcome: r.outcome as AuditOutcome, shardId: String(r.shard_id), detail: (r.detail as string | null) ?? null };
  }

  async setScore(nodeId: string, score: number): Promise<void> {
    withoutFsync(this.db, () => this.s.setScore!.run(score, nodeId));
  }

  async getState(key: string): Promise<string | undefined> {
    const r = this.s.getState!.get(key) as SqlRow | undefined;
    return r === undefined ? undefined : String(r.value);
  }

  async setState(key: string, value: string): Promise<void> {
    withoutFsync(this.db, () => this.s.setState!.run(key, value));
  }
}

function splitRoots(buf: Buffer): Buffer[] {
  return Array.from({ length: N }, (_, i) => buf.subarray(i * ROOT_BYTES, (i + 1) * ROOT_BYTES));
}

const stores = new WeakMap<Db, AuditStore>();

/** The AuditStore of a database, created on first use. */
export function auditStoreFor(db: Db): AuditStore {
  let s = stores.get(db);
  if (!s) stores.set(db, (s = new SqliteAuditStore(db)));
  return s;
}
