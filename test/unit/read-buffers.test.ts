import { describe, expect, it } from 'vitest';
import { giveReadBuffer, pooledReadBytes, takeReadBuffer } from '../../shard-store/read-buffers.js';

describe('piece read buffers', () => {
  it('reuses a given-back buffer for the next read of its size class, once', () => {
    const a = takeReadBuffer(100_000);
    expect(a.length).toBe(100_000);
    const before = pooledReadBytes();
    giveReadBuffer(a.subarray(72));
    giveReadBuffer(a); // a second give of the same buffer is ignored
    expect(pooledReadBytes()).toBe(before + 128 * 1024);
    const b = takeReadBuffer(110_000);
    const c = takeReadBuffer(110_000);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(a.buffer);
    expect(pooledReadBytes()).toBe(before);
  });

  it('never takes back a buffer it did not make', () => {
    const before = pooledReadBytes();
    giveReadBuffer(Buffer.allocUnsafe(128 * 1024));
    giveReadBuffer(Buffer.from(new ArrayBuffer(64 * 1024)));
    expect(pooledReadBytes()).toBe(before);
  });

  it('leaves small and very large reads to plain allocation', () => {
    const small = takeReadBuffer(500);
    const huge = takeReadBuffer(9 * 1024 * 1024);
    const before = pooledReadBytes();
    giveReadBuffer(small);
    giveReadBuffer(huge);
    expect(pooledReadBytes()).toBe(before);
  });
});
