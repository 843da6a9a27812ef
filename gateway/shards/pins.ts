import { connect as netConnect, type OnReadOpts, type Socket } from 'node:net';
import type { ReadSink } from './link.js';
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import { peerFingerprint, type TlsIdentity } from '../../wire/identity.js';
import { channelHello } from '../../shard-store/piece-channel.js';
import { ShardStoreError } from './errors.js';

/**
 * The shard-store keys the gateway accepts, by node id. A store is pinned the first time
 * the gateway reaches it (trust on first use), unless the operator gave the pin with its
 * address (`id=https://host:port#sha256:...`); from then on only that key is accepted.
 * A stranger answering at a store's address therefore gets no connection; even on first
 * contact it could only act as a lying store, which the gateway already survives (pieces
 * are encrypted and checked, audits catch it), and it never sees a credential it can use
 * at the real store: the gateway's key is proved, not sent.
 */
export interface PinBook {
  pinOf(nodeId: string): string | undefined;
  /** Remember the key a store presented on first contact. */
  learn(nodeId: string, fingerprint: string): void;
}

/** Pins kept in memory only (recovery, tests); `initial` are given pins. */
export class MemoryPins implements PinBook {
  private readonly pins: Map<string, string>;

  constructor(initial: Iterable<readonly [string, string]> = []) {
    this.pins = new Map(initial);
  }

  pinOf(nodeId: string): string | undefined {
    return this.pins.get(nodeId);
  }

  learn(nodeId: string, fingerprint: string): void {
    if (!this.pins.has(nodeId)) this.pins.set(nodeId, fingerprint);
  }
}

/**
 * One TLS context per identity: building one parses the key and certificate (about 10 ms of
 * CPU), and every connection to every store would otherwise build its own.
 */
const contexts = new WeakMap<TlsIdentity, SecureContext>();
function contextOf(identity: TlsIdentity): SecureContext {
  let c = contexts.get(identity);
  if (!c) contexts.set(identity, (c = createSecureContext({ key: identity.key, cert: identity.cert, minVersion: 'TLSv1.3' })));
  return c;
}

/** A store answered with a key other than the one pinned for it. */
export class ShardIdentityError extends ShardStoreError {
  override code = 'ERR_SHARD_IDENTITY';
}

/**
 * undici's TLS connector with our identity as the client certificate and the store's key
 * checked against its pin once the handshake is done. Session resumption is off: a resumed
 * session carries no certificate to check, and connections are long-lived anyway.
 */
export function pinnedConnector(nodeId: string, identity: TlsIdentity, pins: PinBook, timeoutMs: number): buildConnector.connector {
  const base = buildConnector({
    secureContext: contextOf(identity), rejectUnauthorized: false, maxCachedSessions: 0, timeout: timeoutMs, minVersion: 'TLSv1.3',
  });
  return (opts, callback) => base(opts, (err, socket) => {
    if (err || !socket) return callback(err ?? new Error('no socket'), null);
    const refused = checkPin(nodeId, socket as TLSSocket, pins, `${opts.hostname}:${opts.port}`);
    if (refused) {
      socket.destroy();
      return callback(refused, null);
    }
    callback(null, socket);
  });
}

/** The store's key against its pin (pinning it on first contact); the error to fail with, or null. */
function checkPin(nodeId: string, socket: TLSSocket, pins: PinBook, where: string): ShardIdentityError | null {
  const presented = peerFingerprint(socket);
  const pinned = pins.pinOf(nodeId);
  if (presented === undefined || (pinned !== undefined && presented !== pinned)) {
    return new ShardIdentityError(nodeId,
      `shard-store ${nodeId} at ${where} presented key ${presented ?? '(none)'}, but the gateway pinned ${pinned}: ` +
      `if its key was replaced on purpose (a new disk), run \`shardgate admin join ${nodeId} URL\` to pin the new one`);
  }
  if (pinned === undefined) pins.learn(nodeId, presented);
  return null;
}

/** Bytes a piece connection reads at a time into its one buffer (a TLS record is at most 16 KiB). */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * A raw TLS connection to a store (for one of the piece protocols `alpn`, asked for by ALPN:
 * the store picks, and `alpnProtocol` says which), with our
 * identity proved and the store's key checked against its pin, or an error. Every read goes
 * where `sink` says (link.ts ReadSink): into one buffer the connection reuses, handed to
 * `sink.data` as a view, or into `sink.target()` (no 'data' events).
 */
export function connectPinned(
  nodeId: string, url: string, identity: TlsIdentity, pins: PinBook, timeoutMs: number, alpn: readonly string[], sink: ReadSink,
): Promise<TLSSocket> {
  const { hostname, port } = new URL(url);
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  // tls.connect takes net's `onread` (Node >= 14.5) though @types/node does not list it.
  const options: ConnectionOptions & { onread: OnReadOpts } = {
    host, port: Number(port), secureContext: contextOf(identity), rejectUnauthorized: false, minVersion: 'TLSv1.3',
    ALPNProtocols: [...alpn], servername: undefined, onread: readsInto(sink),
  };
  return new Promise<TLSSocket>((resolve, reject) => {
    const socket = tlsConnect(options);
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`connect to ${url} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      const refused = checkPin(nodeId, socket, pins, `${host}:${port}`);
      if (refused) {
        socket.destroy();
        return reject(refused);
      }
      if (!alpn.includes(socket.alpnProtocol || '')) {
        socket.destroy();
        return reject(new ShardStoreError(nodeId, `shard-store ${nodeId} at ${url} speaks none of ${alpn.join(', ')}: is it an older release? Upgrade it`));
      }
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** net's `onread` for a connection that reads where `sink` says: its target, else one buffer of its own. */
function readsInto(sink: ReadSink): OnReadOpts {
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return {
    // Asked again after every read: the sink's target while it names one.
    buffer: () => sink.target() ?? readBuffer,
    callback: (n, buf) => {
      if (buf === readBuffer) sink.data(readBuffer.subarray(0, n));
      else sink.filled(n);
      return true;
    },
  };
}

/**
 * The piece channel of a TLS connection to store `nodeId` (shard-store/piece-channel.ts): a
 * plain TCP connection to the same address that names channel `id` first. What it carries is
 * tagged under keys of that TLS session, which is what makes it trusted, not the address.
 */
export function openPieceChannel(nodeId: string, url: string, id: Buffer, timeoutMs: number, sink: ReadSink): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return new Promise<Socket>((resolve, reject) => {
    const socket = netConnect({ host, port: Number(port), onread: readsInto(sink) });
    const timer = setTimeout(() => socket.destroy(new ShardStoreError(nodeId, `piece channel to ${url} timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      socket.write(channelHello(id));
      resolve(socket);
    });
  });
}
