import { once } from 'node:events';
import { constants as cryptoConstants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TlsIdentity } from '../wire/identity.js';
import { ForbiddenError, RequestError, StoreFullError, UnauthenticatedError } from './errors.js';
import {
  handleChallenge, handleDeletePiece, handleGetPiece, handleHeadPiece, handleListPieces, handlePutPiece, handleStatus, handleTrustKey,
  sendJson, type HandlerCtx,
} from './handlers.js';
import type { ShardStoreErrorBody } from './protocol.js';
import { parseRoute, type Route } from './routes.js';
import { loadRecoveryKeys } from './recovery-keys.js';
import { PieceStore } from './store.js';
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
  /** An already open store (tests use a subclass to simulate a full disk). */
  store?: PieceStore;
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

/** Start a shard-store HTTPS server in this process (the CLI and tests both use it). */
export async function startShardStoreServer(opts: ShardStoreServerOptions): Promise<ShardStoreServer> {
  const store = opts.store ?? (await PieceStore.open({ dir: opts.dir, capacityBytes: opts.capacityBytes }));
  const identity = opts.identity ?? (await loadOrCreateStoreIdentity(store.dir, opts.id));
  const trust = new PeerTrust([...opts.trustedKeys, ...(await loadRecoveryKeys(store.dir))]);
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const zone = opts.zone ?? 'zone-1';
  const lieOnChallenge = opts.lieOnChallenge ?? process.env.SHARDGATE_TEST_LIE_ON_CHALLENGE === '1';
  const lieOnRead = opts.lieOnRead ?? lieOnReadFromEnv();
  const base = {
    store, storeId: opts.id, zone, version: packageVersion(), startedAt: Date.now(), lieOnChallenge, lieOnRead,
    trustKey: (key: TrustedKey) => trust.addKey(key),
  };
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const server = createServer(
    {
      // Uploads are long streams; the idle timeout below, not a whole-request deadline, catches stalls.
      keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0, headersTimeout: 30_000, noDelay: true,
      key: identity.key, cert: identity.cert, minVersion: 'TLSv1.3',
      // Ask every client for its certificate and judge its key ourselves (PeerTrust): the
      // keys are pinned, not issued by a CA. No session tickets, so every connection proves
      // its key in a full handshake.
      requestCert: true, rejectUnauthorized: false, secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
    },
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
      const peer = trust.authenticate(req.socket as TLSSocket);
      authorize(peer, route.op);
      await dispatch(route, { ...base, req, res, peer });
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
    url: `https://${host}:${port}`,
    fingerprint: identity.fingerprint,
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
  if (err instanceof UnauthenticatedError) return { status: 401, code: err.code };
  if (err instanceof ForbiddenError) return { status: 403, code: err.code };
  if (err instanceof StoreFullError) return { status: 507, code: err.code };
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
