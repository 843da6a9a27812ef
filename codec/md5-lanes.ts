import { CodecArgumentError } from './errors.js';
import { NativeError, type NativeBinding, type NativeMd5x } from './native.js';

/** Streams one call advances together: the AVX-512 kernel's lanes (native/src/md5_lanes.h). */
const LANES = 16;
/**
 * Bytes of one update a call takes at most; the rest waits for the next call, so that an
 * update that arrives meanwhile waits for at most this much (about 6 ms on one lane). One
 * segment: cut finer, a single stream's MD5 queued on the threadpool once per slice behind
 * the segments being encoded, and 64 MiB PUTs ran 6% slower.
 */
const SLICE_BYTES = 4 * 1024 * 1024;
/** A lazy update waits at most this long for others to share its call, */
const LAZY_MS = 25;
/** ... and lazy updates go at once when they hold this many bytes of plaintext between them. */
const LAZY_BYTES = 64 * 1024 * 1024;

interface Update {
  state: NativeMd5x;
  rest: Buffer;
  /** May wait for others to share its call, until its MD5 is wanted (want()). */
  lazy: boolean;
  queuedAt: number;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * The MD5s (ETags) of the objects being written, advanced together. One object's MD5 is a
 * chain at about 0.75 GB/s, the slowest pass of a PUT: under 1 MiB PUTs x16, a tenth of the
 * machine's CPU. But objects written at the same time are independent chains, and AVX-512
 * runs 8 or 16 of them for about the cost of one (native/src/md5_lanes.c).
 *
 * An update goes out at once when no call is under way, and those that arrive meanwhile go
 * out together in the next call, as the store links batch pieces. A lazy update (a PUT's,
 * whose ETag is needed only once its pieces are durable) also waits for others: until 16
 * are queued, until someone wants its state's MD5, or LAZY_MS. Under 1 MiB PUTs x16 that
 * took calls from about 3 updates each to about 6.
 *
 * Updates of one state must be chained (the encoder does), as with md5Update.
 */
export class Md5Lanes {
  private readonly queue: Update[] = [];
  private running = false;
  private lazyBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Calls made and updates they carried (tests, benchmarks). */
  calls = 0;
  updates = 0;

  private readonly lanes: boolean;
  private readonly lazyMs: number;

  /** `lanes` false: one stream after another (tests); `lazyMs`: LAZY_MS unless a test says otherwise. */
  constructor(private readonly binding: NativeBinding, opts: { lanes?: boolean; lazyMs?: number } = {}) {
    this.lanes = opts.lanes ?? true;
    this.lazyMs = opts.lazyMs ?? LAZY_MS;
  }

  create(): NativeMd5x {
    return this.binding.md5xCreate();
  }

  update(state: NativeMd5x, data: Buffer, opts: { lazy?: boolean } = {}): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const lazy = opts.lazy === true;
      this.queue.push({ state, rest: data, lazy, queuedAt: performance.now(), resolve, reject });
      if (lazy) this.lazyBytes += data.length;
      this.pump();
    });
  }

  /** Someone waits for this state's MD5: its queued update, if any, stops waiting for company. */
  want(state: NativeMd5x): void {
    for (const u of this.queue) {
      if (u.state !== state || !u.lazy) continue;
      u.lazy = false;
      this.lazyBytes -= u.rest.length;
    }
    this.pump();
  }

  digest(state: NativeMd5x): Buffer {
    return this.binding.md5xDigest(state);
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const now = performance.now();
    const go = this.queue.length >= LANES || this.lazyBytes >= LAZY_BYTES || this.queue.some((u) => !u.lazy || now - u.queuedAt >= this.lazyMs);
    if (!go) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, Math.max(1, this.lazyMs - (now - this.queue[0]!.queuedAt))).unref();
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    // The updates that may not wait go first; the others fill the lanes left, oldest first.
    const batch = [...this.queue.filter((u) => !u.lazy), ...this.queue.filter((u) => u.lazy)].slice(0, LANES);
    for (const u of batch) {
      this.queue.splice(this.queue.indexOf(u), 1);
      if (u.lazy) this.lazyBytes -= u.rest.length;
    }
    const states = batch.map((u) => u.state);
    const slices = batch.map((u) => u.rest.subarray(0, SLICE_BYTES));
    this.running = true;
    this.calls++;
    this.updates += batch.length;
    const done = (error: Error | undefined): void => {
      this.running = false;
      for (const u of batch) {
        if (error) {
          u.reject(new NativeError(error.message, { cause: error }));
        } else if (u.rest.length > SLICE_BYTES) {
          // The rest of a large update goes on at once: its stream is being read.
          u.rest = u.rest.subarray(SLICE_BYTES);
          u.lazy = false;
          this.queue.push(u);
        } else {
          u.resolve();
        }
      }
      this.pump();
    };
    try {
      this.binding.md5xUpdateMany(states, slices, this.lanes, done);
    } catch (err) {
      done(err as Error);
    }
  }
}

let shared: Md5Lanes | null | undefined;

/**
 * The process's Md5Lanes where the addon has the AVX-512 kernels, else null: encoders keep
 * OpenSSL's MD5, as fast as ours one stream at a time. SHARDGATE_MD5_LANES=off keeps
 * OpenSSL's everywhere.
 */
export function sharedMd5Lanes(binding: NativeBinding): Md5Lanes | null {
  if (shared === undefined) shared = md5LanesWanted(process.env) && binding.info().md5Lanes ? new Md5Lanes(binding) : null;
  return shared;
}

/** SHARDGATE_MD5_LANES: "on" (the default) or "off". */
export function md5LanesWanted(env: NodeJS.ProcessEnv): boolean {
  const setting = env.SHARDGATE_MD5_LANES ?? 'on';
  if (setting !== 'on' && setting !== 'off') throw new CodecArgumentError(`SHARDGATE_MD5_LANES must be "on" or "off", got "${setting}"`);
  return setting === 'on';
}
