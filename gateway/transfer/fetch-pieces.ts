import { K, N } from '../../codec/erasure.js';
import { ShardQuorumError } from '../../codec/errors.js';
import { recordRange } from '../../codec/layout.js';
import { Canceller, cancelAfter, type CancelSignal } from '../shards/cancel.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { shardId } from '../pipeline/shard-io.js';
import { reportLie } from './lies.js';

/** How one piece of the segment is obtained from its holder. */
export type PieceReader = (piece: number, signal: CancelSignal) => Promise<Buffer>;

export interface FetchOptions {
  /** Pieces that may be asked, best first; holders that failed or lied lately are moved last. */
  candidates: readonly number[];
  /** Named in repair-queue reasons ("read", "repair read"). */
  purpose: string;
  /**
   * How far a slow round is hedged, every `hedgeMs`: 'wide' asks as many more holders as
   * are in flight (a client is waiting), 'narrow' one more (repair, where bandwidth counts).
   */
  hedge: 'wide' | 'narrow';
  /** Default: the record (piece || CRC-32) by a ranged read. */
  read?: PieceReader;
  /** Cancels the fetch; `fill` rejects with its reason. */
  signal?: AbortSignal;
}

/** The record of segment `index` of piece `piece`, as its holder serves it: unverified. */
export function readRecord(ctx: PipelineContext, blob: BlobRow, index: number, piece: number, signal: CancelSignal): Promise<Buffer> {
  const { offset, length } = recordRange(blob.size, blob.segmentSize, index);
  return ctx.io.readRecord(blob.placement[piece]!, shardId(blob.id, piece), index, offset, length, signal);
}

/** Why the reads still running when a round ends are cancelled (their outcome is ignored). */
const ROUND_OVER = new Error('enough pieces arrived; this read is no longer needed');

interface Waiter {
  want: number;
  resolve: (records: (Buffer | null)[]) => void;
  reject: (err: Error) => void;
}

/**
 * The hedged K-of-16 fetch of one segment's pieces, for reads and repair alike: holders
 * are asked in order (those that failed lately, then those caught lying, last), a failing
 * holder makes the next one be asked, and a round slower than `hedgeMs` asks more. Once
 * enough pieces arrived, the fetches still running are cancelled, and those holders go
 * back to the end of the line: if a piece in hand then turns out bad (`discard`), the next
 * `fill` may still need them.
 *
 * A holder that answers "not found" or with a damaged piece has its piece queued for
 * repair; one whose piece fails its proof is reported as lying (lies.ts); one that fails
 * otherwise (refused, timed out) is marked in `ctx.health`.
 */
