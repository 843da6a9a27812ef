import type { Socket } from 'node:net';
import { BufferPool } from '../codec/buffer-pool.js';
import {
  BatchOp, BatchStatus, decodeRequestHeader, encodeResultHeader, FLAG_LEAF, FLAG_SYNC, FrameError, FrameParser, LEAF_BYTES, MAX_PUT_PAYLOAD,
  REQUEST_HEADER_BYTES, RESULT_HEADER_BYTES, requestPayload, shardIdOf, type BatchRequest,
} from './batch-frames.js';
import { ForbiddenError, RequestError, StoreFullError } from './errors.js';
import { authorize, type TrustedKey } from './peers.js';
import { CHANNEL_MAGIC, FrameTags, TAG_BYTES, type ChannelSecrets } from './piece-channel.js';
import type { ShardStore } from './pieces.js';
import type { ShardOp } from './protocol.js';
import { forgeRecord } from './test-liar.js';
import { CorruptNeedleError } from './volume/volume-store.js';

export interface PieceStreamContext {
  store: ShardStore;
  /** Test only (SHARDGATE_TEST_LIE_ON_READ=1): answer reads with forged records. */
  lieOnRead: boolean;
  log: (line: string) => void;
  /** A piece channel (piece-channel.ts): GETs and PUTs only, every frame tagged under these secrets. */
  channel?: ChannelSecrets;
}

/** A served connection: idle() resolves once every operation it received has been answered. */
export interface PieceStream {
  idle(): Promise<void>;
}

interface Result {
  status: BatchStatus;
  payload: Buffer;
  /** The payload is from readBuffers (a view it knows: alias), given back once written. */
  pooled?: true;
}

/** An answer waiting to be written: its header, then the payload if any. */
interface Answer {
  header: Buffer;
  r: Result;
}

interface Op {
  req: BatchRequest;
  name: ShardOp;
  data: Buffer[];
}

const OP_NAMES: Record<number, ShardOp> = { [BatchOp.Put]: 'put', [BatchOp.Get]: 'get', [BatchOp.Delete]: 'delete', [BatchOp.Head]: 'head' };
/** Bytes of PUT data received and not yet answered on one connection before the store stops reading from it. */
const MAX_UNANSWERED_BYTES = 96 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/** Bytes of answers one connection writes per turn of the event loop, unless one answer is larger (flush). */
const FLUSH_BYTES = 1024 * 1024;
/**
 * Buffers for the pieces a store reads to answer GETs, reused once the answer is written. A
 * fresh buffer per piece read was memory V8 counts as external: under 1 MiB GETs those
 * buffers drove full garbage collections several times a second, about a tenth of the
 * stores' CPU. Small reads are left to Node's slab. Process-wide, so the 16 stores of
 * `shardgate dev` share it.
 */
const readBuffers = new BufferPool(32 * 1024 * 1024, 16 * 1024);

/**
 * One piece-protocol connection (batch-frames.ts), from the client whose key `peer` proved
 * in the TLS handshake. Frames that arrive together are handled together: their PUTs are
 * appended with one write, then, if any asked for it, made durable by one fdatasync that
 * concurrent connections share (group commit), and only then answered. Reads run in
 * parallel and are answered as they finish. Writes and deletes are appended in their order;
 * a write's fdatasync holds up only its own answer.
 */
