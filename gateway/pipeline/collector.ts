import { N } from '../../codec/erasure.js';
import type { PipelineContext } from './context.js';
import { shardId } from './shard-io.js';

/**
 * Deletes the shard files of blobs nothing refers to any more: overwritten or deleted
 * objects, aborted uploads, replaced parts, and writes a crashed gateway left behind.
 * A grace period lets reads that started before an overwrite finish.
 */
export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly ctx: PipelineContext, private readonly opts = { intervalMs: 5_000, graceMs: 60_000, batch: 50 }) {}

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

  /** One pass; returns how many blobs were fully deleted. */
  async runOnce(now = Date.now()): Promise<number> {
    let deleted = 0;
    // The commits that made these blobs garbage must be on disk before their pieces go, or a
    // power loss could bring back a version whose pieces were deleted.
    await this.ctx.meta.durable();
    // A removed store is gone for good (its disk wiped or the machine retired): its copies need
    // no delete, and asking would keep the blob in the queue forever.
    const removed = new Set(this.ctx.meta.listNodes().filter((n) => n.state === 'removed').map((n) => n.id));
    for (const blob of this.ctx.meta.garbageBlobs(now - this.opts.graceMs, this.opts.batch)) {
      const results = await Promise.allSettled(
        blob.placement.slice(0, N).map((nodeId, i) => removed.has(nodeId) ? undefined : this.ctx.io.deleteShard(nodeId, shardId(blob.id, i))),
      );
      // A store that is down keeps its copy until a later pass; deletes are idempotent.
      if (results.every((r) => r.status === 'fulfilled')) {
        this.ctx.meta.forgetBlob(blob.id);
        deleted++;
      } else {
        this.ctx.meta.discardBlob(blob.id); // back of the queue, so it cannot starve the others
      }
    }
    return deleted;
  }
}
