import { setTimeout as sleep } from 'node:timers/promises';
import type { VolumeStore } from './volume-store.js';

export interface CompactorOptions {
  /** Time between looks for volumes worth compacting. */
  intervalMs?: number;
  /** A sealed volume is compacted when less than this share of it is live ... */
  maxLiveRatio?: number;
  /** ... and at least this many bytes would be freed. */
  minGarbageBytes?: number;
  /** Bytes copied per second at most, so compaction never starves the pieces being served. */
  rateBytesPerSec?: number;
  log?: (line: string) => void;
}

const PAGE = 64;

/**
 * Reclaims the space of deleted and overwritten pieces: a sealed volume that is mostly
 * garbage has its live needles copied to the active volume (made durable, then the index
 * pointed at them), and is then removed (volume-store.ts dropVolume: crash-safe at every
 * step, since the old copy stays valid until the index no longer needs it).
 */
export class Compactor {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly o: Required<Omit<CompactorOptions, 'log'>> & { log: (line: string) => void };
  /** Bytes of volume files removed since start. */
  reclaimed = 0;

  constructor(private readonly store: VolumeStore, opts: CompactorOptions = {}) {
    this.o = {
      intervalMs: opts.intervalMs ?? 60_000, maxLiveRatio: opts.maxLiveRatio ?? 0.5, minGarbageBytes: opts.minGarbageBytes ?? 64 * 1024 * 1024,
      rateBytesPerSec: opts.rateBytesPerSec ?? 32 * 1024 * 1024, log: opts.log ?? (() => undefined),
    };
  }

  start(): void {
    this.loop = (async () => {
      while (!this.abort.signal.aborted) {
        await this.pass().catch((err: unknown) => this.o.log(`compaction: ${(err as Error).message}`));
        await sleep(this.o.intervalMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  /** Compact every volume that qualifies now; resolves with the bytes of volume files freed. */
  async pass(): Promise<number> {
    let freed = 0;
    for (const v of this.store.volumeStats()) {
      if (this.abort.signal.aborted) break;
      if (!v.sealed || v.live / Math.max(1, v.size) >= this.o.maxLiveRatio || v.size - v.live < this.o.minGarbageBytes) continue;
      const t0 = Date.now();
      let moved = 0;
      for (let off = 0; ;) {
        const page = this.store.liveIn(v.id, off, PAGE);
        if (!page.length || this.abort.signal.aborted) break;
        moved += await this.store.copyNeedles(v.id, page);
        off = page[page.length - 1]!.off + 1;
        // Stay under the rate: wait as long as the bytes moved so far should have taken.
        const due = (moved / this.o.rateBytesPerSec) * 1000 - (Date.now() - t0);
        if (due > 0) await sleep(due, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
      if (this.abort.signal.aborted) break;
      await this.store.dropVolume(v.id);
      if (!this.store.volumeStats().some((x) => x.id === v.id)) {
        freed += v.size;
        this.reclaimed += v.size;
        this.o.log(`compaction: volume ${v.id} removed, ${v.size} bytes freed (${moved} live bytes moved)`);
      }
    }
    return freed;
  }
}
