import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerAuditChallenge, parseAuditChallenge } from './challenge.js';
import { RequestError } from './errors.js';
import { addRecoveryKey } from './recovery-keys.js';
import { saveMonitorKeys } from './monitor-keys.js';
import type { ListPiecesResponse, ShardStoreStatus } from './protocol.js';
import { parseRange } from './routes.js';
import type { ShardStore } from './pieces.js';
import type { TrustedKey } from './peers.js';
import { forgeRecord } from './test-liar.js';

/** What every handler gets; the peer is already authenticated and allowed the route's op. */
export interface HandlerCtx {
  req: IncomingMessage;
  res: ServerResponse;
  store: ShardStore;
  /** The client key this connection proved (mutual TLS). */
  peer: TrustedKey;
  storeId: string;
  zone: string;
  version: string;
  startedAt: number;
  /** Test only (SHARDGATE_TEST_LIE_ON_CHALLENGE=1): answer audit challenges with damaged records. */
  lieOnChallenge: boolean;
  /** Test only (SHARDGATE_TEST_LIE_ON_READ=1): answer ranged reads with forged records (test-liar.ts). */
  lieOnRead: boolean;
  /** Trust a recovery key registered by the gateway from now on. */
  trustKey(key: TrustedKey): void;
  /** Serve exactly these monitor keys from now on. */
  setMonitorKeys(keys: readonly TrustedKey[]): void;
}

const MAX_JSON_BODY = 64 * 1024;
/** Bytes of one GET /pieces/{id} answer: whole shards are read through it by tools, not the data path. */
const MAX_RANGE_BYTES = 64 * 1024 * 1024;

/** GET /pieces/{id}, whole (200) or one range (206). */
export async function handleGetPiece(ctx: HandlerCtx, shardId: string): Promise<void> {
  const size = await ctx.store.size(shardId);
  if (size === null) throw notFound(shardId);
  const range = parseRange(ctx.req.headers.range, size);
  const start = range?.start ?? 0;
  const length = range ? range.end - range.start + 1 : size;
  if (length > MAX_RANGE_BYTES) throw new RequestError(413, 'ERR_RANGE_TOO_LARGE', `read at most ${MAX_RANGE_BYTES} bytes at once`);
  const buf = await readRange(ctx, shardId, start, length);
  if (ctx.lieOnRead && range) forgeRecord(buf);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'content-length': String(length), 'accept-ranges': 'bytes' };
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
  ctx.res.writeHead(range ? 206 : 200, headers).end(buf);
}

async function readRange(ctx: HandlerCtx, shardId: string, offset: number, length: number): Promise<Buffer> {
  let buf: Buffer | null;
  try {
    buf = await ctx.store.readRange(shardId, offset, length);
  } catch (err) {
    if (err instanceof RangeError) throw new RequestError(416, 'ERR_RANGE_NOT_SATISFIABLE', err.message);
    throw err;
  }
  if (!buf) throw notFound(shardId);
  return buf;
}

/** HEAD /pieces/{id}: the shard's size as Content-Length. */
export async function handleHeadPiece(ctx: HandlerCtx, shardId: string): Promise<void> {
  const size = await ctx.store.size(shardId);
  if (size === null) throw notFound(shardId);
  ctx.res.writeHead(200, { 'content-length': String(size), 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' }).end();
}

/** DELETE /pieces/{id}: 204 whether or not it existed, so retries are harmless. */
export async function handleDeletePiece(ctx: HandlerCtx, shardId: string): Promise<void> {
  await ctx.store.delete(shardId);
  ctx.res.writeHead(204).end();
}

/** POST /challenge: records of a shard and their hash-tree proofs (audits). */
export async function handleChallenge(ctx: HandlerCtx): Promise<void> {
  const json = await readJson(ctx.req);
  if (typeof json !== 'object' || json === null) throw new RequestError(400, 'ERR_BAD_CHALLENGE', 'challenge must be a JSON object');
  const challenge = parseAuditChallenge(json as Record<string, unknown>);
  const answer = await answerAuditChallenge(ctx.store, challenge, ctx.lieOnChallenge);
  if (!answer) throw notFound(challenge.shardId);
  sendJson(ctx.res, 200, answer);
}

/** GET /pieces: every shard id held (recovery compares it with a metadata snapshot). */
export async function handleListPieces(ctx: HandlerCtx): Promise<void> {
  const body: ListPiecesResponse = { shards: await ctx.store.list() };
  sendJson(ctx.res, 200, body);
}

/** POST /trusted-keys: a trusted gateway registers a read-only recovery key. */
export async function handleTrustKey(ctx: HandlerCtx): Promise<void> {
  const body = await readJson(ctx.req) as { jwk?: unknown } | null;
  const key = await addRecoveryKey(ctx.store.dir, body?.jwk);
  ctx.trustKey(key);
  sendJson(ctx.res, 200, { kid: key.kid });
}

/** PUT /monitor-keys: the gateway lists the independent monitors' keys (the whole set). */
export async function handleSetMonitorKeys(ctx: HandlerCtx): Promise<void> {
  const keys = await saveMonitorKeys(ctx.store.dir, await readJson(ctx.req));
  ctx.setMonitorKeys(keys);
  sendJson(ctx.res, 200, { keys: keys.length });
}

/** GET /status: identity and health, for placement and monitoring. */
export async function handleStatus(ctx: HandlerCtx): Promise<void> {
  const { freeBytes } = await ctx.store.diskSpace();
  const body: ShardStoreStatus = {
    id: ctx.storeId,
    zone: ctx.zone,
    capacityBytes: ctx.store.capacityBytes,
    freeBytes,
    usedBytes: ctx.store.usedBytes,
    pieces: ctx.store.pieces,
    corruptRecords: ctx.store.volumes.corrupt,
    version: ctx.version,
    uptimeSeconds: Math.floor((Date.now() - ctx.startedAt) / 1000),
  };
  sendJson(ctx.res, 200, body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(text.length) }).end(text);
}

function notFound(shardId: string): RequestError {
  return new RequestError(404, 'ERR_NOT_FOUND', `no piece ${shardId}`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY) throw new RequestError(413, 'ERR_BODY_TOO_LARGE', `JSON body over ${MAX_JSON_BODY} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new RequestError(400, 'ERR_BAD_JSON', 'body is not valid JSON', { cause: err });
  }
}
