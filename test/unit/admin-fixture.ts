/**
 * An in-process gateway core for the admin and repair unit tests: real metadata (SQLite in a
 * temp folder), the real codec, and shard-stores as in-memory maps that can be taken down.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine } from '../../codec/engine.js';
import { PIECE_CRC_BYTES } from '../../codec/layout.js';
import type { AdminContext } from '../../gateway/admin/context.js';
import type { NodeStore } from '../../gateway/meta/nodes.js';
import type { RootCredentials } from '../../gateway/secrets.js';
import type { RepairStore } from '../../gateway/meta/repair.js';
import { SqliteMetaStore } from '../../gateway/meta/store.js';
import { Metrics } from '../../gateway/metrics.js';
import type { PipelineContext } from '../../gateway/pipeline/context.js';
import { choosePlacement } from '../../gateway/pipeline/placement.js';
import { putBlob } from '../../gateway/pipeline/put-blob.js';
import { readBlob } from '../../gateway/pipeline/read-blob.js';
import type { ProvenRecord, ShardIO, ShardWriter } from '../../gateway/pipeline/shard-io.js';
import type { RepairConfig } from '../../gateway/repair/config.js';
import { NodeMonitor, ObservedHealth } from '../../gateway/repair/node-monitor.js';
import { RepairWorker } from '../../gateway/repair/worker.js';
import type { ShardClient } from '../../gateway/shards/client.js';
import { ShardNotFoundError, ShardProtocolError, ShardUnavailableError } from '../../gateway/shards/errors.js';
import { merkleProof } from '../../shard-store/merkle.js';
import type { ShardStoreStatus } from '../../shard-store/protocol.js';
import { forgeRecord } from '../../shard-store/test-liar.js';
import { onClose } from '../helpers/registry.js';

/**
 * Shard-stores as maps of shard id → bytes; a node in `down` refuses everything. A node in
 * `lieOnRead` answers ranged reads with forged records (a byte flipped, the CRC recomputed),
 * one in `lieOnProof` flips a byte of the records it proves, as SHARDGATE_TEST_LIE_ON_* do.
 */
export class MemoryStores implements ShardIO {
  readonly files = new Map<string, Map<string, Buffer>>();
  readonly down = new Set<string>();
  readonly lieOnRead = new Set<string>();
  readonly lieOnProof = new Set<string>();
  bytesWritten = 0;
  /** Requests by kind and node, e.g. `read n03`, `proof n03`. */
  readonly calls: string[] = [];

  private store(node: string): Map<string, Buffer> {
    let m = this.files.get(node);
    if (!m) this.files.set(node, (m = new Map()));
    return m;
  }

  private check(node: string): void {
    if (this.down.has(node)) throw new ShardUnavailableError(node, `shard-store ${node} is down`);
  }

  openWriter(node: string, shard: string): ShardWriter {
    const chunks: Buffer[] = [];
    let failed: Error | undefined;
    return {
      write: async (c) => {
        this.check(node);
        if (failed) throw failed;
        chunks.push(...c.map((b) => Buffer.from(b)));
      },
      end: async () => {
        this.check(node);
        if (failed) throw failed;
        const file = Buffer.concat(chunks);
        this.bytesWritten += file.length;
        this.store(node).set(shard, file);
      },
      abort: (err) => {
        failed = err ?? new Error('aborted');
      },
    };
  }

  async readRecord(node: string, shard: string, _seg: number, offset: number, length: number): Promise<Buffer> {
    this.calls.push(`read ${node}`);
    this.check(node);
    const f = this.files.get(node)?.get(shard);
    if (!f || f.length < offset + length) throw new ShardNotFoundError(node, `no ${shard} on ${node}`);
    const out = Buffer.from(f.subarray(offset, offset + length));
    if (this.lieOnRead.has(node)) forgeRecord(out);
    return out;
  }

  async readProvenRecord(node: string, shard: string, index: number, recordSize: number): Promise<ProvenRecord> {
    this.calls.push(`proof ${node}`);
    this.check(node);
    const f = this.files.get(node)?.get(shard);
    if (!f) throw new ShardNotFoundError(node, `no ${shard} on ${node}`);
    const records = Array.from({ length: Math.ceil(f.length / recordSize) }, (_, i) => f.subarray(i * recordSize, Math.min(f.length, (i + 1) * recordSize)));
    if (index >= records.length) throw new ShardProtocolError(node, `record ${index} of ${records.length}`, { status: 416 });
    const leaves = records.map((r) => createHash('sha256').update(r.subarray(0, r.length - PIECE_CRC_BYTES)).digest());
    const record = Buffer.from(records[index]!);
    if (this.lieOnProof.has(node)) record[0]! ^= 0x5a;
    return { leafCount: records.length, record, proof: merkleProof(leaves, index) };
  }

  async deleteShard(node: string, shard: string): Promise<void> {
    this.check(node);
    this.files.get(node)?.delete(shard);
  }

  has(node: string, shard: string): boolean {
    return this.files.get(node)?.has(shard) ?? false;
  }

