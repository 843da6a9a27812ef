import type { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import { peerFingerprint, type TlsIdentity } from '../../wire/identity.js';
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
    key: identity.key, cert: identity.cert, rejectUnauthorized: false, maxCachedSessions: 0, timeout: timeoutMs, minVersion: 'TLSv1.3',
  });
  return (opts, callback) => base(opts, (err, socket) => {
    if (err || !socket) return callback(err ?? new Error('no socket'), null);
    const presented = peerFingerprint(socket as TLSSocket);
    const pinned = pins.pinOf(nodeId);
    if (presented === undefined || (pinned !== undefined && presented !== pinned)) {
      socket.destroy();
      return callback(new ShardIdentityError(nodeId,
        `shard-store ${nodeId} at ${opts.hostname}:${opts.port} presented key ${presented ?? '(none)'}, but the gateway pinned ${pinned}: ` +
        `if its key was replaced on purpose (a new disk), run \`shardgate admin join ${nodeId} URL\` to pin the new one`), null);
    }
    if (pinned === undefined) pins.learn(nodeId, presented);
    callback(null, socket);
  });
}
