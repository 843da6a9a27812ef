import { describe, expect, it } from 'vitest';
import { BufferPool, segmentBuffers, sizeClass } from '../../codec/buffer-pool.js';
import { N } from '../../codec/erasure.js';
import type { EncodedSegment } from '../../codec/segment.js';
import type { PipelineContext } from '../../gateway/pipeline/context.js';
import { FanOut } from '../../gateway/pipeline/fan-out.js';
import { readAheadInUse, readBlob } from '../../gateway/pipeline/read-blob.js';
import { Segmenter } from '../../gateway/pipeline/segmenter.js';
import type { ShardWriter } from '../../gateway/pipeline/shard-io.js';
import { startFixture } from './admin-fixture.js';

describe('BufferPool', () => {
  it('hands a given-back buffer out again, by exact size', () => {
    const pool = new BufferPool(1 << 20, 1024);
    const a = pool.take(4096);
    pool.give(a);
    expect(pool.idleBytes).toBe(4096);
    expect(pool.take(8192).buffer).not.toBe(a.buffer);
    expect(pool.take(4096).buffer).toBe(a.buffer);
    expect(pool.idleBytes).toBe(0);
  });

  it('rounds sizes up to classes, so objects of any size share buffers', () => {
    const pool = new BufferPool(1 << 24, 1024);
    const a = pool.take(4 * 1024 * 1024 + 12345);
    expect(a.length).toBe(4 * 1024 * 1024 + 12345);
    expect(a.buffer.byteLength).toBe(sizeClass(a.length));
    expect(a.buffer.byteLength).toBeLessThanOrEqual(a.length * 1.125);
    pool.give(a);
    const b = pool.take(4 * 1024 * 1024 + 99999);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(4 * 1024 * 1024 + 99999);
    for (const n of [1024, 4096, 1 << 20, 6_710_976, (1 << 22) + 1]) {
      expect(sizeClass(n)).toBeGreaterThanOrEqual(n);
      expect(sizeClass(n)).toBeLessThanOrEqual(n * 1.125);
      expect(sizeClass(sizeClass(n))).toBe(sizeClass(n));
    }
  });

  it('refuses views, slab slices, small buffers and anything over its cap', () => {
    const pool = new BufferPool(10_000, 1024);
    const whole = pool.take(8192);
    pool.give(whole.subarray(16, 4096));
    pool.give(Buffer.from(Buffer.allocUnsafe(8192).buffer, 8, 2048)); // a slice of a larger buffer
    pool.give(Buffer.alloc(512));
    expect(pool.idleBytes).toBe(0);
    pool.give(pool.take(2048));
    expect(pool.idleBytes).toBe(2048);
    pool.give(pool.take(12_000)); // over the cap on its own
    expect(pool.idleBytes).toBe(2048);
  });

  it('when full, makes room for what comes back by letting the least recently used sizes go', () => {
    const pool = new BufferPool(24_576, 1024);
    const puts = [pool.take(8192), pool.take(8192)];
    const gets = [pool.take(4096), pool.take(4096), pool.take(4096)];
    for (const b of puts) pool.give(b);
    expect(pool.idleBytes).toBe(16_384);
    // A GET load after a PUT load: its buffers are kept, the PUT's idle ones make room.
    for (const b of gets) pool.give(b);
    expect(pool.idleBytes).toBe(8192 + 3 * 4096);
    expect(pool.take(4096).buffer).toBe(gets[2]!.buffer);
    expect(pool.take(8192).buffer).toBe(puts[0]!.buffer);
    expect(pool.idleBytes).toBe(2 * 4096);
  });
});

describe('Segmenter and the segment pool', () => {
  it('reuses the buffer of a copied segment, never a view of the caller’s chunk', () => {
    const size = 256 * 1024;
    const seg = new Segmenter(size);
    const half = Buffer.alloc(size / 2, 1);
    expect(seg.push(half)).toEqual([]);
    const [copied] = seg.push(Buffer.alloc(size, 2));
    expect(copied!.length).toBe(size);
    expect(copied![0]).toBe(1);
    expect(copied![size - 1]).toBe(2);
    const before = segmentBuffers.idleBytes;
    segmentBuffers.give(copied!);
    expect(segmentBuffers.idleBytes).toBe(before + size);
    segmentBuffers.give(copied!); // twice is once
    expect(segmentBuffers.idleBytes).toBe(before + size);
    expect(segmentBuffers.take(size).buffer).toBe(copied!.buffer);

    const view = new Segmenter(size).push(Buffer.alloc(2 * size))[0]!;
    segmentBuffers.give(view);
    expect(segmentBuffers.idleBytes).toBe(before);
  });
});

