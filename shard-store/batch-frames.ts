/**
 * The piece protocol between the gateway and a shard-store, shared by both sides: a
 * long-lived, mutually authenticated TLS connection (ALPN `sgpiece/3`, `sgpiece/2` or
 * `sgpiece/1`, on the store's one port; `sgpiece/3` adds the piece channel, piece-channel.ts,
 * whose frames carry a tag after their header) that carries framed operations on pieces of many shards, and framed
 * results matched to them by id, in any order. Frames written in one go travel as one TLS
 * write and are read by the store in one go: that is the batch. Changing anything here needs
 * both sides updated.
 *
 * Request frame: a 40-byte header (little-endian), then `length` data bytes for a PUT:
 *   op u8 | flags u8 | piece u8 | reserved u8 | id u32 | seg u32 | blob 16 bytes | offset u64 | length u32
 * A PUT flagged FLAG_LEAF (only on `sgpiece/2`) carries the record's audit leaf first: its
 * `length` bytes are the 32-byte leaf, then the record.
 * Result frame: a 12-byte header, then `length` payload bytes:
 *   id u32 | status u8 | reserved 3 bytes | length u32
 */
import { PIECE_PROTOCOL_CHANNEL } from './piece-channel.js';
import { LEAF_BYTES } from './volume/needle.js';

export const PIECE_PROTOCOL = 'sgpiece/1';
/** `sgpiece/1` plus FLAG_LEAF: the stores offer it first, and the gateway sends leaves only on it. */
export const PIECE_PROTOCOL_LEAVES = 'sgpiece/2';
/** Every piece protocol a store speaks, the one it prefers first (the server picks by its own order). */
export const PIECE_PROTOCOLS: readonly string[] = [PIECE_PROTOCOL_CHANNEL, PIECE_PROTOCOL_LEAVES, PIECE_PROTOCOL];
/** Whether a connection speaking `alpn` takes FLAG_LEAF (`sgpiece/3` is `sgpiece/2` and the piece channel). */
export function takesLeaves(alpn: string | false | null | undefined): boolean {
  return alpn === PIECE_PROTOCOL_LEAVES || alpn === PIECE_PROTOCOL_CHANNEL;
}

export enum BatchOp {
  /** Append record `seg` of the shard (`length` bytes follow). */
  Put = 1,
  /** Read record `seg` (`length` bytes; `offset` is where it starts in a shard kept as one file by an older release). */
  Get = 2,
  /** Delete the shard (every record). */
  Delete = 3,
  /** The shard's size: the payload is a u64. */
  Head = 4,
}

/** Answer this PUT only once it is durable, with every PUT the store received before it on this connection. */
export const FLAG_SYNC = 1;
/**
 * This PUT's data starts with the record's audit leaf (SHA-256 of the piece, without its
 * CRC-32 trailer), which the gateway computed as it encoded the segment: the store keeps it
 * instead of hashing the record again on its event loop. Nothing is lost by trusting it:
 * the leaf only says what the gateway will later ask the store to prove, and a store that
 * keeps a wrong one fails its own audits.
 */
export const FLAG_LEAF = 2;
/** Bytes of a leaf that a FLAG_LEAF PUT carries before its record (a needle keeps as many). */
export { LEAF_BYTES };

export enum BatchStatus {
  Ok = 0,
  NotFound = 1,
  BadRequest = 2,
  Full = 3,
  /** The store holds the record, but its bytes fail their checksum: it will not serve them. */
  Corrupt = 4,
  Error = 5,
  /** The client's key may not do this (a read-only recovery key writing). */
  Forbidden = 6,
  /** The store does not trust the client's key at all. */
  Unauthenticated = 7,
}

export const REQUEST_HEADER_BYTES = 40;
export const RESULT_HEADER_BYTES = 12;
/** Data bytes in one PUT at most. */
export const MAX_PUT_BYTES = 64 * 1024 * 1024;
/** A PUT frame's payload at most: the record and its leaf. */
export const MAX_PUT_PAYLOAD = MAX_PUT_BYTES + LEAF_BYTES;

export interface BatchRequest {
  op: BatchOp;
  flags: number;
  id: number;
  /** The shard: the blob id (16 bytes) and the piece index. */
  blob: Buffer;
  piece: number;
  seg: number;
  offset: number;
  length: number;
}

/** A request's header; `withLeaf` for a PUT whose data the leaf precedes (FLAG_LEAF, `length` counting it). */
export function encodeRequestHeader(r: BatchRequest, withLeaf = false): Buffer {
  const b = Buffer.allocUnsafe(REQUEST_HEADER_BYTES);
  b.writeUInt8(r.op, 0);
  b.writeUInt8(withLeaf ? r.flags | FLAG_LEAF : r.flags, 1);
  b.writeUInt8(r.piece, 2);
  b.writeUInt8(0, 3);
  b.writeUInt32LE(r.id, 4);
  b.writeUInt32LE(r.seg, 8);
  r.blob.copy(b, 12, 0, 16);
  b.writeBigUInt64LE(BigInt(r.offset), 28);
  b.writeUInt32LE(withLeaf ? r.length + LEAF_BYTES : r.length, 36);
  return b;
}

export function decodeRequestHeader(b: Buffer): BatchRequest {
  return {
    op: b.readUInt8(0), flags: b.readUInt8(1), piece: b.readUInt8(2), id: b.readUInt32LE(4), seg: b.readUInt32LE(8),
    blob: Buffer.from(b.subarray(12, 28)), offset: Number(b.readBigUInt64LE(28)), length: b.readUInt32LE(36),
  };
}