export class PieceFetch {
  /** Piece i's bytes as `read` returned them, null where not (or no longer) held. */
  readonly records: (Buffer | null)[] = new Array<Buffer | null>(N).fill(null);
  private readonly errors: (Error | null)[] = new Array<Error | null>(N).fill(null);
  /** Holders not asked yet, best first. */
  private readonly queue: number[];
  private readonly inflight = new Set<number>();
  private readonly read: PieceReader;
  private round = new Canceller();
  private held = 0;
  private waiter: Waiter | null = null;
  private hedge: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: PipelineContext, readonly blob: BlobRow, readonly index: number, private readonly opts: FetchOptions) {
    // A stable sort: the caller's order among holders of the same standing.
    this.queue = [...opts.candidates].sort((a, b) => this.rank(a) - this.rank(b));
    this.read = opts.read ?? ((piece, signal) => readRecord(ctx, blob, index, piece, signal));
  }

  /**
   * Resolves with `records` once `want` pieces are held; rejects with ShardQuorumError when
   * every holder was asked and fewer answered, or with the signal's reason.
   */
  fill(want = K): Promise<(Buffer | null)[]> {
    if (this.waiter) throw new Error('PieceFetch.fill is already running');
    const { signal } = this.opts;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.held >= want) return Promise.resolve(this.records);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.settle(signal!.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = {
        want,
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.round = new Canceller();
      this.hedge = setInterval(() => this.launch(this.opts.hedge === 'wide' ? this.inflight.size : Math.max(1, want - this.held - this.inflight.size)), this.ctx.hedgeMs);
      this.launch(want - this.held - this.inflight.size);
    });
  }

  /**
   * Pieces in hand found bad after they arrived (a checksum, a decode): they are dropped,
   * never asked again, and handled as if their fetch had failed with `err`.
   */
  discard(pieces: readonly number[], err: Error): void {
    for (const i of pieces) {
      if (this.records[i]) {
        this.records[i] = null;
        this.held--;
      }
      this.errors[i] = err;
    }
    this.failed(pieces, err);
  }

  private rank(piece: number): number {
    return this.ctx.health.rank(this.blob.placement[piece]!);
  }

  private launch(count: number): void {
    const batch = Math.min(count, this.queue.length);
    if (batch > 0 && this.waiter) {
      // Reads started together share one deadline (one controller, one timer, one listener on
      // the round), cleared once the last of them settles: the same timeouts as one each, at a
      // tenth of the cost on a 4 KiB GET, which starts ten at once.
      const { signal, clear } = cancelAfter(this.ctx.readTimeoutMs, this.round);
      let pending = batch;
      const settled = (): void => void (--pending === 0 && clear());
      for (let n = 0; n < batch; n++) this.start(this.queue.shift()!, signal, settled);
    }
    const w = this.waiter;
    if (w && this.inflight.size === 0 && this.held < w.want) {
      const offline = this.errors.filter(Boolean).length;
      this.settle(new ShardQuorumError(
        `segment ${this.index} of blob ${this.blob.id}: ${this.held} of ${w.want} pieces readable, offline=${offline}/${N}`,
        { cause: this.errors.find(Boolean) },
      ));
    }
  }

  private start(i: number, signal: CancelSignal, settled: () => void): void {
    const round = this.round;
    const nodeId = this.blob.placement[i]!;
    this.inflight.add(i);
    this.read(i, signal).finally(settled).then((record) => {
      if (round !== this.round || !this.waiter) return;
      this.inflight.delete(i);
      this.records[i] = record;
      this.held++;
      this.ctx.health.ok(nodeId);
      if (this.held >= this.waiter.want) this.settle(null);
      // Fewer holders than needed may have been left to ask when this round started.
      else if (this.inflight.size === 0) this.launch(this.waiter.want - this.held);
    }).catch((err: Error) => {
      if (round !== this.round || !this.waiter) return;
      this.inflight.delete(i);
      this.errors[i] = err;
      this.failed([i], err);
      this.launch(1);
    });
  }

  /** What a failed piece says about its holder: a lie, a lost or damaged piece, or a node in trouble. */
  private failed(pieces: readonly number[], err: Error): void {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_PIECE_PROOF') {
      for (const i of pieces) reportLie(this.ctx, this.blob, i, err.message, this.opts.purpose);
    } else if (code === 'ERR_SHARD_NOT_FOUND' || code === 'ERR_PIECE_CHECKSUM') {
      // The store answers but lost or damaged this piece: read around it, rebuild it later.
      if (pieces.length) {
        // Queued beside the read, which does not wait for it.
        void this.ctx.meta.queueRepair(pieces.map((piece) => ({ blobId: this.blob.id, piece, reason: `${this.opts.purpose}: ${err.message}` })))
          .catch((e: unknown) => console.error(`blob ${this.blob.id}: queueing pieces for repair failed: ${(e as Error).message}`));
      }
    } else {
      for (const i of pieces) this.ctx.health.failed(this.blob.placement[i]!);
    }
  }

  /** End the running `fill`: the fetches still running are cancelled, not failed. */
  private settle(err: Error | null): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = null;
    clearInterval(this.hedge);
    for (const i of this.inflight) {
      this.ctx.health.lagged(this.blob.placement[i]!);
      this.queue.push(i);
    }
    // Most rounds end with nothing left in flight: no abort to send (each one cost an
    // exception object and an event to every piece read of the round).
    if (this.inflight.size) this.round.abort(ROUND_OVER);
    this.inflight.clear();
    if (err) w.reject(err);
    else w.resolve(this.records);
  }
}
