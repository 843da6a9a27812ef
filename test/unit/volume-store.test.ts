import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, openSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { mkdtemp, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Compactor } from '../../shard-store/volume/compactor.js';
import { NEEDLE_HEADER_BYTES, paddedLength, type NeedleKey } from '../../shard-store/volume/needle.js';
import { CorruptNeedleError, EARLY_SYNC_BYTES, VolumeStore } from '../../shard-store/volume/volume-store.js';
import { onClose } from '../helpers/registry.js';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-vol-'));
  onClose(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const key = (seg = 0, piece = 1, blob: Buffer = randomBytes(16)): NeedleKey => ({ blob, piece, seg });
const volume = (dir: string, id = 1): string => join(dir, 'volumes', `v${String(id).padStart(6, '0')}.dat`);

async function open(dir: string, volumeBytes?: number, logs?: string[]): Promise<VolumeStore> {
  const s = await VolumeStore.open({ dir, capacityBytes: 1e12, ...(volumeBytes && { volumeBytes }), log: (l) => logs?.push(l) });
  onClose(() => s.close());
  return s;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A store whose first two threadpool appends (over INLINE_WRITE_BYTES) are each held at a
 * gate until released, and whose volume's writes and fdatasyncs are logged in order.
 */
async function gatedStore(): Promise<{
  s: VolumeStore; v: { fh: FileHandle; size: number; synced: number }; events: string[]; gates: Array<{ promise: Promise<void>; resolve: () => void }>;
}> {
  const s = await open(await tempDir());
  await s.append(key(), [randomBytes(100)]);
  await s.sync();
  const v = (s as unknown as { active: { fh: FileHandle; size: number; synced: number } }).active;
  const events: string[] = [];
  const gates = [deferred(), deferred()];
  const writev = v.fh.writev.bind(v.fh);
  let writes = 0;
  v.fh.writev = (async (bufs: Buffer[], position: number) => {
    const i = writes++;
    await gates[i]?.promise;
    const r = await writev(bufs, position);
    events.push(`write ${i}`);
    return r;
  }) as typeof v.fh.writev;
  const datasync = v.fh.datasync.bind(v.fh);
  v.fh.datasync = async () => {
    events.push('datasync');
    return datasync();
  };
  // A failed expectation must not leave a write held: closing the store waits for it.
  onClose(() => gates.forEach((g) => g.resolve()));
  return { s, v, events, gates };
}

async function readBack(s: VolumeStore, k: NeedleKey): Promise<Buffer | null> {
  const at = s.location(k);
  return at ? s.read(at, k) : null;
}

/** The index as the store keeps it, for simulating what a crash can leave. */
function indexDb(dir: string): Database.Database {
  return new Database(join(dir, 'volumes', 'index.db'));
}

describe('volume store', () => {
  it('makes concurrent appends durable with far fewer fdatasyncs than pieces (group commit)', async () => {
    const s = await open(await tempDir());
    const keys = Array.from({ length: 200 }, () => key());
    await Promise.all(keys.map(async (k, i) => {
      await s.append(k, [Buffer.from(`piece ${i}`), randomBytes(400)]);
      await s.sync();
    }));
    expect(s.syncs).toBeLessThan(100);
    for (const [i, k] of keys.entries()) expect((await readBack(s, k))!.subarray(0, 10).toString()).toMatch(`piece ${i}`);
    expect(s.pieces).toBe(200);
  });

  it('keeps appends of every size in order, written on the loop or in the threadpool, across a restart', async () => {
    const dir = await tempDir();
    const s = await open(dir);
    // Small and segment-sized appends are written on the event loop, the largest in the threadpool.
    const sizes = [100, 300 * 1024, 1024 * 1024 + 1, 2000, 4 * 1024 * 1024 + 3, 64 * 1024];
    const items = sizes.map((n, i) => ({ k: key(i), data: randomBytes(n) }));
    await Promise.all(items.map(({ k, data }) => s.append(k, [data.subarray(0, 7), data.subarray(7)])));
    await s.sync();
    const offsets = items.map(({ k }) => s.location(k)!.off);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    await s.close();
    const again = await open(dir);
    for (const { k, data } of items) expect((await readBack(again, k))!.equals(data)).toBe(true);
  });

  it('lets a piece appended while a sync gathers share that sync\'s fdatasync', async () => {
    const s = await open(await tempDir());
    await s.append(key(), [randomBytes(300)]);
    const before = s.syncs;
    const first = s.sync();
    // Appended in the same turn, after the sync began: covered by it, not by another one.
    await s.append(key(), [randomBytes(300)]);
    expect(s.sync()).toBe(first);
    await first;
    expect(s.syncs).toBe(before + 1);
    // Once it has taken stock, a new caller waits for the next sync.
    await s.append(key(), [randomBytes(300)]);
    const second = s.sync();
    expect(second).not.toBe(first);
    await second;
    expect(s.syncs).toBe(before + 2);
  });

  it('fdatasyncs a threadpool append that a sync did not wait for, and leaves it out of that sync\'s checkpoint', async () => {
    const { s, v, events, gates } = await gatedStore();
    const first = s.append(key(), [randomBytes(600 * 1024)]);
    const synced = s.sync();
    // The sync has taken stock of the appends in flight (the first) and waits for them.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const secondAt = v.size;
    const secondKey = key();
    const second = s.append(secondKey, [randomBytes(600 * 1024)]);
    gates[0]!.resolve();
    await first;
    await synced;
    // The second append may land after that fdatasync: a restart must check its bytes again.
    expect(v.synced).toBeLessThanOrEqual(secondAt);
    gates[1]!.resolve();
    await second;
    await s.sync();
    expect(events.slice(events.indexOf('write 1'))).toContain('datasync');
    expect(v.synced).toBe(v.size);
  });

  it('acknowledges no append before a threadpool append ahead of it in the volume is on disk', async () => {
    const { s, events, gates } = await gatedStore();
    const first = s.append(key(), [randomBytes(600 * 1024)]);
    const gathering = s.sync();
    // The sync has taken stock: it waits for the first append.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // A second large append, which that sync does not wait for, then a small one after it.
    const second = s.append(key(), [randomBytes(600 * 1024)]);
    await s.append(key(), [randomBytes(100)]);
    // Joining the gathering sync would acknowledge the small piece while the large one before
    // it in the volume may still be torn by a power loss, and a restart cuts the volume there.
    const small = s.sync().then(() => events.push('small acknowledged'));
    gates[0]!.resolve();
    await first;
    await gathering;
    expect(events).not.toContain('small acknowledged');
    gates[1]!.resolve();
    await second;
    await small;
    const acked = events.indexOf('small acknowledged');
    expect(events.slice(events.indexOf('write 1'), acked)).toContain('datasync');
  });

  it('cuts a torn tail off on start and keeps every needle before it', async () => {
    const dir = await tempDir();
    const logs: string[] = [];
    let s = await open(dir);
    const keys = [key(), key(), key()];
    for (const k of keys) await s.append(k, [randomBytes(1000)]);
    await s.sync();
    await s.close();
    const sound = statSync(volume(dir)).size;
    // A crash in the middle of an append: a header announcing 5000 bytes, 100 of them written.
    const torn = openSync(volume(dir), 'r+');
    writeSync(torn, Buffer.concat([(await headerOf(dir, keys[0]!)).fill(0, 8, 24), randomBytes(100)]), 0, NEEDLE_HEADER_BYTES + 100, sound);
    closeSync(torn);
    // And the index lost its last commits (power loss with synchronous = NORMAL).
    const db = indexDb(dir);
    db.prepare('UPDATE volumes SET synced = 0').run();
    db.prepare('DELETE FROM needles').run();
    db.close();
    s = await open(dir, undefined, logs);
    expect(statSync(volume(dir)).size).toBe(sound);
    for (const k of keys) expect((await readBack(s, k))!.length).toBe(1000);
    expect(s.pieces).toBe(3);
    expect(logs.join('\n')).toMatch(/torn/);
  });

  it('forgets needles whose bytes a power loss took, even when the index remembered them', async () => {
    const dir = await tempDir();
    let s = await open(dir);
    const kept = key();
    await s.append(kept, [randomBytes(500)]);
    await s.sync();
    const synced = statSync(volume(dir)).size;
    const lost = key();
    await s.append(lost, [randomBytes(500)]);
    await s.close();
    // The unsynced append never reached the disk, but its index row and a stale checkpoint did.
    truncateSync(volume(dir), synced);
    const db = indexDb(dir);
    db.prepare('UPDATE volumes SET synced = ?').run(synced);
    db.close();
    s = await open(dir);
    expect(await readBack(s, kept)).not.toBeNull();
    expect(s.location(lost)).toBeUndefined();
    expect(s.pieces).toBe(1);
  });

  it('deletes with tombstones that hold across restarts and rescans', async () => {
    const dir = await tempDir();
    let s = await open(dir);
    const k = key();
    await s.append(k, [randomBytes(800)]);
    await s.sync();
    expect(await s.deleteShard(k.blob, k.piece)).toBe(true);
    await s.sync();
    expect(s.usedBytes).toBe(0);
    await s.close();
    // Rescan the whole volume, as if the index had lost everything: the tombstone wins.
    const db = indexDb(dir);
    db.prepare('UPDATE volumes SET synced = 0').run();
    db.close();
    s = await open(dir);
    expect(s.location(k)).toBeUndefined();
    expect(s.pieces).toBe(0);
  });

  it('quarantines a needle whose bytes rotted: never served, reported missing, counted', async () => {
    const dir = await tempDir();
    const s = await open(dir);
    const k = key();
    await s.append(k, [randomBytes(300)]);
    await s.sync();
    const at = s.location(k)!;
    const fd = openSync(volume(dir), 'r+');
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at.off + NEEDLE_HEADER_BYTES + 7);
    b[0]! ^= 1;
    writeSync(fd, b, 0, 1, at.off + NEEDLE_HEADER_BYTES + 7);
    closeSync(fd);
    await expect(s.read(at, k)).rejects.toBeInstanceOf(CorruptNeedleError);
    expect(s.location(k)).toBeUndefined();
    expect(s.corrupt).toBe(1);
    expect(s.pieces).toBe(0);
  });

  it('compacts a sealed volume that is mostly garbage, crash-safely, at a bounded rate', async () => {
    const dir = await tempDir();
    // Small volumes: a few needles each.
    let s = await open(dir, 8 * paddedLength(1000));
    const keys = Array.from({ length: 30 }, () => key());
    for (const k of keys) await s.append(k, [Buffer.alloc(1000, k.blob[0])]);
    await s.sync();
    const first = s.volumeStats().find((v) => v.id === 1)!;
    expect(first.sealed).toBe(true);
    // Delete all but one needle of volume 1.
    const inFirst = keys.filter((k) => s.location(k)!.vol === 1);
    for (const k of inFirst.slice(1)) await s.deleteShard(k.blob, k.piece);
    await s.sync();
    // A crash after the live needle was copied but before the old volume went: both copies
    // exist, the index points at the new one, and a later pass removes the old file.
    await s.copyNeedles(1, s.liveIn(1, 0, 100));
    await s.close();
    s = await open(dir, 8 * paddedLength(1000));
    expect(s.location(inFirst[0]!)!.vol).not.toBe(1);
    const freed = await new Compactor(s, { minGarbageBytes: 1, rateBytesPerSec: 1e9 }).pass();
    expect(freed).toBeGreaterThan(0);
    expect(s.volumeStats().some((v) => v.id === 1)).toBe(false);
    for (const k of keys) {
      const live = !inFirst.slice(1).includes(k);
      expect(s.location(k) !== undefined, k.blob.toString('hex')).toBe(live);
      if (live) expect((await readBack(s, k))!.equals(Buffer.alloc(1000, k.blob[0]))).toBe(true);
    }
    expect(s.usedBytes).toBe((keys.length - inFirst.length + 1) * 1000);
  });

  it('finds every synced piece after a crash that lost the open index commit window', async () => {
    const dir = await tempDir();
    const s = await open(dir);
    const keys = Array.from({ length: 20 }, () => key());
    for (const [i, k] of keys.entries()) await s.append(k, [Buffer.alloc(700, i)]);
    await s.sync();
    // What a crash leaves: the volumes and the index as committed so far, the window not.
    const crashed = await tempDir();
    cpSync(join(dir, 'volumes'), join(crashed, 'volumes'), { recursive: true });
    const db = indexDb(crashed);
    expect((db.prepare('SELECT COUNT(*) AS n FROM needles').get() as { n: number }).n).toBeLessThan(keys.length);
    db.close();
    const logs: string[] = [];
    const again = await open(crashed, undefined, logs);
    for (const [i, k] of keys.entries()) expect((await readBack(again, k))!.equals(Buffer.alloc(700, i))).toBe(true);
    expect(again.pieces).toBe(keys.length);
    expect(logs.join('\n')).toMatch(/checked its tail/);
  });

  it('writes a volume\'s checkpoint as the index window commits, and counts a rewritten needle once', async () => {
    const dir = await tempDir();
    const s = await open(dir);
    const k = key(0, 3);
    await s.append(k, [Buffer.alloc(600, 1)]);
    await s.append(key(1, 3, k.blob), [Buffer.alloc(600, 2)]);
    // The same needle again (a repair writing a piece the store still holds): the later copy wins.
    await s.append(k, [Buffer.alloc(600, 3)]);
    await s.sync();
    expect(s.pieces).toBe(1);
    expect(s.usedBytes).toBe(1200);
    expect((await readBack(s, k))!.equals(Buffer.alloc(600, 3))).toBe(true);
    // No append after the sync: the checkpoint is written when the window commits all the same.
    (s as unknown as { index: { commit(): void } }).index.commit();
    const db = indexDb(dir);
    const row = db.prepare('SELECT synced FROM volumes WHERE id = 1').get() as { synced: number };
    db.close();
    expect(row.synced).toBe(statSync(volume(dir)).size);
    expect(row.synced).toBe(3 * paddedLength(600));
  });

  it('refuses work once an index commit is lost, until a restart rebuilds the index', async () => {
    const dir = await tempDir();
    const logs: string[] = [];
    const s = await open(dir, undefined, logs);
    const k = key();
    await s.append(k, [randomBytes(500)]);
    await s.sync();
    // Reach into the index as a failing disk would: the window's COMMIT throws.
    const index = (s as unknown as { index: { onLostCommit(err: Error): void } }).index;
    index.onLostCommit(new Error('disk I/O error'));
    await expect(s.append(key(), [randomBytes(10)])).rejects.toThrow(/restart the shard-store/);
    expect(() => s.location(k)).toThrow(/restart the shard-store/);
    expect(logs.join('\n')).toMatch(/could not be committed \(disk I\/O error\)/);
  });

  it('starts flushing a large upload while it streams in, without anyone waiting for it', async () => {
    const s = await open(await tempDir());
    const k = key();
    // Records of a large object's shard: no sync asked for until the last.
    for (let seg = 0; seg * 256 * 1024 < EARLY_SYNC_BYTES + 512 * 1024; seg++) await s.append({ ...k, seg }, [randomBytes(256 * 1024)]);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.syncs).toBeGreaterThanOrEqual(1);
    // Small appends far below the threshold start none.
    const before = s.syncs;
    for (let i = 0; i < 10; i++) await s.append(key(), [randomBytes(1000)]);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.syncs).toBe(before);
  });

  it('fails every later sync once an fdatasync failed, also one nobody awaited', async () => {
    const logs: string[] = [];
    const s = await open(await tempDir(), undefined, logs);
    await s.append(key(), [randomBytes(500)]);
    await s.sync();
    // A disk that fails the flush: the volume's handle answers EBADF from here on.
    const volumes = (s as unknown as { volumes: Map<number, { fh: { datasync(): Promise<void> } }> }).volumes;
    for (const v of volumes.values()) v.fh.datasync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    // A background sync (a large upload) meets the failure; the later, awaited one must not succeed.
    for (let seg = 0; seg * 256 * 1024 < EARLY_SYNC_BYTES + 512 * 1024; seg++) await s.append(key(seg), [randomBytes(256 * 1024)]);
    await new Promise((r) => setTimeout(r, 50));
    for (const v of volumes.values()) delete (v.fh as { datasync?: unknown }).datasync;
    await expect(s.sync()).rejects.toThrow(/EIO.*restart the shard-store/);
    await expect(s.sync()).rejects.toThrow(/restart the shard-store/);
    expect(logs.join('\n')).toMatch(/an fdatasync in .* failed \(EIO/);
  });

  it('refuses a piece past its capacity, and the refusal costs nothing', async () => {
    const dir = await tempDir();
    const s = await VolumeStore.open({ dir, capacityBytes: 2500 });
    onClose(() => s.close());
    await s.append(key(), [randomBytes(2000)]);
    await expect(s.append(key(), [randomBytes(1000)])).rejects.toMatchObject({ code: 'ERR_STORE_FULL' });
    const [ok, full] = await s.appendMany([{ key: key(), data: [randomBytes(400)] }, { key: key(), data: [randomBytes(400)] }]);
    expect(ok).toBeNull();
    expect(full).toMatchObject({ code: 'ERR_STORE_FULL' });
    expect(s.usedBytes).toBe(2400);
  });
});

/** The header of a needle as written (to forge a torn one that looks right). */
async function headerOf(dir: string, _k: NeedleKey): Promise<Buffer> {
  const fd = openSync(volume(dir), 'r');
  const b = Buffer.alloc(NEEDLE_HEADER_BYTES);
  readSync(fd, b, 0, NEEDLE_HEADER_BYTES, 0);
  closeSync(fd);
  // Announce 5000 bytes; the header checksum then fails too, as a half-written header would.
  b.writeUInt32LE(5000, 28);
  return b;
}
