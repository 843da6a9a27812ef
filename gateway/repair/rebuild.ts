import { createHash } from 'node:crypto';
import { crc32 } from '../../codec/crc32.js';
import { K, M, N, pieceView } from '../../codec/erasure.js';
import { isCustomerWrapped, unwrapKey } from '../../codec/keys.js';
import { PIECE_CRC_BYTES, recordRange, segmentCount, segmentPlainLength } from '../../codec/layout.js';
import { decrypt, verifyRecord } from '../../codec/segment.js';
import { merkleRoot } from '../../shard-store/merkle.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { shardId, type ShardWriter } from '../pipeline/shard-io.js';
import { PieceFetch, readRecord } from '../transfer/fetch-pieces.js';
import { fetchProven } from '../transfer/fetch-proven.js';
import { proverFor } from '../transfer/prove.js';
import type { RateLimiter } from './limiter.js';

export interface RebuildPlan {
  blob: BlobRow;
  /** Piece index → the node that gets the rebuilt shard file. */
  targets: ReadonlyMap<number, string>;
  /**
   * Pieces that may be read, best first. A target may be among them (a piece queued for
   * repair that still reads): read and verified, it is written as it was, not rebuilt.
   */
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
 * Rebuild some pieces of a blob onto new nodes: for every segment, read K pieces from the
 * sources, reconstruct the missing data pieces and the targets, and append each target's
 * record to its new shard file. No source a store forged reaches a new piece: the segment
 * must authenticate (AES-GCM), and when it does not, it is read again from pieces proven
 * against the roots kept at write time, the liar left out. An SSE-C blob, whose key the
 * gateway never keeps, is read from proven pieces only. Before a target's file is made
 * durable, its hash-tree root must be the one its piece had when written. Resolves once
 * every target's file is durable or failed; the caller then commits the placement change.
 */
export async function rebuildPieces(ctx: PipelineContext, plan: RebuildPlan, limiter: RateLimiter, signal: AbortSignal): Promise<RebuildResult> {
  const { blob } = plan;
  const key = isCustomerWrapped(blob.wrappedKey) ? null : unwrapKey(ctx.masterKey, blob.wrappedKey);
  // Null for blobs written before roots were kept: those rely on AES-GCM alone, or for
  // SSE-C on their checksums alone.
  const prover = await proverFor(ctx, blob);
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
  // The hash-tree leaves of each rebuilt target, for the final root check.
  const leaves = new Map([...plan.targets.keys()].map((piece) => [piece, [] as Buffer[]]));
  let bytesRead = 0;
  let bytesWritten = 0;
  const segments = segmentCount(blob.size, blob.segmentSize);

  const fetch = async (index: number, seen?: (Buffer | null)[]): Promise<(Buffer | null)[]> => {
    const { length } = recordRange(blob.size, blob.segmentSize, index);
    await limiter.take(K * length, signal);
    const records = prover && (seen || !key)
      ? await fetchProven(ctx, prover, index, { candidates: plan.sources, purpose: 'repair read', hedge: 'narrow', seen, signal })
      : await fetchSources(ctx, blob, index, plan.sources, signal);
    bytesRead += K * length;
    return records;
  };

  try {
    let next = segments > 0 ? fetch(0) : undefined;
    for (let index = 0; index < segments; index++) {
      let records = await next!;
      // Read the next segment while this one is coded and sent.
      next = index + 1 < segments ? fetch(index + 1) : undefined;
      next?.catch(() => undefined);
      const { pieceSize } = recordRange(blob.size, blob.segmentSize, index);
      const plainLength = segmentPlainLength(blob.size, blob.segmentSize, index);
      let coded = await reconstruct(ctx, records, pieceSize, targetMask);
      if (key) {
        try {
          decrypt(key, index, coded.data, plainLength);
        } catch (err) {
          // Sources that passed their checksums did not add up to the segment: one lied.
          if ((err as { code?: string }).code !== 'ERR_DECRYPT' || !prover) throw err;
          records = await fetch(index, records);
          coded = await reconstruct(ctx, records, pieceSize, targetMask);
          decrypt(key, index, coded.data, plainLength);
        }
      }
      const { data, parity } = coded;
      let out = 0;
      await Promise.all([...writers].map(async ([piece, w]) => {
        if (failed.has(piece)) return;
        const view = pieceView(data, parity, pieceSize, piece);
        if (prover) leaves.get(piece)!.push(createHash('sha256').update(view).digest());
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
    if (prover && !merkleRoot(leaves.get(piece)!).equals(prover.roots[piece]!)) {
      // Not the target node's fault: the file is dropped before it is ever made durable.
      const err = new Error(`rebuilt ${shardId(blob.id, piece)} does not match the root kept at write time`);
      failed.set(piece, err);
      w.abort(err);
      return;
    }
    try {
      await w.end();
      written.push(piece);
    } catch (err) {
      fail(piece, err as Error);
    }
  }));
  return { written: written.sort((a, b) => a - b), failed, bytesRead, bytesWritten };
}

/** One segment laid out as data and parity, with the targets and any missing data pieces rebuilt. */
async function reconstruct(
  ctx: PipelineContext, records: ReadonlyArray<Buffer | null>, pieceSize: number, targetMask: number,
): Promise<{ data: Buffer; parity: Buffer }> {
  const data = Buffer.alloc(K * pieceSize);
  const parity = Buffer.alloc(M * pieceSize);
  let sources = 0;
  for (let i = 0; i < N; i++) {
    const r = records[i];
    if (!r) continue;
    r.copy(pieceView(data, parity, pieceSize, i), 0, 0, pieceSize);
    sources |= 1 << i;
  }
  const rebuild = (targetMask | (((1 << K) - 1) & ~sources)) & ~sources;
  if (rebuild) await ctx.engine.coder.reconstruct(data, parity, pieceSize, sources, rebuild);
  return { data, parity };
}

/**
 * K records of one segment whose checksums hold, from the sources in order; hedged one
 * holder at a time, as repair traffic is rate-limited.
 */
function fetchSources(ctx: PipelineContext, blob: BlobRow, index: number, sources: readonly number[], signal: AbortSignal): Promise<(Buffer | null)[]> {
  const { pieceSize } = recordRange(blob.size, blob.segmentSize, index);
  return new PieceFetch(ctx, blob, index, {
    candidates: sources, purpose: 'repair read', hedge: 'narrow', signal,
    read: async (piece, s) => {
      const record = await readRecord(ctx, blob, index, piece, s);
      verifyRecord(record, pieceSize);
      return record;
    },
  }).fill(K);
}
