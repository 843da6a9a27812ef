import { K } from '../../codec/erasure.js';
import type { PipelineContext } from '../pipeline/context.js';
import { PieceFetch } from './fetch-pieces.js';
import { reportLie } from './lies.js';
import type { PieceProver } from './prove.js';

export interface ProvenFetchOptions {
  /** Pieces that may be asked, best first. */
  candidates: readonly number[];
  purpose: string;
  hedge: 'wide' | 'narrow';
  /** Records a plain fetch of this segment got (null where none): holders that answered are asked first. */
  seen?: ReadonlyArray<Buffer | null>;
  signal?: AbortSignal;
}

/**
 * K records of segment `index`, each proven against the root kept at write time: the slow
 * path, taken when K pieces that passed their checksums did not add up to the segment (a
 * holder lied) or when no end-to-end check exists (repair of an SSE-C blob). A record in
 * `seen` is proven where it is when the prover can; otherwise its holder is asked again,
 * with a proof. A holder whose answer fails is reported and left out (PieceFetch); one
 * whose proven record differs from what it served before lied on that read and is
 * reported too, though its proven record is used.
 */
export function fetchProven(ctx: PipelineContext, prover: PieceProver, index: number, opts: ProvenFetchOptions): Promise<(Buffer | null)[]> {
  const { seen } = opts;
  const answered = (i: number): number => (seen?.[i] ? 0 : 1);
  const fetch = new PieceFetch(ctx, prover.blob, index, {
    candidates: [...opts.candidates].sort((a, b) => answered(a) - answered(b)),
    purpose: opts.purpose, hedge: opts.hedge, signal: opts.signal,
    read: async (piece, signal) => {
      const before = seen?.[piece];
      if (before && prover.local) return prover.check(piece, index, before);
      const record = await prover.read(piece, index, signal);
      if (before && !before.equals(record)) reportLie(ctx, prover.blob, piece, `served segment ${index} unlike its proven copy`, opts.purpose);
      return record;
    },
  });
  return fetch.fill(K);
}
