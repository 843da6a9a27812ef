import { crc32 } from 'node:zlib';
import { K, M, N, pieceView } from '../../codec/erasure.js';
import { ShardQuorumError } from '../../codec/errors.js';
import { isCustomerWrapped, unwrapKey } from '../../codec/keys.js';
import { PIECE_CRC_BYTES, recordRange, segmentCount, segmentPlainLength } from '../../codec/layout.js';
import { decrypt, verifyRecord } from '../../codec/segment.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { shardId, type ShardWriter } from '../pipeline/shard-io.js';
import type { RateLimiter } from './limiter.js';
import { deadline } from '../deadline.js';

export interface RebuildPlan {
  blob: BlobRow;
  /** Piece index → the node that gets the rebuilt shard file. */
  targets: ReadonlyMap<number, string>;
  /** Pieces that may be read (healthy holders), best first. */
  sources: readonly number[];
}

export interface RebuildResult {
  /** Target pieces now durable on their new node. */
  written: number[];
  /** Target pieces whose new node failed, with the error. */
  failed: Map<number, Error>;
  bytesRead: number;
  bytesWritten: number;
}

/**
 * Rebuild some pieces of a blob onto new nodes: for every segment, read K verified pieces
 * from the sources, reconstruct the missing data pieces and the targets, check the whole
 * segment still authenticates (AES-GCM) so a damaged source can never be copied into new
 * pieces, and append each target's record to its new shard file. Resolves once every
 * target's file is durable or failed; the caller then commits the placement change.
 */
export async function rebuildPieces(ctx: PipelineContext, plan: RebuildPlan, limiter: RateLimiter, signal: AbortSignal): Promise<RebuildResult> {
  const { blob } = plan;
  // An SSE-C blob's key needs the customer's key, which the gateway never keeps: its pieces
  // are rebuilt on their checksums alone, without the end-to-end AES-GCM check.
  const key = isCustomerWrapped(blob.wrappedKey) ? null : unwrapKey(ctx.masterKey, blob.wrappedKey);
  const writers = new Map<number, ShardWriter>();
  const failed = new Map<number, Error>();
  const fail = (piece: number, err: Error): void => {
    if (failed.has(piece)) return;
    failed.set(piece, err);
    writers.get(piece)?.abort(err);
    ctx.health.failed(plan.targets.get(piece)!);
  };
  for (const [piece, node] of plan.targets) {
    try {
      writers.set(piece, ctx.io.openWriter(node, shardId(blob.id, piece)));
    } catch (err) {
      fail(piece, err as Error);
    }
  }
  let targetMask = 0;
  for (const piece of plan.targets.keys()) targetMask |= 1 << piece;
  let bytesRead = 0;
  let bytesWritten = 0;
  const segments = segmentCount(blob.size, blob.segmentSize);

  const fetch = async (index: number): Promise<(Buffer | null)[]> => {
    const { length } = recordRange(blob.size, blob.segmentSize, index);
    await limiter.take(K * length, signal);
    const pieces = await fetchPieces(ctx, blob, index, plan.sources, signal);
    bytesRead += K * length;
    return pieces;
  };

  try {
    let next = segments > 0 ? fetch(0) : undefined;
    for (let index = 0; index < segments; index++) {
      const pieces = await next!;
      // Read the next segment while this one is coded and sent.
      next = index + 1 < segments ? fetch(index + 1) : undefined;
      next?.catch(() => undefined);
      const { pieceSize } = recordRange(blob.size, blob.segmentSize, index);
      const plainLength = segmentPlainLength(blob.size, blob.segmentSize, index);
      const data = Buffer.alloc(K * pieceSize);
      const parity = Buffer.alloc(M * pieceSize);
      let sources = 0;
      for (let i = 0; i < N; i++) {
        const p = pieces[i];
        if (!p) continue;
        p.copy(pieceView(data, parity, pieceSize, i));
        sources |= 1 << i;
      }
      const rebuild = (targetMask | (((1 << K) - 1) & ~sources)) & ~sources;
      if (rebuild) await ctx.engine.coder.reconstruct(data, parity, pieceSize, sources, rebuild);
      // Throws DecryptError if the sources did not add up to the segment that was written.
      if (key) decrypt(key, index, data, plainLength);
      let out = 0;
      await Promise.all([...writers].map(async ([piece, w]) => {
        if (failed.has(piece)) return;
        const view = pieceView(data, parity, pieceSize, piece);
        const crc = Buffer.allocUnsafe(PIECE_CRC_BYTES);
        crc.writeUInt32BE(crc32(view), 0);
        try {
          await w.write([view, crc]);
          out += view.length + PIECE_CRC_BYTES;
        } catch (err) {
          fail(piece, err as Error);
        }
      }));
      bytesWritten += out;
      await limiter.take(out, signal);
      if (failed.size === plan.targets.size) throw failed.values().next().value as Error;
    }
  } catch (err) {
    for (const w of writers.values()) w.abort(err as Error);
    throw err;
  }

  const written: number[] = [];
  await Promise.all([...writers].map(async ([piece, w]) => {
    if (failed.has(piece)) return;
    try {
      await w.end();
      written.push(piece);
    } catch (err) {
      fail(piece, err as Error);
    }
  }));
  return { written: written.sort((a, b) => a - b), failed, bytesRead, bytesWritten };
}

