import { isShardId } from './protocol.js';
import { loadLeaves, readFully, RECORD_TRAILER_BYTES } from './sidecar.js';
import { PieceStore } from './store.js';
import { Compactor, type CompactorOptions } from './volume/compactor.js';
import type { NeedleKey } from './volume/needle.js';
import type { NeedleLocation } from './volume/volume-index.js';
import { VolumeStore } from './volume/volume-store.js';

export interface ShardStoreOptions {
  dir: string;
  /** Bytes this store may hold; default: the size of the file system under `dir`. */
  capacityBytes?: number;
  volumeBytes?: number;
  compaction?: CompactorOptions;
  log?: (line: string) => void;
}

/** One record of a shard and where the rest of its proof comes from. */
export interface ShardRecord {
  data: Buffer;
  /** Records (hash-tree leaves) in the shard. */
  leafCount: number;
  leaves: Buffer[];
}

/** A shard id split into the needle key parts. */
export function keyOf(shardId: string, seg = 0): NeedleKey {
  if (!isShardId(shardId)) throw new TypeError(`not a shard id: ${JSON.stringify(shardId)}`);
  const dot = shardId.indexOf('.');
  return { blob: Buffer.from(shardId.slice(0, dot), 'hex'), piece: Number(shardId.slice(dot + 1)), seg };
}

/**
 * Everything a shard-store keeps: new pieces in volumes (volume/), and pieces written by
 * releases before volumes, one file per shard (store.ts), which are read, proven, listed and
 * deleted as before and never stranded. A shard is the sequence of its records (one per
 * segment); byte ranges over it are answered whichever way it is kept.
 */
export class ShardStore {
  readonly dir: string;
  private readonly compactor: Compactor;

  private constructor(readonly volumes: VolumeStore, readonly legacy: PieceStore, opts: ShardStoreOptions) {
    this.dir = opts.dir;
    this.compactor = new Compactor(volumes, { ...opts.compaction, log: opts.compaction?.log ?? opts.log });
  }

  static async open(opts: ShardStoreOptions): Promise<ShardStore> {
    const legacy = await PieceStore.open({ dir: opts.dir, ...(opts.capacityBytes !== undefined && { capacityBytes: opts.capacityBytes }) });
    const volumes = await VolumeStore.open({
      dir: opts.dir, capacityBytes: legacy.capacityBytes, ...(opts.volumeBytes && { volumeBytes: opts.volumeBytes }), ...(opts.log && { log: opts.log }),
    });
    if (legacy.pieces > 0) opts.log?.(`${legacy.pieces} shard file(s) from before volumes are served as they are`);
    const store = new ShardStore(volumes, legacy, opts);
    store.compactor.start();
    return store;
  }

  async close(): Promise<void> {
    await this.compactor.stop();
    await this.volumes.close();
  }

  get capacityBytes(): number {
    return this.legacy.capacityBytes;
  }

  get usedBytes(): number {
    return this.volumes.usedBytes + this.legacy.usedBytes;
  }

  get pieces(): number {
    return this.volumes.pieces + this.legacy.pieces;
  }

  diskSpace(): Promise<{ freeBytes: number; totalBytes: number }> {
    return this.volumes.diskSpace();
  }

  /** Append record `seg` of a shard; durable after the next sync(). */
  async appendRecord(shardId: string, seg: number, data: Buffer[]): Promise<void> {
    const [err] = await this.appendRecords([{ shardId, seg, data }]);
    if (err) throw err;
  }

  /**
   * Append several records with one write; each has its own outcome (null: written). Durable
   * after the next sync(). A record's `leaf`, when the gateway sent it, is kept as its audit leaf.
   */
  appendRecords(records: ReadonlyArray<{ shardId: string; seg: number; data: Buffer[]; leaf?: Buffer }>): Promise<Array<Error | null>> {
    // The legacy layout counts against the same capacity.
    this.volumes.capacityBytes = this.legacy.capacityBytes - this.legacy.usedBytes;
    return this.volumes.appendMany(records.map((r) => ({ key: keyOf(r.shardId, r.seg), data: r.data, ...(r.leaf && { leaf: r.leaf }) })));
  }

  sync(): Promise<void> {
    return this.volumes.sync();
  }

  /** Bytes of a shard (its records end to end), or null when the store does not hold it. */
  async size(shardId: string): Promise<number | null> {
    const needles = this.needles(shardId);
    if (needles.length) return needles.reduce((n, x) => n + x.len, 0);
    return this.legacy.size(shardId);
  }

