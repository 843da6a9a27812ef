import { segmentBuffers } from '../../codec/buffer-pool.js';

/**
 * Cuts a stream of chunks into segments of exactly `size` bytes, the last one shorter. A
 * segment that lies inside one chunk is a view of it; only a segment that spans chunks is
 * copied, into a buffer of its length from the segment pool (codec/buffer-pool.ts), which
 * the caller gives back once the segment is encoded (views of chunks are not the pool's, and
 * the pool ignores them). A 4 KiB object never takes a 4 MiB
 * segment buffer: on small objects that allocation cost more (in garbage collection) than
 * everything else the gateway does.
 */
export class Segmenter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly size: number) {}

  /** The segments this chunk completes (often none). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    while (chunk.length - off >= this.size - this.pendingBytes) {
      const take = this.size - this.pendingBytes;
      if (this.pendingBytes === 0) {
        out.push(chunk.subarray(off, off + take));
      } else {
        out.push(segmentBuffers.concat([...this.pending, chunk.subarray(off, off + take)], this.size));
        this.pending = [];
        this.pendingBytes = 0;
      }
      off += take;
    }
    if (off < chunk.length) {
      this.pending.push(chunk.subarray(off));
      this.pendingBytes += chunk.length - off;
    }
    return out;
  }

  /** The last, short segment; null when the stream ended on a segment boundary. */
  end(): Buffer | null {
    if (this.pendingBytes === 0) return null;
    const last = this.pending.length === 1 ? this.pending[0]! : segmentBuffers.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return last;
  }
}
