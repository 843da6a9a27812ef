import { shardFileLength } from '../../codec/layout.js';
import type { NodeInfo, NodeStore } from '../meta/nodes.js';
import type { RepairStore } from '../meta/repair.js';
import type { MetaStore } from '../meta/store.js';
import { NodeHealth } from '../pipeline/health.js';
import { shardId } from '../pipeline/shard-io.js';
import type { ShardClient, ShardNode } from '../shards/client.js';
import type { ShardStoreStatus } from '../../shard-store/protocol.js';

/** The pipeline's NodeHealth, telling the monitor about every failure it sees. */
export class ObservedHealth extends NodeHealth {
  onFailure: ((nodeId: string) => void) | undefined;

  override failed(nodeId: string, now = Date.now()): void {
    super.failed(nodeId, now);
    this.onFailure?.(nodeId);
  }
}

export interface NodeMonitorOptions {
  /** Every node's /status is asked this often. */
  intervalMs: number;
  /** A node that failed is asked again this soon, until it answers or is marked offline. */
  retryMs: number;
  /** Consecutive failed probes that make an active or suspect node offline. */
  offlineAfter: number;
  timeoutMs: number;
}

export const DEFAULT_MONITOR_OPTIONS: NodeMonitorOptions = { intervalMs: 10_000, retryMs: 1_000, offlineAfter: 3, timeoutMs: 2_000 };

interface Tracked {
  failures: number;
  lastError?: string;
  status?: ShardStoreStatus;
  probing?: Promise<boolean>;
  retry?: NodeJS.Timeout;
}

/**
 * Keeps node states true to what the stores answer: a node whose /status fails
 * `offlineAfter` times in a row becomes offline (its pieces count as lost for repair), and
 * becomes active again as soon as it answers. Failures the data path sees only make the
 * node be asked sooner: one refused connection is not enough to declare a node gone.
 * Draining, removed and suspect states are set by the operator and by audits, not here,
 * except that a suspect node that stops answering is offline like any other.
 */
export class NodeMonitor {
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private checking: Promise<unknown> | undefined;

  constructor(
    private readonly meta: MetaStore,
    private readonly nodes: NodeStore,
    private readonly repairs: RepairStore,
    private readonly client: ShardClient,
    private readonly opts: NodeMonitorOptions,
    private readonly hooks: {
      /** Live pieces per node, from the shared, yielding backlog scan (RepairWorker.assess). */
      livePieces: () => Promise<ReadonlyMap<string, number>>;
      onOffline?: (nodeId: string) => void;
      log?: (line: string) => void;
    },
  ) {}

  start(health?: ObservedHealth): void {
    this.stopped = false;
    if (health) health.onFailure = (id) => this.soon(id);
    this.timer = setInterval(() => void this.probeAll().catch(() => undefined), this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const t of this.tracked.values()) clearTimeout(t.retry);
    await Promise.allSettled([...this.tracked.values()].map((t) => t.probing ?? Promise.resolve(true)));
    await this.checking;
  }

  /** What the node last said on /status, if it ever answered since the gateway started. */
  lastStatus(id: string): ShardStoreStatus | undefined {
    return this.tracked.get(id)?.status;
  }

  consecutiveFailures(id: string): number {
    return this.tracked.get(id)?.failures ?? 0;
  }

  /**
   * Ask every node that is not removed. With `confirm`, a node that does not answer is asked
   * again until it answers or reaches the offline threshold, so a repair started right
   * after a node died sees it gone.
   */
  async probeAll(opts: { confirm?: boolean } = {}): Promise<void> {
    await Promise.all((await this.nodes.list()).filter((n) => n.state !== 'removed').map(async (n) => {
      let ok = await this.probe(n.id);
      while (opts.confirm && !ok && !this.stopped && this.consecutiveFailures(n.id) < this.opts.offlineAfter) {
        await new Promise((r) => setTimeout(r, Math.min(this.opts.retryMs, 300)));
        ok = await this.probe(n.id);
      }
    }));
  }

  /** One /status probe; true when the node answered. Concurrent calls share one request. */
  probe(id: string): Promise<boolean> {
    const t = this.track(id);
    t.probing ??= this.probeOnce(id, t).finally(() => (t.probing = undefined));
    return t.probing;
  }

  private track(id: string): Tracked {
    let t = this.tracked.get(id);
    if (!t) this.tracked.set(id, (t = { failures: 0 }));
    return t;
  }

