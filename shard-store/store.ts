import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, rename, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errCode, isNoSpace, syncDir } from './disk.js';
import { StoreFullError } from './errors.js';
import { isShardId } from './protocol.js';
import { sidecarPath } from './sidecar.js';

const TMP_RE = /\.tmp[0-9a-f]+$/;
const FANOUT_RE = /^[0-9a-f]{2}$/;
const SINK_HIGH_WATER_MARK = 256 * 1024;

export interface PieceStoreOptions {
  dir: string;
  /** Bytes this store may hold; default: the size of the file system under `dir`. */
  capacityBytes?: number;
}

/** An open piece: the handle keeps the bytes readable even if the piece is deleted or replaced meanwhile. */
export interface OpenPiece {
  fh: FileHandle;
  size: number;
}

/**
 * Pieces on a local disk, one file each, fanned out as `<dir>/aa/bb/<id>` by the first
 * two bytes of the blob id (blob ids are random, so directories stay small and even).
 */
export class PieceStore {
  readonly dir: string;
  readonly capacityBytes: number;
  private used = 0;
  private count = 0;
  /** Bytes of uploads in flight, so concurrent writes cannot together overrun the capacity. */
  private reserved = 0;
  private readonly knownDirs = new Set<string>();

  /** Use `PieceStore.open`, which also scans the directory. */
  constructor(dir: string, capacityBytes: number) {
    this.dir = dir;
    this.capacityBytes = capacityBytes;
  }

  /**
   * Open (creating if needed) the store under `opts.dir`. Counts what is there and removes
   * temp files: they are uploads a crash interrupted, never acknowledged, so nobody needs them.
   */
  static async open<T extends PieceStore>(this: new (dir: string, cap: number) => T, opts: PieceStoreOptions): Promise<T> {
    // Private: pieces are ciphertext, but the store's key and index are nobody else's business.
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const fs = await statfs(opts.dir);
    const store = new this(opts.dir, opts.capacityBytes ?? fs.blocks * fs.bsize);
    await store.scan();
    return store;
  }

  get usedBytes(): number {
    return this.used;
  }

  get pieces(): number {
    return this.count;
  }

  /** Free bytes of the underlying file system, and its total size. */
  async diskSpace(): Promise<{ freeBytes: number; totalBytes: number }> {
    const fs = await statfs(this.dir);
    return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
  }

  dirOf(id: string): string {
    return join(this.dir, id.slice(0, 2), id.slice(2, 4));
  }

  pathOf(id: string): string {
    if (!isShardId(id)) throw new TypeError(`not a shard id: ${JSON.stringify(id)}`);
    return join(this.dirOf(id), id);
  }