describe('FanOut gives a segment’s pieces back', () => {
  function fan(fail: Set<number>): { out: FanOut; acks: (() => void)[] } {
    const acks: (() => void)[] = [];
    let next = 0;
    const ctx = {
      writeQuorum: 11, lateAckMs: 10, health: { failed: () => undefined },
      io: {
        openWriter: (): ShardWriter => {
          const i = next++;
          return {
            write: async (_c: Buffer[], onAcked?: () => void) => {
              if (fail.has(i)) throw new Error(`store ${i} failed`);
              if (onAcked) acks.push(onAcked);
            },
            end: async () => undefined,
            abort: () => undefined,
          };
        },
      },
    } as unknown as PipelineContext;
    return { out: new FanOut(ctx, 'b', Array.from({ length: N }, (_, i) => `n${i}`), new Set()), acks };
  }
  function segment(): { seg: EncodedSegment; released: () => number } {
    let n = 0;
    const seg: EncodedSegment = {
      index: 0, plainLength: 1, pieceSize: 1, data: Buffer.alloc(10), parity: Buffer.alloc(6), checksums: new Uint32Array(N),
      release: () => void n++,
    };
    return { seg, released: () => n };
  }

  it('once every store acknowledged it, not before', async () => {
    const { out, acks } = fan(new Set());
    const { seg, released } = segment();
    await out.send(seg);
    expect(acks).toHaveLength(N);
    for (const a of acks.slice(1)) a();
    expect(released()).toBe(0);
    acks[0]!();
    expect(released()).toBe(1);
  });

  it('never after a failed write: a socket may still hold the bytes', async () => {
    const { out, acks } = fan(new Set([3]));
    const { seg, released } = segment();
    await out.send(seg);
    for (const a of acks) a();
    expect(released()).toBe(0);
  });
});

describe('read-ahead budget', () => {
  it('is all given back after whole reads and after reads abandoned part way', async () => {
    const fx = await startFixture({ nodes: 16, zones: 4 });
    const { body, blobId } = await fx.put('big', 40 * 16 * 1024); // 40 segments of 16 KiB
    const blob = (await fx.meta.getBlob(blobId))!;
    expect((await fx.read(blobId)).equals(body)).toBe(true);
    expect(readAheadInUse()).toBe(0);
    for await (const chunk of readBlob(fx.ctx, blob, 0, blob.size - 1)) {
      expect(readAheadInUse()).toBeGreaterThan(0);
      expect(chunk.length).toBe(16 * 1024);
      break;
    }
    expect(readAheadInUse()).toBe(0);
  });
});

describe('BufferPool when idle', () => {
  it('lets its buffers go once nothing was taken for a while', async () => {
    const pool = new BufferPool(1 << 20, 1024, 30);
    pool.give(pool.take(4096));
    expect(pool.idleBytes).toBe(4096);
    await new Promise((r) => setTimeout(r, 80));
    expect(pool.idleBytes).toBe(0);
  });
});

describe('pieces read back', () => {
  it('go back to the pool once their segment is decoded, and reuse never changes what is read', async () => {
    const fx = await startFixture({ nodes: 16, zones: 4 });
    fx.ctx.segmentSize = 1024 * 1024; // pieces of ~105 KiB: over the pool's 64 KiB floor
    const { body, blobId } = await fx.put('pooled', 5 * 1024 * 1024 + 777);
    const { body: other, blobId: otherId } = await fx.put('other', 3 * 1024 * 1024 + 5);
    const read = fx.stores.readRecord.bind(fx.stores);
    let handedOut = 0;
    // As the piece link does with a piece that spans socket reads: a pooled copy.
    fx.stores.readRecord = async (...args: Parameters<typeof read>) => {
      const r = await read(...args);
      const out = segmentBuffers.take(r.length);
      r.copy(out);
      handedOut++;
      return out;
    };
    const before = segmentBuffers.idleBytes;
    expect((await fx.read(blobId)).equals(body)).toBe(true);
    expect(handedOut).toBeGreaterThanOrEqual(6 * 10);
    expect(segmentBuffers.idleBytes).toBeGreaterThan(before);
    // Reads of both blobs, interleaved, on reused buffers: byte for byte.
    const both = await Promise.all([fx.read(blobId), fx.read(otherId), fx.read(blobId), fx.read(otherId)]);
    expect(both.map((b, i) => b.equals(i % 2 ? other : body))).toEqual([true, true, true, true]);
  });
});

describe('BufferPool aliases', () => {
  it('a registered view gives its whole buffer back, once; other views of it do not', () => {
    const pool = new BufferPool(1 << 24, 1024);
    const whole = pool.take(8192);
    const plain = whole.subarray(0, 5000);
    pool.alias(plain, whole);
    pool.give(whole.subarray(0, 5000)); // another view: not registered
    expect(pool.idleBytes).toBe(0);
    pool.give(plain);
    expect(pool.idleBytes).toBe(8192);
    pool.give(plain);
    pool.give(whole);
    expect(pool.idleBytes).toBe(8192);
    // A view of a buffer the pool did not hand out is never registered.
    const foreign = Buffer.alloc(8192);
    pool.alias(foreign.subarray(0, 10), foreign);
    pool.give(foreign.subarray(0, 10));
    expect(pool.idleBytes).toBe(8192);
  });
});
