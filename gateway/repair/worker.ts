import { K, N } from '../../codec/erasure.js';
import { mapLimit } from '../map-limit.js';
import type { NodeStore } from '../meta/nodes.js';
import type { LiveBlobRef, RepairJobRow, RepairStore, RepairTrigger } from '../meta/repair.js';
import type { Counter, GaugeFamily, Metrics } from '../metrics.js';
import type { PipelineContext } from '../pipeline/context.js';
import type { RepairConfig } from './config.js';
import { RateLimiter } from './limiter.js';
import type { NodeMonitor } from './node-monitor.js';
import { rebuildPieces } from './rebuild.js';
import { assessBlob, chooseTargets, holdsHealthy, keepInPlace, needsRepair, piecesToMove, repairSources, zoneCap, type RepairNode } from './targets.js';

/** How all live blobs stand right now (one scan over the metadata). */
export interface Backlog {
  /** Pieces of live and in-flight blobs placed on each node (what `admin nodes` shows as held). */
  held: Map<string, number>;
  /** Pieces of live blobs only: what a node that answers /status should count at least. */
  liveHeld: Map<string, number>;
  blobs: number;
  /** Blobs below the scheduled threshold, or with pieces that must move (draining, misplaced). */
  belowThreshold: number;
  /** Blobs with anything short of 16 healthy, well-placed pieces: what a full repair fixes. */
  degraded: number;
  /** Blobs with fewer than K readable pieces: they cannot be read or rebuilt now. */
  unreadable: number;
  piecesHealthy: number;
  piecesUnhealthy: number;
  /** Pieces on draining nodes, still to move. */
  piecesDraining: number;
  /** Pieces over their zone's cap. */
  piecesMisplaced: number;
  computedAt: number;
}

/** Why blobs of a pass were left short; turned into the job's message. */
interface PassTally {
  moved: number;
  noNode: number;
  unreadable: number;
  failed: number;
  lastError?: string;
}

const BACKLOG_TTL_MS = 3_000;
const ORPHAN_SWEEP_MS = 10_000;
/** How often the gateway running repair looks for a job started through another gateway. */
const JOB_POLL_MS = 5_000;

/**
 * Rebuilds pieces that were lost or must move, in jobs kept in SQLite: a scheduled pass
 * every `intervalMs` (threshold from the configuration), a full pass on an admin's request
 * (every blob back to 16 healthy pieces) and a pass after a node starts draining. A job
 * walks the live blobs in id order and records its cursor, so a restarted gateway resumes
 * where it stopped. One job runs at a time; a stricter request joins the running one.
 */
export class RepairWorker {
  private readonly limiter: RateLimiter;
  private abort = new AbortController();
  /** Another gateway runs repair (standBy): requests only record their job for it to pick up. */
  private standingBy = false;
  private loop: Promise<void> | undefined;
  /** The check at start for a job a previous process left running (start). */
  private resuming: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private generation = 0;
  private backlog: Backlog | undefined;
  private assessing: Promise<Backlog> | undefined;
  /** BACKLOG_TTL_MS, or twice the last scan's time when that is longer, so scans never run back to back. */
  private backlogTtlMs = BACKLOG_TTL_MS;
  private offlineKick: NodeJS.Timeout | undefined;
  private readonly piecesCounter: Counter | undefined;
  private readonly bytesCounter: Counter | undefined;
  private readonly failCounter: Counter | undefined;

  constructor(
    private readonly ctx: PipelineContext,
    private readonly nodes: NodeStore,
    private readonly repairs: RepairStore,
    private readonly monitor: NodeMonitor | undefined,
    private readonly cfg: RepairConfig,
    metrics?: Metrics,
    private readonly log: (line: string) => void = (l) => console.log(l),
  ) {
    this.limiter = new RateLimiter(cfg.rateBytesPerSec);
    this.piecesCounter = metrics?.counter('shardgate_repair_pieces_total', 'Pieces rebuilt onto a new node by repair.');
    this.bytesCounter = metrics?.counter('shardgate_repair_bytes_total', 'Repair traffic to and from shard-stores, by direction.');
    this.failCounter = metrics?.counter('shardgate_repair_failures_total', 'Blob repairs that failed or could not place every piece.');
    metrics?.collect(() => this.gauges());
  }

