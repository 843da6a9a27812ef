import { Canceller } from './cancel.js';
import { ShardStoreError } from './errors.js';
import type { StoreLink } from './link.js';

/** One shard being written, record by record (same shape as the pipeline's ShardWriter). */
export interface ShardWriter {
  /**
   * Queue one record (the chunks are one piece record: piece and CRC, or any blob of bytes
   * for the gateway's own files); resolves once the store's write lane has room. Chunks
   * must not be modified afterwards, nor `leaf`, the record's audit leaf when the caller has it.
   */
  write(chunks: Buffer[], onAcked?: () => void, leaf?: Buffer): Promise<void>;
  /** Resolves when the store answered that every record of the shard is durable. */
  end(): Promise<void>;
  /** Give up; pending and later calls reject with `err`. Records already stored become garbage the caller deletes. */
  abort(err?: Error): void;
  /** Bytes accepted by `write` so far. */
  readonly bytesWritten: number;
}

/**
 * Writes a shard as records over the batched protocol (link.ts): record i is a PUT of
 * segment i. The newest record is held back until the next arrives or the shard ends, so
 * the last one goes out flagged SYNC, after every earlier record is acknowledged: one
 * round trip and a share of one fdatasync for a one-segment shard, and for a long one
 * durability that covers every record.
 */
export class BatchShardWriter implements ShardWriter {
  private seg = 0;
  private held: Buffer[] | undefined;
  private heldAcked: (() => void) | undefined;
  private heldLeaf: Buffer | undefined;
  private readonly acks: Promise<void>[] = [];
  private failure: Error | undefined;
  private ended = false;
  private readonly cancel = new Canceller();
  bytesWritten = 0;

  constructor(private readonly link: StoreLink, private readonly shardId: string) {}

  async write(chunks: Buffer[], onAcked?: () => void, leaf?: Buffer): Promise<void> {
    this.throwIfFailed();
    if (this.ended) throw new ShardStoreError(this.link.nodeId, `write after end on shard ${this.shardId}`);
    // Its outcome is handled by send() itself (a failure fails the writer) and awaited by end().
    if (this.held) void this.send(this.held, false, this.heldAcked, this.heldLeaf);
    this.held = chunks;
    this.heldAcked = onAcked;
    this.heldLeaf = leaf;
    this.bytesWritten += chunks.reduce((n, b) => n + b.length, 0);
    await this.link.space();
    this.throwIfFailed();
  }

  async end(): Promise<void> {
    this.throwIfFailed();
    this.ended = true;
    await Promise.all(this.acks);
    this.throwIfFailed();
    if (this.held) {
      const last = this.send(this.held, true, this.heldAcked, this.heldLeaf);
      this.held = undefined;
      this.heldAcked = undefined;
      this.heldLeaf = undefined;
      await last;
    }
    this.throwIfFailed();
  }

  abort(err?: Error): void {
    this.fail(err ?? new ShardStoreError(this.link.nodeId, `upload of ${this.shardId} aborted`));
  }

  private send(chunks: Buffer[], sync: boolean, onAcked: (() => void) | undefined, leaf: Buffer | undefined): Promise<void> {
    const p = this.link.put(this.shardId, this.seg++, chunks, sync, this.cancel, leaf);
    // An answer means the store read the whole record: no socket still holds its bytes.
    p.then(onAcked, (err: unknown) => this.fail(err as Error));
    this.acks.push(p);
    return p;
  }

  /** A method, not an inline check: TypeScript keeps a property's narrowing across an await. */
  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.held = undefined;
    this.heldAcked = undefined;
    this.heldLeaf = undefined;
    this.cancel.abort(err);
  }
}
