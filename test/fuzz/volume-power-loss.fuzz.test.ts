/**
 * Power loss under the volume store (shard-store/volume/): random appends (small ones written
 * on the event loop, large ones in the threadpool, alone or several in one write), deletes,
 * syncs and compactions run concurrently, and at a random moment the power goes. What a
 * volume file keeps is modelled from the writes and fdatasyncs the store made: a write is on
 * disk if an fdatasync of its file began after it finished and ended before the power went;
 * any other write may be kept, lost, zeroed or torn, and the file may end anywhere after its
 * last durable byte. A volume that compaction removed may come back unless a sync of the
 * directory followed. The index keeps any prefix of its WAL: all its commits, only those
 * SQLite had checkpointed into its database file (synchronous = NORMAL), or any in between.
 * A store opened on what is left must serve every piece whose write was acknowledged (as the
 * piece protocol does it: after a sync() that began once the append had finished), and must
 * never serve any piece's bytes wrong.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NeedleKey } from '../../shard-store/volume/needle.js';
import { Compactor } from '../../shard-store/volume/compactor.js';
import { VolumeStore } from '../../shard-store/volume/volume-store.js';
import { check } from './fuzz.js';

/** Every write and fdatasync of a file, in the order the store saw them finish (or start). */
const disk = vi.hoisted(() => {
  const state = {
    seq: 0,
    writes: [] as Array<{ path: string; off: number; len: number; done: number }>,
    syncs: [] as Array<{ path: string; start: number; end?: number }>,
    removed: [] as Array<{ path: string; bytes: Buffer; done: number }>,
    pathOf: (fd: number): string => String(fd),
    reset(): void {
      state.seq = 0;
      state.writes = [];
      state.syncs = [];
      state.removed = [];
    },
    wrote(fd: number, off: number, len: number): void {
      state.writes.push({ path: state.pathOf(fd), off, len, done: ++state.seq });
    },
  };
  return state;
});

// Compaction removes volumes with rm: keep what they held, for a power loss to bring back.
vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof import('node:fs/promises')>();
  const fs = await import('node:fs');
  return {
    ...fsp,
    rm: async (path: string, opts?: import('node:fs').RmOptions): Promise<void> => {
      const bytes = path.endsWith('.dat') && fs.existsSync(path) ? fs.readFileSync(path) : undefined;
      await fsp.rm(path, opts);
      if (bytes) disk.removed.push({ path, bytes, done: ++disk.seq });
    },
  };
});

// The store writes small appends with writevSync on the file's descriptor.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    writevSync: (fd: number, bufs: readonly NodeJS.ArrayBufferView[], position?: number | null): number => {
      const n = fs.writevSync(fd, bufs, position ?? undefined);
      disk.wrote(fd, Number(position), n);
      return n;
    },
  };
});

const VOLUME_BYTES = 3 * 1024 * 1024;
let root: string;
let restore: () => void;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shardgate-powerloss-'));
  disk.pathOf = (fd) => readlinkSync(`/proc/self/fd/${fd}`);
  // Large appends and every fdatasync go through a FileHandle: watch them on its prototype.
  const probe = await open(join(root, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as {
    writev: (this: { fd: number }, bufs: Buffer[], position: number) => Promise<{ bytesWritten: number }>;
    datasync: (this: { fd: number }) => Promise<void>;
    sync: (this: { fd: number }) => Promise<void>;
  };
  await probe.close();
  const { writev, datasync, sync } = proto;
  proto.writev = async function (bufs, position) {
    const r = await writev.call(this, bufs, position);
    disk.wrote(this.fd, position, r.bytesWritten);
    return r;
  };
  // fdatasync of a volume, fsync of the directory (it makes a removal durable).
  const logged = (flush: (this: { fd: number }) => Promise<void>) => async function (this: { fd: number }): Promise<void> {
    const s: { path: string; start: number; end?: number } = { path: disk.pathOf(this.fd), start: ++disk.seq };
    disk.syncs.push(s);
    await flush.call(this);
    s.end = ++disk.seq;
  };
  proto.datasync = logged(datasync);
  proto.sync = logged(sync);
  restore = () => Object.assign(proto, { writev, datasync, sync });
});

