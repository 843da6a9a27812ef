import { createHash } from 'node:crypto';
import { constants as fsConstants, writevSync } from 'node:fs';
import { mkdir, open, readdir, rm, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from '../../codec/crc32.js';
import { isNoSpace, readCached, syncDir } from '../disk.js';
import { StoreFullError } from '../errors.js';
import { RECORD_TRAILER_BYTES } from '../sidecar.js';
import {
  decodeHeader, encodeHeader, FLAG_TOMBSTONE, LEAF_BYTES, MAX_NEEDLE_DATA, NEEDLE_HEADER_BYTES, padding, paddedLength, type NeedleKey,
} from './needle.js';
import { VolumeIndex, type NeedleLocation, type NeedlePlace, type NeedleSpan } from './volume-index.js';

export interface VolumeStoreOptions {
  dir: string;
  /** Bytes of piece data this store may hold (headers and garbage not counted). */
  capacityBytes: number;
  /** A volume is sealed and a new one begun past this size. */
  volumeBytes?: number;
  log?: (line: string) => void;
}

interface Volume {
  id: number;
  fh: FileHandle;
  /** Bytes written or reserved: the next needle goes here. */
  size: number;
  /** Bytes known durable and indexed (the recovery checkpoint). */
  synced: number;
  sealed: boolean;
  /** Live needle bytes (data only), from the index. */
  live: number;
}

const VOLUME_RE = /^v(\d{6})\.dat$/;
const DEFAULT_VOLUME_BYTES = 1024 * 1024 * 1024;
const SCAN_CHUNK = 4 * 1024 * 1024;
/**
 * Appends up to this size are written on the event loop: copying even a full segment's
 * piece (4 MiB / 10, about 420 KiB) into the page cache takes tens of microseconds, while a
 * threadpool trip costs two thread wake-ups and waits for a busy loop to take its callback:
 * under 1 MiB PUTs x16 an append of a 105 KiB piece took 3.4 ms that way, and the next one
 * on the connection waited for it. Larger ones go to the threadpool, where a slow disk's
 * writeback throttling cannot stall every connection of the store; the early syncs
 * (EARLY_SYNC_BYTES) keep a store's dirty pages too few for it to throttle smaller ones.
 */
const INLINE_WRITE_BYTES = 512 * 1024;
/**
 * After this many bytes appended without a sync, one starts in the background. The kernel
 * holds dirty pages until a sync (or gigabytes of them) by default, so a large upload
 * otherwise reached the disk only at its final fdatasync, after the last byte arrived: for a
 * 64 MiB object, 102 MiB of pieces flushed while the client waited. Flushing as data streams
 * in leaves only the tail for the final sync. Nothing waits for this sync that did not ask.
 */
export const EARLY_SYNC_BYTES = 2 * 1024 * 1024;

export const ZERO_LEAF = Buffer.alloc(LEAF_BYTES);

function volumeName(id: number): string {
  return `v${String(id).padStart(6, '0')}.dat`;
}

/**
 * Pieces appended to large volume files (Haystack / SeaweedFS volumes / Bitcask), with a
 * needle index in SQLite (volume-index.ts), instead of one file per shard: a small piece
 * costs an append and a share of one fdatasync, not a file, a rename and two fsyncs.
 *
 * Durability is a group commit: appends go to the file at once (positions are handed out in
 * order, writes run in parallel on the threadpool), and `sync()` resolves once one
 * fdatasync covers every append that finished before it was called; concurrent callers
 * share it. A caller acknowledges a piece only after such a sync. On start, every volume's
 * tail past its last synced checkpoint is scanned: sound needles are indexed, a torn one
 * (bad checksum) and everything after it is cut off.
 */
export class VolumeStore {
  readonly dir: string;
  private readonly index: VolumeIndex;
  private readonly volumes = new Map<number, Volume>();
  private active!: Volume;
  private readonly volumeBytes: number;
  private readonly log: (line: string) => void;
  /** Threadpool writes issued and not finished, with where they write: a sync waits for those issued before it. */
  private readonly inflight = new Map<Promise<unknown>, { v: Volume; off: number }>();
  private syncing: Promise<void> | undefined;
  private syncAgain: Promise<void> | undefined;
  /** The running sync has not yet taken stock of the dirty volumes: it covers appends finished until then. */
  private gathering = false;
  /** The gathering sync knows which threadpool appends it waits for: any other closes it to newcomers. */
  private stockTaken = false;
  /** Bytes appended since the last fdatasync started. */
  private unsynced = 0;
  /** Set by a failed fdatasync; every sync fails from then on (see doSync). */
  private syncFailed: Error | undefined;
  private rolling: Promise<void> | undefined;
  /** Volumes written since their last fdatasync. */
  private readonly dirty = new Set<Volume>();
  /** Volumes whose checkpoint moved in memory and not yet in the index (persistCheckpoints). */
  private readonly checkpointsDue = new Set<Volume>();
  private checkpointTimer: NodeJS.Timeout | undefined;
  private liveBytes = 0;
  private shardCount = 0;
  private reserved = 0;
  capacityBytes: number;
  /** fdatasyncs done: with concurrent writers, far fewer than the pieces they cover. */
  syncs = 0;
  /** Records found rotten on read since start (quarantined). */
  corrupt = 0;

  /** Set when an index commit failed while running: this process's index is no longer whole. */
  private lostIndex: Error | undefined;

  private constructor(opts: VolumeStoreOptions, index: VolumeIndex) {
    this.dir = opts.dir;
    this.index = index;
    // Checkpoints moved by fdatasyncs are written once per index commit window, as it commits.
    index.beforeCommit = () => this.persistCheckpoints();
    // The volumes still hold every piece (they are written and fdatasynced before any answer);
    // the rows of the lost commit window are what is missing, and the next start rebuilds
    // them from the volumes. Until then the store refuses work rather than answer from a
    // partial index (a piece it holds reported as missing).
    index.onLostCommit = (err) => {
      this.lostIndex = new Error(`the needle index of ${opts.dir} could not be committed (${err.message}); restart the shard-store to rebuild it from the volumes`, { cause: err });
      (opts.log ?? console.error)(this.lostIndex.message);
    };
    this.capacityBytes = opts.capacityBytes;
    this.volumeBytes = opts.volumeBytes ?? DEFAULT_VOLUME_BYTES;
    this.log = opts.log ?? (() => undefined);
  }

  static async open(opts: VolumeStoreOptions): Promise<VolumeStore> {
    const vdir = join(opts.dir, 'volumes');
    await mkdir(vdir, { recursive: true, mode: 0o700 });
    const store = new VolumeStore(opts, new VolumeIndex(join(vdir, 'index.db')));
    await store.recover(vdir);
    return store;
  }

  get usedBytes(): number {
    return this.liveBytes;
  }

  get pieces(): number {
    return this.shardCount;
  }

  /** Volume files and what is live in them, for compaction and status. */
  volumeStats(): Array<{ id: number; size: number; live: number; sealed: boolean }> {
    return [...this.volumes.values()].map((v) => ({ id: v.id, size: v.size, live: v.live, sealed: v.sealed }));
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight.keys()]);
    await this.sync().catch(() => undefined);
    clearTimeout(this.checkpointTimer);
    if (this.checkpointsDue.size) this.index.transaction(() => this.persistCheckpoints());
    for (const v of this.volumes.values()) await v.fh.close().catch(() => undefined);
    this.index.close();
  }

  // ---- writing -------------------------------------------------------------------------

  /**
   * Append one piece record (the piece and its CRC-32 trailer) as the needle `key`. Resolves
   * once it is written and indexed, not yet durable: call sync() before acknowledging it.
   * A needle written again replaces the old one, which becomes garbage for compaction.
   */
  async append(key: NeedleKey, data: Buffer[]): Promise<void> {
    const [err] = await this.appendMany([{ key, data }]);
    if (err) throw err;
  }

  /**
   * Append several needles with one write (one syscall, one threadpool task) and index them
   * in one transaction: what a batch of small pieces costs. Each gets its own outcome (a
   * record over the capacity fails alone); null means written and indexed. An item's `leaf`
   * is its audit leaf as the writer computed it; without one the store hashes the record.
   */
  async appendMany(items: ReadonlyArray<{ key: NeedleKey; data: Buffer[]; leaf?: Buffer }>): Promise<Array<Error | null>> {
    if (this.lostIndex) throw this.lostIndex;
    const outcome: Array<Error | null> = items.map(() => null);
    const planned: Array<{ i: number; length: number; leaf: Buffer; reserved: number; span: number }> = [];
    const bufs: Buffer[] = [];
    let span = 0;
    for (const [i, { key, data, leaf: given }] of items.entries()) {
      const length = data.reduce((n, b) => n + b.length, 0);
      try {
        if (length > MAX_NEEDLE_DATA) throw new RangeError(`a piece record of ${length} bytes is over the ${MAX_NEEDLE_DATA}-byte limit`);
        // Reserved whole, as for a needle the store does not hold yet (the common case): no index
        // lookup per needle. A rewrite is counted right once indexed (indexAppended); until then
        // it holds room for its old copy too, so a rewrite at the very edge of capacity may be
        // refused rather than let the store overfill.
        const reserved = this.reserve(length);
        if (given && given.length !== LEAF_BYTES) throw new RangeError(`an audit leaf of ${given.length} bytes, not ${LEAF_BYTES}`);
        const leaf = given ?? leafOf(data, length);
        bufs.push(encodeHeader({ blob: key.blob, piece: key.piece, seg: key.seg, flags: 0, length, leaf, dataCrc: crcOf(data) }), ...data, padding(length));
        planned.push({ i, length, leaf, reserved, span: paddedLength(length) });
        span += paddedLength(length);
      } catch (err) {
        outcome[i] = err as Error;
      }
    }
    if (!planned.length) return outcome;
    try {
      const { vol, off } = await this.write(bufs, span);
      this.index.transaction(() => {
        let at = off;
        for (const p of planned) {
          this.indexAppended(items[p.i]!.key, { vol, off: at, len: p.length, leaf: p.leaf });
          at += p.span;
        }
      });
    } catch (err) {
      for (const p of planned) outcome[p.i] = err as Error;
    } finally {
      // Written: now counted as live. Failed: nothing to count.
      for (const p of planned) this.reserved -= p.reserved;
    }
    return outcome;
  }

  /** Point the index at a needle just appended (in a transaction), and count it. */
  private indexAppended(key: NeedleKey, at: NeedlePlace): void {
    // The common case, a needle the store does not hold yet: one statement.
    if (this.index.putNew(key, at)) {
      this.account(at.vol, at.len);
      if (!this.index.hasOtherSegment(key)) this.shardCount++;
      return;
    }
    // Written before, or another write of the same needle finished meanwhile: the later position wins.
    const now = this.index.get(key)!;
    if (now.vol > at.vol || (now.vol === at.vol && now.off > at.off)) return;
    this.index.put(key, at);
    this.account(at.vol, at.len);
    this.account(now.vol, -now.len);
  }

  /** Forget a shard (every segment): tombstones, made durable by the next sync. True if it held any. */
  async deleteShard(blob: Buffer, piece: number): Promise<boolean> {
    if (this.lostIndex) throw this.lostIndex;
    const needles = this.index.shard(blob, piece);
    if (!needles.length) return false;
    this.index.deleteShard(blob, piece);
    this.shardCount--;
    for (const n of needles) this.account(n.vol, -n.len);
    // One tombstone per needle, so a rescan of any one volume tail drops exactly what it should.
    const tombs = needles.map((n) => encodeHeader({ blob, piece, seg: n.seg, flags: FLAG_TOMBSTONE, length: 0, leaf: ZERO_LEAF, dataCrc: 0 }));
    await this.write(tombs, tombs.length * NEEDLE_HEADER_BYTES);
    return true;
  }

  /**
   * Resolves once every append that finished before the call is durable (one fdatasync of
   * every volume written since the last one). Concurrent callers share a sync: one that has
   * not yet taken stock of what is written covers the caller too; a caller that arrives after
   * it has gets the next, which covers it.
   */
  sync(): Promise<void> {
    if (this.syncFailed) return Promise.reject(this.syncFailed);
    if (this.syncing && this.gathering) return this.syncing;
    if (!this.syncing) {
      this.syncing = this.doSync().finally(() => (this.syncing = undefined));
      return this.syncing;
    }
    this.syncAgain ??= this.syncing.catch(() => undefined).then(() => {
      this.syncAgain = undefined;
      return this.sync();
    });
    return this.syncAgain;
  }

  private async doSync(): Promise<void> {
    // One turn of the event loop first: the pieces other connections (and the other stores of
    // this process) append in the same turn share this fdatasync instead of waiting for the
    // next one. 4 KiB PUTs x16: 1.08x the objects/s, 11% less CPU per object.
    this.gathering = true;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.stockTaken = true;
    await Promise.allSettled([...this.inflight.keys()]);
    this.gathering = false;
    this.stockTaken = false;
    const volumes = [...this.dirty];
    this.dirty.clear();
    this.unsynced = 0;
    const upTo = new Map(volumes.map((v) => [v, v.size]));
    // Appends issued since the stock was taken may still be in the threadpool and land after
    // this fdatasync: the checkpoint stops where the first of them starts (write() marks their
    // volume dirty again once they land, for the next sync).
    for (const { v, off } of this.inflight.values()) {
      const u = upTo.get(v);
      if (u !== undefined && off < u) upTo.set(v, off);
    }
    try {
      await Promise.all(volumes.map((v) => v.fh.datasync()));
    } catch (err) {
      // Linux may mark the pages of a failed writeback clean, so a second fdatasync can report
      // success for data that never reached the disk. No later sync may vouch for what this
      // one covered, least of all after a background sync (write) whose failure nobody
      // awaited: every sync fails from now on, and the store's writes with it.
      this.syncFailed ??= new Error(`an fdatasync in ${this.dir} failed (${(err as Error).message}); pieces written since the last good one may not be on disk: restart the shard-store`, { cause: err });
      this.log(this.syncFailed.message);
      throw this.syncFailed;
    }
    this.syncs++;
    for (const [v, size] of upTo) {
      v.synced = Math.max(v.synced, size);
      this.checkpointsDue.add(v);
    }
    // The checkpoint is written as the index's commit window closes (beforeCommit), or within
    // a second on an idle store: a commit of its own per fdatasync was a third of a busy
    // store's SQLite work, and an UPDATE per append batch was still a tenth of it. A
    // checkpoint that lags only makes a restart scan a little more of a tail (recover).
    this.checkpointTimer ??= setTimeout(() => {
      this.checkpointTimer = undefined;
      try {
        // An idle store has no window open: open one, so the checkpoint is written as it commits.
        if (this.checkpointsDue.size) this.index.transaction(() => this.persistCheckpoints());
      } catch (err) {
        // Closed meanwhile, or the disk refused: the next append or close tries again.
        this.log(`volume checkpoint: ${(err as Error).message}`);
      }
    }, 1000).unref();
  }

  /** Write the checkpoints that moved since the last call (inside a transaction). */
  private persistCheckpoints(): void {
    for (const v of this.checkpointsDue) if (this.volumes.has(v.id)) this.index.setSynced(v.id, v.synced);
    this.checkpointsDue.clear();
  }

  /** Write buffers as one span at the end of the active volume; positions are taken in call order. */
  private async write(bufs: Buffer[], span: number): Promise<{ vol: number; off: number }> {
    while (this.active.size + span > this.volumeBytes && this.active.size > 0) {
      this.rolling ??= this.roll().finally(() => (this.rolling = undefined));
      await this.rolling;
    }
    const v = this.active;
    const off = v.size;
    v.size += span;
    this.dirty.add(v);
    try {
      if (span <= INLINE_WRITE_BYTES) {
        writeAllAtSync(v.fh.fd, bufs, off);
      } else {
        const p = writeAllAt(v.fh, bufs, off);
        this.inflight.set(p, { v, off });
        // The gathering sync does not wait for this append, so nothing appended after it may
        // join that sync: it would be acknowledged while this one, before it in the volume, may
        // not be on disk, and a restart cuts a volume at its first torn needle. They get the next.
        if (this.stockTaken) this.gathering = false;
        await p.finally(() => this.inflight.delete(p));
        // A sync that took stock while this was in the threadpool may have fdatasynced the volume
        // before these bytes landed, and taken it off the dirty list: the next sync must cover them.
        this.dirty.add(v);
      }
    } catch (err) {
      throw isNoSpace(err) ? new StoreFullError(`no space left on the disk of ${this.dir}`, { cause: err }) : err;
    }
    this.unsynced += span;
    // A failure here is seen again by the next sync that someone awaits.
    if (this.unsynced >= EARLY_SYNC_BYTES && !this.syncing) this.sync().catch(() => undefined);
    return { vol: v.id, off };
  }

  /** Seal the active volume and start the next (its directory entry made durable first). */
  private async roll(): Promise<void> {
    const sealed = this.active;
    const id = Math.max(...this.volumes.keys()) + 1;
    const next = await this.createVolume(id);
    sealed.sealed = true;
    this.index.seal(sealed.id);
    this.active = next;
  }

  private async createVolume(id: number): Promise<Volume> {
    const vdir = join(this.dir, 'volumes');
    const fh = await open(join(vdir, volumeName(id)), fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
    await syncDir(vdir);
    this.index.addVolume(id);
    const v: Volume = { id, fh, size: 0, synced: 0, sealed: false, live: 0 };
    this.volumes.set(id, v);
    return v;
  }

  /** Hold `bytes` of capacity for a write in progress; returns what was held. */
  private reserve(bytes: number): number {
    if (bytes <= 0) return 0;
    if (this.liveBytes + this.reserved + bytes > this.capacityBytes) {
      throw new StoreFullError(`store is full: ${this.liveBytes} of ${this.capacityBytes} bytes used`);
    }
    this.reserved += bytes;
    return bytes;
  }

  private account(vol: number, bytes: number): void {
    this.liveBytes += bytes;
    const v = this.volumes.get(vol);
    if (v) v.live += bytes;
  }

  // ---- reading -------------------------------------------------------------------------

  /** The needles of a shard, by segment; empty when the store holds none. */
  shard(blob: Buffer, piece: number): NeedleLocation[] {
    if (this.lostIndex) throw this.lostIndex;
    return this.index.shard(blob, piece);
  }

  location(key: NeedleKey): NeedleSpan | undefined {
    if (this.lostIndex) throw this.lostIndex;
    return this.index.span(key);
  }

  /**
   * A needle's data, checked against its checksum; null when the store does not hold it.
   * Throws CorruptNeedleError when the bytes on disk no longer match: never served. The
   * data is a view of a buffer from `alloc` (a pool, for the piece protocol).
   */
  async read(at: NeedleSpan, key: NeedleKey, alloc: (length: number) => Buffer = (length) => Buffer.allocUnsafe(length)): Promise<Buffer> {
    if (this.lostIndex) throw this.lostIndex;
    const v = this.volumes.get(at.vol);
    if (!v) throw new CorruptNeedleError(`volume ${at.vol} of needle ${describe(key)} is gone`);
    const buf = alloc(NEEDLE_HEADER_BYTES + at.len);
    await readFullyAt(v.fh, buf, at.off);
    const h = decodeHeader(buf);
    if (!h || h.length !== at.len || !h.blob.equals(key.blob) || h.piece !== key.piece || h.seg !== key.seg) {
      throw new CorruptNeedleError(`needle ${describe(key)} at ${volumeName(at.vol)}:${at.off} has a damaged header`);
    }
    const data = buf.subarray(NEEDLE_HEADER_BYTES);
    if ((crc32(data) >>> 0) !== h.dataCrc) {
      this.quarantine(key, at);
      throw new CorruptNeedleError(`needle ${describe(key)} at ${volumeName(at.vol)}:${at.off} fails its checksum`);
    }
    return data;
  }

  /**
   * A needle whose bytes rotted is taken out of the index: never served again, reported as
   * missing (so the gateway rebuilds it), counted, and left in its volume for compaction.
   */
  private quarantine(key: NeedleKey, at: NeedleSpan): void {
    const now = this.index.get(key);
    if (!now || now.vol !== at.vol || now.off !== at.off) return;
    this.index.deleteNeedle(key);
    this.account(at.vol, -at.len);
    if (!this.index.hasShard(key.blob, key.piece)) this.shardCount--;
    this.corrupt++;
    this.log(`needle ${describe(key)} at ${volumeName(at.vol)}:${at.off} fails its checksum: quarantined (it will be rebuilt from the other stores)`);
  }

  /** Every shard held, as (blob, piece). */
  *shards(): IterableIterator<{ blob: Buffer; piece: number }> {
    yield* this.index.shards();
  }

  /** Disk space of the file system under the store. */
  async diskSpace(): Promise<{ freeBytes: number; totalBytes: number }> {
    const fs = await statfs(this.dir);
    return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
  }

  // ---- compaction hooks (compactor.ts) ---------------------------------------------------

  /** Live needles of a sealed volume from `off` on (a page), for compaction to copy. */
  liveIn(vol: number, off: number, limit: number): Array<NeedleKey & { off: number; len: number; leaf: Buffer }> {
    return this.index.inVolume(vol, off, limit);
  }

  /**
   * Copy live needles of a sealed volume to the active one, make the copies durable, then
   * point the index at them (unless a needle changed meanwhile). Returns the bytes moved.
   * A needle that no longer reads back is left where it is, and reported.
   */
  async copyNeedles(vol: number, list: Array<NeedleKey & { off: number; len: number }>): Promise<number> {
    const copies: Array<{ n: NeedleKey & { off: number; len: number }; to: { vol: number; off: number } }> = [];
    for (const n of list) {
      let data: Buffer;
      try {
        data = await this.read({ vol, off: n.off, len: n.len }, n);
      } catch (err) {
        this.log(`compaction: ${(err as Error).message}; left in place`);
        continue;
      }
      const header = encodeHeader({ ...n, flags: 0, length: data.length, leaf: leafOf([data], data.length), dataCrc: crc32(data) >>> 0 });
      copies.push({ n, to: await this.write([header, data, padding(data.length)], paddedLength(data.length)) });
    }
    await this.sync();
    let moved = 0;
    this.index.transaction(() => {
      for (const { n, to } of copies) {
        if (!this.index.moved(n, { vol, off: n.off }, to)) continue;
        this.account(vol, -n.len);
        this.account(to.vol, n.len);
        moved += n.len;
      }
    });
    return moved;
  }

  /**
   * Remove a sealed volume that no live needle points into any more. The index commits that
   * moved its needles are made durable first, so a crash never leaves the index pointing
   * into a file that is gone.
   */
  async dropVolume(id: number): Promise<void> {
    const v = this.volumes.get(id);
    if (!v || v === this.active || this.index.inVolume(id, 0, 1).length) return;
    this.index.checkpoint();
    this.volumes.delete(id);
    this.dirty.delete(v);
    // Reads that looked the needle up before the move may still be reading from this handle.
    setTimeout(() => void v.fh.close().catch(() => undefined), 30_000).unref();
    await rm(join(this.dir, 'volumes', volumeName(id)), { force: true });
    this.index.dropVolume(id);
    await syncDir(join(this.dir, 'volumes'));
  }

  // ---- start-up ----------------------------------------------------------------------------

  /**
   * Open every volume and bring the index up to date: past each volume's checkpoint, drop
   * index rows (their bytes may never have reached the disk) and scan the needles again;
   * the first one that is not sound marks a torn tail, which is truncated.
   */
  private async recover(vdir: string): Promise<void> {
    const rows = new Map(this.index.volumes().map((r) => [r.id, r]));
    const onDisk = (await readdir(vdir)).map((f) => VOLUME_RE.exec(f)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));
    const live = this.index.liveBytes();
    for (const id of onDisk.sort((a, b) => a - b)) {
      const fh = await open(join(vdir, volumeName(id)), fsConstants.O_RDWR);
      const size = (await fh.stat()).size;
      const row = rows.get(id);
      if (!row) this.index.addVolume(id);
      const v: Volume = { id, fh, size, synced: Math.min(row?.synced ?? 0, size), sealed: row?.sealed ?? false, live: live.get(id)?.bytes ?? 0 };
      this.volumes.set(id, v);
    }
    // Index rows of volumes whose file is gone point nowhere.
    for (const id of rows.keys()) if (!this.volumes.has(id)) {
      this.index.dropFrom(id, 0);
      this.index.dropVolume(id);
    }
    for (const v of this.volumes.values()) {
      // Rows past the checkpoint may name bytes a power loss took: they are checked against the volume again.
      if (v.synced < v.size || !rows.has(v.id)) await this.rescan(v);
      else this.index.dropFrom(v.id, v.synced);
    }
    this.liveBytes = 0;
    for (const [id, l] of this.index.liveBytes()) {
      const v = this.volumes.get(id);
      if (v) v.live = l.bytes;
      this.liveBytes += l.bytes;
    }
    this.shardCount = this.index.shardCount();
    const newest = [...this.volumes.values()].sort((a, b) => b.id - a.id)[0];
    this.active = newest && !newest.sealed ? newest : await this.createVolume((newest?.id ?? 0) + 1);
  }

  private async rescan(v: Volume): Promise<void> {
    const dropped = this.index.dropFrom(v.id, v.synced);
    let off = v.synced;
    let indexed = 0;
    const head = Buffer.allocUnsafe(NEEDLE_HEADER_BYTES);
    while (off + NEEDLE_HEADER_BYTES <= v.size) {
      await readFullyAt(v.fh, head, off);
      const h = decodeHeader(head);
      if (!h || off + paddedLength(h.length) > v.size) break;
      if (h.flags & FLAG_TOMBSTONE) {
        const at = this.index.get(h);
        if (at && (at.vol < v.id || (at.vol === v.id && at.off < off))) this.index.deleteNeedle(h);
      } else {
        const data = Buffer.allocUnsafe(h.length);
        await readFullyAt(v.fh, data, off + NEEDLE_HEADER_BYTES);
        if ((crc32(data) >>> 0) !== h.dataCrc) break;
        const at = this.index.get(h);
        if (!at || at.vol < v.id || (at.vol === v.id && at.off < off)) this.index.put(h, { vol: v.id, off, len: h.length, leaf: h.leaf });
        indexed++;
      }
      off += paddedLength(h.length);
    }
    if (off < v.size) {
      this.log(`volume ${volumeName(v.id)}: ${v.size - off} bytes past ${off} are torn (a write a crash interrupted, never acknowledged): cut off`);
      await v.fh.truncate(off);
      v.size = off;
    }
    await v.fh.datasync();
    v.synced = v.size;
    this.index.setSynced(v.id, v.size);
    if (dropped || indexed) this.log(`volume ${volumeName(v.id)}: checked its tail after the last checkpoint (${indexed} needle(s))`);
  }
}

