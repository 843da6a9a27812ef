import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CACHED_READ_MAX, readCached } from '../../shard-store/disk.js';
import { requireNative } from './require-native.js';

const dir = mkdtempSync(join(tmpdir(), 'shardgate-cached-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file just written, so its pages are in the page cache, open for reading. */
function cachedFile(bytes: Buffer): number {
  const path = join(dir, randomBytes(4).toString('hex'));
  writeFileSync(path, bytes);
  const fd = openSync(path, 'r');
  readSync(fd, Buffer.alloc(bytes.length), 0, bytes.length, 0);
  return fd;
}

describe('reads served from the page cache (preadv2 RWF_NOWAIT)', () => {
  const content = randomBytes(3 * 1024 * 1024);
  const fd = cachedFile(content);
  afterAll(() => closeSync(fd));

  it('fills a buffer from cached pages, and stops at the end of the file', () => {
    const native = requireNative();
    const buf = Buffer.alloc(100_000);
    expect(native.preadCached(fd, buf, 12_345)).toBe(buf.length);
    expect(buf).toEqual(content.subarray(12_345, 12_345 + buf.length));
    expect(native.preadCached(fd, buf, content.length - 10)).toBe(10);
    expect(native.preadCached(fd, buf, content.length + 1)).toBe(0);
    expect(() => native.preadCached(-1, buf, 0)).toThrow(/expected: \(fd, buffer, position\)/);
  });

  it('readCached leaves reads over its limit, empty ones and closing files to the threadpool', () => {
    const small = Buffer.alloc(4096);
    expect(readCached(fd, small, 4096)).toBe(4096);
    expect(small).toEqual(content.subarray(4096, 8192));
    expect(readCached(fd, Buffer.alloc(CACHED_READ_MAX + 1), 0)).toBe(0);
    expect(readCached(fd, Buffer.alloc(0), 0)).toBe(0);
    // A FileHandle's fd reads -1 once it starts closing.
    expect(readCached(-1, small, 0)).toBe(0);
  });
});
