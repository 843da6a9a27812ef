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

interface Update {
  state: NativeMd5x;
  rest: Buffer;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * The MD5s (ETags) of the objects being written, advanced together. One object's MD5 is a
 * chain at about 0.7 GB/s, the slowest pass of a PUT: under 1 MiB PUTs x16 it was a sixth of
 * the gateway's CPU. But objects written at the same time are independent chains, and
 * AVX-512 runs 16 of them in about the time of one (native/src/md5_lanes.c). An update goes
 * out at once when no call is under way, and those that arrive meanwhile go out together in
 * the next call, as the store links batch pieces: nothing waits at low load.
 *
 * Updates of one state must be chained (the encoder does), as with md5Update.
 */
export class Md5Lanes {
  private readonly queue: Update[] = [];
  private running = false;
  /** Calls made and updates they carried (tests, benchmarks). */
  calls = 0;
  updates = 0;

  constructor(private readonly binding: NativeBinding, private readonly lanes = true) {}

  create(): NativeMd5x {
    return this.binding.md5xCreate();
  }

  update(state: NativeMd5x, data: Buffer): Promise<void> {
    if (data.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ state, rest: data, resolve, reject });
      this.pump();
    });
  }

  digest(state: NativeMd5x): Buffer {
    return this.binding.md5xDigest(state);
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, LANES);
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
          u.rest = u.rest.subarray(SLICE_BYTES);
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
 * The process's Md5Lanes where the addon has the AVX-512 kernel, else null (encoders keep
 * OpenSSL's MD5, faster on one stream). SHARDGATE_MD5_LANES=off keeps OpenSSL's everywhere.
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
