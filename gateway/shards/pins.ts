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
  const { host, port } = addressOf(url);
  // tls.connect takes net's `onread` (Node >= 14.5) though @types/node does not list it.
  const options: ConnectionOptions & { onread: OnReadOpts } = {
    host, port, secureContext: contextOf(identity), rejectUnauthorized: false, minVersion: 'TLSv1.3',
    ALPNProtocols: [...alpn], servername: undefined, onread: readsInto(sink),
  };
  const timedOut = (): Error => Object.assign(new Error(`connect to ${url} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
  return settled(tlsConnect(options), 'secureConnect', timeoutMs, timedOut).then((socket) => {
    const refused = checkPin(nodeId, socket, pins, `${host}:${port}`);
    if (refused) {
      socket.destroy();
      throw refused;
    }
    if (!alpn.includes(socket.alpnProtocol || '')) {
      socket.destroy();
      throw new ShardStoreError(nodeId, `shard-store ${nodeId} at ${url} speaks none of ${alpn.join(', ')}: is it an older release? Upgrade it`);
    }
    socket.setNoDelay(true);
    return socket;
  });
}

/** Host and port of a store's address (an IPv6 host without its brackets). */
function addressOf(url: string): { host: string; port: number } {
  const { hostname, port } = new URL(url);
  return { host: hostname.startsWith('[') ? hostname.slice(1, -1) : hostname, port: Number(port) };
}

/**
 * `socket` once it emits `event`; rejects with its first error before that, or destroys it
 * with `timedOut()` after `timeoutMs`. The error listener is gone once it resolves: the
 * caller listens from then on (in the same turn, as the continuation of its await).
 */
function settled<T extends Socket>(socket: T, event: 'connect' | 'secureConnect', timeoutMs: number, timedOut: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => socket.destroy(timedOut()), timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once(event, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
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
export async function openPieceChannel(nodeId: string, url: string, id: Buffer, timeoutMs: number, sink: ReadSink): Promise<Socket> {
  const { host, port } = addressOf(url);
  const timedOut = (): Error => new ShardStoreError(nodeId, `piece channel to ${url} timed out after ${timeoutMs} ms`);
  const socket = await settled(netConnect({ host, port, onread: readsInto(sink) }), 'connect', timeoutMs, timedOut);
  socket.setNoDelay(true);
  socket.write(channelHello(id));
  return socket;
}