export function servePieceStream(socket: Socket, peer: TrustedKey | Error, ctx: PieceStreamContext): PieceStream {
  let busy = 0;
  const idleWaiters: Array<() => void> = [];
  // On a piece channel a request header is followed by its tag, which covers its data too.
  const requestTags = ctx.channel && new FrameTags(ctx.channel.requestKey);
  const answerTags = ctx.channel && new FrameTags(ctx.channel.answerKey);
  const parser = new FrameParser(REQUEST_HEADER_BYTES + (ctx.channel ? TAG_BYTES : 0), requestPayload, MAX_PUT_PAYLOAD);
  // A channel's first frame says it is bound: a tag over the magic, which only this store can make.
  if (answerTags) socket.write(answerTags.seal([CHANNEL_MAGIC]));
  // Writes and deletes of this connection, in the order they arrived.
  let writes: Promise<unknown> = Promise.resolve();
  let unanswered = 0;
  // Answers not yet written, in order.
  let out: Answer[] = [];
  let flushing = false;
  // Idle: every operation answered, and every answer handed to the socket.
  const isIdle = (): boolean => busy === 0 && out.length === 0;
  const wakeIfIdle = (): void => {
    if (isIdle()) for (const w of idleWaiters.splice(0)) w();
  };

  const send = (id: number, r: Result): void => {
    out.push({ header: encodeResultHeader(id, r.status, r.payload.length), r });
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  };

  /**
   * What was answered in this turn of the event loop goes out as one write, up to
   * FLUSH_BYTES (and at least one answer); the rest in the next turn, after the process's
   * other connections have written theirs. A read several segments long asks each store for
   * a piece of each: written whole, one store's answers for all of them went out before the
   * next store's first, so with the 16 stores of `dev` on one thread no segment was complete
   * until all were (the first byte of a 64 MiB GET waited for seven segments, 30 ms). Taking
   * turns, the first segment's pieces go out first.
   */
  function flush(): void {
    flushing = false;
    let take = 0;
    let bytes = 0;
    while (take < out.length) {
      const size = RESULT_HEADER_BYTES + out[take]!.r.payload.length;
      if (take > 0 && bytes + size > FLUSH_BYTES) break;
      bytes += size;
      take++;
    }
    const answers = take === out.length ? out : out.slice(0, take);
    out = take === out.length ? [] : out.slice(take);
    if (out.length) {
      flushing = true;
      setImmediate(flush);
    } else {
      wakeIfIdle();
    }
    const reads = answers.filter((a) => a.r.pooled).map((a) => a.r.payload);
    if (socket.destroyed) {
      reads.forEach((b) => readBuffers.give(b));
      return;
    }
    const bufs: Buffer[] = [];
    for (const a of answers) {
      bufs.push(a.header);
      // Tagged in the order written: the gateway checks them in the order read.
      if (answerTags) bufs.push(answerTags.seal([a.header, a.r.payload]));
      if (a.r.payload.length) bufs.push(a.r.payload);
    }
    socket.cork();
    for (let i = 0; i < bufs.length - 1; i++) socket.write(bufs[i]!);
    // Writes complete in order: once the last is done, the socket holds none of these
    // buffers. After a failed write it may still (the connection is going away): keep them.
    socket.write(bufs[bufs.length - 1]!, reads.length ? (err) => err || reads.forEach((b) => readBuffers.give(b)) : undefined);
    socket.uncork();
  }

  const answered = (bytes: number): void => {
    unanswered -= bytes;
    if (unanswered <= MAX_UNANSWERED_BYTES && socket.isPaused()) socket.resume();
  };

  socket.on('data', (chunk: Buffer) => {
    let frames;
    try {
      frames = parser.push(chunk);
    } catch (err) {
      ctx.log(`piece stream: ${(err as Error).message}; closing the connection`);
      socket.destroy();
      return;
    }
    const ops: Op[] = [];
    for (const f of frames) {
      if (requestTags) {
        const head = f.header.subarray(0, REQUEST_HEADER_BYTES);
        const op = head.readUInt8(0);
        // Not from the gateway that opened the channel, or not in its order; or an operation
        // the channel does not carry (deletes and heads keep their order on TLS). None of it runs.
        if (!requestTags.check([head, ...f.payload], f.header.subarray(REQUEST_HEADER_BYTES)) || (op !== (BatchOp.Get as number) && op !== (BatchOp.Put as number))) {
          ctx.log('piece channel: a request failed its tag or is not a read or a write; closing the connection');
          socket.destroy();
          return;
        }
      }
      const req = decodeRequestHeader(f.header);
      const name = OP_NAMES[req.op];
      if (!name) {
        send(req.id, text(BatchStatus.BadRequest, `unknown operation ${req.op}`));
        continue;
      }
      ops.push({ req, name, data: f.payload });
    }
    if (!ops.length) return;
    if (peer instanceof Error) {
      // A key this store does not trust: every operation gets the refusal, and nothing else happens.
      for (const op of ops) send(op.req.id, text(BatchStatus.Unauthenticated, peer.message));
      return;
    }
    const trusted = peer;
    const putBytes = ops.reduce((n, o) => n + (o.req.op === BatchOp.Put ? o.req.length : 0), 0);
    unanswered += putBytes;
    if (unanswered > MAX_UNANSWERED_BYTES) socket.pause();
    busy++;
    handle(ops, trusted).finally(() => {
      answered(putBytes);
      // Answers are flushed on the next turn: wait for it before calling the connection idle.
      setImmediate(() => {
        busy--;
        wakeIfIdle();
      });
    }).catch((err: unknown) => ctx.log(`piece stream: ${(err as Error).stack ?? String(err)}`));
  });
  socket.on('error', () => undefined);
  socket.once('close', () => {
    for (const w of idleWaiters.splice(0)) w();
  });

  return {
    idle: () => (isIdle() || socket.destroyed ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
  };

  /** The frames of one read: PUT runs appended in one write each, in order with deletes; reads at once. */
  async function handle(ops: Op[], trusted: TrustedKey): Promise<void> {
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < ops.length;) {
      const op = ops[i]!;
      if (op.req.op === BatchOp.Put) {
        let j = i;
        while (j < ops.length && ops[j]!.req.op === BatchOp.Put) j++;
        const run = ops.slice(i, j);
        // Appends keep the connection's order; the fdatasync that makes them durable does not
        // hold up the next run's append, so runs that arrive while it is under way share the
        // next one (group commit within a connection, not only across connections).
        const appended = writes.then(() => appendRun(run, trusted));
        writes = appended.catch(() => undefined);
        tasks.push(appended.then((results) => syncAndAnswer(run, results)));
        i = j;
      } else if (op.req.op === BatchOp.Delete) {
        const done = writes.then(async () => send(op.req.id, await runOne(op, trusted)));
        writes = done.catch(() => undefined);
        tasks.push(done);
        i++;
      } else {
        tasks.push(runOne(op, trusted).then((r) => send(op.req.id, r)));
        i++;
      }
    }
    await Promise.all(tasks);
  }

  /** Appends a run of PUTs with one write; the result of each, OK until it is made durable. */
  async function appendRun(run: Op[], trusted: TrustedKey): Promise<Result[]> {
    const results: Result[] = run.map(() => OK);
    const records: Array<{ shardId: string; seg: number; data: Buffer[]; leaf?: Buffer }> = [];
    const index: number[] = [];
    for (const [k, op] of run.entries()) {
      try {
        authorize(trusted, op.name);
        const shardId = shardIdChecked(op.req);
        records.push(op.req.flags & FLAG_LEAF ? { shardId, seg: op.req.seg, ...splitLeaf(op.data) } : { shardId, seg: op.req.seg, data: op.data });
        index.push(k);
      } catch (err) {
        results[k] = resultOf(err);
      }
    }
    if (records.length) {
      const outcomes = await ctx.store.appendRecords(records).catch((err: unknown) => records.map(() => err as Error));
      outcomes.forEach((err, n) => {
        if (err) results[index[n]!] = resultOf(err);
      });
    }
    return results;
  }

  async function syncAndAnswer(run: Op[], results: Result[]): Promise<void> {
    // Durable before answered: one fdatasync after these appends (and every earlier one), shared with other connections.
    if (run.some((o, k) => o.req.flags & FLAG_SYNC && results[k] === OK)) {
      const failed = await ctx.store.sync().then(() => null, (err: unknown) => resultOf(err));
      if (failed) run.forEach((o, k) => results[k] === OK && o.req.flags & FLAG_SYNC && (results[k] = failed));
    }
    run.forEach((o, k) => send(o.req.id, results[k]!));
  }

  async function runOne(op: Op, trusted: TrustedKey): Promise<Result> {
    try {
      authorize(trusted, op.name);
      const r = op.req;
      const shardId = shardIdChecked(r);
      switch (r.op) {
        case BatchOp.Get: {
          let whole: Buffer | undefined;
          const rec = await ctx.store.readRecord(shardId, r.seg, r.offset, r.length, (n) => (whole = readBuffers.take(n)));
          if (!rec) return text(BatchStatus.NotFound, `no record ${r.seg} of ${shardId}`);
          // The record is a view past the needle's header: giving it back gives back the whole.
          if (whole) readBuffers.alias(rec, whole);
          if (!ctx.lieOnRead) return { status: BatchStatus.Ok, payload: rec, pooled: true };
          const forged = Buffer.from(rec);
          forgeRecord(forged);
          return { status: BatchStatus.Ok, payload: forged };
        }
        case BatchOp.Delete:
          await ctx.store.delete(shardId);
          return OK;
        case BatchOp.Head: {
          const size = await ctx.store.size(shardId);
          if (size === null) return text(BatchStatus.NotFound, `no shard ${shardId}`);
          const payload = Buffer.alloc(8);
          payload.writeBigUInt64LE(BigInt(size));
          return { status: BatchStatus.Ok, payload };
        }
        default:
          return text(BatchStatus.BadRequest, `unknown operation ${r.op}`);
      }
    } catch (err) {
      return resultOf(err);
    }
  }
}

