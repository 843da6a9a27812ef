import { K, N } from '../../codec/erasure.js';
import { ShardQuorumError } from '../../codec/errors.js';
import { unwrapKey } from '../../codec/keys.js';
import { recordRange, segmentPlainLength } from '../../codec/layout.js';
import { decodeSegment, verifyRecord } from '../../codec/segment.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from './context.js';
import { shardId } from './shard-io.js';

/** Segments fetched ahead of the one being sent, so the stores work while the client reads. */
const READ_AHEAD = 2;

/**
 * The plaintext bytes [start, end] (inclusive) of a blob, segment by segment. The first
 * segment is fetched before anything is yielded, so an unreadable blob fails before the
 * response starts.
 */
export async function* readBlob(ctx: PipelineContext, blob: BlobRow, start: number, end: number): AsyncGenerator<Buffer> {
  if (end < start) return;
  const key = unwrapKey(ctx.masterKey, blob.wrappedKey);
  const S = blob.segmentSize;
  const first = Math.floor(start / S);
  const last = Math.floor(end / S);
  const queue: Promise<Buffer>[] = [];
  let next = first;
  const fill = (): void => {
    while (next <= last && queue.length < READ_AHEAD + 1) {
      const p = readSegment(ctx, blob, key, next++);
      p.catch(() => undefined); // observed when its turn comes
      queue.push(p);
    }
  };
  for (let index = first; index <= last; index++) {
    fill();
    const plain = await queue.shift()!;
    const from = index === first ? start - index * S : 0;
    const to = index === last ? end - index * S + 1 : plain.length;
    yield from === 0 && to === plain.length ? plain : plain.subarray(from, to);
  }
}

/**
 * One segment from any K verified pieces. Data pieces are asked first (no decoding
 * needed); a piece that fails, is corrupt or is slower than `hedgeMs` makes the reader
 * ask another holder, until K pieces arrived or no holder is left.
 */
export function readSegment(ctx: PipelineContext, blob: BlobRow, key: Buffer, index: number): Promise<Buffer> {
  const { offset, pieceSize, length } = recordRange(blob.size, blob.segmentSize, index);
  const plainLength = segmentPlainLength(blob.size, blob.segmentSize, index);
  // Healthy data holders first, then healthy parity holders, then the suspects.
  const order = [...Array(N).keys()].sort((a, b) => {
    const sa = ctx.health.isSuspect(blob.placement[a]!) ? 1 : 0;
    const sb = ctx.health.isSuspect(blob.placement[b]!) ? 1 : 0;
    return sa - sb || a - b;
  });
  const pieces: (Buffer | null)[] = new Array<Buffer | null>(N).fill(null);
  const errors: (Error | null)[] = new Array<Error | null>(N).fill(null);
  const inflight = new Set<number>();
  const abort = new AbortController();
  let got = 0;
  let cursor = 0;

  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    const hedge = setTimeout(() => launch(inflight.size), ctx.hedgeMs);

    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(hedge);
      for (const i of inflight) ctx.health.lagged(blob.placement[i]!);
      abort.abort();
      if (err) return reject(err);
      decodeSegment(ctx.engine.coder, key, index, plainLength, pieces).then(resolve, reject);
    };

    const launch = (count: number): void => {
      for (let n = 0; n < count && cursor < N && !settled; n++) fetchPiece(order[cursor++]!);
      if (!settled && inflight.size === 0 && got < K) {
        const offline = errors.filter(Boolean).length;
        finish(new ShardQuorumError(`segment ${index} of blob ${blob.id}: ${got} of ${K} pieces readable, offline=${offline}/${N}`, { cause: errors.find(Boolean) }));
      }
    };

    const fetchPiece = (i: number): void => {
      const nodeId = blob.placement[i]!;
      inflight.add(i);
      const timeout = AbortSignal.timeout(ctx.readTimeoutMs);
      const signal = AbortSignal.any([abort.signal, timeout]);
      ctx.io.readRange(nodeId, shardId(blob.id, i), offset, length, signal)
        .then((record) => {
          inflight.delete(i);
          if (settled) return;
          pieces[i] = verifyRecord(record, pieceSize);
          ctx.health.ok(nodeId);
          if (++got === K) finish(null);
        })
        .catch((err: Error) => {
          inflight.delete(i);
          if (settled) return;
          errors[i] = err;
          const code = (err as { code?: string }).code;
          if (code === 'ERR_PIECE_CHECKSUM' || code === 'ERR_SHARD_NOT_FOUND') {
            // The store answers but lost or damaged this piece: read around it, rebuild it later.
            ctx.meta.queueRepair([{ blobId: blob.id, piece: i, reason: `read: ${err.message}` }]);
          } else {
            ctx.health.failed(nodeId);
          }
          launch(1);
        });
    };

    launch(K);
  });
}
