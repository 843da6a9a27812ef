/**
 * Buffers for the pieces a store reads to answer the piece protocol, reused once the answer
 * is written. A fresh buffer per piece read was malloc'd memory that V8 counts as external:
 * under 1 MiB GETs those buffers drove a full garbage collection several times a second,
 * about a tenth of the stores' CPU, and each one was new memory the kernel had to fault in.
 *
 * A buffer is only given back by whoever last holds it (batch.ts, once the socket has taken
 * the answer); one that is never given back is simply collected. Small reads are left to
 * Node's own slab allocator, which is cheaper than this for them. Process-wide and bounded,
 * so the 16 stores of `shardgate dev` share one pool.
 */

/** Reads shorter than this come from Buffer.allocUnsafe as before. */
const MIN_POOLED = 16 * 1024;
/** Larger reads are not pooled: they are rare, and one would hold a lot of memory. */
const MAX_POOLED = 8 * 1024 * 1024;
/** Free bytes kept at most, over every size class. */
const MAX_FREE_BYTES = 32 * 1024 * 1024;

const free = new Map<number, ArrayBuffer[]>();
let freeBytes = 0;
/** Every ArrayBuffer this pool made: only those are taken back. */
const ours = new WeakSet<ArrayBuffer>();
/** Those now free: a second give of the same buffer is ignored, never handed out twice. */
const isFree = new WeakSet<ArrayBuffer>();

/** The size class of a read: the next power of two. */
function classOf(length: number): number {
  return 2 ** Math.ceil(Math.log2(length));
}

/** A buffer of exactly `length` bytes, its contents undefined (as Buffer.allocUnsafe). */
export function takeReadBuffer(length: number): Buffer {
  if (length < MIN_POOLED || length > MAX_POOLED) return Buffer.allocUnsafe(length);
  const size = classOf(length);
  const ab = free.get(size)?.pop();
  if (ab) {
    isFree.delete(ab);
    freeBytes -= size;
    return Buffer.from(ab, 0, length);
  }
  // Its own ArrayBuffer of the class's size, not a slice of Node's slab: givable back whole.
  const fresh = new ArrayBuffer(size);
  ours.add(fresh);
  return Buffer.from(fresh, 0, length);
}

/**
 * Give back a buffer from takeReadBuffer, or any view of it, once nothing reads it any more.
 * Buffers that did not come from the pool are ignored.
 */
export function giveReadBuffer(b: Buffer): void {
  const ab = b.buffer;
  if (!(ab instanceof ArrayBuffer)) return;
  const size = ab.byteLength;
  if (!ours.has(ab) || isFree.has(ab) || freeBytes + size > MAX_FREE_BYTES) return;
  isFree.add(ab);
  let list = free.get(size);
  if (!list) free.set(size, (list = []));
  list.push(ab);
  freeBytes += size;
}

/** Free bytes the pool holds (tests). */
export function pooledReadBytes(): number {
  return freeBytes;
}
