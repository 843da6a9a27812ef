import { crc32 } from 'node:zlib';
import { K, M, N, pieceView } from '../../codec/erasure.js';
import { isCustomerWrapped, unwrapKey } from '../../codec/keys.js';
import { PIECE_CRC_BYTES, recordRange, segmentCount, segmentPlainLength } from '../../codec/layout.js';
import { decrypt, verifyRecord } from '../../codec/segment.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { shardId, type ShardWriter } from '../pipeline/shard-io.js';
import type { RateLimiter } from './limiter.js';
import { PieceFetch, readRecord } from '../transfer/fetch-pieces.js';

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
    const pieces = await fetchSources(ctx, blob, index, plan.sources, signal);
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
 * K pieces of one segment whose checksums hold, from the sources in order; hedged one
 * holder at a time, as repair traffic is rate-limited.
 */
function fetchSources(ctx: PipelineContext, blob: BlobRow, index: number, sources: readonly number[], signal: AbortSignal): Promise<(Buffer | null)[]> {
  const { pieceSize } = recordRange(blob.size, blob.segmentSize, index);
  return new PieceFetch(ctx, blob, index, {
    candidates: sources, purpose: 'repair read', hedge: 'narrow', signal,
    read: async (piece, s) => verifyRecord(await readRecord(ctx, blob, index, piece, s), pieceSize),
  }).fill(K);
}
