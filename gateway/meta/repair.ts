import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

export type RepairTrigger = 'schedule' | 'admin' | 'drain';
/** running → complete (nothing left below target) | incomplete (some blobs could not be brought up). */
export type RepairJobState = 'running' | 'complete' | 'incomplete';

export interface RepairJobRow {
  id: number;
  trigger: RepairTrigger;
  /** Healthy pieces a blob must have; N (16) for a full repair. */
  threshold: number;
  state: RepairJobState;
  pass: number;
  /** Last blob id of the current pass that is done. */
  cursor: string;
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
  blobsTotal: number;
  blobsChecked: number;
  blobsRepaired: number;
  blobsFailed: number;
  piecesRebuilt: number;
  bytesRead: number;
  bytesWritten: number;
  /** Time spent working (not waiting for the next pass), for the rate. */
  activeMs: number;
  message: string | null;
}

export interface JobProgress {
  blobsChecked?: number;
  blobsRepaired?: number;
  blobsFailed?: number;
  piecesRebuilt?: number;
  bytesRead?: number;
  bytesWritten?: number;
  activeMs?: number;
}

/** A piece moved off `from` onto `to` by a repair. */
export interface PieceMove {
  piece: number;
  from: string;
  to: string;
}

export interface LiveBlobRef {
  id: string;
  size: number;
  placement: string[];
}

type SqlRow = Record<string, unknown>;

// Row mappers, shared with the PostgreSQL store (pg/repair.ts): both read the same columns.

export function toJob(r: SqlRow): RepairJobRow {
  return {
    id: Number(r.id), trigger: r.trigger as RepairTrigger, threshold: Number(r.threshold), state: r.state as RepairJobState,
    pass: Number(r.pass), cursor: String(r.cursor), startedAt: Number(r.started_at), updatedAt: Number(r.updated_at),
    finishedAt: r.finished_at == null ? null : Number(r.finished_at), blobsTotal: Number(r.blobs_total),
    blobsChecked: Number(r.blobs_checked), blobsRepaired: Number(r.blobs_repaired), blobsFailed: Number(r.blobs_failed),
    piecesRebuilt: Number(r.pieces_rebuilt), bytesRead: Number(r.bytes_read), bytesWritten: Number(r.bytes_written),
    activeMs: Number(r.active_ms), message: (r.message as string | null) ?? null,
  };
}

export function toLiveBlob(r: SqlRow): LiveBlobRef {
  return { id: String(r.id), size: Number(r.size), placement: JSON.parse(String(r.placement)) as string[] };
}

export function toLivePiece(r: SqlRow): { blobId: string; size: number; segmentSize: number; piece: number } {
  return { blobId: String(r.id), size: Number(r.size), segmentSize: Number(r.segment_size), piece: Number(r.piece) };
}

export function toOrphan(r: SqlRow): { nodeId: string; shardId: string; attempts: number } {
  return { nodeId: String(r.node_id), shardId: String(r.shard_id), attempts: Number(r.attempts) };
}

/** (blob_id, piece) rows grouped by blob. */
export function piecesByBlob(rows: readonly SqlRow[]): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const r of rows) {
    const id = String(r.blob_id);
    let set = out.get(id);
    if (!set) out.set(id, (set = new Set()));
    set.add(Number(r.piece));
  }
  return out;
}