/** A needle whose bytes on disk no longer match what was written. */
export class CorruptNeedleError extends Error {
  code = 'ERR_CORRUPT';
}

function describe(k: NeedleKey): string {
  return `${k.blob.toString('hex')}.${k.piece}#${k.seg}`;
}

/** SHA-256 of the piece: the record without its CRC-32 trailer (the audit leaf). */
function leafOf(data: Buffer[], length: number): Buffer {
  const h = createHash('sha256');
  let left = Math.max(0, length - RECORD_TRAILER_BYTES);
  for (const b of data) {
    if (left <= 0) break;
    h.update(left >= b.length ? b : b.subarray(0, left));
    left -= b.length;
  }
  return h.digest();
}

function crcOf(data: Buffer[]): number {
  let c = 0;
  for (const b of data) c = crc32(b, c);
  return c >>> 0;
}

/** Write every byte of `bufs` at `position`, resuming after short writes. */
async function writeAllAt(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let pos = position;
  let rest = bufs.filter((b) => b.length > 0);
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    rest = unwritten(rest, bytesWritten);
  }
}

/** writeAllAt, on the calling thread (small appends: INLINE_WRITE_BYTES). */
function writeAllAtSync(fd: number, bufs: Buffer[], position: number): void {
  let pos = position;
  let rest = bufs.filter((b) => b.length > 0);
  while (rest.length > 0) {
    const written = writevSync(fd, rest, pos);
    pos += written;
    rest = unwritten(rest, written);
  }
}

/** What is left of `bufs` after a (possibly short) write of `written` bytes from their start. */
function unwritten(bufs: Buffer[], written: number): Buffer[] {
  let rest = bufs;
  while (rest.length > 0 && written >= rest[0]!.length) {
    written -= rest[0]!.length;
    rest = rest.slice(1);
  }
  return written > 0 ? [rest[0]!.subarray(written), ...rest.slice(1)] : rest;
}

async function readFullyAt(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  // A FileHandle's fd is -1 from the moment it starts closing, so the number is never another file's.
  let got = readCached(fh.fd, buf, position);
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, Math.min(buf.length - got, SCAN_CHUNK), position + got);
    if (bytesRead === 0) throw new CorruptNeedleError(`volume ended at ${position + got}, ${buf.length - got} bytes short`);
    got += bytesRead;
  }
}