  /**
   * Store a piece from a stream, atomically and durably: the bytes go to a temp file that is
   * fsynced, renamed over the name, and the directory fsynced. Only then does this resolve,
   * so a crash at any point leaves either the old piece or the new one, never a part.
   * `declaredLength` (Content-Length) lets a too-large upload fail before any byte is written.
   */
  async put(id: string, body: Readable, declaredLength?: number): Promise<number> {
    const final = this.pathOf(id);
    if (declaredLength !== undefined) this.reserve(declaredLength);
    let reserved = declaredLength ?? 0;
    const tmp = `${final}.tmp${randomBytes(6).toString('hex')}`;
    let fh: FileHandle | undefined;
    let written = 0;
    try {
      const dir = await this.ensureDir(id);
      fh = await this.openTemp(tmp);
      // The body is not destroyed on our own failures (full disk), so the caller can still answer.
      const source = async function* (this: PieceStore) {
        for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
          written += chunk.length;
          if (written > reserved) {
            this.reserve(written - reserved);
            reserved = written;
          }
          yield chunk;
        }
      }.bind(this);
      // Bounded memory: pipeline pulls from the socket only as fast as the disk takes it.
      await pipeline(source, fileSink(fh));
      await fh.sync();
      await fh.close();
      fh = undefined;
      const previous = await sizeOf(final);
      await rename(tmp, final);
      // The rename is only durable once the directory entry is on disk too.
      await syncDir(dir);
      // Audit leaves of a replaced piece describe the old bytes (a cache: losing it in a crash costs one rebuild).
      if (previous !== null) await unlink(sidecarPath(final)).catch(() => undefined);
      this.used += written - (previous ?? 0);
      if (previous === null) this.count++;
      return written;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw isNoSpace(err) ? new StoreFullError(`no space left on the disk of ${this.dir}`, { cause: err }) : err;
    } finally {
      this.reserved -= reserved;
    }
  }

  /** Open a piece for reading; null when it does not exist. The caller closes `fh`. */
  async openRead(id: string): Promise<OpenPiece | null> {
    let fh: FileHandle;
    try {
      fh = await open(this.pathOf(id), fsConstants.O_RDONLY);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return null;
      throw err;
    }
    try {
      const { size } = await fh.stat();
      return { fh, size };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Size of a piece, or null when it does not exist. */
  async size(id: string): Promise<number | null> {
    return sizeOf(this.pathOf(id));
  }

  /**
   * Remove a piece; true if it existed. Not fsynced: a delete lost in a crash only leaves
   * garbage that the gateway's next delete or garbage collection removes again.
   */
  async delete(id: string): Promise<boolean> {
    const path = this.pathOf(id);
    const size = await sizeOf(path);
    try {
      await unlink(path);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw err;
    }
    this.used -= size ?? 0;
    this.count--;
    await unlink(sidecarPath(path)).catch(() => undefined);
    return true;
  }

  /** Every shard id held, in no particular order. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const a of await readdir(this.dir, { withFileTypes: true }).catch(() => [])) {
      if (!a.isDirectory() || !FANOUT_RE.test(a.name)) continue;
      for (const b of await readdir(join(this.dir, a.name), { withFileTypes: true }).catch(() => [])) {
        if (!b.isDirectory() || !FANOUT_RE.test(b.name)) continue;
        for (const name of await readdir(join(this.dir, a.name, b.name)).catch(() => [])) if (isShardId(name)) out.push(name);
      }
    }
    return out;
  }

  /** Where an upload's bytes go before the rename. A seam for tests that simulate a full disk. */
  protected async openTemp(path: string): Promise<FileHandle> {
    return open(path, 'wx', 0o640);
  }

  private reserve(bytes: number): void {
    if (this.used + this.reserved + bytes > this.capacityBytes) {
      throw new StoreFullError(`store is full: ${this.used} of ${this.capacityBytes} bytes used`);
    }
    this.reserved += bytes;
  }

  private async ensureDir(id: string): Promise<string> {
    const dir = this.dirOf(id);
    if (this.knownDirs.has(dir)) return dir;
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined) {
      // New directories must be durable before a piece inside them can be.
      await syncDir(join(this.dir, id.slice(0, 2)));
      await syncDir(this.dir);
    }
    this.knownDirs.add(dir);
    return dir;
  }

  /** Count pieces and bytes, and drop temp files left by a crash. Runs once, before serving. */
  private async scan(): Promise<void> {
    for (const a of await readdir(this.dir, { withFileTypes: true })) {
      if (!a.isDirectory() || !FANOUT_RE.test(a.name)) continue;
      for (const b of await readdir(join(this.dir, a.name), { withFileTypes: true })) {
        if (!b.isDirectory() || !FANOUT_RE.test(b.name)) continue;
        const dir = join(this.dir, a.name, b.name);
        this.knownDirs.add(dir);
        for (const name of await readdir(dir)) {
          if (TMP_RE.test(name)) {
            await unlink(join(dir, name)).catch(() => undefined);
          } else if (isShardId(name)) {
            const size = await sizeOf(join(dir, name));
            if (size === null) continue;
            this.used += size;
            this.count++;
          }
        }
      }
    }
  }
}

/**
 * A Writable over an open handle that leaves the handle open for fsync. (A FileHandle's own
 * createWriteStream with autoClose off keeps a reference that makes close() wait forever.)
 * Queued chunks are written together with writev.
 */
function fileSink(fh: FileHandle): Writable {
  return new Writable({
    highWaterMark: SINK_HIGH_WATER_MARK,
    writev(chunks, cb) {
      writeAll(fh, chunks.map((c) => c.chunk as Buffer)).then(() => cb(), cb);
    },
  });
}

/** Write every byte of `buffers` at the file's position, resuming after short writes. */
export async function writeAll(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  let bufs = buffers;
  while (bufs.length > 0) {
    let { bytesWritten } = await fh.writev(bufs);
    // Short writes are rare on files but allowed: resume after the last byte written.
    while (bufs.length > 0 && bytesWritten >= bufs[0]!.length) {
      bytesWritten -= bufs[0]!.length;
      bufs = bufs.slice(1);
    }
    if (bytesWritten > 0) bufs = [bufs[0]!.subarray(bytesWritten), ...bufs.slice(1)];
  }
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}