const OK: Result = { status: BatchStatus.Ok, payload: EMPTY };

function shardIdChecked(r: BatchRequest): string {
  if (r.piece > 99) throw new RequestError(400, 'ERR_BAD_SHARD_ID', `piece index ${r.piece} is out of range`);
  return shardIdOf(r.blob, r.piece);
}

/** A FLAG_LEAF PUT's data: the leaf it starts with (a copy), and the record after it (views). */
export function splitLeaf(data: Buffer[]): { leaf: Buffer; data: Buffer[] } {
  const leaf = Buffer.allocUnsafe(LEAF_BYTES);
  let filled = 0;
  let i = 0;
  let rest: Buffer[] = [];
  for (; i < data.length && filled < LEAF_BYTES; i++) {
    const b = data[i]!;
    const n = Math.min(b.length, LEAF_BYTES - filled);
    b.copy(leaf, filled, 0, n);
    filled += n;
    if (n < b.length) rest.push(b.subarray(n));
  }
  if (filled < LEAF_BYTES) throw new FrameError(`a PUT flagged with a leaf has ${filled} data bytes, under the ${LEAF_BYTES} of its leaf`);
  rest = rest.concat(data.slice(i));
  return { leaf, data: rest };
}

function resultOf(err: unknown): Result {
  if (err instanceof StoreFullError) return text(BatchStatus.Full, err.message);
  if (err instanceof CorruptNeedleError) return text(BatchStatus.Corrupt, err.message);
  if (err instanceof ForbiddenError) return text(BatchStatus.Forbidden, err.message);
  if (err instanceof RangeError || err instanceof FrameError) return text(BatchStatus.BadRequest, err.message);
  if (err instanceof RequestError) return text(BatchStatus.BadRequest, `${err.code}: ${err.message}`);
  return text(BatchStatus.Error, 'internal error');
}

function text(status: BatchStatus, message: string): Result {
  return { status, payload: Buffer.from(message.slice(0, 500), 'utf8') };
}
