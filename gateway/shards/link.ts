import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { segmentBuffers } from '../../codec/buffer-pool.js';
import {
  BatchOp, BatchStatus, encodeRequestHeader, errorText, FLAG_SYNC, FrameError, LEAF_BYTES, MAX_PUT_BYTES, OwnedFrameParser,
  RESULT_HEADER_BYTES, resultPayload, takesLeaves,
} from '../../shard-store/batch-frames.js';
import { CHANNEL_MAGIC, CHANNEL_MIN_BYTES, channelSecrets, FrameTags, PIECE_PROTOCOL_CHANNEL, TAG_BYTES } from '../../shard-store/piece-channel.js';
import {
  ShardFullError, ShardNotFoundError, ShardProtocolError, ShardRefusedError, ShardStoreError, ShardTimeoutError, ShardUnavailableError,
  fromTransportError,
} from './errors.js';
import type { CancelSignal } from './cancel.js';
import { keyParts } from './shard-key.js';

export interface LinkOptions {
  /** Bytes of PUT data sent to the store and not yet answered, per connection, before more waits. */
  maxOutstandingBytes?: number;
  /** Bytes of writes queued for the store before put() callers are held back (backpressure). */
  maxQueuedBytes?: number;
  /** A connection with operations outstanding and no answer for this long is given up. */
  stallTimeoutMs?: number;
  /** Told the time from sending each operation to its answer (gateway/runtime-metrics.ts PieceLatency). */
  observe?: ObserveLatency;
  /** Large reads and writes over the piece channel where the store offers it (shard-store/piece-channel.ts); default true. */
  pieceChannel?: boolean;
}

export type ObserveLatency = (store: string, op: 'put' | 'get' | 'delete' | 'head', seconds: number) => void;

const OP_NAMES = { [BatchOp.Put]: 'put', [BatchOp.Get]: 'get', [BatchOp.Delete]: 'delete', [BatchOp.Head]: 'head' } as const;

/**
 * Opens a connection to the store speaking the piece protocol (its key already checked
 * against its pin) that reads where `sink` says (net/tls `onread`): into one buffer it reuses,
 * handed to `sink.data` as a view valid only during the call, so reading allocates nothing;
 * or, while `sink.target()` names a buffer, straight into it, reported by `sink.filled`.
 */
export type PieceConnector = (sink: ReadSink) => Promise<TLSSocket>;

/** Opens the piece channel `id` of a piece connection, reading where `sink` says (pins.ts openPieceChannel). */
export type ChannelOpener = (id: Buffer, sink: ReadSink) => Promise<Socket>;

export interface ReadSink {
  data(chunk: Buffer): void;
  /** Where the next read should land instead of the shared buffer, if anywhere. */
  target(): Buffer | null;
  /** `n` bytes were read into the last target(). */
  filled(n: number): void;
}

/** A payload with this much still to come is read straight into its own buffer. */
const DIRECT_READ_MIN = 32 * 1024;

interface Op {
  op: BatchOp;
  flags: number;
  blob: Buffer;
  piece: number;
  seg: number;
  offset: number;
  length: number;
  data: Buffer[] | null;
  /** A PUT's audit leaf, sent along where the store takes it (FLAG_LEAF). */
  leaf: Buffer | undefined;
  bytes: number;
  id: number;
  /** process.hrtime.bigint() when it went out on the connection. */
  sentAt: bigint;
  resolve(payload: Buffer): void;
  reject(err: Error): void;
  done: boolean;
  signal: CancelSignal | undefined;
  onAbort: (() => void) | undefined;
}

const DEFAULTS: Required<Omit<LinkOptions, 'observe'>> & Pick<LinkOptions, 'observe'> = {
  maxOutstandingBytes: 32 * 1024 * 1024, maxQueuedBytes: 16 * 1024 * 1024, stallTimeoutMs: 10_000, pieceChannel: true,
};

/**
 * An operation moving at least this many bytes (a PUT's data, a GET's length) goes out at
 * once even while the lane waits for answers: large transfers stream without gaps, and the
 * small operations queued before it travel with it.
 */
