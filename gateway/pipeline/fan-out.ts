import { N } from '../../codec/erasure.js';
import { ShardQuorumError } from '../../codec/errors.js';
import { pieceRecord, type EncodedSegment } from '../../codec/segment.js';
import type { MissedPiece } from '../meta/types.js';
import type { PipelineContext } from './context.js';
import { shardId, type ShardWriter } from './shard-io.js';

/** The 16 shard writers of one blob, with one error slot each; quorum is decided here. */
export class FanOut {
  private readonly writers: (ShardWriter | null)[];
  private readonly errors: (Error | null)[] = new Array<Error | null>(N).fill(null);

  constructor(private readonly ctx: PipelineContext, private readonly blobId: string, private readonly placement: string[], offline: ReadonlySet<string>) {
    this.writers = placement.map((nodeId, i) => {
      if (offline.has(nodeId)) {
        this.errors[i] = new Error(`shard-store ${nodeId} is offline`);
        return null;
      }
      try {
        return ctx.io.openWriter(nodeId, shardId(blobId, i));
      } catch (err) {
        this.errors[i] = err as Error;
        return null;
      }
    });
    this.checkQuorum();
  }

  private live(): number {
    return this.errors.filter((e) => e === null).length;
  }

  private fail(i: number, err: Error): void {
    if (this.errors[i]) return;
    this.errors[i] = err;
    this.ctx.health.failed(this.placement[i]!);
    this.writers[i]?.abort(err);
  }

  private checkQuorum(): void {
    if (this.live() < this.ctx.writeQuorum) {
      const offline = N - this.live();
      const first = this.errors.find((e) => e);
      throw new ShardQuorumError(`write quorum lost: offline=${offline}/${N}, need ${this.ctx.writeQuorum} durable pieces: ${first?.message ?? ''}`, { cause: first });
    }
  }

  /**
   * Hand one segment's 16 records to the writers; resolves when all live writers accepted
   * them. Once every writer that took a record has had it acknowledged, the segment's pieces
   * go back to their pool; after any failure they are left to the collector, since a
   * connection may still hold them.
   */
  async send(seg: EncodedSegment): Promise<void> {
    let waiting = 1;
    const acked = seg.release ? () => void (--waiting === 0 && seg.release!()) : undefined;
    await Promise.all(this.writers.map(async (w, i) => {
      if (!w || this.errors[i]) return;
      try {
        waiting++;
        await w.write(pieceRecord(seg, i), acked, seg.hashes?.[i]);
      } catch (err) {
        this.fail(i, err as Error);
      }
    }));
    // The count started at one so that early acks cannot reach zero before every write was made.
    acked?.();
    this.checkQuorum();
  }

  /**
   * Finish every shard file. Resolves once the quorum is durable and the others have had
   * `lateAckMs` more to finish; those that did not are aborted and reported as missed.
   */
  async end(): Promise<MissedPiece[]> {
    const done: boolean[] = new Array<boolean>(N).fill(false);
    let durable = 0;
    let quorumReached: () => void = () => undefined;
    const quorum = new Promise<void>((r) => (quorumReached = r));
    const all = Promise.all(this.writers.map(async (w, i) => {
      if (!w || this.errors[i]) return;
      try {
        await w.end();
        done[i] = true;
        if (++durable >= this.ctx.writeQuorum) quorumReached();
      } catch (err) {
        this.fail(i, err as Error);
      }
    }));
    await Promise.race([all, quorum]);
    if (durable < this.ctx.writeQuorum) {
      const first = this.errors.find((e) => e);
      throw new ShardQuorumError(`only ${durable} of ${N} pieces became durable (offline=${N - durable}/${N}), need ${this.ctx.writeQuorum}: ${first?.message ?? ''}`, { cause: first });
    }
    await Promise.race([all, new Promise((r) => setTimeout(r, this.ctx.lateAckMs).unref())]);
    const missed: MissedPiece[] = [];
    for (let i = 0; i < N; i++) {
      if (done[i]) continue;
      this.fail(i, this.errors[i] ?? new Error('no durable ack in time'));
      missed.push({ blobId: this.blobId, piece: i, reason: `write: ${this.errors[i]?.message ?? 'not acknowledged'}` });
    }
    return missed;
  }

  abort(err: Error): void {
    for (let i = 0; i < N; i++) this.writers[i]?.abort(err);
  }
}