/**
 * K verified pieces of one segment, from the candidates in order; a failing or slow holder
 * (hedged after `hedgeMs`) makes the next one be asked. Pieces a holder lost or damaged are
 * queued for repair, as on the read path.
 */
function fetchPieces(ctx: PipelineContext, blob: BlobRow, index: number, candidates: readonly number[], signal: AbortSignal): Promise<(Buffer | null)[]> {
  const { offset, pieceSize, length } = recordRange(blob.size, blob.segmentSize, index);
  // Holders that failed lately go last.
  const order = [...candidates].sort((a, b) => Number(ctx.health.isSuspect(blob.placement[a]!)) - Number(ctx.health.isSuspect(blob.placement[b]!)));
  const pieces: (Buffer | null)[] = new Array<Buffer | null>(N).fill(null);
  const errors: Error[] = [];
  const inflight = new Set<number>();
  const abort = new AbortController();
  const onAbort = (): void => abort.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let got = 0;
  let cursor = 0;
  return new Promise((resolve, reject) => {
    let settled = false;
    const hedge = setInterval(() => launch(Math.max(1, K - got - inflight.size)), ctx.hedgeMs);
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearInterval(hedge);
      signal.removeEventListener('abort', onAbort);
      for (const i of inflight) ctx.health.lagged(blob.placement[i]!);
      abort.abort();
      if (err) reject(err);
      else resolve(pieces);
    };
    const launch = (count: number): void => {
      for (let n = 0; n < count && cursor < order.length && !settled; n++) fetchOne(order[cursor++]!);
      if (!settled && inflight.size === 0 && got < K) {
        finish(new ShardQuorumError(`segment ${index} of blob ${blob.id}: only ${got} of ${K} source pieces readable`, { cause: errors[0] }));
      }
    };
    const fetchOne = (i: number): void => {
      const nodeId = blob.placement[i]!;
      inflight.add(i);
      const { signal, clear } = deadline(ctx.readTimeoutMs, abort.signal);
      ctx.io.readRange(nodeId, shardId(blob.id, i), offset, length, signal).finally(clear).then((record) => {
        inflight.delete(i);
        if (settled) return;
        pieces[i] = verifyRecord(record, pieceSize);
        ctx.health.ok(nodeId);
        if (++got === K) finish(null);
      }).catch((err: Error) => {
        inflight.delete(i);
        if (settled) return;
        if (signal.aborted) return finish(err);
        errors.push(err);
        const code = (err as { code?: string }).code;
        if (code === 'ERR_PIECE_CHECKSUM' || code === 'ERR_SHARD_NOT_FOUND') {
          ctx.meta.queueRepair([{ blobId: blob.id, piece: i, reason: `repair read: ${err.message}` }]);
        } else {
          ctx.health.failed(nodeId);
        }
        launch(1);
      });
    };
    launch(K);
  });
}