const LARGE_OP_BYTES = 64 * 1024;

/**
 * The gateway's side of the piece protocol to one shard-store (shard-store/batch-frames.ts):
 * long-lived TLS connections that carry framed operations and results matched by id.
 * Nothing waits to fill a batch: on an idle lane an operation goes out in the next turn of
 * the event loop. While a batch is out, small operations queue, and all of them go out
 * together as soon as it is answered, for any number of objects, in one write; the store
 * handles them together (one append, one fdatasync). Under load a store is woken once per
 * batch, not once per piece, and at low load nothing waits. Writes and reads
 * have a connection each, so a read never waits behind an fdatasync or a large upload; reads
 * and writes of CHANNEL_MIN_BYTES or more go over their connection's piece channel where the
 * store offers one (shard-store/piece-channel.ts), and fail with it. A
 * frozen store fails only its own operations (stall timeout, callers' deadlines).
 */
export class StoreLink {
  private readonly o: typeof DEFAULTS;
  private readonly writes: Lane;
  private readonly reads: Lane;
  private readonly spaceWaiters: Array<() => void> = [];
  private closed: Error | undefined;

  constructor(readonly nodeId: string, connect: PieceConnector, opts: LinkOptions = {}, openChannel?: ChannelOpener) {
    this.o = { ...DEFAULTS, ...opts };
    const channel = this.o.pieceChannel ? openChannel : undefined;
    this.writes = new Lane(nodeId, connect, this.o, () => this.wakeWriters(), channel);
    this.reads = new Lane(nodeId, connect, this.o, () => undefined, channel);
  }

  /**
   * Operations sent and write batches (TLS writes) they travelled in: how well coalescing
   * works; and how many went over the piece channels.
   */
  get stats(): { ops: number; writes: number; channelOps: number } {
    return { ops: this.writes.ops + this.reads.ops, writes: this.writes.flushes + this.reads.flushes, channelOps: this.writes.channelOps + this.reads.channelOps };
  }

  /**
   * Append record `seg` of a shard; with `sync`, resolves only once it and the store's earlier
   * appends are durable. `leaf`, the record's audit leaf when the caller has it, spares a
   * store that takes it (`sgpiece/2`) hashing the record again.
   */
  async put(shardId: string, seg: number, data: Buffer[], sync: boolean, signal?: CancelSignal, leaf?: Buffer): Promise<void> {
    const length = data.reduce((n, b) => n + b.length, 0);
    if (length > MAX_PUT_BYTES) throw new RangeError(`a record of ${length} bytes is over the ${MAX_PUT_BYTES}-byte limit`);
    if (leaf && leaf.length !== LEAF_BYTES) throw new RangeError(`an audit leaf of ${leaf.length} bytes, not ${LEAF_BYTES}`);
    await this.submit(this.writes, BatchOp.Put, sync ? FLAG_SYNC : 0, shardId, seg, 0, length, data, length, signal, leaf);
  }

  /** Record `seg` of a shard, `length` bytes (at `offset` in a shard an older release kept as one file). */
  async get(shardId: string, seg: number, offset: number, length: number, signal?: CancelSignal): Promise<Buffer> {
    const payload = await this.submit(this.reads, BatchOp.Get, 0, shardId, seg, offset, length, null, 0, signal);
    if (payload.length !== length) throw new ShardProtocolError(this.nodeId, `GET ${shardId}#${seg}: the store sent ${payload.length} bytes, ${length} were asked`);
    return payload;
  }

  /** A shard's size, or null when the store does not hold it. */
  async head(shardId: string, signal?: CancelSignal): Promise<number | null> {
    try {
      const payload = await this.submit(this.reads, BatchOp.Head, 0, shardId, 0, 0, 0, null, 0, signal);
      if (payload.length !== 8) throw new ShardProtocolError(this.nodeId, `HEAD ${shardId}: malformed answer`);
      return Number(payload.readBigUInt64LE(0));
    } catch (err) {
      if (err instanceof ShardNotFoundError) return null;
      throw err;
    }
  }