  /** A ShardClient stand-in for the node monitor: /status and HEAD answered from the maps. */
  client(zones: ReadonlyMap<string, string>): ShardClient {
    const status = async (n: { id: string }): Promise<ShardStoreStatus> => {
      this.check(n.id);
      const pieces = this.files.get(n.id)?.size ?? 0;
      return { id: n.id, zone: zones.get(n.id) ?? 'zone-1', capacityBytes: 1e12, freeBytes: 1e12, usedBytes: 0, pieces, version: 'test', uptimeSeconds: 1 };
    };
    const head = async (n: { id: string }, shard: string): Promise<{ size: number } | null> => {
      this.check(n.id);
      const f = this.files.get(n.id)?.get(shard);
      return f ? { size: f.length } : null;
    };
    return { status, head, close: async () => undefined } as unknown as ShardClient;
  }
}

export interface Fixture {
  dir: string;
  meta: SqliteMetaStore;
  nodes: NodeStore;
  repairs: RepairStore;
  stores: MemoryStores;
  ctx: PipelineContext;
  monitor: NodeMonitor;
  worker: RepairWorker;
  metrics: Metrics;
  zones: Map<string, string>;
  /** Store an object of `size` random bytes; returns its body and blob id. */
  put(key: string, size: number): Promise<{ body: Buffer; blobId: string }>;
  read(blobId: string): Promise<Buffer>;
  /** A new worker and monitor on the same metadata, as after a gateway restart. */
  restart(): RepairWorker;
}

/** The admin API's context over a fixture, as gateway/repair/trust-layer.ts builds it. */
export async function adminContextOf(fx: Fixture, rootCredentials: RootCredentials, metricsToken?: string): Promise<AdminContext> {
  return {
    rootCredentials, meta: fx.meta, nodes: fx.nodes, pins: await fx.meta.nodePins(), monitor: fx.monitor, repair: fx.worker,
    metrics: fx.metrics, metricsToken, registerNode: () => undefined,
  };
}

export const TEST_REPAIR: RepairConfig = {
  threshold: 14, rateBytesPerSec: 0, intervalMs: 3_600_000, concurrency: 2, batch: 4, orphanGraceMs: 0, maxPasses: 3,
};

/** `count` nodes n00.. spread round-robin over `zoneCount` zones. */
export async function startFixture(opts: { nodes?: number; zones?: number; repair?: Partial<RepairConfig> } = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-admin-'));
  const meta = new SqliteMetaStore(join(dir, 'meta.db'));
  const nodes = meta.nodes;
  const repairs = meta.repairs;
  const stores = new MemoryStores();
  const zones = new Map<string, string>();
  for (let i = 0; i < (opts.nodes ?? 20); i++) {
    const id = `n${String(i).padStart(2, '0')}`;
    const zone = `zone-${(i % (opts.zones ?? 4)) + 1}`;
    zones.set(id, zone);
    await meta.upsertNode({ id, url: `http://127.0.0.1:1/${id}`, zone, capacity: 1e12, freeBytes: 1e12 });
  }
  await meta.createBucket('bucket', 'root', 'us-east-1');
  const health = new ObservedHealth();
  const ctx: PipelineContext = {
    meta, io: stores, engine: getEngine(), health, masterKey: randomBytes(32), segmentSize: 16 * 1024,
    writeQuorum: 11, lateAckMs: 20, hedgeMs: 50, readTimeoutMs: 2_000,
    place: async () => {
      const nodes = await meta.listNodes();
      return {
        nodes: choosePlacement(nodes.map((n) => ({ id: n.id, zone: n.zone, state: n.state, weight: 1 }))),
        offline: new Set(nodes.filter((n) => n.state === 'offline').map((n) => n.id)),
      };
    },
  };
  const metrics = new Metrics();
  const cfg = { ...TEST_REPAIR, ...opts.repair };
  const monitorOpts = { intervalMs: 3_600_000, retryMs: 10, offlineAfter: 2, timeoutMs: 500 };
  const make = (m?: Metrics): { monitor: NodeMonitor; worker: RepairWorker } => {
    let worker: RepairWorker | undefined;
    const monitor = new NodeMonitor(meta, nodes, repairs, stores.client(zones), monitorOpts, {
      livePieces: async () => (await worker!.assess()).liveHeld,
      onOffline: () => worker?.nodeOffline(),
    });
    worker = new RepairWorker(ctx, nodes, repairs, monitor, cfg, m, () => undefined);
    return { monitor, worker };
  };
  const first = make(metrics);
  const fx: Fixture = {
    dir, meta, nodes, repairs, stores, ctx, monitor: first.monitor, worker: first.worker, metrics, zones,
    put: async (key, size) => {
      const body = randomBytes(size);
      const w = await putBlob(ctx, (async function* () { yield body; })());
      await meta.commitObject({ bucket: 'bucket', key, size, etag: w.md5.toString('hex'), contentType: null, headers: {}, userMeta: {}, checksums: {},
        partsCount: null, parts: [{ partNumber: 1, blobId: w.blobId, size, etag: 'e', checksums: {} }] }, w.missed);
      return { body, blobId: w.blobId! };
    },
    read: async (blobId) => {
      const blob = (await meta.getBlob(blobId))!;
      const out: Buffer[] = [];
      for await (const chunk of readBlob(ctx, blob, 0, blob.size - 1)) out.push(chunk);
      return Buffer.concat(out);
    },
    restart: () => {
      const next = make();
      fx.monitor = next.monitor;
      fx.worker = next.worker;
      return next.worker;
    },
  };
  onClose(async () => {
    await fx.worker.stop();
    await fx.monitor.stop();
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return fx;
}
