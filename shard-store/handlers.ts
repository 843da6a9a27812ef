import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { answerAuditChallenge, answerChallenge, parseAuditChallenge, parseChallenge } from './challenge.js';
import { RequestError } from './errors.js';
import { addRecoveryKey } from './recovery-keys.js';
import { STORED_LENGTH_HEADER, type ChallengeResponse, type ListPiecesResponse, type ShardStoreStatus } from './protocol.js';
import { parseRange } from './routes.js';
import type { PieceStore } from './store.js';
import type { TrustedKey } from './peers.js';
import { forgeRecord } from './test-liar.js';

/** What every handler gets; the peer is already authenticated and allowed the route's op. */
export interface HandlerCtx {
  req: IncomingMessage;
  res: ServerResponse;
  store: PieceStore;
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
}

/** Ranges up to this size are read into one buffer and sent in one write: the common piece-record read. */
const SMALL_READ_BYTES = 1024 * 1024;
const MAX_JSON_BODY = 64 * 1024;

/** PUT /pieces/{id}: 201 only once the piece is durable under its name. */
export async function handlePutPiece(ctx: HandlerCtx, shardId: string): Promise<void> {
  const declared = ctx.req.headers['content-length'];
  const length = await ctx.store.put(shardId, ctx.req, declared === undefined ? undefined : Number(declared));
  ctx.res.writeHead(201, { [STORED_LENGTH_HEADER]: String(length), 'content-length': '0' }).end();
}

/** GET /pieces/{id}, whole (200) or one range (206). */
export async function handleGetPiece(ctx: HandlerCtx, shardId: string): Promise<void> {
  const piece = await ctx.store.openRead(shardId);
  if (!piece) throw notFound(shardId);
  let closeFh = true;
  try {
    const range = parseRange(ctx.req.headers.range, piece.size);
    const start = range?.start ?? 0;
    const length = range ? range.end - range.start + 1 : piece.size;
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(length),
      'accept-ranges': 'bytes',
    };
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${piece.size}`;
    const status = range ? 206 : 200;
    const lie = ctx.lieOnRead && range !== null;
    if (length <= SMALL_READ_BYTES || lie) {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await piece.fh.read(buf, got, length - got, start + got);
        if (bytesRead === 0) throw new Error(`piece ${shardId} ended early at ${start + got}`);
        got += bytesRead;
      }
      if (lie) forgeRecord(buf);
      ctx.res.writeHead(status, headers).end(buf);
      return;
    }
    ctx.res.writeHead(status, headers);
    closeFh = false; // the stream owns the handle now and closes it on end or error
    await pipeline(piece.fh.createReadStream({ start, end: start + length - 1, highWaterMark: 256 * 1024 }), ctx.res);
  } finally {
    if (closeFh) await piece.fh.close();
  }
}

/** HEAD /pieces/{id}: the piece's size as Content-Length. */
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

/** POST /challenge: prove the store holds the bytes of some ranges of a piece. */
export async function handleChallenge(ctx: HandlerCtx): Promise<void> {
  const json = await readJson(ctx.req);
  if (typeof json === 'object' && json !== null && 'indices' in json) return handleAuditChallenge(ctx, json as Record<string, unknown>);
  const challenge = parseChallenge(json);
  const piece = await ctx.store.openRead(challenge.shardId);
  if (!piece) throw notFound(challenge.shardId);
  try {
    const body: ChallengeResponse = { proofs: await answerChallenge(piece, challenge) };
    sendJson(ctx.res, 200, body);
  } finally {
    await piece.fh.close();
  }
}

/** POST /challenge with `indices`: records and their hash-tree proofs (audits). */
async function handleAuditChallenge(ctx: HandlerCtx, json: Record<string, unknown>): Promise<void> {
  const challenge = parseAuditChallenge(json);
  const piece = await ctx.store.openRead(challenge.shardId);
  if (!piece) throw notFound(challenge.shardId);
  try {
    sendJson(ctx.res, 200, await answerAuditChallenge(ctx.store.pathOf(challenge.shardId), piece, challenge, ctx.lieOnChallenge));
  } finally {
    await piece.fh.close();
  }
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