/** Metadata of the repair worker: jobs, the scan over live blobs, placement moves, orphans. */
export interface RepairStore {
  /** Live blobs after `cursor` in id order, with their placement. */
  liveBlobsAfter(cursor: string, limit: number): Promise<LiveBlobRef[]>;
  countLive(): Promise<number>;
  /** Live blobs with a piece on `nodeId`, after `cursor`: for checking a node still has them. */
  livePiecesOn(nodeId: string, cursor: string, limit: number): Promise<Array<{
    blobId: string;
    size: number;
    segmentSize: number;
    piece: number;
  }>>;
  /** Queued-missing pieces of the blobs with ids in [from, to], or of all blobs. */
  queuedPieces(range?: {
    from: string;
    to: string;
  }): Promise<Map<string, Set<number>>>;
  queueLength(): Promise<number>;
  /** Queue entries of blobs that were deleted meanwhile. */
  dropStaleQueue(): Promise<number>;
  /**
   * Point the blob's pieces at their new nodes, in one transaction, once the new shard files
   * are durable. A move whose piece changed hands meanwhile, or of a blob that is no longer
   * live, is not applied and its new file becomes an orphan. Old files become orphans
   * after `graceMs`, so reads that started on the old placement can finish.
   */
  commitMoves(blobId: string, moves: PieceMove[], jobId: number | null, progress: JobProgress, graceMs: number, now?: number): Promise<PieceMove[]>;
  /** Nodes that still have an old shard file of this blob waiting for deletion. */
  orphanNodesOf(blobId: string): Promise<Set<string>>;
  dueOrphans(now: number, limit: number): Promise<Array<{
    nodeId: string;
    shardId: string;
    attempts: number;
  }>>;
  orphanDeleted(nodeId: string, shardId: string): Promise<void>;
  orphanRetry(nodeId: string, shardId: string, notBefore: number): Promise<void>;
  createJob(trigger: RepairTrigger, threshold: number, now?: number): Promise<RepairJobRow>;
  /**
   * A repair asked for, as one unit of work: with no job running, a new one; else the running
   * one, raised (its pass started over, `raised`) when this request is stricter: a higher
   * threshold, or a drain joining a scheduled job.
   */
  joinOrCreateJob(trigger: RepairTrigger, threshold: number, now?: number): Promise<{ job: RepairJobRow; raised: boolean }>;
  getJob(id: number): Promise<RepairJobRow | undefined>;
  runningJob(): Promise<RepairJobRow | undefined>;
  lastJob(): Promise<RepairJobRow | undefined>;
  bump(id: number, p: JobProgress, now?: number): Promise<void>;
  setCursor(id: number, cursor: string, now?: number): Promise<void>;
  startPass(id: number, pass: number, blobsTotal: number, now?: number): Promise<void>;
  /** A stricter request joins the running job: it starts its pass over with the higher target. */
  raiseJob(id: number, threshold: number, trigger: RepairTrigger, now?: number): Promise<void>;
  finishJob(id: number, state: Exclude<RepairJobState, 'running'>, message: string | null, now?: number): Promise<void>;
}

export class SqliteRepairStore implements RepairStore {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      // `+state`: walk the primary key from the cursor; the state index would sort every live blob per page.
      liveAfter: p(`SELECT id, size, placement FROM blobs WHERE +state = 'live' AND id > ? ORDER BY id LIMIT ?`),
      countLive: p(`SELECT COUNT(*) AS n FROM blobs WHERE state = 'live'`),
      liveOn: p(`SELECT b.id, b.size, b.segment_size, b.placement, j.key AS piece FROM blobs b, json_each(b.placement) j
        WHERE +b.state = 'live' AND j.value = ? AND b.id > ? ORDER BY b.id LIMIT ?`),
      queueRange: p('SELECT blob_id, piece FROM repair_queue WHERE blob_id >= ? AND blob_id <= ?'),
      queueAll: p('SELECT blob_id, piece FROM repair_queue'),
      queueCount: p('SELECT COUNT(*) AS n FROM repair_queue'),
      dequeue: p('DELETE FROM repair_queue WHERE blob_id = ? AND piece = ?'),
      dropStaleQueue: p(`DELETE FROM repair_queue WHERE blob_id NOT IN (SELECT id FROM blobs WHERE state IN ('live', 'writing'))`),

      getBlob: p('SELECT state, placement FROM blobs WHERE id = ?'),
      setPlacement: p('UPDATE blobs SET placement = ? WHERE id = ?'),

      insertJob: p(`INSERT INTO repair_jobs(trigger, threshold, state, started_at, updated_at) VALUES (?, ?, 'running', ?, ?)`),
      getJob: p('SELECT * FROM repair_jobs WHERE id = ?'),
      running: p(`SELECT * FROM repair_jobs WHERE state = 'running' ORDER BY id LIMIT 1`),
      last: p('SELECT * FROM repair_jobs ORDER BY id DESC LIMIT 1'),
      progress: p(`UPDATE repair_jobs SET blobs_checked = blobs_checked + @blobsChecked, blobs_repaired = blobs_repaired + @blobsRepaired,
        blobs_failed = blobs_failed + @blobsFailed, pieces_rebuilt = pieces_rebuilt + @piecesRebuilt, bytes_read = bytes_read + @bytesRead,
        bytes_written = bytes_written + @bytesWritten, active_ms = active_ms + @activeMs, updated_at = @now WHERE id = @id`),
      cursor: p('UPDATE repair_jobs SET cursor = ?, updated_at = ? WHERE id = ?'),
      newPass: p(`UPDATE repair_jobs SET pass = ?, cursor = '', blobs_total = ?, blobs_checked = 0, blobs_failed = 0, updated_at = ? WHERE id = ?`),
      raise: p(`UPDATE repair_jobs SET threshold = ?, trigger = ?, cursor = '', blobs_checked = 0, updated_at = ? WHERE id = ?`),
      finish: p('UPDATE repair_jobs SET state = ?, message = ?, finished_at = ?, updated_at = ? WHERE id = ?'),

