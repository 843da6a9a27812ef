/**
 * The erasure code every object uses: Reed-Solomon over GF(2^8), 10 data + 6 parity pieces.
 * Any 10 of the 16 pieces rebuild a segment.
 */
export const K = 10;
export const M = 6;
export const N = K + M;

/** Bit masks over piece indices 0..15: bit i set means piece i. */
export const DATA_MASK = (1 << K) - 1;
export const PARITY_MASK = ((1 << N) - 1) & ~DATA_MASK;
export const ALL_MASK = (1 << N) - 1;

/**
 * One Reed-Solomon engine. Two implementations exist (our native addon and
 * `@ronomon/reed-solomon`); both produce identical parity so pieces written by one are
 * read by the other, and both pass the shared suite in `codec/erasure.case.ts`.
 *
 * Layout, as in ronomon: the K data pieces are contiguous in `data` (K × pieceSize bytes)
 * and the M parity pieces contiguous in `parity` (M × pieceSize bytes). pieceSize is a
 * multiple of 8. Piece i is `data[i*P, (i+1)*P)` for i < K and `parity[(i-K)*P, ...)` after.
 */
export interface ErasureCoder {
  /** Engine name and kernel, for logs and `shardgate --version` (e.g. "ronomon", "native/gfni-avx512"). */
  readonly name: string;
  /** Compute all M parity pieces from the K data pieces. */
  encode(data: Buffer, parity: Buffer, pieceSize: number): Promise<void>;
  /**
   * Rebuild the pieces flagged in `targets` from at least K pieces flagged in `sources`
   * (bit masks over 0..15, disjoint). Target pieces are overwritten in place.
   */
  reconstruct(data: Buffer, parity: Buffer, pieceSize: number, sources: number, targets: number): Promise<void>;
}

/** Number of set bits in a piece mask. */
export function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m; m &= m - 1) n++;
  return n;
}

/** The piece at index i of a segment laid out as (data, parity). */
export function pieceView(data: Buffer, parity: Buffer, pieceSize: number, i: number): Buffer {
  return i < K
    ? data.subarray(i * pieceSize, (i + 1) * pieceSize)
    : parity.subarray((i - K) * pieceSize, (i - K + 1) * pieceSize);
}
