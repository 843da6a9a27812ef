import { randomBytes } from 'node:crypto';
import { N } from '../../codec/erasure.js';
import { ShardQuorumError } from '../../codec/errors.js';
import { newDataKey, wrapKey } from '../../codec/keys.js';
import { pieceRecord, type EncodedSegment, type SegmentEncoder } from '../../codec/segment.js';
import { auditedSegmentEncoder, RootCollector } from '../audit/roots.js';
import { auditStoreFor } from '../audit/store.js';
import type { MissedPiece } from '../meta/types.js';
import type { PipelineContext } from './context.js';
import { shardId, type ShardWriter } from './shard-io.js';

export interface WrittenBlob {
  /** null for an empty body: nothing is stored on the shard-stores. */
  blobId: string | null;
  size: number;
  md5: Buffer;
  missed: MissedPiece[];
}

/**
 * How a new blob's data key is stored: by default wrapped by the master key alone; SSE-C
 * passes a wrap that adds the customer's key (codec/keys.ts wrapKeyForCustomer).
 */
export type KeyWrap = (masterKey: Buffer, dataKey: Buffer) => Buffer;

/**
 * Stream a body into a new blob: cut into segments, encrypt, erasure-code, and append piece
 * i of every segment to shard file i on the blob's i-th node. Resolves once at least the
 * write quorum of shard files is durable; the blob row stays 'writing' until the caller
 * commits the object that refers to it, so a crash before that leaves no visible object.
 * Memory: one segment being filled, one being encoded, one being sent.
 */
export async function putBlob(ctx: PipelineContext, body: AsyncIterable<Buffer>, wrap: KeyWrap = wrapKey): Promise<WrittenBlob> {
  const key = newDataKey();
  // Piece hashes give each shard file's hash-tree root, which audits check answers against.
  const encoder = auditedSegmentEncoder(ctx.engine, key);
  const roots = new RootCollector();
  const S = ctx.segmentSize;
  let fan: FanOut | undefined;
  let blobId: string | null = null;
  let size = 0;
  let index = 0;
  let fill = Buffer.allocUnsafe(S);
  let filled = 0;
  let sending: Promise<void> = Promise.resolve();

  const flush = async (seg: Buffer): Promise<void> => {
    if (!fan) {
      blobId = randomBytes(16).toString('hex');
      const { nodes: placement, offline } = ctx.place();
      ctx.meta.insertWritingBlob({ id: blobId, size: 0, segmentSize: S, wrappedKey: wrap(ctx.masterKey, key), placement, createdAt: Date.now() });
      fan = new FanOut(ctx, blobId, placement, offline);
    }
    const encoded = encode(encoder, seg, index++);
    // Encoding of this segment overlaps with sending the previous one.
    const [enc] = await Promise.all([encoded, sending]);
    roots.add(enc);
    sending = fan.send(enc);
    // Observed here so a failure while the next chunk is read is not an unhandled rejection;
    // it is still thrown by the next `await sending`.
    sending.catch(() => undefined);
  };

  try {
    for await (const chunk of body) {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(S - filled, chunk.length - off);
        chunk.copy(fill, filled, off, off + n);
        filled += n;
        off += n;
        size += n;
        if (filled === S) {
          await flush(fill);
          fill = Buffer.allocUnsafe(S);
          filled = 0;
        }
      }
    }
    if (filled > 0) await flush(fill.subarray(0, filled));
    await sending;
    const missed = fan ? await fan.end() : [];
    if (blobId) auditStoreFor(ctx.meta.db).setRoots(blobId, roots.roots());
    return { blobId, size, md5: encoder.md5(), missed };
  } catch (err) {
    fan?.abort(err instanceof Error ? err : new Error(String(err)));
    if (blobId) ctx.meta.discardBlob(blobId);
    // Let a pending encode/send settle so nothing rejects unobserved.
    await sending.catch(() => undefined);
    throw err;
  }
}

function encode(encoder: SegmentEncoder, seg: Buffer, index: number): Promise<EncodedSegment> {
  return encoder.encode(seg, index);
}

/** The 16 shard writers of one blob, with one error slot each; quorum is decided here. */
class FanOut {
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

  /** Hand one segment's 16 records to the writers; resolves when all live writers accepted them. */
  async send(seg: EncodedSegment): Promise<void> {
    await Promise.all(this.writers.map(async (w, i) => {
      if (!w || this.errors[i]) return;
      try {
        await w.write(pieceRecord(seg, i));
      } catch (err) {
        this.fail(i, err as Error);
      }
    }));
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