export function encodeResultHeader(id: number, status: BatchStatus, length: number): Buffer {
  const b = Buffer.alloc(RESULT_HEADER_BYTES);
  b.writeUInt32LE(id, 0);
  b.writeUInt8(status, 4);
  b.writeUInt32LE(length, 8);
  return b;
}

export function shardIdOf(blob: Buffer, piece: number): string {
  return `${blob.toString('hex')}.${piece}`;
}

/**
 * Cuts a byte stream into frames: a fixed-size header that says how many payload bytes
 * follow (`payloadOf`). Payloads that span reads are handed over as the slices they arrived
 * in, never copied. Throws FrameError on a payload over `maxPayload`.
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: Buffer | null = null;

  constructor(private readonly headerBytes: number, private readonly payloadOf: (header: Buffer) => number, private readonly maxPayload: number) {}

  /** Feed a chunk; returns the frames it completes. */
  push(chunk: Buffer): Array<{ header: Buffer; payload: Buffer[] }> {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Array<{ header: Buffer; payload: Buffer[] }> = [];
    for (;;) {
      if (!this.header) {
        if (this.buffered < this.headerBytes) return out;
        this.header = Buffer.concat(this.take(this.headerBytes), this.headerBytes);
        const length = this.payloadOf(this.header);
        if (length > this.maxPayload) throw new FrameError(`a frame announces ${length} bytes, over the ${this.maxPayload}-byte limit`);
      }
      const length = this.payloadOf(this.header);
      if (this.buffered < length) return out;
      out.push({ header: this.header, payload: this.take(length) });
      this.header = null;
    }
  }

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.buffered;
  }

  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        out.push(c);
        this.chunks.shift();
        left -= c.length;
      } else {
        out.push(c.subarray(0, left));
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    return out;
  }
}

/**
 * FrameParser for a connection that reads into one buffer it reuses (net/tls `onread`): each
 * chunk is valid only during `push`, so every header and payload is copied out at once, the
 * payload into a buffer of its exact length from `alloc` (the gateway's segment pool). Nothing
 * is allocated per socket read, and a payload is one buffer however many reads it spanned.
 * Throws FrameError on a payload over `maxPayload`.
 */
export class OwnedFrameParser {
  private readonly header: Buffer;
  private headerFill = 0;
  private payload: Buffer | null = null;
  private payloadFill = 0;

  constructor(
    private readonly headerBytes: number, private readonly payloadOf: (header: Buffer) => number, private readonly maxPayload: number,
    private readonly alloc: (length: number) => Buffer,
  ) {
    this.header = Buffer.alloc(headerBytes);
  }

  /** Feed a chunk (not kept); returns the frames it completes, each with its own header and payload. */
  push(chunk: Buffer): Array<{ header: Buffer; payload: Buffer }> {
    const out: Array<{ header: Buffer; payload: Buffer }> = [];
    let at = 0;
    for (;;) {
      if (!this.payload) {
        const n = Math.min(this.headerBytes - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + n);
        this.headerFill += n;
        at += n;
        if (this.headerFill < this.headerBytes) return out;
        const length = this.payloadOf(this.header);
        if (length > this.maxPayload) throw new FrameError(`a frame announces ${length} bytes, over the ${this.maxPayload}-byte limit`);
        this.payload = this.alloc(length);
        this.payloadFill = 0;
      }
      const n = Math.min(this.payload.length - this.payloadFill, chunk.length - at);
      chunk.copy(this.payload, this.payloadFill, at, at + n);
      this.payloadFill += n;
      at += n;
      if (this.payloadFill < this.payload.length) return out;
      out.push(this.complete());
      if (at === chunk.length) return out;
    }
  }

  /**
   * Where the connection may read next: the rest of the payload being filled, when at least
   * `min` bytes of it are left, else null (read into the shared buffer and push). Reading
   * there saves copying a large payload out of the read buffer; see filled.
   */
  target(min: number): Buffer | null {
    const p = this.payload;
    return p && p.length - this.payloadFill >= min ? p.subarray(this.payloadFill) : null;
  }

  /** `n` bytes were read straight into target(): the frame they complete, if they did. */
  filled(n: number): Array<{ header: Buffer; payload: Buffer }> {
    const p = this.payload;
    if (!p || this.payloadFill + n > p.length) throw new FrameError(`${n} bytes read past the payload being filled`);
    this.payloadFill += n;
    return this.payloadFill < p.length ? [] : [this.complete()];
  }

  private complete(): { header: Buffer; payload: Buffer } {
    const frame = { header: Buffer.from(this.header), payload: this.payload! };
    this.payload = null;
    this.headerFill = 0;
    return frame;
  }
}

/** Data bytes after a request header: a PUT's record, nothing for the other operations. */
export function requestPayload(header: Buffer): number {
  return header.readUInt8(0) === (BatchOp.Put as number) ? header.readUInt32LE(36) : 0;
}

/** Payload bytes after a result header. */
export function resultPayload(header: Buffer): number {
  return header.readUInt32LE(8);
}

export class FrameError extends Error {
  code = 'ERR_BAD_FRAME';
}

/** An error payload as text (bounded: a store's words are for logs, not for trusting). */
export function errorText(payload: Buffer | Buffer[]): string {
  const b = Array.isArray(payload) ? Buffer.concat(payload) : payload;
  return b.subarray(0, 500).toString('utf8');
}
