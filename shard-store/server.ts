import { once } from 'node:events';
import { constants as cryptoConstants } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { PIECE_PROTOCOLS } from './batch-frames.js';
import { ChannelBook, routeByFirstBytes } from './channel-book.js';
import { PIECE_PROTOCOL_CHANNEL } from './piece-channel.js';
import { servePieceStream, type PieceStream } from './batch.js';
import type { TlsIdentity } from '../wire/identity.js';
import { ForbiddenError, RequestError, StoreFullError, UnauthenticatedError } from './errors.js';
import { CorruptNeedleError } from './volume/volume-store.js';
import {
  handleChallenge, handleDeletePiece, handleGetPiece, handleHeadPiece, handleListPieces, handleSetMonitorKeys, handleStatus, handleTrustKey,
  sendJson, type HandlerCtx,
} from './handlers.js';
import type { ShardStoreErrorBody } from './protocol.js';
import { parseRoute, type Route } from './routes.js';
import { loadRecoveryKeys } from './recovery-keys.js';
import { loadMonitorKeys } from './monitor-keys.js';
import { ShardStore } from './pieces.js';
import { authorize, PeerTrust, type TrustedKey } from './peers.js';
import { loadOrCreateStoreIdentity } from './identity.js';
import { lieOnReadFromEnv } from './test-liar.js';
import { packageVersion } from './version.js';

export interface ShardStoreServerOptions {
  id: string;
  /** Data directory; ignored when `store` is given. */
  dir: string;
  /** Client keys served (the gateway's); recovery keys the gateway registers are added from the data folder. */
  trustedKeys: readonly TrustedKey[];
  /** This store's TLS key and certificate; default: made on first start in the data folder. */
  identity?: TlsIdentity;
  zone?: string;
  /** Loopback by default: exposing a store is a deliberate choice. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  capacityBytes?: number;
  /** An already open store (tests open one themselves to look inside). */
  store?: ShardStore;
  /**
   * Test only: answer audit challenges with damaged records, as a store that lost data and
   * guesses would. Default: SHARDGATE_TEST_LIE_ON_CHALLENGE=1 in the environment.
   */
  lieOnChallenge?: boolean;
  /** Test only: answer ranged reads with forged records. Default: SHARDGATE_TEST_LIE_ON_READ=1. */
  lieOnRead?: boolean;
  /** Where unexpected errors are reported; default stderr. */
  log?: (line: string) => void;
}

export interface ShardStoreServer {
  readonly id: string;
  readonly zone: string;
  readonly host: string;
  readonly port: number;
  /** e.g. `https://127.0.0.1:41234` */
  readonly url: string;
  /** The fingerprint of this store's TLS key, which the gateway pins. */
  readonly fingerprint: string;
  readonly store: ShardStore;
  readonly server: Server;
  /** Stop accepting, let in-flight requests finish for up to `graceMs`, then cut what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Idle keep-alive connections live this long; the gateway's pools reuse them between bursts. */
const KEEP_ALIVE_MS = 60_000;
/** A connection with no byte moving for this long is dropped (a stalled uploader holds a temp file). */
const SOCKET_IDLE_MS = 120_000;
const DEFAULT_GRACE_MS = 10_000;

/** Start a shard-store HTTPS server in this process (the CLI and tests both use it). */
export async function startShardStoreServer(opts: ShardStoreServerOptions): Promise<ShardStoreServer> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const store = opts.store ?? (await ShardStore.open({ dir: opts.dir, capacityBytes: opts.capacityBytes, log }));
  const identity = opts.identity ?? (await loadOrCreateStoreIdentity(store.dir, opts.id));
  const trust = new PeerTrust([...opts.trustedKeys, ...(await loadRecoveryKeys(store.dir))]);
  trust.setMonitorKeys(await loadMonitorKeys(store.dir));
  const zone = opts.zone ?? 'zone-1';
  const lieOnChallenge = opts.lieOnChallenge ?? process.env.SHARDGATE_TEST_LIE_ON_CHALLENGE === '1';
  const lieOnRead = opts.lieOnRead ?? lieOnReadFromEnv();
  const base = {
    store, storeId: opts.id, zone, version: packageVersion(), startedAt: Date.now(), lieOnChallenge, lieOnRead,
    trustKey: (key: TrustedKey) => trust.addKey(key),
    setMonitorKeys: (keys: readonly TrustedKey[]) => trust.setMonitorKeys(keys),
  };
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  // The HTTP side (status, audits, tools): fed the TLS connections that did not ask for the piece protocol.
  const server = createHttpServer(
    { keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0, headersTimeout: 30_000 },
    (req, res) => {
      inFlight++;
      if (closing) res.setHeader('connection', 'close');
      res.once('close', () => {
        inFlight--;
        if (closing && inFlight === 0) drained?.();
      });
      void handle(req, res);
    },
  );
  server.setTimeout(SOCKET_IDLE_MS);

