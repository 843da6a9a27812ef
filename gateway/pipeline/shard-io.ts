import type { CancelSignal } from '../shards/cancel.js';

/**
 * What the pipeline needs from the shard-stores, by node id. The HTTP client in
 * gateway/shards/ implements it; keeping it this small keeps the pipeline testable.
 */
export interface ShardWriter {
  /**
   * Queue the next record of the shard (one call, one record: a piece and its CRC, one per
   * segment); resolves once accepted (backpressure), rejects if the store fails or stalls.
   * `onAcked`, when given, is called once the store acknowledged this record: from then on
   * nothing in the writer or its connection references `chunks`. Never called on failure.
   * `leaf`, the record's audit leaf (SHA-256 of the piece) when the encoder computed it, is
   * sent along so that the store need not hash the record again.
   */
  write(chunks: Buffer[], onAcked?: () => void, leaf?: Buffer): Promise<void>;
  /** Resolves when the store answered that every record of the shard is durable. */
  end(): Promise<void>;
  abort(err?: Error): void;
}

/** One record of a shard file with its hash-tree proof, as the store answered: not checked yet. */
export interface ProvenRecord {
  /** Records in the shard file, as the store counts them. */
  leafCount: number;
  record: Buffer;
  /** Sibling hashes from the leaf up to the root (shard-store/merkle.ts). */
  proof: Buffer[];
}

export interface ShardIO {
  openWriter(nodeId: string, shardId: string): ShardWriter;
  /**
   * Record `seg` of a shard: `length` bytes at `offset` of the shard (its records end to
   * end). Stores keep records by segment; shards written by an older release, by offset.
   */
  readRecord(nodeId: string, shardId: string, seg: number, offset: number, length: number, signal: CancelSignal): Promise<Buffer>;
  /**
   * Record `index` of a shard file cut in records of `recordSize` bytes, with its proof:
   * what a read that must prove a piece against the root kept at write time asks for.
   * Without it, pieces of multi-segment blobs cannot be proven one segment at a time.
   */
  readProvenRecord?(nodeId: string, shardId: string, index: number, recordSize: number, signal: CancelSignal): Promise<ProvenRecord>;
  deleteShard(nodeId: string, shardId: string): Promise<void>;
}

/** Shard file i of a blob. */
export function shardId(blobId: string, piece: number): string {
  return `${blobId}.${piece}`;
}
