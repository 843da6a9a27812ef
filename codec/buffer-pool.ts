/**
 * Large buffers handed back and reused instead of left to the garbage collector.
 *
 * Why: V8 counts every new Buffer's memory as external allocation and starts a full
 * mark-compact each time that count grows by a few tens of MiB. A 64 MiB PUT allocates
 * ~240 MiB (segments copied out of the request's chunks, then 1.6x that in pieces): the
 * gateway ran ~17 full collections per such PUT, a third of its main thread. Buffers that
 * come back here are not new allocations, so they cost no collections.
 *
 * Only whoever knows a buffer is no longer referenced may give it back (a piece is given
 * back once every store it went to acknowledged it, never after a failure, when a socket
 * may still hold it). A buffer never given back is simply collected, as before.
 */
export class BufferPool {
  /** Idle buffers by size class; the Map's order is least recently used class first. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Buffers `take` handed out and not yet given back: only these may come back. */
  private readonly issued = new WeakSet<Buffer>();
  /** Views whose giving back gives back the whole buffer they are a view of (`alias`). */
  private readonly aliases = new WeakMap<Buffer, Buffer>();
  private pooledBytes = 0;
  private lastTake = 0;
  private trimTimer: NodeJS.Timeout | undefined;

  /**
   * @param maxBytes idle bytes kept at most (memory that stays allocated between requests)
   * @param minSize smaller buffers are not pooled: Node's own slab serves them cheaply
   * @param idleMs everything idle is let go once nothing was taken for this long, so a
   *   quiet process gives the memory back
   */
  constructor(private readonly maxBytes: number, private readonly minSize: number, private readonly idleMs = 10_000) {}

  /** A buffer of exactly `size` bytes with unspecified contents. */
  take(size: number): Buffer {
    if (size < this.minSize) return Buffer.allocUnsafe(size);
    this.lastTake = Date.now();
    const cls = sizeClass(size);
    const ab = this.free.get(cls)?.pop();
    if (ab) this.pooledBytes -= cls;
    // Sizes are rounded up to a class so that objects of every size share buffers.
    const buf = Buffer.from(ab ?? Buffer.allocUnsafeSlow(cls).buffer, 0, size);
    this.issued.add(buf);
    return buf;
  }

  /**
   * Hand back a buffer from `take` that nothing references any more. Anything else (a
   * view of it, a buffer from elsewhere, one given back already) is ignored: a view of a
   * socket's read buffer, say, may share its memory with bytes still to be parsed.
   */
  give(buf: Buffer): void {
    const whole = this.aliases.get(buf);
    if (whole) this.aliases.delete(buf);
    if (!this.issued.delete(whole ?? buf)) return;
    buf = whole ?? buf;
    const ab = buf.buffer as ArrayBuffer;
    const cls = ab.byteLength;
    if (cls > this.maxBytes) return;
    // Full: the buffers of the classes used least recently make room. What comes back now is
    // what the current work uses (a GET's pieces after a PUT's segments), so it is kept.
    for (const [other, idle] of this.free) {
      if (this.pooledBytes + cls <= this.maxBytes) break;
      if (other === cls) continue;
      while (idle.length && this.pooledBytes + cls > this.maxBytes) {
        idle.pop();
        this.pooledBytes -= other;
      }
      if (!idle.length) this.free.delete(other);
    }
    if (this.pooledBytes + cls > this.maxBytes) return;
    let list = this.free.get(cls);
    if (list) this.free.delete(cls);
    this.free.set(cls, (list ??= []));
    list.push(ab);
    this.pooledBytes += cls;
    this.trimTimer ??= setTimeout(() => this.trim(), this.idleMs).unref();
  }

  /** `parts` end to end in one buffer from `take` (`length`: their total, when known). */
  concat(parts: readonly Buffer[], length = parts.reduce((n, p) => n + p.length, 0)): Buffer {
    const out = this.take(length);
    let at = 0;
    for (const p of parts) at += p.copy(out, at);
    return out;
  }

  /**
   * Let `view` (part of `whole`, from `take`) stand for it: whoever ends up holding the view
   * alone, and is done with it, gives the whole buffer back through it.
   */
  alias(view: Buffer, whole: Buffer): void {
    if (view !== whole && this.issued.has(whole)) this.aliases.set(view, whole);
  }

  private trim(): void {
    this.trimTimer = undefined;
    const idleFor = Date.now() - this.lastTake;
    if (idleFor < this.idleMs) {
      this.trimTimer = setTimeout(() => this.trim(), this.idleMs - idleFor).unref();
      return;
    }
    this.free.clear();
    this.pooledBytes = 0;
  }

  /** Idle bytes held (metrics, tests). */
  get idleBytes(): number {
    return this.pooledBytes;
  }
}

/** `size` rounded up to at most 1/8 more (two significant bits after the leading one, plus one). */
export function sizeClass(size: number): number {
  const step = 2 ** Math.max(0, Math.floor(Math.log2(size)) - 3);
  return Math.ceil(size / step) * step;
}

/**
 * The process's pool for segment-sized buffers (plaintext segments, a segment's 16 pieces,
 * pieces read back from the stores, decoded segments a GET streams), from 64 KiB: a 1 MiB
 * object's pieces are 105 KiB. 64 MiB idle at most: a single stream keeps a few segments'
 * buffers in circulation (up to six ahead on a GET). With 32 MiB, a GET after PUTs found the
 * pool full of the PUTs' sizes and dropped what it gave back: 626 MiB of new buffers and 29
 * full collections over ten 64 MiB GETs, against 73 MiB and 1 now (with the least recently
 * used sizes making room). A 768 MiB PUT+GET grew the gateway less, not more (+155 MiB).
 */
export const segmentBuffers = new BufferPool(64 * 1024 * 1024, 64 * 1024);