  // TLS on the store's one port. Every client proves its key in the handshake (judged by
  // PeerTrust: keys are pinned, not issued by a CA; no session tickets, so every connection
  // does a full handshake). A client that asks for the piece protocol (ALPN) gets it on that
  // connection; others get HTTP. With `sgpiece/3` it may then open the connection's piece channel.
  const pieceSockets = new Map<Socket, PieceStream>();
  const httpSockets = new Set<TLSSocket>();
  const tlsServer = createTlsServer({
    key: identity.key, cert: identity.cert, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false,
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET, ALPNProtocols: [...PIECE_PROTOCOLS, 'http/1.1'],
  }, (socket) => {
    socket.setNoDelay(true);
    if (!PIECE_PROTOCOLS.includes(socket.alpnProtocol || '')) {
      // The HTTP server never listens itself, so it does not track these: we do, to close them.
      httpSockets.add(socket);
      socket.once('close', () => httpSockets.delete(socket));
      server.emit('connection', socket);
      return;
    }
    if (closing) return void socket.destroy();
    let peer: TrustedKey | Error;
    try {
      peer = trust.authenticate(socket);
    } catch (err) {
      // Answered, not dropped: the client learns it is refused, and why.
      peer = err as Error;
    }
    socket.once('close', () => pieceSockets.delete(socket));
    socket.setTimeout(SOCKET_IDLE_MS, () => socket.destroy());
    if (socket.alpnProtocol === PIECE_PROTOCOL_CHANNEL && !(peer instanceof Error)) channels.offer(socket, peer);
    pieceSockets.set(socket, servePieceStream(socket, peer, { store, lieOnRead, log }));
  });
  tlsServer.on('tlsClientError', () => undefined);

  // The one port: TLS goes to the TLS server, and a piece channel (piece-channel.ts) to the
  // piece stream of the TLS connection that opened it, with that connection's peer.
  const channels = new ChannelBook();
  // Connections whose first bytes have not come yet: cut at close like the others.
  const unrouted = new Set<Socket>();
  const front = createNetServer((raw) => {
    if (closing) return void raw.destroy();
    unrouted.add(raw);
    raw.once('close', () => unrouted.delete(raw));
    routeByFirstBytes(raw, {
      tls: (sock) => {
        unrouted.delete(sock);
        tlsServer.emit('connection', sock);
      },
      channel: (sock, id) => {
        unrouted.delete(sock);
        serveChannel(sock, id);
      },
    });
  });
  /** A piece channel's connection: served as the piece stream of the TLS connection that opened it, or closed. */
  const serveChannel = (sock: Socket, id: Buffer): void => {
    const ch = closing ? undefined : channels.claim(id, sock);
    if (!ch) return void sock.destroy();
    sock.setNoDelay(true);
    sock.setTimeout(SOCKET_IDLE_MS, () => sock.destroy());
    sock.once('close', () => pieceSockets.delete(sock));
    pieceSockets.set(sock, servePieceStream(sock, ch.peer, { store, lieOnRead, log, channel: ch.secrets }));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const route = parseRoute(req.method, req.url);
      const peer = trust.authenticate(req.socket as TLSSocket);
      authorize(peer, route.op);
      await dispatch(route, { ...base, req, res, peer });
    } catch (err) {
      sendError(req, res, err, log);
    }
  }

  front.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  await once(front, 'listening');
  const { address, port } = front.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    id: opts.id,
    zone,
    host: address,
    port,
    url: `https://${host}:${port}`,
    fingerprint: identity.fingerprint,
    store,
    server,
    async close(graceMs = DEFAULT_GRACE_MS) {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      // Let what was received be answered, for up to the grace period: HTTP requests in
      // flight, and operations on piece connections.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      const httpDone = inFlight > 0 ? new Promise<void>((resolve) => (drained = resolve)) : Promise.resolve();
      await Promise.race([Promise.all([httpDone, ...[...pieceSockets.values()].map((p) => p.idle())]), grace]);
      clearTimeout(timer);
      for (const sock of [...unrouted, ...httpSockets, ...pieceSockets.keys()]) sock.destroy();
      await closed;
      // A store opened here is ours to close: pending appends synced, the index closed.
      if (!opts.store) await store.close();
    },
  };
}

async function dispatch(route: Route, ctx: HandlerCtx): Promise<void> {
  switch (route.kind) {
    case 'GetPiece': return handleGetPiece(ctx, route.shardId);
    case 'HeadPiece': return handleHeadPiece(ctx, route.shardId);
    case 'DeletePiece': return handleDeletePiece(ctx, route.shardId);
    case 'Challenge': return handleChallenge(ctx);
    case 'ListPieces': return handleListPieces(ctx);
    case 'TrustKey': return handleTrustKey(ctx);
    case 'SetMonitorKeys': return handleSetMonitorKeys(ctx);
    case 'Status': return handleStatus(ctx);
    default: return assertNever(route);
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled route ${JSON.stringify(x)}`);
}

/** HTTP status and stable code of any error a handler throws; unknown errors are 500. */
export function statusOf(err: unknown): { status: number; code: string } {
  if (err instanceof RequestError) return { status: err.status, code: err.code };
  if (err instanceof UnauthenticatedError) return { status: 401, code: err.code };
  if (err instanceof ForbiddenError) return { status: 403, code: err.code };
  if (err instanceof StoreFullError) return { status: 507, code: err.code };
  // The store found its own copy rotten: as good as not held; the gateway rebuilds it.
  if (err instanceof CorruptNeedleError) return { status: 404, code: err.code };
  return { status: 500, code: 'ERR_INTERNAL' };
}

function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, log: (line: string) => void): void {
  if (req.destroyed && !req.complete) return; // the client went away mid-request: nobody to answer
  const { status, code } = statusOf(err);
  if (status >= 500 && status !== 507) log(`shard-store: ${req.method} ${req.url?.slice(0, 120)}: ${(err as Error).stack ?? String(err)}`);
  if (res.headersSent) {
    // Mid-body failure: cutting the connection is the only way to tell the client the body is short.
    res.destroy();
    return;
  }
  // An unread request body would otherwise be drained before the connection could be reused.
  if (!req.complete) res.setHeader('connection', 'close');
  if (req.method === 'HEAD') {
    res.writeHead(status).end();
    return;
  }
  const message = status >= 500 && status !== 507 ? 'internal error' : (err as Error).message;
  const body: ShardStoreErrorBody = { error: code, message };
  sendJson(res, status, body);
}