afterAll(async () => {
  restore?.();
  await rm(root, { recursive: true, force: true });
});

type Step =
  | { kind: 'append'; sizes: number[] }
  | { kind: 'delete'; which: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'compact' };

/** Piece sizes on both sides of INLINE_WRITE_BYTES (512 KiB) and of a 4 KiB page. */
const size = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 9000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 100_000, max: 450_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 520 * 1024, max: 1_300_000 }) },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.array(size, { minLength: 1, maxLength: 4 }).map((sizes): Step => ({ kind: 'append', sizes })) },
  { weight: 2, arbitrary: fc.nat().map((which): Step => ({ kind: 'delete', which })) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'compact' }) },
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 4 }).map((ms): Step => ({ kind: 'wait', ms })) },
);
/**
 * How much of the index's WAL the disk kept: commits are synced only before a checkpoint
 * (synchronous = NORMAL), so all of it, none, or any prefix.
 */
const walKept = fc.oneof(fc.constant(1), fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true }));
type Fate = 'keep' | 'lose' | 'zero' | 'garbage';
const fate = fc.constantFrom<Fate>('keep', 'lose', 'zero', 'garbage');

interface Piece {
  key: NeedleKey;
  data: Buffer;
  acked: boolean;
  deleted: boolean;
}

/** A turn of the event loop (0), or a few milliseconds: threadpool writes and syncs land meanwhile. */
const wait = (ms: number): Promise<void> => new Promise((r) => (ms ? setTimeout(r, ms) : setImmediate(r)));

describe('volume store under power loss', () => {
  it('serves every acknowledged piece, and no piece wrong, from whatever the disk kept', async () => {
    let run = 0;
    await check(fc.asyncProperty(
      fc.array(step, { minLength: 20, maxLength: 60 }), fc.nat(), fc.array(fate, { minLength: 64, maxLength: 64 }), fc.boolean(), walKept,
      async (steps, crashAt, fates, truncate, wal) => {
        const dir = join(root, `run-${run++}`);
        disk.reset();
        const store = await VolumeStore.open({ dir, capacityBytes: 1e12, volumeBytes: VOLUME_BYTES });
        const pieces: Piece[] = [];
        const running: Promise<unknown>[] = [];
        let powerOff = false;
        // In the second half mostly: by then writes have been acknowledged, others are under way.
        const crashStep = Math.floor(steps.length / 2) + (crashAt % (Math.ceil(steps.length / 2) + 1));
        let image: string | undefined;
        try {
          for (const [i, s] of steps.entries()) {
            if (i === crashStep) {
              image = crashImage(dir, fates, truncate, wal);
              powerOff = true;
            }
            if (s.kind === 'append') {
              const items = s.sizes.map((n) => ({ key: { blob: randomBytes(16), piece: n % 16, seg: 0 }, data: randomBytes(n) }));
              const mine = items.map((it): Piece => ({ ...it, acked: false, deleted: false }));
              pieces.push(...mine);
              // Acknowledged as the piece protocol does: appended, then a sync that began after.
              running.push(store.appendMany(items.map((it) => ({ key: it.key, data: [it.data] }))).then(async (errs) => {
                expect(errs.every((e) => e === null)).toBe(true);
                await store.sync();
                if (!powerOff) for (const p of mine) p.acked = true;
              }));
            } else if (s.kind === 'delete' && pieces.length) {
              const p = pieces[s.which % pieces.length]!;
              p.deleted = true;
              running.push(store.deleteShard(p.key.blob, p.key.piece));
            } else if (s.kind === 'wait') {
              await wait(s.ms);
            } else if (s.kind === 'compact') {
              // Any sealed volume with garbage: its live needles move to the active one, then it goes.
              running.push(new Compactor(store, { maxLiveRatio: 1, minGarbageBytes: 1, rateBytesPerSec: 1e12 }).pass());
            }
          }
          if (!image) {
            // Power lost after the last step, once what was issued has finished.
            await Promise.all(running);
            image = crashImage(dir, fates, truncate, wal);
            powerOff = true;
          }
          // Every operation succeeds, before and after the moment of the power loss.
          for (const r of await Promise.allSettled(running)) if (r.status === 'rejected') throw r.reason;
        } finally {
          await store.close();
        }
        const after = await VolumeStore.open({ dir: image, capacityBytes: 1e12, volumeBytes: VOLUME_BYTES });
        try {
          for (const p of pieces) {
            const at = after.location(p.key);
            if (!at) {
              expect(p.acked && !p.deleted, 'an acknowledged piece is gone').toBe(false);
              continue;
            }
            // A piece the store says it has must read back exactly, acknowledged or not.
            const got = await after.read(at, p.key);
            expect(got.equals(p.data), 'a piece read back different bytes').toBe(true);
          }
        } finally {
          await after.close();
          await rm(dir, { recursive: true, force: true });
          await rm(image, { recursive: true, force: true });
        }
      },
    ), 0.5, { endOnFailure: true });
  });
});

