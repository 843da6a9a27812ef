import type { MetaStore } from '../meta/store.js';
import { ShardClient, type ShardNode } from '../shards/client.js';
import type { PinBook } from '../shards/pins.js';
import type { ObserveLatency } from '../shards/link.js';
import type { TlsIdentity } from '../../wire/identity.js';
import type { ProvenRecord, ShardIO, ShardWriter } from './shard-io.js';
import type { CancelSignal } from '../shards/cancel.js';

/** Connections per store: each carries one batch of piece operations (or another request) at a time. */
const CONNECTIONS_PER_STORE = 16;

/** The pipeline's ShardIO over the shard-store protocol: node ids resolved to addresses and pins. */
export class HttpShardIO implements ShardIO {
  private readonly nodes = new Map<string, ShardNode>();
  private readonly client: ShardClient;
  /** Piece bytes each store served the gateway since it started: what the economy pays stores for serving. */
  private readonly read = new Map<string, number>();

  constructor(identity: TlsIdentity, pins: PinBook, stallTimeoutMs: number, observe?: ObserveLatency) {
    this.client = new ShardClient({ identity, pins, connections: CONNECTIONS_PER_STORE, link: { stallTimeoutMs, ...(observe && { observe }) } });
  }

  pieceStats(): { ops: number; batches: number; channelOps: number } {
    return this.client.pieceStats();
  }

  bytesRead(): ReadonlyMap<string, number> {
    return this.read;
  }

  private served(nodeId: string, bytes: number): void {
    this.read.set(nodeId, (this.read.get(nodeId) ?? 0) + bytes);
  }

  setNode(node: ShardNode): void {
    this.nodes.set(node.id, node);
  }

  private node(id: string): ShardNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`unknown shard-store ${id}`);
    return n;
  }

  openWriter(nodeId: string, shardId: string): ShardWriter {
    return this.client.openShardWriter(this.node(nodeId), shardId);
  }

  async readRecord(nodeId: string, shardId: string, seg: number, offset: number, length: number, signal: CancelSignal): Promise<Buffer> {
    const record = await this.client.readRecord(this.node(nodeId), shardId, seg, offset, length, { signal });
    this.served(nodeId, record.length);
    return record;
  }

  async readProvenRecord(nodeId: string, shardId: string, index: number, recordSize: number, signal: CancelSignal): Promise<ProvenRecord> {
    const answer = await this.client.auditChallenge(this.node(nodeId), shardId, recordSize, [index], { signal });
    const r = answer.records[0]!;
    const record = Buffer.from(r.data, 'base64');
    this.served(nodeId, record.length);
    return { leafCount: answer.leafCount, record, proof: r.proof.map((h) => Buffer.from(h, 'hex')) };
  }

  deleteShard(nodeId: string, shardId: string): Promise<void> {
    return this.client.deleteShard(this.node(nodeId), shardId);
  }

  /** Ask every store for its zone and free space and record them; stores that do not answer keep their old row. */
  async refreshStatus(meta: MetaStore): Promise<void> {
    await Promise.all([...this.nodes.values()].map(async (n) => {
      try {
        const s = await this.client.status(n, { timeoutMs: 5_000 });
        await meta.upsertNode({ id: n.id, url: n.url, zone: s.zone, capacity: s.capacityBytes, freeBytes: s.freeBytes });
        this.nodes.set(n.id, { ...n, zone: s.zone });
      } catch {
        // A store that is down now is asked again on the next refresh.
      }
    }));
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
