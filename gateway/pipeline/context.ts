import type { Engine } from '../../codec/engine.js';
import type { MetaStore } from '../meta/store.js';
import type { NodeHealth } from './health.js';
import type { ShardIO } from './shard-io.js';

/** Everything the object pipeline works with; built once per gateway process. */
export interface PipelineContext {
  meta: MetaStore;
  io: ShardIO;
  engine: Engine;
  health: NodeHealth;
  masterKey: Buffer;
  /** Plaintext bytes per segment for new blobs. */
  segmentSize: number;
  /** Pieces that must be durable before a write is acknowledged (K+1 by default). */
  writeQuorum: number;
  /** How long to wait, once the quorum is durable, for the remaining stores' acks. */
  lateAckMs: number;
  /** Start hedged piece reads when a segment is not complete after this long. */
  hedgeMs: number;
  /** Give up on one piece read after this long. */
  readTimeoutMs: number;
  /** Placement for a new blob: N node ids, and which of them are offline right now. */
  place(): Promise<NewPlacement>;
  /** A store's status in the economy, for repair's choice of targets; undefined while the economy is off. */
  ledgerStatus?(store: string): 'active' | 'pending' | undefined;
}

export interface NewPlacement {
  /** Node id for piece i. */
  nodes: string[];
  /** Nodes known to be down: their pieces are not attempted, they go straight to repair. */
  offline: ReadonlySet<string>;
}
