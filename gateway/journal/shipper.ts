import { randomBytes } from 'node:crypto';
import { N } from '../../codec/erasure.js';
import type { JournalStore } from '../meta/journal.js';
import type { PipelineContext } from '../pipeline/context.js';
import { FanOut } from '../pipeline/fan-out.js';
import { encodeEntry, journalDataKey, newJournalBlobId, type JournalEntry, type JournalOp } from './entry.js';

/** Rows per entry; a larger batch (a repair moving many blobs) is cut into several entries. */
const MAX_OPS_PER_ENTRY = 2_000;
/** Changes made by background work (GC, repair, lifecycle) are shipped at least this often. */
const BACKGROUND_FLUSH_MS = 1_000;
/** Attempts at one entry within one flush before the flush fails (the next flush tries again). */
const ATTEMPTS = 2;

export interface JournalPosition {
  epoch: string;
  /** The next entry number: a snapshot taken now is complete with entries from here on. */
  next: number;
}

/**
 * Ships the metadata to the shard-stores as it changes, so that losing the gateway's disk
 * loses nothing that was acknowledged: triggers note every changed row (migration 13), and
 * `flush()` writes the changed rows as one journal entry, erasure-coded like an object onto
 * 16 stores with the write quorum, before the write that changed them is answered.
 * Concurrent requests share an entry (group commit). Recovery replays the entries that
 * follow the last snapshot (replay.ts).
 */
export class JournalShipper {
  private epoch: string;
  private next: number;
  private shippedUpTo = 0;
  private shipping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Entries written since start (metrics, tests). */
  entries = 0;

  constructor(private readonly ctx: PipelineContext, private readonly store: JournalStore, private readonly log: (line: string) => void = console.log) {
    const at = store.position();
    if (at === undefined) {
      this.epoch = '';
      this.next = 0;
      this.newEpoch();
    } else {
      this.epoch = at.epoch;
      this.next = at.next;
    }
  }

  /** Where the journal stands: a snapshot records it to know which entries follow it. */
  position(): JournalPosition {
    return { epoch: this.epoch, next: this.next };
  }

  /**
   * Start a new epoch: on a new gateway, and after a recovery (entries of the old epoch past
   * the last one replayed may exist half-written; new ones must never be read as their sequel).
   */
  newEpoch(): void {
    this.epoch = randomBytes(8).toString('hex');
    this.next = 0;
    this.store.startEpoch(this.epoch);
  }

  start(): void {
    this.timer = setInterval(() => {
      void this.flush().catch((err: unknown) => this.log(`journal: ${(err as Error).message}; will retry`));
    }, BACKGROUND_FLUSH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }

  /** Resolves once every change committed before the call is in a durable journal entry. */
  async flush(): Promise<void> {
    const target = this.pending();
    while (this.shippedUpTo < target) {
      this.shipping ??= this.ship().finally(() => (this.shipping = undefined));
      await this.shipping;
    }
  }

  private pending(): number {
    return this.store.lastChange();
  }

  private async ship(): Promise<void> {
    // One turn of the event loop first: requests that commit in the same turn ride in this
    // entry instead of waiting for it and then for the next.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const upTo = this.pending();
    const ops: JournalOp[] = this.store.changedRows(upTo);
    for (let i = 0; i < ops.length; i += MAX_OPS_PER_ENTRY) {
      await this.write({ v: 1, epoch: this.epoch, seq: this.next, at: Date.now(), ops: ops.slice(i, i + MAX_OPS_PER_ENTRY) });
    }
    this.store.shipped(upTo);
    this.shippedUpTo = Math.max(this.shippedUpTo, upTo);
  }

  private async write(entry: JournalEntry): Promise<void> {
    const plain = encodeEntry(entry);
    let lastErr: unknown;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await this.writeAttempt(entry, plain);
        this.next = entry.seq + 1;
        this.store.setNext(this.next);
        this.entries++;
        return;
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  private async writeAttempt(entry: JournalEntry, plain: Buffer): Promise<void> {
    const master = this.ctx.masterKey;
    const blobId = newJournalBlobId(master, entry.epoch, entry.seq);
    const seg = await this.ctx.engine.newSegmentEncoder(journalDataKey(master, blobId)).encode(plain, 0);
    const { nodes: placement, offline } = await this.ctx.place();
    // Recorded before the write, so that the pieces of an attempt that fails are cleaned up too.
    this.store.recordEntry({ epoch: entry.epoch, seq: entry.seq, blobId, size: plain.length, placement: placement.slice(0, N), createdAt: Date.now() });
    const fan = new FanOut(this.ctx, blobId, placement, offline);
    try {
      await fan.send(seg);
      await fan.end();
    } catch (err) {
      fan.abort(err as Error);
      throw err;
    }
  }
}