  /** Remove a shard; succeeds whether or not the store held it. */
  async delete(shardId: string, signal?: CancelSignal): Promise<void> {
    await this.submit(this.writes, BatchOp.Delete, 0, shardId, 0, 0, 0, null, 0, signal);
  }

  /** Resolves when the write lane has room: callers streaming a shard wait here (backpressure). */
  async space(): Promise<void> {
    while (this.writes.queued > this.o.maxQueuedBytes && !this.closed) await new Promise<void>((r) => this.spaceWaiters.push(r));
  }

  /** Fail everything queued or outstanding and refuse new operations (the store left, or the gateway stops). */
  close(err: Error): void {
    this.closed = err;
    this.writes.close(err);
    this.reads.close(err);
    this.wakeWriters();
  }

  // One Op literal of a fixed shape, built here: this runs for every piece of every object.
  private submit(
    lane: Lane, kind: BatchOp, flags: number, shardId: string, seg: number, offset: number, length: number,
    data: Buffer[] | null, bytes: number, signal: CancelSignal | undefined, leaf?: Buffer,
  ): Promise<Buffer> {
    if (this.closed) return Promise.reject(this.closed);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { blob, piece } = keyParts(shardId);
    return new Promise<Buffer>((resolve, reject) => {
      const op: Op = {
        op: kind, flags, blob, piece, seg, offset, length, data, leaf, bytes,
        id: 0, sentAt: 0n, resolve, reject, done: false, signal, onAbort: undefined,
      };
      if (signal) {
        op.onAbort = () => lane.abort(op, signal.reason as Error);
        signal.addEventListener('abort', op.onAbort, { once: true });
      }
      lane.enqueue(op);
    });
  }

  private wakeWriters(): void {
    if (this.writes.queued > this.o.maxQueuedBytes) return;
    for (const w of this.spaceWaiters.splice(0)) w();
  }
}

/** One connection to the store and the operations waiting for it or on it. */
class Lane {
  private socket: TLSSocket | undefined;
  private connecting: Promise<void> | undefined;
  private readonly queue: Op[] = [];
  /** Sent and not yet answered, by id. */
  private readonly inflight = new Map<number, Op>();
  private outstanding = 0;
  private nextId = 1;
  private flushScheduled = false;
  /** Queued operations that may go out while the lane waits for answers. */
  private largeQueued = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  /** The piece channel beside `socket`, when the store offered one and it opened. */
  private channel: { sock: Socket; tags: FrameTags } | undefined;
  /** Until then no channel is opened: the last one did not open (a path that lets only TLS through). */
  private channelOffUntil = 0;
  queued = 0;
  ops = 0;
  flushes = 0;
  channelOps = 0;

  constructor(
    private readonly nodeId: string, private readonly connect: PieceConnector, private readonly o: typeof DEFAULTS,
    private readonly onQueueDrained: () => void, private readonly openChannel?: ChannelOpener,
  ) {}

  enqueue(op: Op): void {
    this.queue.push(op);
    this.queued += op.bytes;
    if (isLarge(op)) this.largeQueued++;
    if (this.inflight.size === 0 || this.largeQueued > 0) this.schedule();
  }

  abort(op: Op, err: Error): void {
    const i = this.queue.indexOf(op);
    if (i >= 0) {
      // Never sent: it leaves no trace on the store.
      this.queue.splice(i, 1);
      this.queued -= op.bytes;
      if (isLarge(op)) this.largeQueued--;
      this.onQueueDrained();
    }
    // Sent: its answer will be dropped when it comes.
    settle(op, err);
  }

  close(err: Error): void {
    for (const op of this.queue.splice(0)) settle(op, err);
    this.queued = 0;
    this.largeQueued = 0;
    this.fail(err);
  }

