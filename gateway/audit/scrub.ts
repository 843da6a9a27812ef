import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { N } from '../../codec/erasure.js';
import { recordRange, segmentCount } from '../../codec/layout.js';
import { verifyRecord } from '../../codec/segment.js';
import { merkleRoot } from '../../shard-store/merkle.js';
import type { NodeStore } from '../meta/nodes.js';
import type { MetaStore } from '../meta/store.js';
import type { Counter } from '../metrics.js';
import type { ShardIO } from '../pipeline/shard-io.js';
import { shardId } from '../pipeline/shard-io.js';
import { RateLimiter } from '../repair/limiter.js';
import type { AuditStore } from '../meta/audit-store.js';
import { deadline } from '../deadline.js';

const CURSOR_KEY = 'scrub.cursor';
const UNREACHABLE = '\0unreachable';
const BATCH = 16;

export interface ScrubStats {
  piecesChecked: number;
  piecesBad: number;
  bytesRead: number;
  passes: number;
}

/** One walk over every live piece (or the part of one a restart or RunScrub cut short). */
export interface ScrubPass {
  startedAt: number;
  /** Undefined while it runs. */
  endedAt?: number;
  piecesChecked: number;
  piecesBad: number;
  bytesRead: number;
}

/** Passes kept in memory for the admin API and the console (since the gateway started). */
const HISTORY = 20;

/**
 * The background bitrot scrub: walks every live piece, record by record, at a bounded rate,
 * checks each record's CRC and the shard file's hash-tree root against the one kept at
 * write time, and queues damaged or missing pieces for the repair worker. The cursor (a blob
 * id) is kept in the metadata, so a restart resumes the walk rather than starting over.
 * Pieces on nodes that are not up are skipped: the node monitor and repair deal with those.
 */
export class Scrubber {
  private readonly limiter: RateLimiter;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  readonly stats: ScrubStats = { piecesChecked: 0, piecesBad: 0, bytesRead: 0, passes: 0 };
  /** The pass under way, then the ones before it, newest first. */
  current: ScrubPass = { startedAt: Date.now(), piecesChecked: 0, piecesBad: 0, bytesRead: 0 };
  readonly history: ScrubPass[] = [];

  constructor(
    private readonly meta: MetaStore,
    private readonly nodes: NodeStore,
    private readonly store: AuditStore,
    private readonly io: ShardIO,
    rateBytesPerSec: number,
    private readonly intervalMs: number,
    private readonly hooks: { bad?: Counter; log?: (line: string) => void } = {},
  ) {
    this.limiter = new RateLimiter(rateBytesPerSec);
  }

  start(): void {
    if (this.intervalMs <= 0) return;
    // Started again after a stop (the background lease came back to this gateway).
    if (this.abort.signal.aborted) this.abort = new AbortController();
    this.loop = this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.hooks.log?.(`scrub: ${(err as Error).message}`);
    });
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('gateway stopping'));
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      const done = await this.step();
      if (done) {
        this.stats.passes++;
        await sleep(this.intervalMs, undefined, { signal: this.abort.signal });
      }
    }
  }

  /** Check the next batch of blobs; true when the walk wrapped around (a pass is over). */
  async step(): Promise<boolean> {
    const cursor = (await this.store.getState(CURSOR_KEY)) ?? '';
    const batch = await this.store.liveAfter(cursor, BATCH);
    if (!batch.length) {
      this.history.unshift({ ...this.current, endedAt: Date.now() });
      this.history.length = Math.min(this.history.length, HISTORY);
      this.current = { startedAt: Date.now(), piecesChecked: 0, piecesBad: 0, bytesRead: 0 };
      await this.store.setState(CURSOR_KEY, '');
      // Roots of blobs deleted since the last pass are of no further use.
      await this.store.dropStaleRoots();
      return true;
    }
    const up = new Set((await this.nodes.list()).filter((n) => n.state === 'active' || n.state === 'suspect' || n.state === 'draining').map((n) => n.id));
    for (const blob of batch) {
      await Promise.all(blob.placement.slice(0, N).map(async (nodeId, piece) => {
        if (!up.has(nodeId)) return;
        const bad = await this.checkPiece(nodeId, blob, piece);
        if (bad === UNREACHABLE) return;
        this.stats.piecesChecked++;
        this.current.piecesChecked++;
        if (bad) {
          this.stats.piecesBad++;
          this.current.piecesBad++;
          this.hooks.bad?.inc({ node: nodeId });
          await this.meta.queueRepair([{ blobId: blob.id, piece, reason: `scrub: ${bad}` }]);
          this.hooks.log?.(`scrub: ${shardId(blob.id, piece)} on ${nodeId}: ${bad}; queued for repair`);
        }
      }));
      await this.store.setState(CURSOR_KEY, blob.id);
    }
    return false;
  }

  /** Why the piece is bad, null when it is intact, UNREACHABLE when it cannot be checked now. */
  private async checkPiece(nodeId: string, blob: { id: string; size: number; segmentSize: number; roots: Buffer[] }, piece: number): Promise<string | null> {
    const leaves: Buffer[] = [];
    const shard = shardId(blob.id, piece);
    for (let s = 0; s < segmentCount(blob.size, blob.segmentSize); s++) {
      const { offset, pieceSize, length } = recordRange(blob.size, blob.segmentSize, s);
      await this.limiter.take(length, this.abort.signal);
      let record: Buffer;
      const { signal, clear } = deadline(30_000, this.abort.signal);
      try {
        record = await this.io.readRecord(nodeId, shard, s, offset, length, signal);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ERR_SHARD_NOT_FOUND') return 'missing';
        if (code === 'ERR_SHARD_PROTOCOL') return `unreadable: ${(err as Error).message}`;
        return UNREACHABLE; // not a verdict on the piece: the node monitor deals with the node
      } finally {
        clear();
      }
      this.stats.bytesRead += length;
      this.current.bytesRead += length;
      try {
        leaves.push(createHash('sha256').update(verifyRecord(record, pieceSize)).digest());
      } catch {
        return `record ${s} fails its checksum`;
      }
    }
    if (merkleRoot(leaves).equals(blob.roots[piece]!)) return null;
    // Every record passed its checksum, yet the file is not the one written: bitrot does not
    // recompute checksums, so the store lied (or lost the file and made one up).
    const why = 'does not match the root kept at write time, though every record passes its checksum';
    await this.store.record(nodeId, shard, 'wrong', `scrub: ${why}`);
    return why;
  }
}
