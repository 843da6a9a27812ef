import { randomBytes } from 'node:crypto';
import { Pool, type Dispatcher } from 'undici';
import type { JWK } from 'jose';
import {
  isShardId, type AuditChallengeResponse, type ListPiecesResponse, type ShardStoreErrorBody, type ShardStoreStatus,
} from '../../shard-store/protocol.js';
import type { TlsIdentity } from '../../wire/identity.js';
import { ShardProtocolError, ShardStoreError, ShardTimeoutError, fromStatus, fromTransportError } from './errors.js';
import { StoreLink, type LinkOptions, type ReadSink } from './link.js';
import { connectPinned, openPieceChannel, pinnedConnector, type PinBook } from './pins.js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { PIECE_PROTOCOLS } from '../../shard-store/batch-frames.js';
import { BatchShardWriter, type ShardWriter } from './writer.js';
import type { CancelSignal } from './cancel.js';

/** A shard-store as the gateway addresses it. */
export interface ShardNode {
  id: string;
  /** Base URL, e.g. `https://10.0.0.7:7401`. */
  url: string;
  zone: string;
}

export interface ShardClientOptions {
  /** The key this client proves to the stores: the gateway's, or the recovery key. */
  identity: TlsIdentity;
  /** The store keys this client accepts, by node id (and where it learns new ones). */
  pins: PinBook;
  /** Connections per store: each holds one batch (or one other request) at a time. */
  connections?: number;
  connectTimeoutMs?: number;
  /** How piece operations are batched per store (link.ts). */
  link?: LinkOptions;
}

export interface CallOptions {
  signal?: CancelSignal;
  timeoutMs?: number;
}

export type { ShardWriter };

const DEFAULT_CONNECTIONS = 8;

/**
 * SHARDGATE_PIECE_CHANNEL: `on` (default), large piece reads and writes travel over the piece
 * channel, tagged but not encrypted (shard-store/piece-channel.ts); `off`, everything stays
 * in TLS, which also hides from the network which pieces are read and written.
 */
export function pieceChannelFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.SHARDGATE_PIECE_CHANNEL ?? 'on').trim().toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new Error(`SHARDGATE_PIECE_CHANNEL must be "on" or "off", not ${JSON.stringify(env.SHARDGATE_PIECE_CHANNEL)}`);
}
const DEFAULT_READ_TIMEOUT_MS = 30_000;
const DEFAULT_SMALL_TIMEOUT_MS = 10_000;
const DEFAULT_LIST_TIMEOUT_MS = 60_000;
/** Bounds on what an (untrusted) store may make us buffer. */
const MAX_ERROR_BODY_BYTES = 4 * 1024;
const MAX_JSON_BODY_BYTES = 64 * 1024;
/** 16 records of at most 8 MiB, base64, with their proofs. */
const MAX_CHALLENGE_ANSWER_BYTES = 180 * 1024 * 1024;
/** Shard ids are 35 characters: a few million of them. */
const MAX_LIST_ANSWER_BYTES = 256 * 1024 * 1024;
/** undici's own timers only back ours up, for a request whose deadline we failed to arm. */
const BACKSTOP_TIMEOUT_MS = 10 * 60_000;

interface PoolEntry {
  url: string;
  pool: Pool;
  link: StoreLink;
}

/**
 * The gateway's one client for the shard-store protocol: one keep-alive pool of mutually
 * authenticated TLS connections per store (the store's key pinned, ours proved in each
 * handshake, nothing replayable on the wire), deadlines on every call, and every failure
 * turned into a ShardStoreError naming the store.
 */
export class ShardClient {
  private readonly pools = new Map<string, PoolEntry>();
  private readonly identity: TlsIdentity;
  private readonly pins: PinBook;
  private readonly connections: number;
  private readonly connectTimeoutMs: number;
  private readonly linkOptions: LinkOptions;

  constructor(opts: ShardClientOptions) {
    this.identity = opts.identity;
    this.pins = opts.pins;
    this.connections = opts.connections ?? DEFAULT_CONNECTIONS;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    this.linkOptions = { pieceChannel: pieceChannelFromEnv(), ...opts.link };
  }

