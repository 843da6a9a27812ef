import { K, N } from '../../codec/erasure.js';
import { ShardQuorumError } from '../../codec/errors.js';
import { unwrapKey } from '../../codec/keys.js';
import { recordRange, segmentPlainLength } from '../../codec/layout.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from './context.js';
import { shardId } from './shard-io.js';
import { deadline } from '../deadline.js';

/** Segments fetched ahead of the one being sent, so the stores work while the client reads. */
const READ_AHEAD = 2;

/** How a blob's stored key opens: the master key alone by default, plus the customer's key for SSE-C. */
export type KeyUnwrap = (masterKey: Buffer, wrappedKey: Buffer) => Buffer;

/**
 * The plaintext bytes [start, end] (inclusive) of a blob, segment by segment. The first
 * segment is fetched before anything is yielded, so an unreadable blob fails before the
 * response starts.
 */
export async function* readBlob(
  ctx: PipelineContext, blob: BlobRow, start: number, end: number, unwrap: KeyUnwrap = unwrapKey,
): AsyncGenerator<Buffer> {
  if (end < start) return;
  const key = unwrap(ctx.masterKey, blob.wrappedKey);
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
 * One segment from any K pieces. Data pieces are asked first (no decoding needed); a piece
 * that fails or is slower than `hedgeMs` makes the reader ask another holder, until K
 * records arrived or no holder is left. The records are handed to the engine unverified:
 * it checks their checksums off the event loop, in the same call that decodes and
 * decrypts. Records that fail are queued for repair and replaced by other holders' pieces.
 */
export function readSegment(ctx: PipelineContext, blob: BlobRow, key: Buffer, index: number): Promise<Buffer> {
  const { offset, length } = recordRange(blob.size, blob.segmentSize, index);
  const plainLength = segmentPlainLength(blob.size, blob.segmentSize, index);
  // Healthy data holders first, then healthy parity holders, then the suspects.
  const order = [...Array(N).keys()].sort((a, b) => {
    const sa = ctx.health.isSuspect(blob.placement[a]!) ? 1 : 0;
    const sb = ctx.health.isSuspect(blob.placement[b]!) ? 1 : 0;
    return sa - sb || a - b;
  });
  const records: (Buffer | null)[] = new Array<Buffer | null>(N).fill(null);
  const errors: (Error | null)[] = new Array<Error | null>(N).fill(null);
  const inflight = new Set<number>();
  let abort = new AbortController();
  let got = 0;
  // Holders not asked yet in this read, best first.
  const queue = [...order];

  const queueRepair = (pieces: number[], why: string): void => {
    if (pieces.length) ctx.meta.queueRepair(pieces.map((piece) => ({ blobId: blob.id, piece, reason: `read: ${why}` })));
  };

  return new Promise<Buffer>((resolve, reject) => {
    // 'decoding': the engine has K records; fetches of this round are cancelled, and a
    // new round starts only if some of those records turn out corrupt.
    let phase: 'fetching' | 'decoding' | 'done' = 'fetching';
    let hedge = setTimeout(() => launch(inflight.size), ctx.hedgeMs);

    const stopFetching = (): void => {
      clearTimeout(hedge);
      for (const i of inflight) {
        ctx.health.lagged(blob.placement[i]!);
        // Cancelled, not failed: if a record of this round turns out corrupt, this holder
        // may still be the one that completes the segment.
        queue.push(i);
      }
      inflight.clear();
      abort.abort();
    };

    const fail = (err: Error): void => {
      if (phase === 'done') return;
      if (phase === 'fetching') stopFetching();
      phase = 'done';
      reject(err);
    };

    const decode = (): void => {
      phase = 'decoding';
      stopFetching();
      ctx.engine.decodeSegment(key, index, plainLength, records).then(({ plain, corrupt }) => {
        phase = 'done';
        queueRepair(corrupt, 'piece checksum mismatch');
        resolve(plain);
      }, (err: Error & { code?: string; pieces?: number[] }) => {
        if (err.code !== 'ERR_PIECE_CHECKSUM' || !err.pieces?.length) return fail(err);
        // The stores answered but these pieces are damaged: read around them, rebuild them later.
        queueRepair(err.pieces, err.message);
        for (const i of err.pieces) {
          records[i] = null;
          errors[i] = err;
          got--;
        }
        phase = 'fetching';
        abort = new AbortController();
        hedge = setTimeout(() => launch(inflight.size), ctx.hedgeMs);
        launch(err.pieces.length);
      });
    };

    const launch = (count: number): void => {
      for (let n = 0; n < count && queue.length > 0 && phase === 'fetching'; n++) fetchPiece(queue.shift()!);
      if (phase === 'fetching' && inflight.size === 0 && got < K) {
        const offline = errors.filter(Boolean).length;
        fail(new ShardQuorumError(`segment ${index} of blob ${blob.id}: ${got} of ${K} pieces readable, offline=${offline}/${N}`, { cause: errors.find(Boolean) }));
      }
    };

    const fetchPiece = (i: number): void => {
      const nodeId = blob.placement[i]!;
      const round = abort;
      inflight.add(i);
      const { signal, clear } = deadline(ctx.readTimeoutMs, round.signal);
      ctx.io.readRange(nodeId, shardId(blob.id, i), offset, length, signal)
        .finally(clear)
        .then((record) => {
          if (round !== abort || phase !== 'fetching') return;
          inflight.delete(i);
          records[i] = record;
          ctx.health.ok(nodeId);
          if (++got === K) decode();
          // After a corrupt round fewer holders than needed may have been left to ask.
          else if (inflight.size === 0) launch(K - got);
        })
        .catch((err: Error) => {
          if (round !== abort || phase !== 'fetching') return;
          inflight.delete(i);
          errors[i] = err;
          if ((err as { code?: string }).code === 'ERR_SHARD_NOT_FOUND') {
            // The store answers but lost this piece: read around it, rebuild it later.
            queueRepair([i], err.message);
          } else {
            ctx.health.failed(nodeId);
          }
          launch(1);
        });
    };

    launch(K);
  });
}
