import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { deterministicBytes, deterministicInts } from '../../codec/erasure.case.js';
import { Md5Lanes, md5LanesWanted } from '../../codec/md5-lanes.js';
import { LANES_FUSED_MAX, NativeSegmentEncoder, SYNC_SEGMENT_MAX } from '../../codec/native-segment.js';
import type { NativeMd5x } from '../../codec/native.js';
import { requireNative } from './require-native.js';

const binding = requireNative();
const lanesHere = binding.info().md5Lanes;
const key = deterministicBytes('md5 lanes key', 32);

function updateMany(states: NativeMd5x[], buffers: Buffer[], lanes: boolean): Promise<void> {
  return new Promise((resolve, reject) => binding.md5xUpdateMany(states, buffers, lanes, (err) => (err ? reject(err) : resolve())));
}

const md5 = (b: Buffer): Buffer => createHash('md5').update(b).digest();

describe('MD5 of many objects at once (native/src/md5_lanes.c)', () => {
  it(`says whether this CPU runs the lanes (${lanesHere ? 'it does' : 'it does not'})`, () => {
    expect(typeof binding.info().md5Lanes).toBe('boolean');
    // AVX-512F and VL, which `cpu` does not list; lanes never run without F.
    if (lanesHere) expect(binding.info().cpu).toContain('avx512f');
  });

  for (const lanes of [true, false]) {
    it(`gives OpenSSL's digests for streams of any length, fed in any pieces (${lanes ? 'lanes' : 'one by one'})`, async () => {
      // Lengths around the block (64) and padding (56) edges, and long ones so that lanes
      // finish at different times and others take their place (40 streams, 16 lanes).
      const next = deterministicInts(`cuts ${lanes}`);
      const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 65_536, 100_003, ...Array.from({ length: 24 }, () => next(185_000))];
      const messages = lengths.map((n, i) => deterministicBytes(`md5 message ${i} ${lanes}`, n));
      const states = messages.map(() => binding.md5xCreate());
      const at = messages.map(() => 0);
      for (let round = 0; at.some((p, i) => p < messages[i]!.length); round++) {
        const s: NativeMd5x[] = [];
        const b: Buffer[] = [];
        for (const [i, m] of messages.entries()) {
          if (at[i]! >= m.length || (round + i) % 3 === 0) continue;
          // Pieces of odd sizes, some whole blocks, some a few bytes; a few in calls of their own.
          const n = next(4) === 0 ? 64 * next(40) : next(3000);
          const piece = m.subarray(at[i], at[i]! + Math.max(1, n));
          at[i]! += piece.length;
          if (i % 7 === 0) await updateMany([states[i]!], [piece], lanes);
          else {
            s.push(states[i]!);
            b.push(piece);
          }
        }
        if (s.length) await updateMany(s, b, lanes);
      }
      for (const [i, m] of messages.entries()) expect(binding.md5xDigest(states[i]!), `message ${i} of ${m.length} bytes`).toEqual(md5(m));
    });
  }

  it('refuses overlapping updates of one state, a finished state, and states of the other MD5', async () => {
    const s = binding.md5xCreate();
    const pending = updateMany([s], [Buffer.alloc(1 << 20)], true);
    expect(() => binding.md5xUpdateMany([s], [Buffer.alloc(1)], true, () => undefined)).toThrow(/overlap/);
    expect(() => binding.md5xDigest(s)).toThrow(/in flight/);
    await pending;
    expect(binding.md5xDigest(s)).toEqual(md5(Buffer.alloc(1 << 20)));
    expect(() => binding.md5xUpdateMany([s], [Buffer.alloc(1)], true, () => undefined)).toThrow(/finished/);
    const other = binding.md5Create();
    expect(() => binding.md5xUpdateMany([other as unknown as NativeMd5x], [Buffer.alloc(1)], true, () => undefined)).toThrow(/bad arguments/);
    expect(() => binding.md5xDigest(other as unknown as NativeMd5x)).toThrow(/bad arguments/);
    expect(() => binding.md5xUpdateMany([binding.md5xCreate()], [], true, () => undefined)).toThrow(/bad arguments/);
  });

  it('reads SHARDGATE_MD5_LANES as on or off, and refuses anything else', () => {
    expect(md5LanesWanted({})).toBe(true);
    expect(md5LanesWanted({ SHARDGATE_MD5_LANES: 'off' })).toBe(false);
    expect(() => md5LanesWanted({ SHARDGATE_MD5_LANES: '0' })).toThrow(/"on" or "off"/);
  });
});

