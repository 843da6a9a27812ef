import { piecesByBlob, toJob, toLiveBlob, toLivePiece, toOrphan, type JobProgress, type LiveBlobRef, type PieceMove, type RepairJobRow, type RepairJobState, type RepairStore, type RepairTrigger } from '../repair.js';
import type { PgDb, Sql } from './db.js';

/**
 * The repair worker's metadata on PostgreSQL. Several gateways share it: at most one job runs
 * (createJob joins the running one; the partial unique index repair_jobs_one_running backs it).
 */
export class PgRepairStore implements RepairStore {
  constructor(private readonly db: PgDb) {}

  // ---- the scan

  async liveBlobsAfter(cursor: string, limit: number): Promise<LiveBlobRef[]> {
    const rows = await this.db.query(`SELECT id, size, placement FROM blobs WHERE state = 'live' AND id > $1 ORDER BY id LIMIT $2`, [cursor, limit]);
    return rows.map(toLiveBlob);
  }

  async countLive(): Promise<number> {
    return Number((await this.db.one(`SELECT COUNT(*) AS n FROM blobs WHERE state = 'live'`))!.n);
  }

  async livePiecesOn(nodeId: string, cursor: string, limit: number): Promise<Array<{ blobId: string; size: number; segmentSize: number; piece: number }>> {
    const rows = await this.db.query(`SELECT b.id, b.size, b.segment_size, j.ord - 1 AS piece
      FROM blobs b, jsonb_array_elements_text(b.placement::jsonb) WITH ORDINALITY AS j(value, ord)
      WHERE b.state = 'live' AND j.value = $1 AND b.id > $2 ORDER BY b.id, j.ord LIMIT $3`, [nodeId, cursor, limit]);
    return rows.map(toLivePiece);
  }

  async queuedPieces(range?: { from: string; to: string }): Promise<Map<string, Set<number>>> {
    const rows = range
      ? await this.db.query('SELECT blob_id, piece FROM repair_queue WHERE blob_id >= $1 AND blob_id <= $2', [range.from, range.to])
      : await this.db.query('SELECT blob_id, piece FROM repair_queue');
    return piecesByBlob(rows);
  }

  async queueLength(): Promise<number> {
    return Number((await this.db.one('SELECT COUNT(*) AS n FROM repair_queue'))!.n);
  }

  async dropStaleQueue(): Promise<number> {
    return this.db.writeLocked((sql) => sql.run(`DELETE FROM repair_queue q
      WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = q.blob_id AND b.state IN ('live', 'writing'))`));
  }

  // ---- moving pieces

  async commitMoves(blobId: string, moves: PieceMove[], jobId: number | null, progress: JobProgress, graceMs: number, now = Date.now()): Promise<PieceMove[]> {
    return this.db.writeLocked(async (sql) => {
      // Locked: a commit, a delete or another repair of the blob waits until this one is decided.
      const row = await sql.one('SELECT state, placement FROM blobs WHERE id = $1 FOR UPDATE', [blobId]);
      const applied: PieceMove[] = [];
      if (row && row.state === 'live') {
        const placement = JSON.parse(String(row.placement)) as string[];
        for (const m of moves) {
          if (placement[m.piece] !== m.from) continue;
          placement[m.piece] = m.to;
          applied.push(m);
        }
        if (applied.length) await sql.run('UPDATE blobs SET placement = $1 WHERE id = $2', [JSON.stringify(placement), blobId]);
      }
      for (const m of moves) {
        const shard = `${blobId}.${m.piece}`;
        if (applied.includes(m)) {
          await sql.run('DELETE FROM repair_queue WHERE blob_id = $1 AND piece = $2', [blobId, m.piece]);
          // Rebuilt in place (targets.ts keepInPlace): the holder's copy is the new one, not an old one.
          if (m.from !== m.to) await addOrphan(sql, m.from, shard, now + graceMs);
        } else {
          await addOrphan(sql, m.to, shard, now);
        }
      }
      if (jobId !== null) await bump(sql, jobId, { ...progress, piecesRebuilt: applied.length, blobsRepaired: applied.length ? 1 : 0 }, now);
      return applied;
    });
  }

  async orphanNodesOf(blobId: string): Promise<Set<string>> {
    // Shard ids are `${blobId}.${piece}`: bytewise ('/' follows '.'), the range covers exactly this blob's.
    const rows = await this.db.query('SELECT node_id FROM shard_orphans WHERE shard_id >= $1 AND shard_id < $2', [`${blobId}.`, `${blobId}/`]);
    return new Set(rows.map((r) => String(r.node_id)));
  }

  async dueOrphans(now: number, limit: number): Promise<Array<{ nodeId: string; shardId: string; attempts: number }>> {
    const rows = await this.db.query('SELECT node_id, shard_id, attempts FROM shard_orphans WHERE not_before <= $1 ORDER BY not_before LIMIT $2', [now, limit]);
    return rows.map(toOrphan);
  }

  async orphanDeleted(nodeId: string, shardId: string): Promise<void> {
    await this.db.writeLocked((sql) => sql.run('DELETE FROM shard_orphans WHERE node_id = $1 AND shard_id = $2', [nodeId, shardId]));
  }

  async orphanRetry(nodeId: string, shardId: string, notBefore: number): Promise<void> {
    await this.db.writeLocked((sql) => sql.run(
      'UPDATE shard_orphans SET attempts = attempts + 1, not_before = $1 WHERE node_id = $2 AND shard_id = $3', [notBefore, nodeId, shardId],
    ));
  }

  // ---- jobs