  /** Everything queued in this turn of the event loop goes out in one write, in the next. */
  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (!this.queue.length) return;
    if (!this.socket) {
      this.connecting ??= this.open().finally(() => (this.connecting = undefined));
      await this.connecting;
      if (!this.socket) return;
    }
    const sock = this.socket;
    // Known once connected: a store of an older release takes no leaves, and hashes the records itself.
    const leaves = takesLeaves(sock.alpnProtocol);
    const channel = this.channel;
    const bufs: Buffer[] = [];
    const channelBufs: Buffer[] = [];
    // Everything in this batch is written below, in this same turn.
    const sentAt = this.o.observe ? process.hrtime.bigint() : 0n;
    while (this.queue.length) {
      const op = this.queue[0]!;
      // Flow control: a store that is slow to answer gets no more data than it can hold.
      if (op.bytes > 0 && this.outstanding > 0 && this.outstanding + op.bytes > this.o.maxOutstandingBytes) break;
      this.queue.shift();
      this.queued -= op.bytes;
      if (isLarge(op)) this.largeQueued--;
      if (op.done) continue;
      op.id = this.nextId = (this.nextId % 0xffffffff) + 1;
      op.sentAt = sentAt;
      this.inflight.set(op.id, op);
      this.outstanding += op.bytes;
      const withLeaf = leaves && op.leaf !== undefined;
      const header = encodeRequestHeader(op, withLeaf);
      const parts = [header];
      if (withLeaf) parts.push(op.leaf!);
      if (op.data) for (const b of op.data) if (b.length) parts.push(b);
      this.ops++;
      if (channel && (op.op === BatchOp.Get || op.op === BatchOp.Put) && op.length >= CHANNEL_MIN_BYTES) {
        // Tagged in the order written: the store checks them in the order read.
        channelBufs.push(header, channel.tags.seal(parts));
        for (let i = 1; i < parts.length; i++) channelBufs.push(parts[i]!);
        this.channelOps++;
        continue;
      }
      for (const b of parts) bufs.push(b);
    }
    this.onQueueDrained();
    if (!bufs.length && !channelBufs.length) return;
    if (channelBufs.length) {
      channel!.sock.cork();
      for (const b of channelBufs) channel!.sock.write(b);
      channel!.sock.uncork();
    }
    if (bufs.length) {
      this.flushes++;
      sock.cork();
      for (const b of bufs) sock.write(b);
      sock.uncork();
    }
    this.armStall();
  }

  private async open(): Promise<void> {
    let sock: TLSSocket;
    // Reads of a connection go to its own parser, also after a newer connection replaced it
    // (what an old one still delivers is ignored there). Payloads are copied out of the
    // connection's read buffer into buffers of their own, large ones from the segment pool,
    // which a segment read gives back once decoded (gateway/transfer/read-segment.ts):
    // reading into fresh buffers cost a new 16 KiB buffer per TLS record, which V8 counts
    // toward its next full collection. The buffer is taken when the header arrives, so an
    // answer may announce no more than its operation asked for: a store cannot make the
    // gateway hold memory it never requested.
    const parser = new OwnedFrameParser(RESULT_HEADER_BYTES, (header) => this.allowedPayload(header), MAX_PUT_BYTES, (length) => segmentBuffers.take(length));
    try {
      sock = await this.connect({
        data: (chunk) => {
          if (sock && this.socket === sock) this.onData(() => parser.push(chunk));
        },
        // Large payloads are read in place: the TLS layer writes them into their pooled
        // buffer, not into the read buffer they were then copied from (5% of the gateway's
        // CPU under 1 MiB GETs). A payload being filled is only ever the parser's until it
        // completes, so no one else can hold that buffer meanwhile.
        target: () => parser.target(DIRECT_READ_MIN),
        filled: (n) => {
          if (sock && this.socket === sock) this.onData(() => parser.filled(n));
        },
      });
    } catch (err) {
      const e = err instanceof ShardStoreError ? err : fromTransportError(this.nodeId, err, 'piece connection');
      for (const op of this.queue.splice(0)) settle(op, e);
      this.queued = 0;
      this.largeQueued = 0;
      this.onQueueDrained();
      return;
    }
    sock.once('close', () => {
      if (this.socket === sock) this.fail(new ShardUnavailableError(this.nodeId, `piece connection to shard-store ${this.nodeId} closed`));
    });
    sock.on('error', (err) => {
      if (this.socket === sock) this.fail(fromTransportError(this.nodeId, err, 'piece connection'));
    });
    this.socket = sock;
    if (this.openChannel && sock.alpnProtocol === PIECE_PROTOCOL_CHANNEL && Date.now() >= this.channelOffUntil) await this.openChannelOf(sock);
  }

  /**
   * The piece channel of piece connection `tls` (shard-store/piece-channel.ts). Its answers are
   * checked against their tags before anything else reads them; one that fails fails the
   * connection. If the channel cannot open, everything stays on `tls`.
   */
  private async openChannelOf(tls: TLSSocket): Promise<void> {
    const secrets = channelSecrets(tls);
    const answers = new FrameTags(secrets.answerKey);
    const parser = new OwnedFrameParser(RESULT_HEADER_BYTES + TAG_BYTES, (header) => this.allowedPayload(header), MAX_PUT_BYTES, (length) => segmentBuffers.take(length));
    const checked = (frames: Array<{ header: Buffer; payload: Buffer }>): Array<{ header: Buffer; payload: Buffer }> => frames.map((f) => {
      const header = f.header.subarray(0, RESULT_HEADER_BYTES);
      if (!answers.check([header, f.payload], f.header.subarray(RESULT_HEADER_BYTES))) throw new FrameError('an answer on the piece channel failed its tag');
      return { header, payload: f.payload };
    });
    // The store's first bytes on the channel are a tag over the magic: the channel is bound,
    // and by the store of this TLS session. Until then nothing is sent on it.
    let greeting: Buffer = Buffer.alloc(0);
    let greeted: (ok: boolean) => void = () => undefined;
    const greetedP = new Promise<boolean>((resolve) => (greeted = resolve));
    let sock: Socket | undefined;
    const live = (): boolean => sock !== undefined && this.channel?.sock === sock;
    const sink: ReadSink = {
      data: (chunk) => {
        if (greeting.length < TAG_BYTES) {
          greeting = Buffer.concat([greeting, chunk]);
          if (greeting.length < TAG_BYTES) return;
          // Nothing follows the greeting before a request is sent.
          greeted(greeting.length === TAG_BYTES && answers.check([CHANNEL_MAGIC], greeting));
          return;
        }
        if (live()) this.onData(() => checked(parser.push(chunk)));
      },
      target: () => (greeting.length < TAG_BYTES ? null : parser.target(DIRECT_READ_MIN)),
      filled: (n) => {
        if (live()) this.onData(() => checked(parser.filled(n)));
      },
    };
    try {
      sock = await this.openChannel!(secrets.id, sink);
    } catch {
      this.channelOffUntil = Date.now() + CHANNEL_RETRY_MS;
      return;
    }
    const s = sock;
    // Listened to from the start: an error before the greeting (a store that refuses the
    // channel may reset it) only means no channel, and is followed by 'close'.
    s.on('error', (err) => {
      if (this.channel?.sock === s) this.fail(fromTransportError(this.nodeId, err, 'piece channel'));
    });
    s.once('close', () => {
      greeted(false);
      if (this.channel?.sock === s) this.fail(new ShardUnavailableError(this.nodeId, `piece channel to shard-store ${this.nodeId} closed`));
    });
    const timer = setTimeout(() => greeted(false), this.o.stallTimeoutMs);
    const ok = await greetedP;
    clearTimeout(timer);
    if (!ok || this.socket !== tls) {
      // Refused, or a path that lets only TLS through: everything stays on TLS for a while.
      if (!ok) this.channelOffUntil = Date.now() + CHANNEL_RETRY_MS;
      return void s.destroy();
    }
    // Closed with its TLS connection, whoever closes first.
    tls.once('close', () => s.destroy());
    this.channel = { sock: s, tags: new FrameTags(secrets.requestKey) };
  }

  /** An answer's payload length, if its operation allows that much (else the connection is failed). */
  private allowedPayload(header: Buffer): number {
    const length = resultPayload(header);
    const op = this.inflight.get(header.readUInt32LE(0));
    const allowed = Math.max(op?.op === BatchOp.Get ? op.length : 0, MAX_ANSWER_BYTES);
    if (length > allowed) throw new FrameError(`an answer announces ${length} bytes, ${allowed} at most were asked`);
    return length;
  }

  private onData(read: () => Array<{ header: Buffer; payload: Buffer }>): void {
    let frames;
    try {
      frames = read();
    } catch (err) {
      this.fail(new ShardProtocolError(this.nodeId, `piece connection: ${(err as FrameError).message}`));
      return;
    }
    for (const f of frames) {
      const id = f.header.readUInt32LE(0);
      const status = f.header.readUInt8(4) as BatchStatus;
      const op = this.inflight.get(id);
      if (!op) {
        this.fail(new ShardProtocolError(this.nodeId, `piece connection: an answer to operation ${id}, which was never sent`));
        return;
      }
      this.inflight.delete(id);
      this.outstanding -= op.bytes;
      // An answer is an answer, an error status too: it measures the store, not the outcome.
      if (this.o.observe) this.o.observe(this.nodeId, OP_NAMES[op.op], Number(process.hrtime.bigint() - op.sentAt) / 1e9);
      settle(op, status === BatchStatus.Ok ? null : errorOf(this.nodeId, op, status, f.payload), f.payload);
    }
    if (this.inflight.size) this.armStall();
    else clearTimeout(this.stallTimer);
    // The batch is answered: what queued meanwhile goes out together.
    if (this.queue.length && (this.inflight.size === 0 || this.largeQueued > 0)) this.schedule();
  }

  /** Outstanding operations and no answer for stallTimeoutMs: the store is frozen or gone. */
  private armStall(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      this.fail(new ShardTimeoutError(this.nodeId, `shard-store ${this.nodeId} answered none of ${this.inflight.size} operation(s) for ${this.o.stallTimeoutMs} ms`));
    }, this.o.stallTimeoutMs);
    this.stallTimer.unref();
  }

  /** The connection is lost: every operation on it fails; queued ones go out on a new one. */
  private fail(err: Error): void {
    clearTimeout(this.stallTimer);
    const sock = this.socket;
    this.socket = undefined;
    sock?.destroy();
    const channel = this.channel;
    this.channel = undefined;
    channel?.sock.destroy();
    for (const op of this.inflight.values()) settle(op, err);
    this.inflight.clear();
    this.outstanding = 0;
    if (this.queue.length) this.schedule();
  }
}