  private async probeOnce(id: string, t: Tracked): Promise<boolean> {
    const node = await this.nodes.get(id);
    if (!node) return false;
    const target: ShardNode = { id: node.id, url: node.url, zone: node.zone };
    let status: ShardStoreStatus;
    try {
      status = await this.client.status(target, { timeoutMs: this.opts.timeoutMs });
    } catch (err) {
      await this.onProbeFailed(node, t, err as Error);
      return false;
    }
    const previous = t.status;
    t.failures = 0;
    t.lastError = undefined;
    t.status = status;
    clearTimeout(t.retry);
    await this.nodes.recordSeen(id, { zone: status.zone, capacity: status.capacityBytes, freeBytes: status.freeBytes });
    if (node.state === 'offline') {
      await this.nodes.setState(id, 'active', 'answers /status again');
      this.hooks.log?.(`shard-store ${id} answers again: active`);
    }
    // A store that restarted with fewer pieces than it should hold lost some (a wiped or
    // replaced disk): find which, so repair rebuilds them.
    if (!previous || status.uptimeSeconds < previous.uptimeSeconds || status.pieces < previous.pieces) {
      // Every store's first probe comes here: one shared scan counts them all, off the event loop.
      const expected = (await this.hooks.livePieces()).get(id) ?? 0;
      // In the background; its failure is logged (checkPieces is also awaited by the admin API).
      if (status.pieces < expected) {
        void this.checkPieces(id).catch((err: unknown) => this.hooks.log?.(`shard-store ${id}: checking its pieces failed: ${(err as Error).message}`));
      }
    }
    return true;
  }

  private async onProbeFailed(node: NodeInfo, t: Tracked, err: Error): Promise<void> {
    t.failures++;
    t.lastError = err.message;
    if (t.failures >= this.opts.offlineAfter && (node.state === 'active' || node.state === 'suspect')) {
      await this.nodes.setState(node.id, 'offline', `no answer to ${t.failures} status probes: ${err.message}`);
      this.hooks.log?.(`shard-store ${node.id} is offline: ${err.message}`);
      this.hooks.onOffline?.(node.id);
    } else if (t.failures < this.opts.offlineAfter) {
      this.soon(node.id);
    }
  }

  /** Probe a node shortly (the data path saw it fail). */
  private soon(id: string): void {
    if (this.stopped) return;
    const t = this.track(id);
    if (t.retry || t.probing) return;
    t.retry = setTimeout(() => {
      t.retry = undefined;
      void this.probe(id).catch((err: unknown) => this.hooks.log?.(`shard-store ${id}: probe failed: ${(err as Error).message}`));
    }, this.opts.retryMs);
    t.retry.unref();
  }

  /** Check with HEAD that a node holds every piece it should (background; one check at a time). */
  checkPieces(id: string): Promise<number> {
    const run = (async () => {
      await this.checking;
      return this.verifyHoldings(id);
    })();
    this.checking = run.catch(() => 0);
    return run;
  }

  /** HEAD every live piece placed on the node; queues missing or short ones. Returns how many. */
  async verifyHoldings(id: string): Promise<number> {
    const node = await this.nodes.get(id);
    if (!node) return 0;
    const target: ShardNode = { id: node.id, url: node.url, zone: node.zone };
    let cursor = '';
    let missing = 0;
    for (;;) {
      const batch = await this.repairs.livePiecesOn(id, cursor, 64);
      if (!batch.length || this.stopped) break;
      cursor = batch[batch.length - 1]!.blobId;
      const found = await Promise.all(batch.map(async (p) => {
        try {
          const head = await this.client.head(target, shardId(p.blobId, p.piece), { timeoutMs: this.opts.timeoutMs });
          return head !== null && head.size === shardFileLength(p.size, p.segmentSize);
        } catch {
          return true; // cannot tell now: the node's state machinery deals with unreachable nodes
        }
      }));
      const lost = batch.filter((_, i) => !found[i]);
      missing += lost.length;
      if (lost.length) await this.meta.queueRepair(lost.map((p) => ({ blobId: p.blobId, piece: p.piece, reason: `missing on ${id}` })));
    }
    if (missing) this.hooks.log?.(`shard-store ${id} lost ${missing} piece(s); queued for repair`);
    return missing;
  }
}
