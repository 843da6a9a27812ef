import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { shardId } from '../pipeline/shard-io.js';

/**
 * A holder served piece `piece` of `blob` with a checksum that holds, yet not the piece
 * that was written: the lying store of the threat model, not bitrot. The piece is queued
 * for repair (rebuilt elsewhere from the others), reads and repair try the holder last for
 * a long while, the lie is counted (shardgate_lying_pieces_total) and recorded as a wrong
 * audit answer, which the signed reports show.
 */
export function reportLie(ctx: PipelineContext, blob: BlobRow, piece: number, detail: string, purpose: string): void {
  const nodeId = blob.placement[piece]!;
  const why = `${purpose}: ${detail}`;
  // Recorded beside the read, which does not wait for it.
  void Promise.all([
    ctx.meta.queueRepair([{ blobId: blob.id, piece, reason: why }]),
    ctx.meta.audit.record(nodeId, shardId(blob.id, piece), 'wrong', why),
  ]).catch((err: unknown) => console.error(`shard-store ${nodeId}: recording a wrong piece failed: ${(err as Error).message}`));
  if (ctx.health.lied(nodeId)) console.log(`shard-store ${nodeId} served a wrong piece (${why}); reading around it, its piece is queued for repair`);
}