/** How long a lane stays on TLS alone after its piece channel did not open. */
const CHANNEL_RETRY_MS = 10 * 60_000;

/** Bytes an answer other than a read's data may carry (a store's error text, a HEAD's size). */
const MAX_ANSWER_BYTES = 64 * 1024;

function isLarge(op: Op): boolean {
  return op.length >= LARGE_OP_BYTES;
}

function settle(op: Op, err: Error | null, payload?: Buffer): void {
  if (op.done) return;
  op.done = true;
  if (op.onAbort) op.signal!.removeEventListener('abort', op.onAbort);
  if (err) op.reject(err);
  else op.resolve(payload!);
}

function errorOf(nodeId: string, op: Op, status: BatchStatus, payload: Buffer): ShardStoreError {
  const what = `${BatchOp[op.op]} ${op.blob.toString('hex')}.${op.piece}#${op.seg} on shard-store ${nodeId}: ${errorText(payload)}`;
  switch (status) {
    // A copy the store itself found damaged is as good as none: read around it, rebuild it.
    case BatchStatus.NotFound:
    case BatchStatus.Corrupt: return new ShardNotFoundError(nodeId, what, { status: 404 });
    case BatchStatus.Full: return new ShardFullError(nodeId, what, { status: 507 });
    case BatchStatus.Forbidden: return new ShardRefusedError(nodeId, what, { status: 403 });
    case BatchStatus.Unauthenticated: return new ShardRefusedError(nodeId, what, { status: 401 });
    case BatchStatus.BadRequest: return new ShardProtocolError(nodeId, what, { status: 400 });
    default: return new ShardProtocolError(nodeId, what, { status: 500 });
  }
}

