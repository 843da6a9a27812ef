import { createHash } from 'node:crypto';
import { crc32 } from '../../codec/crc32.js';
import { PIECE_CRC_BYTES, recordRange, segmentCount } from '../../codec/layout.js';
import { verifyMerkleProof } from '../../shard-store/merkle.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { shardId } from '../pipeline/shard-io.js';
import { readRecord } from './fetch-pieces.js';
import type { CancelSignal } from '../shards/cancel.js';

/**
 * A holder's answer for a piece is not the piece that was written: it passed (or skipped)
 * the checksum, but not the proof against the hash-tree root kept at write time.
 */
export class PieceProofError extends Error {
  readonly code = 'ERR_PIECE_PROOF';
  constructor(readonly nodeId: string, readonly piece: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Why `record` (piece || CRC-32) is not record `index` of a `count`-record shard file
 * whose root is `root`, or null when it is: its length, its CRC, and its SHA-256 as a
 * leaf up the proof to the root. With one record the root is the piece's own hash and the
 * proof is empty. Audits check answers with it too.
 */
export function recordFault(record: Buffer, pieceSize: number, index: number, count: number, proof: readonly Buffer[], root: Buffer): string | null {
  if (record.length !== pieceSize + PIECE_CRC_BYTES) return `record ${index} is ${record.length} bytes, ${pieceSize + PIECE_CRC_BYTES} were written`;
  const piece = record.subarray(0, pieceSize);
  if (crc32(piece) !== record.readUInt32BE(pieceSize)) return `record ${index} fails its checksum`;
  const leaf = createHash('sha256').update(piece).digest();
  if (!verifyMerkleProof(leaf, index, count, proof, root)) return `record ${index} does not match the root kept at write time`;
  return null;
}

/**
 * Proves a blob's pieces against the 16 roots kept when it was written, one segment at a
 * time. A one-segment blob's root is its piece's hash, so a record in hand is proven where
 * it is; a longer blob's record is asked of its holder with its proof (the audit answer).
 */
export class PieceProver {
  private readonly count: number;
  private readonly recordSize: number;

  constructor(private readonly ctx: PipelineContext, readonly blob: BlobRow, readonly roots: readonly Buffer[]) {
    this.count = segmentCount(blob.size, blob.segmentSize);
    // Records are cut at the full size; only the last one is shorter.
    this.recordSize = recordRange(blob.size, blob.segmentSize, 0).length;
  }

  /** Whether a record in hand can be proven without asking its holder again. */
  get local(): boolean {
    return this.count === 1;
  }

  /** `record` when it is piece `piece` of segment `index` as written; throws PieceProofError otherwise. */
  check(piece: number, index: number, record: Buffer, proof: readonly Buffer[] = []): Buffer {
    const { pieceSize } = recordRange(this.blob.size, this.blob.segmentSize, index);
    const fault = recordFault(record, pieceSize, index, this.count, proof, this.roots[piece]!);
    if (fault) throw new PieceProofError(this.blob.placement[piece]!, piece, `${shardId(this.blob.id, piece)}: ${fault}`);
    return record;
  }

  /** Piece `piece`'s record of segment `index`, proven; throws PieceProofError when its holder's answer is not it. */
  async read(piece: number, index: number, signal: CancelSignal): Promise<Buffer> {
    if (this.local) return this.check(piece, index, await readRecord(this.ctx, this.blob, index, piece, signal));
    const nodeId = this.blob.placement[piece]!;
    const answer = await this.ctx.io.readProvenRecord!(nodeId, shardId(this.blob.id, piece), index, this.recordSize, signal);
    if (answer.leafCount !== this.count) {
      throw new PieceProofError(nodeId, piece, `${shardId(this.blob.id, piece)}: the store counts ${answer.leafCount} records, ${this.count} were written`);
    }
    return this.check(piece, index, answer.record, answer.proof);
  }
}

/**
 * The prover of a blob, or null when its pieces cannot be proven: no roots were kept for
 * it (written before audits existed), or it has several segments and the shard I/O cannot
 * ask for proofs.
 */
export async function proverFor(ctx: PipelineContext, blob: BlobRow): Promise<PieceProver | null> {
  const roots = await ctx.meta.audit.getRoots(blob.id);
  if (!roots) return null;
  if (segmentCount(blob.size, blob.segmentSize) > 1 && !ctx.io.readProvenRecord) return null;
  return new PieceProver(ctx, blob, roots);
}