describe('Md5Lanes: the objects being written, advanced together', () => {
  it('sends an update at once when idle, and gathers those that arrive meanwhile into the next call', async () => {
    const lanes = new Md5Lanes(binding);
    const spy = vi.spyOn(binding, 'md5xUpdateMany');
    try {
      const messages = Array.from({ length: 20 }, (_, i) => deterministicBytes(`gathered ${i}`, 200_000 + i));
      const states = messages.map(() => lanes.create());
      await Promise.all(messages.map((m, i) => lanes.update(states[i]!, m)));
      // The first goes alone; the other 19 wait for it and go 16, then 3.
      expect(spy.mock.calls.map((c) => c[0].length)).toEqual([1, 16, 3]);
      for (const [i, m] of messages.entries()) expect(lanes.digest(states[i]!)).toEqual(md5(m));
    } finally {
      spy.mockRestore();
    }
  });

  it('takes a large update a slice at a time, so that a small one is not held up behind all of it', async () => {
    const lanes = new Md5Lanes(binding);
    const spy = vi.spyOn(binding, 'md5xUpdateMany');
    try {
      const big = deterministicBytes('big', 9 * 1024 * 1024 + 100);
      const small = deterministicBytes('small', 10_000);
      const [sBig, sSmall] = [lanes.create(), lanes.create()];
      const order: string[] = [];
      await Promise.all([lanes.update(sBig, big).then(() => order.push('big')), lanes.update(sSmall, small).then(() => order.push('small'))]);
      expect(order).toEqual(['small', 'big']);
      expect(spy.mock.calls.map((c) => c[1].map((b) => b.length))).toEqual([[4 << 20], [10_000, 4 << 20], [(1 << 20) + 100]]);
      expect(lanes.digest(sBig)).toEqual(md5(big));
      expect(lanes.digest(sSmall)).toEqual(md5(small));
    } finally {
      spy.mockRestore();
    }
  });

  it('gives each encoder its object\'s MD5 when many encode at once, segments small and large', async () => {
    const lanes = new Md5Lanes(binding);
    const sizes = [0, 1, SYNC_SEGMENT_MAX, SYNC_SEGMENT_MAX + 1, 1 << 20, (4 << 20) - 3, 5000];
    const objects = Array.from({ length: 12 }, (_, o) => sizes.map((n, s) => deterministicBytes(`object ${o} segment ${s}`, (n + o * 101) % (4 << 20))));
    const encoders = objects.map(() => new NativeSegmentEncoder(binding, key, { md5Lanes: lanes }));
    // Every object's segments are submitted without waiting, as a pipelined PUT would.
    await Promise.all(objects.map((segs, o) => Promise.all(segs.map((p, s) => encoders[o]!.encode(p, s)))));
    for (const [o, segs] of objects.entries()) expect(encoders[o]!.md5(), `object ${o}`).toEqual(md5(Buffer.concat(segs)));
    expect(lanes.calls).toBeLessThan(lanes.updates);
  });

  it('advances MD5 in the segment\'s own call up to LANES_FUSED_MAX, and in the lanes above it', async () => {
    const lanes = new Md5Lanes(binding);
    const encodeSpy = vi.spyOn(binding, 'segmentEncode');
    const lanesSpy = vi.spyOn(binding, 'md5xUpdateMany');
    try {
      const enc = new NativeSegmentEncoder(binding, key, { md5Lanes: lanes });
      const sizes = [SYNC_SEGMENT_MAX, LANES_FUSED_MAX, LANES_FUSED_MAX + 1, 10];
      const plains = sizes.map((n) => deterministicBytes(`fused ${n}`, n));
      for (const [i, p] of plains.entries()) await enc.encode(p, i);
      // Argument 12: the MD5 the call advances (null: none).
      expect(encodeSpy.mock.calls.map((c) => c[12] !== null)).toEqual([true, true, false, true]);
      expect(lanesSpy.mock.calls.map((c) => c[1].map((b) => b.length))).toEqual([[LANES_FUSED_MAX + 1]]);
      expect(enc.md5()).toEqual(md5(Buffer.concat(plains)));
    } finally {
      encodeSpy.mockRestore();
      lanesSpy.mockRestore();
    }
  });

  it('lets a lazy update wait for company: until 16 are queued, its MD5 is wanted, or lazyMs', async () => {
    const lanes = new Md5Lanes(binding, { lazyMs: 60_000 });
    const spy = vi.spyOn(binding, 'md5xUpdateMany');
    try {
      const data = deterministicBytes('lazy', 100_000);
      // Sixteen lazy updates: one call, once the sixteenth arrives.
      const many = Array.from({ length: 16 }, () => lanes.create());
      await Promise.all(many.map((st) => lanes.update(st, data, { lazy: true })));
      expect(spy.mock.calls.map((c) => c[0].length)).toEqual([16]);
      // One alone waits, until it is wanted.
      const one = lanes.create();
      let done = false;
      const p = lanes.update(one, data, { lazy: true }).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 20));
      expect(done).toBe(false);
      lanes.want(one);
      await p;
      expect(spy.mock.calls).toHaveLength(2);
      for (const st of [...many, one]) expect(lanes.digest(st)).toEqual(md5(data));
      // One alone, never wanted, goes once lazyMs is over.
      const soon = new Md5Lanes(binding, { lazyMs: 20 });
      const late = soon.create();
      const started = performance.now();
      await soon.update(late, data, { lazy: true });
      expect(performance.now() - started).toBeGreaterThanOrEqual(19);
      expect(soon.digest(late)).toEqual(md5(data));
    } finally {
      spy.mockRestore();
    }
  });

  it('with deferMd5, resolves encode once the segment is coded and keeps the plaintext until its MD5 is taken', async () => {
    const lanes = new Md5Lanes(binding, { lazyMs: 60_000 });
    const enc = new NativeSegmentEncoder(binding, key, { md5Lanes: lanes, deferMd5: true });
    const plain = deterministicBytes('deferred', LANES_FUSED_MAX + 1000);
    const want = md5(plain);
    const seg = await enc.encode(plain, 0);
    expect(seg.plainRead).toBeInstanceOf(Promise);
    let read = false;
    void seg.plainRead!.then(() => (read = true));
    await new Promise((r) => setTimeout(r, 5));
    // Still waiting for company: the plaintext is not free yet.
    expect(read).toBe(false);
    await enc.md5Ready();
    expect(read).toBe(true);
    expect(enc.md5()).toEqual(want);
  });

  it('with deferMd5, hurries an update that waits for company when the stream\'s next segment comes', async () => {
    const lanes = new Md5Lanes(binding, { lazyMs: 60_000 });
    const update = vi.spyOn(lanes, 'update');
    const want = vi.spyOn(lanes, 'want');
    const enc = new NativeSegmentEncoder(binding, key, { md5Lanes: lanes, deferMd5: true });
    const segs = Array.from({ length: 5 }, (_, i) => deterministicBytes(`stream ${i}`, 1 << 20));
    for (const [i, p] of segs.entries()) await enc.encode(p, i);
    await enc.md5Ready();
    // The first may wait; the second, coming while it waits, sends it and goes at once.
    expect(update.mock.calls.map((c) => c[2]?.lazy).slice(0, 2)).toEqual([true, false]);
    expect(want).toHaveBeenCalled();
    expect(enc.md5()).toEqual(md5(Buffer.concat(segs)));
  });
});