/**
 * A copy of the store's folder as the disk could hold it if the power went now: see the top of
 * the file. `fates` decides what happens to each write that no finished fdatasync covers.
 */
function crashImage(dir: string, fates: Fate[], truncate: boolean, wal: number): string {
  const image = `${dir}-image`;
  const vdir = join(dir, 'volumes');
  mkdirSync(join(image, 'volumes'), { recursive: true });
  const durable = (w: { path: string; done: number }): boolean => disk.syncs.some((s) => s.path === w.path && s.start > w.done && s.end !== undefined);
  let n = 0;
  for (const name of readdirSync(vdir)) {
    const from = join(vdir, name);
    const to = join(image, 'volumes', name);
    if (!name.endsWith('.dat')) {
      if (name === 'index.db') copyFileSync(from, to);
      // SQLite reads a WAL up to its first frame that is torn or fails its checksum.
      if (name === 'index.db-wal') {
        const log = readFileSync(from);
        writeFileSync(to, log.subarray(0, Math.floor(log.length * wal)));
      }
      continue;
    }
    // A compaction may be removing this volume in the threadpool right now: then it is gone.
    const read = readIfThere(from);
    if (!read) continue;
    let bytes = read;
    let end = bytes.length;
    // Writes finish out of order (the threadpool's): the length never falls below a durable one's end.
    let durableEnd = 0;
    for (const w of disk.writes) if (w.path === from && durable(w)) durableEnd = Math.max(durableEnd, w.off + w.len);
    for (const w of disk.writes) {
      if (w.path !== from || durable(w)) continue;
      const f = fates[n++ % fates.length]!;
      const stop = Math.min(w.off + w.len, bytes.length);
      if (w.off >= stop) continue;
      if (f === 'zero' || f === 'lose') bytes.fill(0, w.off, stop);
      else if (f === 'garbage') randomBytes(stop - w.off).copy(bytes, w.off);
      // A write past the last durable one may also take the file's length with it.
      if (f === 'lose') end = Math.min(end, w.off);
    }
    if (truncate) bytes = bytes.subarray(0, Math.max(end, durableEnd));
    writeFileSync(to, bytes);
  }
  // A volume removed without a directory sync since may be back.
  for (const r of disk.removed) {
    if (!r.path.startsWith(vdir + '/')) continue;
    const gone = disk.syncs.some((s) => s.path === vdir && s.start > r.done && s.end !== undefined);
    if (!gone && fates[n++ % fates.length] !== 'lose') writeFileSync(join(image, 'volumes', r.path.slice(vdir.length + 1)), r.bytes);
  }
  if (!existsSync(join(image, 'volumes', 'index.db'))) throw new Error('no index to copy');
  return image;
}

function readIfThere(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
