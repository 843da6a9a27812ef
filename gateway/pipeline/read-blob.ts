import type { BlobRow } from '../meta/types.js';
import { readSegment } from '../transfer/read-segment.js';
import type { PipelineContext } from './context.js';
import { unwrapRecent } from './data-keys.js';

/** Segments every read fetches ahead of the one being sent, so the stores work while the client reads. */
const READ_AHEAD = 2;
/**
 * How far ahead a read may go while the process-wide budget below allows. One stream is
 * latency-bound (each segment is a round to ten stores, then a decode), so more segments in
 * flight keep both cores busy: 64 MiB GET, one stream, 158-196 MB/s at 2 ahead, 202-254 at 5.
 */
export const READ_AHEAD_MAX = 6;
/** Plaintext bytes of segments fetched beyond READ_AHEAD, all reads together (memory bound). */
const EXTRA_AHEAD_BUDGET = 32 * 1024 * 1024;
let extraAheadBytes = 0;

interface Ahead {
  segment: Promise<Buffer>;
  /** Bytes this fetch holds of the shared budget (0 within READ_AHEAD). */
  budget: number;
}

/** How a blob's stored key opens: the master key alone by default, plus the customer's key for SSE-C. */
export type KeyUnwrap = (masterKey: Buffer, wrappedKey: Buffer) => Buffer;

/**
 * The plaintext bytes [start, end] (inclusive) of a blob, segment by segment. The first
 * segment is fetched before anything is yielded, so an unreadable blob fails before the
 * response starts.
 */
export async function* readBlob(
  ctx: PipelineContext, blob: BlobRow, start: number, end: number, unwrap: KeyUnwrap = unwrapRecent,
): AsyncGenerator<Buffer> {
  if (end < start) return;
  const key = unwrap(ctx.masterKey, blob.wrappedKey);
  const S = blob.segmentSize;
  const first = Math.floor(start / S);
  const last = Math.floor(end / S);
  const queue: Ahead[] = [];
  let next = first;
  const push = (budget: number): void => {
    const segment = readSegment(ctx, blob, key, next++);
    segment.catch(() => undefined); // observed when its turn comes
    extraAheadBytes += budget;
    queue.push({ segment, budget });
  };
  const fill = (): void => {
    while (next <= last && queue.length < READ_AHEAD + 1) push(0);
    while (next <= last && queue.length < READ_AHEAD_MAX + 1 && extraAheadBytes + S <= EXTRA_AHEAD_BUDGET) push(S);
  };
  try {
    for (let index = first; index <= last; index++) {
      fill();
      const ahead = queue.shift()!;
      extraAheadBytes -= ahead.budget;
      const plain = await ahead.segment;
      const from = index === first ? start - index * S : 0;
      const to = index === last ? end - index * S + 1 : plain.length;
      yield from === 0 && to === plain.length ? plain : plain.subarray(from, to);
    }
  } finally {
    // A client that went away, or a failed segment: what was fetched ahead is given back.
    for (const a of queue.splice(0)) extraAheadBytes -= a.budget;
  }
}

/** Budget in use by reads fetching ahead (tests: it returns to 0). */
export function readAheadInUse(): number {
  return extraAheadBytes;
}
