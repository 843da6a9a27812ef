import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestError, StoreFullError, TokenInvalidError, TokenScopeError } from './errors.js';
import {
  handleChallenge, handleDeletePiece, handleGetPiece, handleHeadPiece, handleListPieces, handlePutPiece, handleStatus, handleTrustKey,
  sendJson, type HandlerCtx,
} from './handlers.js';
import type { ShardStoreErrorBody } from './protocol.js';
import { parseRoute, type Route } from './routes.js';
import { loadRecoveryKeys } from './recovery-keys.js';
import { errCode, PieceStore } from './store.js';
import { authorize, TokenVerifier, type TrustedKey } from './token.js';
import { packageVersion } from './version.js';

export interface ShardStoreServerOptions {
  id: string;
  /** Data directory; ignored when `store` is given. */
  dir: string;
  trustedKeys: readonly TrustedKey[];
  zone?: string;
  /** Loopback by default: exposing a store is a deliberate choice. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  capacityBytes?: number;
  /** An already open store (tests use a subclass to simulate a full disk). */
  store?: PieceStore;
  /**
   * Test only: answer audit challenges with damaged records, as a store that lost data and
   * guesses would. Default: SHARDGATE_TEST_LIE_ON_CHALLENGE=1 in the environment.
   */
  lieOnChallenge?: boolean;
  /** Where unexpected errors are reported; default stderr. */
  log?: (line: string) => void;
}

export interface ShardStoreServer {
  readonly id: string;
  readonly zone: string;
  readonly host: string;
  readonly port: number;
  /** e.g. `http://127.0.0.1:41234` */
  readonly url: string;
  readonly store: PieceStore;
  readonly server: Server;
  /** Stop accepting, let in-flight requests finish for up to `graceMs`, then cut what is left. */
  close(graceMs?: number): Promise<void>;
}

/** Idle keep-alive connections live this long; the gateway's pools reuse them between bursts. */
const KEEP_ALIVE_MS = 60_000;
/** A connection with no byte moving for this long is dropped (a stalled uploader holds a temp file). */
const SOCKET_IDLE_MS = 120_000;
const DEFAULT_GRACE_MS = 10_000;

/** Start a shard-store HTTP server in this process (the CLI and tests both use it). */
export async function startShardStoreServer(opts: ShardStoreServerOptions): Promise<ShardStoreServer> {
  const store = opts.store ?? (await PieceStore.open({ dir: opts.dir, capacityBytes: opts.capacityBytes }));
  const verifier = new TokenVerifier([...opts.trustedKeys, ...(await loadRecoveryKeys(store.dir))]);
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const zone = opts.zone ?? 'zone-1';
  const lieOnChallenge = opts.lieOnChallenge ?? process.env.SHARDGATE_TEST_LIE_ON_CHALLENGE === '1';
  const base = {
    store, storeId: opts.id, zone, version: packageVersion(), startedAt: Date.now(), lieOnChallenge,
    trustKey: (key: TrustedKey) => verifier.addKey(key),
  };
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const server = createServer(
    // Uploads are long streams; the idle timeout below, not a whole-request deadline, catches stalls.
    { keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0, headersTimeout: 30_000, noDelay: true },
    (req, res) => {
      inFlight++;
      if (closing) res.setHeader('connection', 'close');
      res.once('close', () => {
        inFlight--;
        if (closing) {
          server.closeIdleConnections();
          if (inFlight === 0) drained?.();
        }
      });
      void handle(req, res);
    },
  );
  server.setTimeout(SOCKET_IDLE_MS);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const route = parseRoute(req.method, req.url);
      const token = await verifier.authenticate(req.headers.authorization);
      authorize(token, opts.id, route.op, 'shardId' in route ? route.shardId : undefined);
      await dispatch(route, { ...base, req, res, token });
    } catch (err) {
      sendError(req, res, err, log);
    }
  }

  server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    id: opts.id,
    zone,
    host: address,
    port,
    url: `http://${host}:${port}`,
    store,
    server,
    async close(graceMs = DEFAULT_GRACE_MS) {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          drained = resolve;
          timer = setTimeout(resolve, graceMs);
        });
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

async function dispatch(route: Route, ctx: HandlerCtx): Promise<void> {
  switch (route.kind) {
    case 'PutPiece': return handlePutPiece(ctx, route.shardId);
    case 'GetPiece': return handleGetPiece(ctx, route.shardId);
    case 'HeadPiece': return handleHeadPiece(ctx, route.shardId);
    case 'DeletePiece': return handleDeletePiece(ctx, route.shardId);
    case 'Challenge': return handleChallenge(ctx);
    case 'ListPieces': return handleListPieces(ctx);
    case 'TrustKey': return handleTrustKey(ctx);
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
  if (err instanceof TokenInvalidError) return { status: 401, code: err.code };
  if (err instanceof TokenScopeError) return { status: 403, code: err.code };
  if (err instanceof StoreFullError) return { status: 507, code: err.code };
  return { status: 500, code: 'ERR_INTERNAL' };
}

function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, log: (line: string) => void): void {
  // The client went away mid-request, or its connection was cut (junk after a whole request
  // makes Node's parser drop the socket, aborting what was still being handled): nobody to answer.
  if (req.destroyed && (!req.complete || errCode(err) === 'ECONNRESET')) return;
  const { status, code } = statusOf(err);
  if (status >= 500 && status !== 507) log(`shard-store: ${req.method} ${req.url?.slice(0, 120)}: ${(err as Error).stack ?? String(err)}`);
  if (res.headersSent) {
    // Mid-body failure: cutting the connection is the only way to tell the client the body is short.
    res.destroy();
    return;
  }
  // An unread request body would otherwise be drained before the connection could be reused.
  if (!req.complete) res.setHeader('connection', 'close');
  if (status === 401) res.setHeader('www-authenticate', 'Bearer');
  if (req.method === 'HEAD') {
    res.writeHead(status).end();
    return;
  }
  const message = status >= 500 && status !== 507 ? 'internal error' : (err as Error).message;
  const body: ShardStoreErrorBody = { error: code, message };
  sendJson(res, status, body);
}
