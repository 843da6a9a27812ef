import { randomBytes } from 'node:crypto';
import { segmentBuffers } from '../../codec/buffer-pool.js';
import { newDataKey, wrapKey } from '../../codec/keys.js';
import type { EncodedSegment, SegmentEncoder } from '../../codec/segment.js';
import { auditedSegmentEncoder, RootCollector } from '../audit/roots.js';
import type { MissedPiece } from '../meta/types.js';
import type { PipelineContext } from './context.js';
import { FanOut } from './fan-out.js';
import { Segmenter } from './segmenter.js';

export interface WrittenBlob {
  /** null for an empty body: nothing is stored on the shard-stores. */
  blobId: string | null;
  size: number;
  md5: Buffer;
  missed: MissedPiece[];
}

/**
 * How a new blob's data key is stored: by default wrapped by the master key alone; SSE-C
 * passes a wrap that adds the customer's key (codec/keys.ts wrapKeyForCustomer).
 */
export type KeyWrap = (masterKey: Buffer, dataKey: Buffer) => Buffer;

/**
 * Stream a body into a new blob: cut into segments, encrypt, erasure-code, and append piece
 * i of every segment to shard file i on the blob's i-th node. Resolves once at least the
 * write quorum of shard files is durable; the blob row stays 'writing' until the caller
 * commits the object that refers to it, so a crash before that leaves no visible object.
 * Memory: one segment being filled while the one before it is encoded, and one being sent.
 */
export async function putBlob(ctx: PipelineContext, body: AsyncIterable<Buffer>, wrap: KeyWrap = wrapKey): Promise<WrittenBlob> {
  const key = newDataKey();
  // Piece hashes give each shard file's hash-tree root, which audits check answers against.
  // The ETag is needed only once the pieces are durable: its MD5 may wait to share a call
  // with other objects' (codec/md5-lanes.ts).
  const encoder = auditedSegmentEncoder(ctx.engine, key, { deferMd5: true });
  const roots = new RootCollector();
  const S = ctx.segmentSize;
  let fan: FanOut | undefined;
  let blobId: string | null = null;
  let size = 0;
  let index = 0;
  const segments = new Segmenter(S);
  let sending: Promise<void> = Promise.resolve();
  // The segment before the one being filled: encoded, then handed to the writers. The body is
  // read on while it encodes (the encoding runs off the event loop), so receiving, encoding
  // and sending overlap; awaited before the next segment starts, which bounds memory.
  let handing: Promise<void> = Promise.resolve();

  const hand = async (seg: Buffer, at: number, out: FanOut): Promise<void> => {
    const encoded = encode(encoder, seg, at);
    // Encoding of this segment overlaps with sending the previous one.
    const [enc] = await Promise.all([encoded, sending]);
    // Encoded: the plaintext is not read again, once a deferred MD5 is through with it.
    if (enc.plainRead) void enc.plainRead.then(() => segmentBuffers.give(seg));
    else segmentBuffers.give(seg);
    roots.add(enc);
    sending = out.send(enc);
    // Observed here so a failure while the next chunk is read is not an unhandled rejection;
    // it is still thrown by the next `await sending`.
    sending.catch(() => undefined);
  };

  const flush = async (seg: Buffer): Promise<void> => {
    // In order: the encoder digests the plaintext (MD5) segment after segment.
    await handing;
    if (!fan) {
      blobId = randomBytes(16).toString('hex');
      const { nodes: placement, offline } = await ctx.place();
      await ctx.meta.insertWritingBlob({ id: blobId, size: 0, segmentSize: S, wrappedKey: wrap(ctx.masterKey, key), placement, createdAt: Date.now() });
      fan = new FanOut(ctx, blobId, placement, offline);
    }
    handing = hand(seg, index++, fan);
    // Thrown by the next `await handing`; observed now in case the body fails first.
    handing.catch(() => undefined);
  };

  try {
    for await (const chunk of body) {
      size += chunk.length;
      for (const seg of segments.push(chunk)) await flush(seg);
    }
    const last = segments.end();
    if (last) await flush(last);
    await handing;
    await sending;
    const missed = fan ? await fan.end() : [];
    if (blobId) await ctx.meta.audit.setRoots(blobId, roots.roots());
    await encoder.md5Ready?.();
    return { blobId, size, md5: encoder.md5(), missed };
  } catch (err) {
    fan?.abort(err instanceof Error ? err : new Error(String(err)));
    if (blobId) await ctx.meta.discardBlob(blobId);
    // Let a pending encode/send settle so nothing rejects unobserved.
    await handing.catch(() => undefined);
    await sending.catch(() => undefined);
    throw err;
  }
}

function encode(encoder: SegmentEncoder, seg: Buffer, index: number): Promise<EncodedSegment> {
  return encoder.encode(seg, index);
}
