import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadNative } from '../codec/native.js';

/** Reads up to this size may be served from the page cache on the event loop (readCached). */
export const CACHED_READ_MAX = 1024 * 1024;

/**
 * Fills `buf` from what the page cache already holds at `position` of the open file `fd`,
 * without waiting for the disk; returns the bytes filled (0 when none is cached, the file is
 * closing, the read is over CACHED_READ_MAX, or the kernel or the native addon cannot tell).
 * A cached piece is then served on the event loop, a copy of microseconds, where a threadpool
 * read costs two thread hand-offs and, on a busy machine, the woken worker preempts the
 * loop. The rest still goes to the threadpool, so a cold read never stalls the store.
 */
export function readCached(fd: number, buf: Buffer, position: number): number {
  if (fd < 0 || buf.length === 0 || buf.length > CACHED_READ_MAX) return 0;
  const native = loadNative();
  return native ? Math.max(0, native.preadCached(fd, buf, position)) : 0;
}

/** Make a directory's entries (a file created or renamed in it) durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsConstants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A write that failed because the disk (or the user's quota on it) is full. */
export function isNoSpace(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