  /** `length` bytes of a shard from `offset`, or null when the store does not hold the shard; throws RangeError past its end. */
  async readRange(shardId: string, offset: number, length: number): Promise<Buffer | null> {
    const needles = this.needles(shardId);
    if (needles.length) return this.rangeOfNeedles(shardId, needles, offset, length);
    const piece = await this.legacy.openRead(shardId);
    if (!piece) return null;
    try {
      if (offset + length > piece.size) throw new RangeError(`range ${offset}+${length} is outside the ${piece.size}-byte shard`);
      const buf = Buffer.allocUnsafe(length);
      await readFully(piece, buf, length, offset);
      return buf;
    } finally {
      await piece.fh.close();
    }
  }

  /**
   * One record, as the batch protocol reads it: by segment from the volumes, else by its
   * byte range from a legacy shard file. Null when the store holds neither. A record from the
   * volumes is a view of a buffer from `alloc`.
   */
  async readRecord(shardId: string, seg: number, offset: number, length: number, alloc?: (length: number) => Buffer): Promise<Buffer | null> {
    const key = keyOf(shardId, seg);
    const at = this.volumes.location(key);
    if (at) {
      if (at.len !== length) throw new RangeError(`record ${seg} of ${shardId} is ${at.len} bytes, not ${length}`);
      return this.volumes.read(at, key, alloc);
    }
    return this.volumes.shard(key.blob, key.piece).length ? null : this.readRange(shardId, offset, length);
  }

  /** Record `index` of a shard cut in records of `recordSize` bytes, with every leaf (audits). Null when not held. */
  async record(shardId: string, index: number, recordSize: number): Promise<ShardRecord | null> {
    const needles = this.needles(shardId);
    if (needles.length) {
      const n = needles[index];
      if (!n || n.seg !== index) throw new RangeError(`record ${index} is outside the ${needles.length}-record shard`);
      return { data: await this.volumes.read(n, keyOf(shardId, index)), leafCount: needles.length, leaves: needles.map((x) => x.leaf) };
    }
    const piece = await this.legacy.openRead(shardId);
    if (!piece) return null;
    try {
      const leaves = await loadLeaves(this.legacy.pathOf(shardId), piece, recordSize);
      if (index >= leaves.length) throw new RangeError(`record ${index} is outside the ${leaves.length}-record shard`);
      const len = Math.min(recordSize, piece.size - index * recordSize);
      const data = Buffer.allocUnsafe(len);
      await readFully(piece, data, len, index * recordSize);
      return { data, leafCount: leaves.length, leaves };
    } finally {
      await piece.fh.close();
    }
  }

  /** Remove a shard wherever it is kept; true if it was held. */
  async delete(shardId: string): Promise<boolean> {
    const k = keyOf(shardId);
    const inVolumes = await this.volumes.deleteShard(k.blob, k.piece);
    const inFiles = await this.legacy.delete(shardId);
    return inVolumes || inFiles;
  }

  /** Every shard id held. */
  async list(): Promise<string[]> {
    const out = new Set(await this.legacy.list());
    for (const { blob, piece } of this.volumes.shards()) out.add(`${blob.toString('hex')}.${piece}`);
    return [...out];
  }

  private needles(shardId: string): NeedleLocation[] {
    const k = keyOf(shardId);
    return this.volumes.shard(k.blob, k.piece);
  }

  /** A byte range over a shard's records end to end (records are contiguous segments 0..n-1). */
  private async rangeOfNeedles(shardId: string, needles: NeedleLocation[], offset: number, length: number): Promise<Buffer> {
    const total = needles.reduce((n, x) => n + x.len, 0);
    if (offset + length > total || needles.some((n, i) => n.seg !== i)) {
      throw new RangeError(`range ${offset}+${length} is outside the ${total}-byte shard${needles.some((n, i) => n.seg !== i) ? ' (records missing)' : ''}`);
    }
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    let pos = 0;
    for (const n of needles) {
      const end = pos + n.len;
      if (end > offset && pos < offset + length) {
        const data = await this.volumes.read(n, keyOf(shardId, n.seg));
        const from = Math.max(0, offset - pos);
        const to = Math.min(n.len, offset + length - pos);
        data.copy(out, at, from, to);
        at += to - from;
      }
      pos = end;
      if (pos >= offset + length) break;
    }
    return out;
  }
}

export { RECORD_TRAILER_BYTES };