      addOrphan: p(`INSERT INTO shard_orphans(node_id, shard_id, not_before) VALUES (?, ?, ?)
        ON CONFLICT(node_id, shard_id) DO UPDATE SET not_before = excluded.not_before, attempts = 0`),
      dueOrphans: p('SELECT node_id, shard_id, attempts FROM shard_orphans WHERE not_before <= ? ORDER BY not_before LIMIT ?'),
      dropOrphan: p('DELETE FROM shard_orphans WHERE node_id = ? AND shard_id = ?'),
      retryOrphan: p('UPDATE shard_orphans SET attempts = attempts + 1, not_before = ? WHERE node_id = ? AND shard_id = ?'),
      orphanNodes: p(`SELECT node_id FROM shard_orphans WHERE shard_id >= ? AND shard_id < ?`),
    };
  }

  // ---- the scan

  /** Live blobs after `cursor` in id order, with their placement. */
  async liveBlobsAfter(cursor: string, limit: number): Promise<LiveBlobRef[]> {
    return (this.s.liveAfter!.all(cursor, limit) as SqlRow[]).map(toLiveBlob);
  }

  async countLive(): Promise<number> {
    return Number((this.s.countLive!.get() as SqlRow).n);
  }

  /** Live blobs with a piece on `nodeId`, after `cursor`: for checking a node still has them. */
  async livePiecesOn(nodeId: string, cursor: string, limit: number): Promise<Array<{ blobId: string; size: number; segmentSize: number; piece: number }>> {
    return (this.s.liveOn!.all(nodeId, cursor, limit) as SqlRow[]).map(toLivePiece);
  }

  /** Queued-missing pieces of the blobs with ids in [from, to], or of all blobs. */
  async queuedPieces(range?: { from: string; to: string }): Promise<Map<string, Set<number>>> {
    return piecesByBlob((range ? this.s.queueRange!.all(range.from, range.to) : this.s.queueAll!.all()) as SqlRow[]);
  }

  async queueLength(): Promise<number> {
    return Number((this.s.queueCount!.get() as SqlRow).n);
  }

  /** Queue entries of blobs that were deleted meanwhile. */
  async dropStaleQueue(): Promise<number> {
    return this.s.dropStaleQueue!.run().changes;
  }

  // ---- moving pieces

  /**
   * Point the blob's pieces at their new nodes, in one transaction, once the new shard files
   * are durable. A move whose piece changed hands meanwhile, or of a blob that is no longer
   * live, is not applied and its new file becomes an orphan. Old files become orphans
   * after `graceMs`, so reads that started on the old placement can finish.
   */
  async commitMoves(blobId: string, moves: PieceMove[], jobId: number | null, progress: JobProgress, graceMs: number, now = Date.now()): Promise<PieceMove[]> {
    return this.db.transaction(() => {
      const row = this.s.getBlob!.get(blobId) as SqlRow | undefined;
      const applied: PieceMove[] = [];
      if (row && row.state === 'live') {
        const placement = JSON.parse(String(row.placement)) as string[];
        for (const m of moves) {
          if (placement[m.piece] !== m.from) continue;
          placement[m.piece] = m.to;
          applied.push(m);
        }
        if (applied.length) this.s.setPlacement!.run(JSON.stringify(placement), blobId);
      }
      for (const m of moves) {
        const shard = `${blobId}.${m.piece}`;
        if (applied.includes(m)) {
          this.s.dequeue!.run(blobId, m.piece);
          // Rebuilt in place (targets.ts keepInPlace): the holder's copy is the new one, not an old one.
          if (m.from !== m.to) this.s.addOrphan!.run(m.from, shard, now + graceMs);
        } else {
          this.s.addOrphan!.run(m.to, shard, now);
        }
      }
      if (jobId !== null) this.bumpTx(jobId, { ...progress, piecesRebuilt: applied.length, blobsRepaired: applied.length ? 1 : 0 }, now);
      return applied;
    }).immediate();
  }

  /** Nodes that still have an old shard file of this blob waiting for deletion. */
  async orphanNodesOf(blobId: string): Promise<Set<string>> {
    // Shard ids are `${blobId}.${piece}`: the range covers exactly this blob's.
    return new Set((this.s.orphanNodes!.all(`${blobId}.`, `${blobId}/`) as SqlRow[]).map((r) => String(r.node_id)));
  }

  async dueOrphans(now: number, limit: number): Promise<Array<{ nodeId: string; shardId: string; attempts: number }>> {
    return (this.s.dueOrphans!.all(now, limit) as SqlRow[]).map(toOrphan);
  }

  async orphanDeleted(nodeId: string, shardId: string): Promise<void> {
    this.s.dropOrphan!.run(nodeId, shardId);
  }

  async orphanRetry(nodeId: string, shardId: string, notBefore: number): Promise<void> {
    this.s.retryOrphan!.run(notBefore, nodeId, shardId);
  }

  // ---- jobs

  async createJob(trigger: RepairTrigger, threshold: number, now = Date.now()): Promise<RepairJobRow> {
    return this.createJobTx(trigger, threshold, now);
  }

  private createJobTx(trigger: RepairTrigger, threshold: number, now: number): RepairJobRow {
    const id = Number(this.s.insertJob!.run(trigger, threshold, now, now).lastInsertRowid);
    return this.jobTx(id)!;
  }

  async joinOrCreateJob(trigger: RepairTrigger, threshold: number, now = Date.now()): Promise<{ job: RepairJobRow; raised: boolean }> {
    return this.db.transaction(() => {
      const r = this.s.running!.get() as SqlRow | undefined;
      if (!r) return { job: this.createJobTx(trigger, threshold, now), raised: false };
      const running = toJob(r);
      const raised = running.threshold < threshold || (trigger === 'drain' && running.trigger === 'schedule');
      if (raised) this.s.raise!.run(Math.max(threshold, running.threshold), trigger === 'schedule' ? running.trigger : trigger, now, running.id);
      return { job: this.jobTx(running.id)!, raised };
    }).immediate();
  }

  async getJob(id: number): Promise<RepairJobRow | undefined> {
    return this.jobTx(id);
  }

  private jobTx(id: number): RepairJobRow | undefined {
    const r = this.s.getJob!.get(id) as SqlRow | undefined;
    return r && toJob(r);
  }

  async runningJob(): Promise<RepairJobRow | undefined> {
    const r = this.s.running!.get() as SqlRow | undefined;
    return r && toJob(r);
  }

  async lastJob(): Promise<RepairJobRow | undefined> {
    const r = this.s.last!.get() as SqlRow | undefined;
    return r && toJob(r);
  }

  async bump(id: number, p: JobProgress, now = Date.now()): Promise<void> {
    this.bumpTx(id, p, now);
  }

  /** bump, inside the caller's transaction. */
  private bumpTx(id: number, p: JobProgress, now: number): void {
    this.s.progress!.run({
      id, now, blobsChecked: p.blobsChecked ?? 0, blobsRepaired: p.blobsRepaired ?? 0, blobsFailed: p.blobsFailed ?? 0,
      piecesRebuilt: p.piecesRebuilt ?? 0, bytesRead: p.bytesRead ?? 0, bytesWritten: p.bytesWritten ?? 0, activeMs: p.activeMs ?? 0,
    });
  }

  async setCursor(id: number, cursor: string, now = Date.now()): Promise<void> {
    this.s.cursor!.run(cursor, now, id);
  }

  async startPass(id: number, pass: number, blobsTotal: number, now = Date.now()): Promise<void> {
    this.s.newPass!.run(pass, blobsTotal, now, id);
  }

  /** A stricter request joins the running job: it starts its pass over with the higher target. */
  async raiseJob(id: number, threshold: number, trigger: RepairTrigger, now = Date.now()): Promise<void> {
    this.s.raise!.run(threshold, trigger, now, id);
  }

  async finishJob(id: number, state: Exclude<RepairJobState, 'running'>, message: string | null, now = Date.now()): Promise<void> {
    this.s.finish!.run(state, message, now, now, id);
  }
}