  /** Piece operations sent to every store, the TLS writes (batches) they travelled in, and those sent over piece channels. */
  pieceStats(): { ops: number; batches: number; channelOps: number } {
    let ops = 0;
    let batches = 0;
    let channelOps = 0;
    for (const e of this.pools.values()) {
      const st = e.link.stats;
      ops += st.ops;
      batches += st.writes;
      channelOps += st.channelOps;
    }
    return { ops, batches, channelOps };
  }

  /** Write a shard record by record over the batched protocol; see ShardWriter. Throws only on a malformed id. */
  openShardWriter(node: ShardNode, shardId: string): ShardWriter {
    checkShardId(node, shardId);
    return new BatchShardWriter(this.entry(node).link, shardId);
  }

  /**
   * Record `seg` of a shard (`length` bytes at `offset` of the shard), over the batched
   * protocol: reads of many pieces from one store share requests.
   */
  async readRecord(node: ShardNode, shardId: string, seg: number, offset: number, length: number, opts: CallOptions = {}): Promise<Buffer> {
    checkShardId(node, shardId);
    if (length === 0) return Buffer.alloc(0);
    return this.entry(node).link.get(shardId, seg, offset, length, opts.signal);
  }

  /** `length` bytes of a shard from `offset`; the store must hold all of them. */
  async readRange(node: ShardNode, shardId: string, offset: number, length: number, opts: CallOptions = {}): Promise<Buffer> {
    checkShardId(node, shardId);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`bad range ${offset}+${length}`);
    }
    if (length === 0) return Buffer.alloc(0);
    const what = `GET ${shardId} ${offset}+${length}`;
    const last = offset + length - 1;
    return this.call(node, what, {
      method: 'GET', path: piecePath(shardId), headers: { range: `bytes=${offset}-${last}` },
    }, opts.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS, opts.signal, async (res) => {
      if (res.statusCode !== 206) throw await statusError(node, res, what);
      const contentRange = String(res.headers['content-range'] ?? '');
      if (!contentRange.startsWith(`bytes ${offset}-${last}/`)) {
        await res.body.dump();
        throw new ShardProtocolError(node.id, `${what}: store answered range "${contentRange}" (shard shorter than expected?)`, { status: 206 });
      }
      const out = Buffer.allocUnsafe(length);
      let got = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (got + chunk.length > length) throw new ShardProtocolError(node.id, `${what}: store sent more bytes than asked`);
        chunk.copy(out, got);
        got += chunk.length;
      }
      if (got !== length) throw new ShardProtocolError(node.id, `${what}: store sent ${got} bytes`);
      return out;
    });
  }

  /** The shard's size, or null when the store does not hold it. */
  async head(node: ShardNode, shardId: string, opts: CallOptions = {}): Promise<{ size: number } | null> {
    checkShardId(node, shardId);
    const what = `HEAD ${shardId}`;
    return this.call(node, what, { method: 'HEAD', path: piecePath(shardId) },
      opts.timeoutMs ?? DEFAULT_SMALL_TIMEOUT_MS, opts.signal, async (res) => {
        await res.body.dump();
        if (res.statusCode === 404) return null;
        if (res.statusCode !== 200) throw fromStatus(node.id, res.statusCode, what);
        const size = Number(res.headers['content-length']);
        if (!Number.isSafeInteger(size)) throw new ShardProtocolError(node.id, `${what}: no Content-Length`);
        return { size };
      });
  }

  /** Remove a shard; succeeds whether or not the store held it. Deletes to one store share requests. */
  async deleteShard(node: ShardNode, shardId: string, opts: CallOptions = {}): Promise<void> {
    checkShardId(node, shardId);
    const signal = opts.signal ?? AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_SMALL_TIMEOUT_MS);
    await this.entry(node).link.delete(shardId, signal);
  }

  /** The store's identity, capacity and usage. */
  async status(node: ShardNode, opts: CallOptions = {}): Promise<ShardStoreStatus> {
    const what = 'GET /status';
    return this.call(node, what, { method: 'GET', path: '/status' },
      opts.timeoutMs ?? DEFAULT_SMALL_TIMEOUT_MS, opts.signal, async (res) => {
        if (res.statusCode !== 200) throw await statusError(node, res, what);
        const body = await readJson(node, res, what) as Partial<ShardStoreStatus>;
        if (typeof body.id !== 'string' || typeof body.capacityBytes !== 'number' || typeof body.freeBytes !== 'number') {
          throw new ShardProtocolError(node.id, `${what}: not a status document`);
        }
        return body as ShardStoreStatus;
      });
  }

  /**
   * An audit challenge: records `indices` of a shard file cut in records of `recordSize`
   * bytes, each with its hash-tree proof (shard-store/merkle.ts). Only the shape of the
   * answer is checked here; the caller proves it against the root it kept.
   */
  async auditChallenge(
    node: ShardNode, shardId: string, recordSize: number, indices: readonly number[], opts: CallOptions = {},
  ): Promise<AuditChallengeResponse> {
    checkShardId(node, shardId);
    const what = `POST /challenge ${shardId} records ${indices.join(',')}`;
    const body = JSON.stringify({ shardId, nonce: randomBytes(16).toString('hex'), recordSize, indices });
    return this.call(node, what, {
      method: 'POST', path: '/challenge', headers: { 'content-type': 'application/json' }, body,
    }, opts.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS, opts.signal, async (res) => {
      if (res.statusCode !== 200) throw await statusError(node, res, what);
      const answer = await readJson(node, res, what, MAX_CHALLENGE_ANSWER_BYTES) as Partial<AuditChallengeResponse> | null;
      const records = answer?.records;
      if (!Number.isSafeInteger(answer?.leafCount) || !Array.isArray(records) || records.length !== indices.length ||
        !records.every((r, i) => r?.index === indices[i] && typeof r.data === 'string' && Array.isArray(r.proof) && r.proof.every((h) => typeof h === 'string'))) {
        throw new ShardProtocolError(node.id, `${what}: malformed answer`);
      }
      return answer as AuditChallengeResponse;
    });
  }

  /** Every shard id the store holds (recovery compares them with the metadata). */
  async listPieces(node: ShardNode, opts: CallOptions = {}): Promise<string[]> {
    const what = 'GET /pieces';
    return this.call(node, what, { method: 'GET', path: '/pieces' }, opts.timeoutMs ?? DEFAULT_LIST_TIMEOUT_MS, opts.signal, async (res) => {
      if (res.statusCode !== 200) throw await statusError(node, res, what);
      const { shards } = await readJson(node, res, what, MAX_LIST_ANSWER_BYTES) as Partial<ListPiecesResponse>;
      if (!Array.isArray(shards) || !shards.every(isShardId)) throw new ShardProtocolError(node.id, `${what}: not a list of shard ids`);
      return shards;
    });
  }

  /** Register a read-only recovery key with the store (POST /trusted-keys). */
  async trustKey(node: ShardNode, jwk: JWK, opts: CallOptions = {}): Promise<void> {
    const what = 'POST /trusted-keys';
    await this.call(node, what, {
      method: 'POST', path: '/trusted-keys', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jwk }),
    }, opts.timeoutMs ?? DEFAULT_SMALL_TIMEOUT_MS, opts.signal, async (res) => {
      if (res.statusCode !== 200) throw await statusError(node, res, what);
      await res.body.dump();
    });
  }

  /** List the independent monitors' keys the store serves (PUT /monitor-keys, the whole set). */
  async setMonitorKeys(node: ShardNode, keys: readonly JWK[], opts: CallOptions = {}): Promise<void> {
    const what = 'PUT /monitor-keys';
    await this.call(node, what, {
      method: 'PUT', path: '/monitor-keys', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys }),
    }, opts.timeoutMs ?? DEFAULT_SMALL_TIMEOUT_MS, opts.signal, async (res) => {
      if (res.statusCode !== 200) throw await statusError(node, res, what);
      await res.body.dump();
    });
  }

  /** Drop the pool of a store that left the cluster. */
  async forget(nodeId: string): Promise<void> {
    const entry = this.pools.get(nodeId);
    this.pools.delete(nodeId);
    entry?.link.close(new ShardStoreError(nodeId, `shard-store ${nodeId} left the cluster`));
    await entry?.pool.destroy();
  }

  /** Close every pool; in-flight requests fail. */
  async close(): Promise<void> {
    const entries = [...this.pools.values()];
    this.pools.clear();
    for (const e of entries) e.link.close(new ShardStoreError('-', 'the shard-store client is closed'));
    await Promise.all(entries.map((e) => e.pool.destroy()));
  }

  private pool(node: ShardNode): Pool {
    return this.entry(node).pool;
  }

  private entry(node: ShardNode): PoolEntry {
    const entry = this.pools.get(node.id);
    if (entry && entry.url === node.url) return entry;
    // The store moved: the old address's connections are of no further use.
    if (entry) {
      entry.link.close(new ShardStoreError(node.id, `shard-store ${node.id} moved to ${node.url}`));
      void entry.pool.destroy().catch(() => undefined);
    }
    const pool = new Pool(node.url, {
      connect: pinnedConnector(node.id, this.identity, this.pins, this.connectTimeoutMs),
      connections: this.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      connectTimeout: this.connectTimeoutMs,
      headersTimeout: BACKSTOP_TIMEOUT_MS,
      bodyTimeout: BACKSTOP_TIMEOUT_MS,
    });
    const connect = (sink: ReadSink): Promise<TLSSocket> => connectPinned(node.id, node.url, this.identity, this.pins, this.connectTimeoutMs, PIECE_PROTOCOLS, sink);
    const openChannel = (id: Buffer, sink: ReadSink): Promise<Socket> => openPieceChannel(node.id, node.url, id, this.connectTimeoutMs, sink);
    const created: PoolEntry = { url: node.url, pool, link: new StoreLink(node.id, connect, this.linkOptions, openChannel) };
    this.pools.set(node.id, created);
    return created;
  }

  /**
   * One request with a deadline covering connect, answer and body. The caller's signal
   * cancels it with the caller's reason; our deadline turns into a ShardTimeoutError.
   */
  private async call<T>(
    node: ShardNode, what: string,
    init: { method: Dispatcher.HttpMethod; path: string; headers?: Record<string, string>; body?: string },
    timeoutMs: number, signal: CancelSignal | undefined, onResponse: (res: Dispatcher.ResponseData) => Promise<T>,
  ): Promise<T> {
    signal?.throwIfAborted();
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort(new ShardTimeoutError(node.id, `${what} on shard-store ${node.id}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = () => ac.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await this.pool(node).request({ ...init, signal: ac.signal });
      try {
        return await onResponse(res);
      } catch (err) {
        // A half-read body would otherwise hold the connection.
        res.body.destroy();
        throw err;
      }
    } catch (err) {
      if (timedOut) throw new ShardTimeoutError(node.id, `${what} on shard-store ${node.id}: no answer within ${timeoutMs} ms`, { cause: err });
      if (signal?.aborted) throw signal.reason;
      throw err instanceof ShardStoreError ? err : fromTransportError(node.id, err, what);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

function piecePath(shardId: string): string {
  return `/pieces/${shardId}`;
}

function checkShardId(node: ShardNode, shardId: string): void {
  if (!isShardId(shardId)) throw new ShardProtocolError(node.id, `not a shard id: ${JSON.stringify(shardId)}`);
}

/** The error for a non-success answer, with the store's own error code when it sent one. */
async function statusError(node: ShardNode, res: Dispatcher.ResponseData, what: string): Promise<ShardStoreError> {
  let detail: string | undefined;
  try {
    // Stores are untrusted: an error body is read only up to a small bound.
    const body = JSON.parse((await readCapped(res, MAX_ERROR_BODY_BYTES)).toString('utf8')) as Partial<ShardStoreErrorBody>;
    detail = typeof body.error === 'string' ? `${body.error.slice(0, 64)}: ${String(body.message).slice(0, 500)}` : undefined;
  } catch {
    // no, overlong or non-JSON body: the status says enough
  }
  return fromStatus(node.id, res.statusCode, what, detail);
}

async function readJson(node: ShardNode, res: Dispatcher.ResponseData, what: string, maxBytes = MAX_JSON_BODY_BYTES): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await readCapped(res, maxBytes);
  } catch (err) {
    throw new ShardProtocolError(node.id, `${what}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new ShardProtocolError(node.id, `${what}: body is not JSON`, { cause: err });
  }
}

/** The whole body, or an error as soon as it passes `maxBytes` (the rest is not read). */
async function readCapped(res: Dispatcher.ResponseData, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (declared > maxBytes) throw new Error(`answer of ${declared} bytes is over the ${maxBytes}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new Error(`answer is over the ${maxBytes}-byte limit`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
