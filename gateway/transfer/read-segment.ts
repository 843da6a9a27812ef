import { segmentBuffers } from '../../codec/buffer-pool.js';
import { K, N } from '../../codec/erasure.js';
import { PieceChecksumError } from '../../codec/errors.js';
import { segmentPlainLength } from '../../codec/layout.js';
import type { BlobRow } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { PieceFetch } from './fetch-pieces.js';
import { fetchProven } from './fetch-proven.js';
import { proverFor } from './prove.js';

/** Every piece, data first: the code is systematic, so the 10 data pieces need no decoding. */
const DATA_FIRST: readonly number[] = [...Array(N).keys()];

/**
 * One segment's plaintext from any K pieces. Data pieces are asked first; a piece that
 * fails or is slower than `hedgeMs` makes the reader ask another holder. The records are
 * handed to the engine unverified: it checks their checksums off the event loop, in the
 * same call that decodes and decrypts. Records that fail are queued for repair and
 * replaced by other holders' pieces.
 *
 * A store can forge a record with a checksum that holds; AES-GCM then refuses the
 * segment, and only then is each piece proven against the root kept at write time
 * (readProven): the liar is left out and reported, and the segment read from pieces that
 * are proven. The common path costs nothing more.
 */
export async function readSegment(ctx: PipelineContext, blob: BlobRow, key: Buffer, index: number): Promise<Buffer> {
  const plainLength = segmentPlainLength(blob.size, blob.segmentSize, index);
  const fetch = new PieceFetch(ctx, blob, index, { candidates: DATA_FIRST, purpose: 'read', hedge: 'wide' });
  for (;;) {
    const records = await fetch.fill(K);
    try {
      const { plain, corrupt } = await ctx.engine.decodeSegment(key, index, plainLength, records);
      if (corrupt.length) fetch.discard(corrupt, new PieceChecksumError('piece checksum mismatch', { pieces: corrupt }));
      // Decoded into a buffer of its own: the pieces are read no more, and the fetch is over
      // (late answers are dropped), so those gathered into pooled buffers go back.
      for (const r of records) if (r) segmentBuffers.give(r);
      return plain;
    } catch (err) {
      const e = err as Error & { code?: string; pieces?: number[] };
      if (e.code === 'ERR_DECRYPT') return readProven(ctx, blob, key, index, [...records], e);
      if (e.code !== 'ERR_PIECE_CHECKSUM' || !e.pieces?.length) throw err;
      // The stores answered but these pieces are damaged: read around them, rebuild them later.
      fetch.discard(e.pieces, e);
    }
  }
}

/**
 * The segment from K proven pieces, after the pieces `seen` did not authenticate. Fewer
 * than K provable pieces is a quorum error (503), as when stores are down. A blob whose
 * pieces cannot be proven keeps the authentication error: its bytes are never guessed.
 */
async function readProven(ctx: PipelineContext, blob: BlobRow, key: Buffer, index: number, seen: (Buffer | null)[], refused: Error): Promise<Buffer> {
  const prover = await proverFor(ctx, blob);
  if (!prover) throw refused;
  const records = await fetchProven(ctx, prover, index, { candidates: DATA_FIRST, purpose: 'read', hedge: 'wide', seen });
  const { plain } = await ctx.engine.decodeSegment(key, index, segmentPlainLength(blob.size, blob.segmentSize, index), records);
  return plain;
}
