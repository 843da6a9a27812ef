import { N } from '../../codec/erasure.js';
import type { PipelineContext } from './context.js';
import { shardId } from './shard-io.js';
import { mapLimit } from '../map-limit.js';

/**
 * Deletes the shard files of blobs nothing refers to any more: overwritten or deleted
 * objects, aborted uploads, replaced parts, and writes a crashed gateway left behind.
 * A grace period lets reads that started before an overwrite finish.
 */
export interface CollectorOptions {
  intervalMs: number;
  /** How long a blob stays garbage before its pieces go (reads under way may still use it). */
  graceMs: number;
  /** Blobs fetched per query. */
  batch: number;
  /** Blobs deleted at once (each is 16 piece deletes in parallel). */
  concurrency: number;
  /** A pass stops taking new batches after this long, so a huge backlog is worked off in turns. */
  budgetMs: number;
}

export const DEFAULT_COLLECTOR_OPTIONS: CollectorOptions = { intervalMs: 5_000, graceMs: 60_000, batch: 50, concurrency: 4, budgetMs: 30_000 };

export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly opts: CollectorOptions;

  constructor(private readonly ctx: PipelineContext, opts: Partial<CollectorOptions> = {}) {
    this.opts = { ...DEFAULT_COLLECTOR_OPTIONS, ...opts };
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.runOnce().then(() => undefined, (err) => console.error('gc:', err)).finally(() => (this.running = undefined));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * One pass over the blobs that were past their grace period when it started, batch after
   * batch (it used to take one batch of 50 per 5 s, so mass deletes took hours to free their
   * space). Returns how many blobs were fully deleted.
   */
  async runOnce(now = Date.now()): Promise<number> {
    // The commits that made these blobs garbage must be on disk before their pieces go, or a
    // power loss could bring back a version whose pieces were deleted.
    await this.ctx.meta.durable();
    // A removed store is gone for good (its disk wiped or the machine retired): its copies need
    // no delete, and asking would keep the blob in the queue forever.
    const removed = new Set((await this.ctx.meta.listNodes()).filter((n) => n.state === 'removed').map((n) => n.id));
    const deadline = Date.now() + this.opts.budgetMs;
    const seen = new Set<string>();
    let deleted = 0;
    for (;;) {
      // A blob put back in the queue below gets a garbage time of at least `now`: it waits for the next pass.
      const batch = (await this.ctx.meta.garbageBlobs(now - this.opts.graceMs, this.opts.batch)).filter((b) => !seen.has(b.id));
      if (!batch.length) break;
      await mapLimit(batch, this.opts.concurrency, async (blob) => {
        seen.add(blob.id);
        const results = await Promise.allSettled(
          blob.placement.slice(0, N).map((nodeId, i) => removed.has(nodeId) ? Promise.resolve() : this.ctx.io.deleteShard(nodeId, shardId(blob.id, i))),
        );
        // A store that is down keeps its copy until a later pass; deletes are idempotent.
        if (results.every((r) => r.status === 'fulfilled')) {
          await this.ctx.meta.forgetBlob(blob.id);
          deleted++;
        } else {
          // Back of the queue, so it cannot starve the others, and past this pass's cutoff.
          await this.ctx.meta.discardBlob(blob.id, Math.max(Date.now(), now));
        }
      });
      if (batch.length < this.opts.batch || Date.now() > deadline) break;
    }
    return deleted;
  }
}