  /**
   * A new running job, or the one already running: another gateway may have started one since
   * the caller looked (RepairWorker.request joins a running job).
   */
  async createJob(trigger: RepairTrigger, threshold: number, now = Date.now()): Promise<RepairJobRow> {
    // Two gateways that both find no job running collide on repair_jobs_one_running; the
    // loser's unit runs again (23505) and joins the winner's job.
    return this.db.writeLocked(async (sql) => {
      const running = await sql.one(`SELECT * FROM repair_jobs WHERE state = 'running' ORDER BY id LIMIT 1`);
      if (running) return toJob(running);
      const r = await sql.one(`INSERT INTO repair_jobs(trigger, threshold, state, started_at, updated_at)
        VALUES ($1, $2, 'running', $3, $3) RETURNING *`, [trigger, threshold, now]);
      return toJob(r!);
    });
  }

  async joinOrCreateJob(trigger: RepairTrigger, threshold: number, now = Date.now()): Promise<{ job: RepairJobRow; raised: boolean }> {
    // As createJob: two gateways that both find no job collide on repair_jobs_one_running and
    // the loser's unit runs again; a running job is locked while it is raised.
    return this.db.writeLocked(async (sql) => {
      const r = await sql.one(`SELECT * FROM repair_jobs WHERE state = 'running' ORDER BY id LIMIT 1 FOR UPDATE`);
      if (!r) {
        const made = await sql.one(`INSERT INTO repair_jobs(trigger, threshold, state, started_at, updated_at)
          VALUES ($1, $2, 'running', $3, $3) RETURNING *`, [trigger, threshold, now]);
        return { job: toJob(made!), raised: false };
      }
      const running = toJob(r);
      const raised = running.threshold < threshold || (trigger === 'drain' && running.trigger === 'schedule');
      if (!raised) return { job: running, raised };
      const next = await sql.one(
        `UPDATE repair_jobs SET threshold = $1, trigger = $2, cursor = '', blobs_checked = 0, updated_at = $3 WHERE id = $4 RETURNING *`,
        [Math.max(threshold, running.threshold), trigger === 'schedule' ? running.trigger : trigger, now, running.id],
      );
      return { job: toJob(next!), raised };
    });
  }

  async getJob(id: number): Promise<RepairJobRow | undefined> {
    const r = await this.db.one('SELECT * FROM repair_jobs WHERE id = $1', [id]);
    return r && toJob(r);
  }

  async runningJob(): Promise<RepairJobRow | undefined> {
    const r = await this.db.one(`SELECT * FROM repair_jobs WHERE state = 'running' ORDER BY id LIMIT 1`);
    return r && toJob(r);
  }

  async lastJob(): Promise<RepairJobRow | undefined> {
    const r = await this.db.one('SELECT * FROM repair_jobs ORDER BY id DESC LIMIT 1');
    return r && toJob(r);
  }

  async bump(id: number, p: JobProgress, now = Date.now()): Promise<void> {
    await this.db.writeLocked((sql) => bump(sql, id, p, now));
  }

  async setCursor(id: number, cursor: string, now = Date.now()): Promise<void> {
    await this.db.writeLocked((sql) => sql.run('UPDATE repair_jobs SET cursor = $1, updated_at = $2 WHERE id = $3', [cursor, now, id]));
  }

  async startPass(id: number, pass: number, blobsTotal: number, now = Date.now()): Promise<void> {
    await this.db.writeLocked((sql) => sql.run(
      `UPDATE repair_jobs SET pass = $1, cursor = '', blobs_total = $2, blobs_checked = 0, blobs_failed = 0, updated_at = $3 WHERE id = $4`,
      [pass, blobsTotal, now, id],
    ));
  }

  /** A stricter request joins the running job: it starts its pass over with the higher target. */
  async raiseJob(id: number, threshold: number, trigger: RepairTrigger, now = Date.now()): Promise<void> {
    await this.db.writeLocked((sql) => sql.run(
      `UPDATE repair_jobs SET threshold = $1, trigger = $2, cursor = '', blobs_checked = 0, updated_at = $3 WHERE id = $4`,
      [threshold, trigger, now, id],
    ));
  }

  async finishJob(id: number, state: Exclude<RepairJobState, 'running'>, message: string | null, now = Date.now()): Promise<void> {
    await this.db.writeLocked((sql) => sql.run(
      'UPDATE repair_jobs SET state = $1, message = $2, finished_at = $3, updated_at = $3 WHERE id = $4', [state, message, now, id],
    ));
  }
}

async function bump(sql: Sql, id: number, p: JobProgress, now: number): Promise<void> {
  await sql.run(`UPDATE repair_jobs SET blobs_checked = blobs_checked + $1, blobs_repaired = blobs_repaired + $2,
    blobs_failed = blobs_failed + $3, pieces_rebuilt = pieces_rebuilt + $4, bytes_read = bytes_read + $5,
    bytes_written = bytes_written + $6, active_ms = active_ms + $7, updated_at = $8 WHERE id = $9`, [
    p.blobsChecked ?? 0, p.blobsRepaired ?? 0, p.blobsFailed ?? 0, p.piecesRebuilt ?? 0, p.bytesRead ?? 0,
    p.bytesWritten ?? 0, p.activeMs ?? 0, now, id,
  ]);
}

async function addOrphan(sql: Sql, nodeId: string, shardId: string, notBefore: number): Promise<void> {
  await sql.run(`INSERT INTO shard_orphans(node_id, shard_id, not_before) VALUES ($1, $2, $3)
    ON CONFLICT (node_id, shard_id) DO UPDATE SET not_before = excluded.not_before, attempts = 0`, [nodeId, shardId, notBefore]);
}
