import { ShardProtocolError, ShardStoreError, ShardTimeoutError, fromTransportError } from './errors.js';

export interface ShardWriterOptions {
  /** Fail when the store takes no bytes for this long while we have bytes for it (a frozen store). */
  stallTimeoutMs?: number;
  /** After the last byte, how long the store may take to fsync and answer 201. */
  responseTimeoutMs?: number;
  /**
   * How long the upload may wait for a connection before the store takes its first byte
   * (a pool busy with other uploads to the same store is not a stall).
   */
  queueTimeoutMs?: number;
  /** Bytes buffered before `write` waits: the writer's whole memory cost. */
  maxBufferedBytes?: number;
  /** Known total length, sent as Content-Length (else the body is chunked). */
  contentLength?: number;
}

/** One streaming upload of a shard file (same shape as the pipeline's ShardWriter). */
export interface ShardWriter {
  /**
   * Queue chunks; resolves once they are accepted, at once while under the buffer bound,
   * else when the store has taken enough. Chunks must not be modified afterwards.
   */
  write(chunks: Buffer[]): Promise<void>;
  /** Resolves when the store answered 201: the whole shard is durable under its name. */
  end(): Promise<void>;
  /** Cancel the upload; the store discards what it received. Pending and later calls reject with `err`. */
  abort(err?: Error): void;
  /** Bytes accepted by `write` so far. */
  readonly bytesWritten: number;
}

/** Sends the request with `body`; resolves with the byte count the store reports after its 201. */
export type SendShard = (body: AsyncIterable<Buffer>, signal: AbortSignal) => Promise<number>;

export const DEFAULT_STALL_TIMEOUT_MS = 10_000;
const DEFAULT_RESPONSE_TIMEOUT_MS = 60_000;
const DEFAULT_QUEUE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BUFFERED = 1024 * 1024;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
}

/**
 * The body is an async iterable, not a Readable: the HTTP client asks for the next chunk only
 * once the previous one is in the socket and the socket has drained, so each pull is proof
 * that the store is reading. A Readable pre-fills its buffer on its own, which hides a stall.
 */
export class HttpShardWriter implements ShardWriter {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private pushed = 0;
  private ended = false;
  /** The store has pulled the end of the body: only its answer is missing. */
  private taken = false;
  /** The store pulled at least once: the request has a connection. */
  private started = false;
  private failure: Error | undefined;
  private writeWaiter: Waiter<void> | undefined;
  private pullWaiter: Waiter<IteratorResult<Buffer>> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly ac = new AbortController();
  private readonly done: Promise<void>;
  private readonly stallMs: number;
  private readonly responseMs: number;
  private readonly queueMs: number;
  private readonly maxBuffered: number;

  constructor(private readonly nodeId: string, private readonly shardId: string, send: SendShard, opts: ShardWriterOptions = {}) {
    this.stallMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.responseMs = opts.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    this.queueMs = opts.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
    this.maxBuffered = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => ({
        next: () => this.pull(),
        return: async () => ({ done: true, value: undefined }),
      }),
    };
    this.done = send(body, this.ac.signal).then(
      (stored) => {
        this.clearTimer();
        if (!this.taken || stored !== this.pushed) {
          throw this.fail(new ShardProtocolError(nodeId, `shard-store ${nodeId} stored ${stored} bytes of ${shardId}, we sent ${this.pushed}`));
        }
      },
      (err: unknown) => {
        throw this.fail(fromTransportError(nodeId, err, `PUT ${shardId}`));
      },
    );
    // Callers that abort never call end(); the failure is theirs already.
    this.done.catch(() => undefined);
  }

  get bytesWritten(): number {
    return this.pushed;
  }

  async write(chunks: Buffer[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.ended) throw new ShardStoreError(this.nodeId, `write after end on shard ${this.shardId}`);
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      this.pushed += chunk.length;
      const waiting = this.pullWaiter;
      if (waiting) {
        this.pullWaiter = undefined;
        waiting.resolve({ value: chunk, done: false });
      } else {
        this.queue.push(chunk);
        this.queued += chunk.length;
      }
    }
    if (this.queued <= this.maxBuffered) return;
    await new Promise<void>((resolve, reject) => {
      this.writeWaiter = { resolve, reject };
      this.arm();
    });
  }

  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.ended) {
      this.ended = true;
      const waiting = this.pullWaiter;
      if (waiting) {
        this.pullWaiter = undefined;
        this.taken = true;
        waiting.resolve({ value: undefined, done: true });
      }
      this.arm();
    }
    await this.done;
  }

  abort(err?: Error): void {
    this.fail(err ?? new ShardStoreError(this.nodeId, `upload of ${this.shardId} aborted`));
  }

  private pull(): Promise<IteratorResult<Buffer>> {
    if (this.failure) return Promise.reject(this.failure);
    this.started = true;
    const chunk = this.queue.shift();
    if (chunk) {
      this.queued -= chunk.length;
      if (this.writeWaiter && this.queued <= this.maxBuffered) {
        const w = this.writeWaiter;
        this.writeWaiter = undefined;
        w.resolve();
      }
      this.arm();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.ended) {
      this.taken = true;
      this.arm();
      return Promise.resolve({ value: undefined, done: true });
    }
    this.arm();
    return new Promise((resolve, reject) => {
      this.pullWaiter = { resolve, reject };
    });
  }

  /**
   * (Re)start the deadline that fits the current wait, or none when the caller is the one
   * we wait for. Every pull re-arms it, so the stall timeout measures time without progress.
   */
  private arm(): void {
    this.clearTimer();
    if (this.failure || (!this.writeWaiter && !this.ended)) return;
    let ms: number;
    let why: string;
    if (!this.started) [ms, why] = [this.queueMs, 'did not start taking the upload'];
    else if (this.taken) [ms, why] = [this.responseMs, 'did not confirm the upload'];
    else [ms, why] = [this.stallMs, 'stopped taking the upload'];
    this.timer = setTimeout(() => {
      this.fail(new ShardTimeoutError(this.nodeId, `shard-store ${this.nodeId} ${why} of ${this.shardId} within ${ms} ms`));
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Record the first failure, wake everyone waiting, cancel the request; returns the failure that stands. */
  private fail(err: Error): Error {
    if (this.failure) return this.failure;
    this.failure = err;
    this.clearTimer();
    this.queue.length = 0;
    this.queued = 0;
    this.writeWaiter?.reject(err);
    this.writeWaiter = undefined;
    this.pullWaiter?.reject(err);
    this.pullWaiter = undefined;
    this.ac.abort(err);
    return err;
  }
}