  get config(): RepairConfig {
    return this.cfg;
  }

  /** Resume a job a previous process left running, and start the schedule. */
  start(): void {
    // Started again after a stop (the background lease came back to this gateway).
    if (this.abort.signal.aborted) this.abort = new AbortController();
    this.standingBy = false;
    this.timers = [];
    this.resuming = this.repairs.runningJob().then((job) => {
      if (job && !this.abort.signal.aborted) this.kick();
    }, (err: unknown) => this.log(`repair: ${(err as Error).message}`));
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.cfg.intervalMs, () => this.requestInBackground('schedule'));
    // A job asked for through another gateway's admin API is in the database only.
    every(JOB_POLL_MS, () => void this.repairs.runningJob().then((job) => {
      if (job && !this.abort.signal.aborted) this.kick();
    }, (err: unknown) => this.log(`repair: ${(err as Error).message}`)));
    every(ORPHAN_SWEEP_MS, () => void this.housekeeping().catch((err: unknown) => this.log(`repair: housekeeping: ${(err as Error).message}`)));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.offlineKick);
    this.abort.abort(new Error('gateway stopping'));
    await this.resuming;
    await this.loop;
  }

  /**
   * This gateway does not run repair now (another holds the background lease): a request
   * records its job and returns, and the gateway that runs repair picks it up.
   */
  standBy(): void {
    this.standingBy = true;
  }

  /** A node went offline: look at its blobs soon, at the scheduled threshold. */
  nodeOffline(): void {
    clearTimeout(this.offlineKick);
    this.offlineKick = setTimeout(() => this.requestInBackground('schedule'), 1_000);
    this.offlineKick.unref();
  }

  /**
   * Start a job, or join the running one. `full` asks for every blob to be brought back to
   * 16 healthy pieces within the zone rules, whatever the configured threshold.
   */
  async request(trigger: RepairTrigger, opts: { full?: boolean } = {}): Promise<RepairJobRow> {
    const threshold = opts.full ? N : this.cfg.threshold;
    // One unit of work: two requests at once never start two jobs.
    const { job, raised } = await this.repairs.joinOrCreateJob(trigger, threshold);
    if (raised) this.generation++;
    this.kick();
    return job;
  }

  /** `request` from a timer or an event, its failure logged. */
  requestInBackground(trigger: RepairTrigger): void {
    void this.request(trigger).catch((err: unknown) => this.log(`repair: ${(err as Error).message}`));
  }

  /** The running job, else the last one. */
  async currentJob(): Promise<RepairJobRow | undefined> {
    return (await this.repairs.runningJob()) ?? this.repairs.lastJob();
  }

  job(id: number): Promise<RepairJobRow | undefined> {
    return this.repairs.getJob(id);
  }

  /** Wait for the job loop to go idle (tests). */
  async idle(): Promise<void> {
    await this.resuming;
    while (this.loop) await this.loop;
  }

  private kick(): void {
    if (this.standingBy) return;
    this.loop ??= this.runJobs()
      .catch((err: unknown) => this.log(`repair: ${(err as Error).message}`))
      .finally(() => (this.loop = undefined));
  }

  private async runJobs(): Promise<void> {
    for (let job = await this.repairs.runningJob(); job && !this.abort.signal.aborted; job = await this.repairs.runningJob()) {
      await this.runJob(job.id);
    }
    if (!this.abort.signal.aborted) await this.housekeeping();
  }

  private async runJob(id: number): Promise<void> {
    let gen = this.generation;
    let tally: PassTally = { moved: 0, noNode: 0, unreadable: 0, failed: 0 };
    let prepared = (await this.repairs.getJob(id))!.cursor !== '';
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const job = (await this.repairs.getJob(id))!;
      if (!prepared) {
        // A full repair must see nodes that died a moment ago as gone, and pieces a
        // restarted node lost as missing, before it decides what is healthy.
        if (job.threshold >= N && this.monitor) {
          await this.monitor.probeAll({ confirm: true });
          // One scan counts every node's pieces (a count per node would scan every blob each).
          const { liveHeld } = await this.assess(true);
          await Promise.all((await this.nodes.list()).filter((n) => holdsHealthy(n.state)).map(async (n) => {
            const st = this.monitor!.lastStatus(n.id);
            if (st && st.pieces < (liveHeld.get(n.id) ?? 0)) await this.monitor!.checkPieces(n.id);
          }));
        }
        await this.repairs.startPass(id, job.pass, await this.repairs.countLive());
        tally = { moved: 0, noNode: 0, unreadable: 0, failed: 0 };
        prepared = true;
        continue;
      }
      const batch = await this.repairs.liveBlobsAfter(job.cursor, this.cfg.batch);
      if (!batch.length) {
        if (await this.endPass(job, tally)) return;
        prepared = false;
        continue;
      }
      const t0 = Date.now();
      const nodes = await this.nodeSnapshot();
      const queued = await this.repairs.queuedPieces({ from: batch[0]!.id, to: batch[batch.length - 1]!.id });
      await mapLimit(batch, this.cfg.concurrency, (b) => this.repairBlob(job, b, nodes, queued.get(b.id), tally));
      if (gen !== this.generation) {
        // A stricter request joined: its pass starts over from the first blob.
        gen = this.generation;
        prepared = false;
        continue;
      }
      await this.repairs.setCursor(id, batch[batch.length - 1]!.id);
      await this.repairs.bump(id, { blobsChecked: batch.length, activeMs: Date.now() - t0 });
    }
  }

  /** True when the job is over; otherwise the next pass is set up. */
  private async endPass(job: RepairJobRow, tally: PassTally): Promise<boolean> {
    await this.repairs.dropStaleQueue();
    const backlog = await this.assess(true);
    const left = job.threshold >= N ? backlog.degraded : backlog.belowThreshold;
    if (left === 0) {
      await this.repairs.finishJob(job.id, 'complete', job.threshold >= N
        ? `every blob has ${N} healthy pieces within the zone limits`
        : `no blob below ${job.threshold} healthy pieces`);
      return true;
    }
    if (tally.moved === 0 || job.pass >= this.cfg.maxPasses || this.abort.signal.aborted) {
      if (this.abort.signal.aborted) return true;
      const why: string[] = [];
      if (backlog.unreadable) why.push(`${backlog.unreadable} have fewer than ${K} readable pieces (bring their nodes back)`);
      if (tally.noNode) why.push(`${tally.noNode} found no eligible node for a piece under the zone rules (add active shard-stores, or zones)`);
      if (tally.failed) why.push(`${tally.failed} failed to rebuild (last error: ${tally.lastError ?? 'unknown'}; see the gateway log)`);
      await this.repairs.finishJob(job.id, 'incomplete', `${left} of ${backlog.blobs} blobs still short after pass ${job.pass}: ${why.join('; ') || 'no progress'}`);
      return true;
    }
    await this.repairs.startPass(job.id, job.pass + 1, await this.repairs.countLive());
    return false;
  }

  private async nodeSnapshot(): Promise<RepairNode[]> {
    return (await this.nodes.list()).map((n) => {
      const ledger = this.ctx.ledgerStatus?.(n.id);
      return { id: n.id, zone: n.zone, state: n.state, weight: n.score * (n.freeBytes ?? 1), ...(ledger && { ledger }) };
    });
  }

  private async repairBlob(job: RepairJobRow, ref: LiveBlobRef, nodes: RepairNode[], queued: Set<number> | undefined, tally: PassTally): Promise<void> {
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const a = assessBlob(ref.placement, byId, queued, zoneCap(nodes));
    if (!needsRepair(a, job.threshold)) return;
    if (N - a.lost.length < K) {
      tally.unreadable++;
      return;
    }
    // Readable pieces that must move (draining, misplaced) wait when the blob needs them as sources.
    let moving = piecesToMove(a);
    if (repairSources(a, moving).length < K) moving = [...a.lost, ...a.queued];
    const oldCopies = await this.repairs.orphanNodesOf(ref.id);
    const chosen = chooseTargets(ref.placement, moving, nodes, oldCopies);
    keepInPlace(chosen, a, ref.placement, oldCopies);
    const targets = new Map<number, string>();
    for (const [piece, node] of chosen) if (node) targets.set(piece, node);
    if (targets.size < chosen.size) tally.noNode++;
    if (!targets.size) return;
    const blob = await this.ctx.meta.getBlob(ref.id);
    if (!blob || blob.state !== 'live') return;
    // Data pieces first: fewer pieces to reconstruct before the segment can be checked.
    const sources = repairSources(a, moving);
    try {
      const result = await rebuildPieces(this.ctx, { blob, targets, sources }, this.limiter, this.abort.signal);
      const moves = result.written.map((piece) => ({ piece, from: blob.placement[piece]!, to: targets.get(piece)! }));
      const applied = await this.repairs.commitMoves(blob.id, moves, job.id, { bytesRead: result.bytesRead, bytesWritten: result.bytesWritten }, this.cfg.orphanGraceMs);
      tally.moved += applied.length;
      this.piecesCounter?.inc({}, applied.length);
      this.bytesCounter?.inc({ direction: 'read' }, result.bytesRead);
      this.bytesCounter?.inc({ direction: 'written' }, result.bytesWritten);
      if (result.failed.size) {
        tally.failed++;
        tally.lastError = result.failed.values().next().value?.message;
        this.failCounter?.inc();
      }
    } catch (err) {
      if (this.abort.signal.aborted) return;
      tally.failed++;
      tally.lastError = (err as Error).message;
      this.failCounter?.inc();
      await this.repairs.bump(job.id, { blobsFailed: 1 });
      this.log(`repair: blob ${ref.id}: ${(err as Error).message}`);
    }
  }

  /**
   * How every live blob stands. One scan of the blobs table, cached for a few seconds so a
   * CLI polling progress and Prometheus scraping do not rescan on every request.
   */
  /**
   * The backlog, from a cache younger than BACKLOG_TTL_MS unless `force`. One scan over every
   * live blob, in batches with a turn of the event loop between them: at millions of blobs the
   * scan takes seconds, and S3 requests must not wait for a metrics scrape. Concurrent callers
   * share one scan.
   */
  assess(force = false): Promise<Backlog> {
    if (!force && this.backlog && Date.now() - this.backlog.computedAt < this.backlogTtlMs) return Promise.resolve(this.backlog);
    if (!force && this.assessing) return this.assessing;
    const scan = this.scan().finally(() => {
      if (this.assessing === scan) this.assessing = undefined;
    });
    this.assessing = scan;
    return scan;
  }

  private async scan(): Promise<Backlog> {
    const nodes = await this.nodeSnapshot();
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const cap = zoneCap(nodes);
    const queued = await this.repairs.queuedPieces();
    const b: Backlog = {
      held: new Map(), liveHeld: new Map(),
      blobs: 0, belowThreshold: 0, degraded: 0, unreadable: 0, piecesHealthy: 0, piecesUnhealthy: 0, piecesDraining: 0,
      piecesMisplaced: 0, computedAt: Date.now(),
    };
    for (let cursor = '', batch: LiveBlobRef[]; (batch = await this.repairs.liveBlobsAfter(cursor, 1_000)).length; cursor = batch[batch.length - 1]!.id) {
      if (cursor !== '') await new Promise((r) => setImmediate(r));
      for (const ref of batch) {
        for (const id of ref.placement) b.liveHeld.set(id, (b.liveHeld.get(id) ?? 0) + 1);
        const a = assessBlob(ref.placement, byId, queued.get(ref.id), cap);
        b.blobs++;
        b.piecesHealthy += a.healthy;
        b.piecesUnhealthy += N - a.healthy;
        b.piecesDraining += a.draining.length;
        b.piecesMisplaced += a.excess.length;
        if (needsRepair(a, this.cfg.threshold)) b.belowThreshold++;
        if (needsRepair(a, N)) b.degraded++;
        if (N - a.lost.length < K) b.unreadable++;
      }
    }
    // Held: the live pieces plus those of blobs still being written (few, through the state index).
    b.held = new Map(b.liveHeld);
    for (const [id, n] of await this.nodes.writingPiecesHeld()) b.held.set(id, (b.held.get(id) ?? 0) + n);
    // A forced scan may finish before one that started earlier: keep the newer.
    if (!this.backlog || this.backlog.computedAt <= b.computedAt) this.backlog = b;
    this.backlogTtlMs = Math.max(BACKLOG_TTL_MS, 2 * (Date.now() - b.computedAt));
    return b;
  }

  /** Old shard files are deleted, and draining nodes that hold nothing any more are removed. */
  async housekeeping(now = Date.now()): Promise<void> {
    for (const n of await this.nodes.list()) {
      if (n.state === 'draining' && !await this.nodes.holdsPieces(n.id)) {
        await this.nodes.setState(n.id, 'removed', 'drained: holds no pieces');
        this.log(`shard-store ${n.id} is drained and removed`);
      }
    }
    // As for garbage: the placement that replaced these pieces is on disk before they are deleted.
    await this.ctx.meta.durable();
    const due = await this.repairs.dueOrphans(now, 200);
    await mapLimit(due, 8, async (o) => {
      try {
        await this.ctx.io.deleteShard(o.nodeId, o.shardId);
        await this.repairs.orphanDeleted(o.nodeId, o.shardId);
      } catch {
        // A node that stays away for days takes its old files with it.
        if (o.attempts >= 30) await this.repairs.orphanDeleted(o.nodeId, o.shardId);
        else await this.repairs.orphanRetry(o.nodeId, o.shardId, now + Math.min(1_000 * 2 ** o.attempts, 3_600_000));
      }
    });
  }

  private async gauges(): Promise<GaugeFamily[]> {
    const b = await this.assess();
    const states = new Map<string, number>();
    const list = await this.nodes.list();
    for (const n of list) states.set(n.state, (states.get(n.state) ?? 0) + 1);
    const held = b.held;
    const node = (n: { id: string; zone: string }): Record<string, string> => ({ node: n.id, zone: n.zone });
    const job = await this.repairs.runningJob();
    const queueLength = await this.repairs.queueLength();
    return [
      { name: 'shardgate_pieces', help: 'Pieces of live blobs by health (unhealthy: on offline, removed or draining nodes, or queued as missing).', type: 'gauge',
        samples: [{ labels: { state: 'healthy' }, value: b.piecesHealthy }, { labels: { state: 'unhealthy' }, value: b.piecesUnhealthy }] },
      { name: 'shardgate_repair_backlog_blobs', help: 'Live blobs that need repair: below the threshold, or below 16 healthy well-placed pieces.', type: 'gauge',
        samples: [{ labels: { target: 'threshold' }, value: b.belowThreshold }, { labels: { target: 'full' }, value: b.degraded }] },
      { name: 'shardgate_unreadable_blobs', help: 'Live blobs with fewer than 10 readable pieces.', type: 'gauge', samples: [{ value: b.unreadable }] },
      { name: 'shardgate_repair_queue_pieces', help: 'Pieces queued as missing or damaged.', type: 'gauge', samples: [{ value: queueLength }] },
      { name: 'shardgate_repair_running', help: '1 while a repair job runs.', type: 'gauge', samples: [{ value: job ? 1 : 0 }] },
      { name: 'shardgate_nodes', help: 'Shard-stores by state.', type: 'gauge',
        samples: ['active', 'suspect', 'offline', 'draining', 'removed'].map((s) => ({ labels: { state: s }, value: states.get(s) ?? 0 })) },
      { name: 'shardgate_node_state', help: 'Each shard-store\'s state (1 for its current state).', type: 'gauge',
        samples: list.map((n) => ({ labels: { ...node(n), state: n.state }, value: 1 })) },
      { name: 'shardgate_node_pieces', help: 'Pieces of live and in-flight blobs placed on each shard-store.', type: 'gauge',
        samples: list.map((n) => ({ labels: node(n), value: held.get(n.id) ?? 0 })) },
      { name: 'shardgate_node_free_bytes', help: 'Free bytes each shard-store last reported.', type: 'gauge',
        samples: list.filter((n) => n.freeBytes !== null).map((n) => ({ labels: node(n), value: n.freeBytes! })) },
      { name: 'shardgate_node_score', help: 'Each shard-store\'s score (1 = fully trusted).', type: 'gauge',
        samples: list.map((n) => ({ labels: node(n), value: n.score })) },
    ];
  }
}

