import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TrustedKey } from './peers.js';
import { CHANNEL_HELLO_BYTES, CHANNEL_MAGIC, channelSecrets, type ChannelSecrets } from './piece-channel.js';

/** A first byte must arrive this soon after connecting (a TLS client sends its hello at once). */
const FIRST_BYTES_MS = 30_000;

interface Channel {
  peer: TrustedKey;
  secrets: ChannelSecrets;
  tls: TLSSocket;
}

/**
 * The piece channels a store's TLS piece connections have opened (piece-channel.ts), by id,
 * until a connection claims one: each is claimed once, and lives no longer than its TLS
 * connection (nor that one longer than it).
 */
export class ChannelBook {
  private readonly open = new Map<string, Channel>();

  /** A TLS connection of `peer` that agreed on `sgpiece/3`: its channel may now be claimed. */
  offer(tls: TLSSocket, peer: TrustedKey): void {
    const secrets = channelSecrets(tls);
    const key = secrets.id.toString('hex');
    this.open.set(key, { peer, secrets, tls });
    tls.once('close', () => this.open.delete(key));
  }

  /** The channel named `id` for connection `sock`, used up; undefined if none is open by that id. */
  claim(id: Buffer, sock: Socket): Channel | undefined {
    const key = id.toString('hex');
    const ch = this.open.get(key);
    if (!ch) return undefined;
    this.open.delete(key);
    sock.once('close', () => ch.tls.destroy());
    ch.tls.once('close', () => sock.destroy());
    return ch;
  }
}

/**
 * Hands a new connection on by its first bytes: a piece channel's hello (`SGPC` and the
 * channel id) to `channel`, with any bytes after it put back; anything else, with every byte
 * read so far put back, to `tls` (which refuses what is not TLS).
 */
export function routeByFirstBytes(sock: Socket, to: { tls(sock: Socket): void; channel(sock: Socket, id: Buffer): void }): void {
  // Errors before and after the hand-over are the owner's to see; none may crash the store.
  sock.on('error', () => undefined);
  const timer = setTimeout(() => sock.destroy(), FIRST_BYTES_MS);
  let head: Buffer = Buffer.alloc(0);
  const stop = (): void => {
    clearTimeout(timer);
    sock.off('data', onData);
    sock.pause();
  };
  const onData = (chunk: Buffer): void => {
    head = head.length ? Buffer.concat([head, chunk]) : chunk;
    if (!head.subarray(0, CHANNEL_MAGIC.length).equals(CHANNEL_MAGIC.subarray(0, Math.min(head.length, CHANNEL_MAGIC.length)))) {
      stop();
      sock.unshift(head);
      return to.tls(sock);
    }
    if (head.length < CHANNEL_HELLO_BYTES) return;
    stop();
    const id = Buffer.from(head.subarray(CHANNEL_MAGIC.length, CHANNEL_HELLO_BYTES));
    if (head.length > CHANNEL_HELLO_BYTES) sock.unshift(head.subarray(CHANNEL_HELLO_BYTES));
    to.channel(sock, id);
    sock.resume();
  };
  sock.once('close', () => clearTimeout(timer));
  sock.on('data', onData);
}

