/**
 * What the pipeline needs from the shard-stores, by node id. The HTTP client in
 * gateway/shards/ implements it; keeping it this small keeps the pipeline testable.
 */
export interface ShardWriter {
  /** Resolves once the bytes are accepted (backpressure); rejects if the store fails or stalls. */
  write(chunks: Buffer[]): Promise<void>;
  /** Resolves when the store answered that the whole shard file is durable. */
  end(): Promise<void>;
  abort(err?: Error): void;
}

export interface ShardIO {
  openWriter(nodeId: string, shardId: string): ShardWriter;
  readRange(nodeId: string, shardId: string, offset: number, length: number, signal: AbortSignal): Promise<Buffer>;
  deleteShard(nodeId: string, shardId: string): Promise<void>;
}

/** Shard file i of a blob. */
export function shardId(blobId: string, piece: number): string {
  return `${blobId}.${piece}`;
}
