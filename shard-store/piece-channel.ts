/**
 * The piece channel (ALPN `sgpiece/3`): large piece reads and writes travel over a plain TCP
 * connection beside the TLS one, each frame authenticated, none encrypted.
 *
 * Why: the pieces are already ciphertext (AES-256-GCM under each object's own key, which
 * stores never see), so TLS encrypted them a second time, and Node's TLS copies every byte
 * three more times on each side. Under 1 MiB GETs that was a sixth of the CPU of gateway and
 * stores together, a quarter under 64 MiB GETs. What TLS still adds for these bytes is
 * authentication, and a frame tag gives that for a fraction of the cost.
 *
 * How: the gateway opens its TLS connection as always (mutual, keys pinned) and, when the store
 * picks `sgpiece/3`, both sides derive from that TLS session (RFC 8446 exporter, so nobody else
 * can) a channel id and one key per direction. The gateway then opens a second TCP connection
 * to the same port and names the channel: `SGPC` and the 16-byte id (a TLS connection starts
 * with 0x16, so the store tells them apart by the first byte). The store binds it to the TLS
 * connection's peer, once: an id is used up by its first connection, and both connections
 * close together. The store's first frame is a tag over the magic, which only it can make;
 * only then does the gateway use the channel, for GETs and PUTs of CHANNEL_MIN_BYTES or more.
 * Each request carries a tag over its header and data, each answer one over its header and
 * payload.
 *
 * Tags are Poly1305 (ChaCha20-Poly1305 over no plaintext, the frame as associated data)
 * under the direction's key, with a counter as nonce that starts at 0 on each channel and
 * counts frames in order: a frame altered, dropped, reordered, replayed on this channel or
 * carried to another store or another session fails its tag, and the connection is closed.
 * What an on-path observer does learn: which pieces are read and written, and their
 * ciphertext. Deletes, heads and small operations stay on TLS: a tag costs a small frame more
 * than TLS does, and deletes keep their order with the writes of their connection.
 * `SHARDGATE_PIECE_CHANNEL=off` keeps everything in TLS.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

export const PIECE_PROTOCOL_CHANNEL = 'sgpiece/3';
/** First bytes of a channel connection; 'S' (0x53) never starts a TLS record. */
export const CHANNEL_MAGIC = Buffer.from('SGPC', 'latin1');
export const CHANNEL_ID_BYTES = 16;
export const CHANNEL_HELLO_BYTES = CHANNEL_MAGIC.length + CHANNEL_ID_BYTES;
/** Bytes of the tag that follows every frame header on a channel. */
export const TAG_BYTES = 16;
/** Reads and writes of at least this many bytes go over the channel; smaller ones are cheaper on TLS than tagged. */
export const CHANNEL_MIN_BYTES = 64 * 1024;
const EXPORTER_LABEL = 'EXPORTER-shardgate-piece-channel';
const KEY_BYTES = 32;
const NO_PLAINTEXT = { plaintextLength: 0 };

export interface ChannelSecrets {
  /** Names the channel in the hello: what the store looks it up by. */
  id: Buffer;
  /** Tags the gateway's requests. */
  requestKey: Buffer;
  /** Tags the store's answers. */
  answerKey: Buffer;
}

/** The channel secrets of a TLS session: the same on both ends, unknown to anyone else. */
export function channelSecrets(tls: TLSSocket): ChannelSecrets {
  const m = tls.exportKeyingMaterial(2 * KEY_BYTES + CHANNEL_ID_BYTES, EXPORTER_LABEL, Buffer.from(PIECE_PROTOCOL_CHANNEL));
  return { requestKey: m.subarray(0, KEY_BYTES), answerKey: m.subarray(KEY_BYTES, 2 * KEY_BYTES), id: m.subarray(2 * KEY_BYTES) };
}

export function channelHello(id: Buffer): Buffer {
  return Buffer.concat([CHANNEL_MAGIC, id], CHANNEL_HELLO_BYTES);
}

/**
 * The tags of one direction of a channel: the n-th frame sealed is the n-th checked. Every
 * call takes the next nonce, whatever its outcome, so a failed check cannot be retried.
 */
export class FrameTags {
  private counter = 0;
  private readonly nonce = Buffer.alloc(12);

  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new RangeError(`a channel key of ${key.length} bytes, not ${KEY_BYTES}`);
  }

  /** The tag of the next frame, over `parts` in order. */
  seal(parts: readonly Buffer[]): Buffer {
    const c = createCipheriv('chacha20-poly1305', this.key, this.next(), { authTagLength: TAG_BYTES });
    for (const p of parts) if (p.length) c.setAAD(p, NO_PLAINTEXT);
    c.final();
    return c.getAuthTag();
  }

  /** Whether `tag` is the next frame's over `parts`. */
  check(parts: readonly Buffer[], tag: Buffer): boolean {
    if (tag.length !== TAG_BYTES) return false;
    const d = createDecipheriv('chacha20-poly1305', this.key, this.next(), { authTagLength: TAG_BYTES });
    for (const p of parts) if (p.length) d.setAAD(p, NO_PLAINTEXT);
    d.setAuthTag(tag);
    try {
      d.final();
      return true;
    } catch {
      return false;
    }
  }

  private next(): Buffer {
    // 2^53 frames on one connection would take centuries; the nonce never repeats before that.
    const n = this.counter++;
    this.nonce.writeUInt32LE(n % 2 ** 32, 0);
    this.nonce.writeUInt32LE(Math.floor(n / 2 ** 32), 4);
    return this.nonce;
  }
}
