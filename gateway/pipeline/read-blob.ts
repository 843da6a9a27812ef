import { unwrapKey } from '../../codec/keys.js';
import type { BlobRow } from '../meta/types.js';
import { readSegment } from '../transfer/read-segment.js';
import type { PipelineContext } from './context.js';

/** Segments fetched ahead of the one being sent, so the stores work while the client reads. */
const READ_AHEAD = 2;

/** How a blob's stored key opens: the master key alone by default, plus the customer's key for SSE-C. */
export type KeyUnwrap = (masterKey: Buffer, wrappedKey: Buffer) => Buffer;

/**
 * The plaintext bytes [start, end] (inclusive) of a blob, segment by segment. The first
 * segment is fetched before anything is yielded, so an unreadable blob fails before the
 * response starts.
 */
export async function* readBlob(
  ctx: PipelineContext, blob: BlobRow, start: number, end: number, unwrap: KeyUnwrap = unwrapKey,
): AsyncGenerator<Buffer> {
  if (end < start) return;
  const key = unwrap(ctx.masterKey, blob.wrappedKey);
  const S = blob.segmentSize;
  const first = Math.floor(start / S);
  const last = Math.floor(end / S);
  const queue: Promise<Buffer>[] = [];
  let next = first;
  const fill = (): void => {
    while (next <= last && queue.length < READ_AHEAD + 1) {
      const p = readSegment(ctx, blob, key, next++);
      p.catch(() => undefined); // observed when its turn comes
      queue.push(p);
    }
  };
  for (let index = first; index <= last; index++) {
    fill();
    const plain = await queue.shift()!;
    const from = index === first ? start - index * S : 0;
    const to = index === last ? end - index * S + 1 : plain.length;
    yield from === 0 && to === plain.length ? plain : plain.subarray(from, to);
  }
}
