import { Readable } from 'node:stream';
import type { BlobRow, PartRef } from '../meta/types.js';
import type { PipelineContext } from '../pipeline/context.js';
import { readBlob, type KeyUnwrap } from '../pipeline/read-blob.js';

/**
 * The bytes [start, end] of an object version, across its parts. The first bytes are
 * fetched before the stream is returned, so a read that cannot be served (too few
 * shard-stores) fails with a clean 503 instead of a truncated 200.
 */
export async function openObjectStream(ctx: PipelineContext, parts: PartRef[], start: number, end: number, unwrap?: KeyUnwrap): Promise<Readable> {
  const gen = objectBytes(ctx, parts, start, end, unwrap);
  const first = await gen.next();
  return first.done ? Readable.from([], { objectMode: false }) : streamOf(first.value, gen);
}

/**
 * The same bytes as openObjectStream, as one Buffer when they all came in the first piece
 * of work (an object of one segment, a small range): no stream, generator or pipeline per
 * request, which is most of what a small GET cost. Larger reads stream as before.
 */
export async function openObjectBody(
  ctx: PipelineContext, parts: PartRef[], start: number, end: number, unwrap?: KeyUnwrap, known?: BlobRow,
): Promise<Readable | Buffer> {
  const gen = objectBytes(ctx, parts, start, end, unwrap, known);
  const first = await gen.next();
  if (first.done) return Buffer.alloc(0);
  if (first.value.length < end - start + 1) return streamOf(first.value, gen);
  // Everything is in hand; run the reader to its end (anything it checks after the last bytes).
  const rest = await gen.next();
  if (rest.done) return first.value;
  return streamOf(first.value, gen, rest.value);
}

function streamOf(first: Buffer, gen: AsyncGenerator<Buffer>, second?: Buffer): Readable {
  async function* all(): AsyncGenerator<Buffer> {
    yield first;
    if (second) yield second;
    yield* gen;
  }
  return Readable.from(all(), { objectMode: false, highWaterMark: 1 });
}

/** `known`: a blob of these parts the caller read already (with the version), not read again. */
async function* objectBytes(
  ctx: PipelineContext, parts: PartRef[], start: number, end: number, unwrap?: KeyUnwrap, known?: BlobRow,
): AsyncGenerator<Buffer> {
  let offset = 0;
  for (const part of parts) {
    const partStart = offset;
    const partEnd = offset + part.size - 1;
    offset += part.size;
    if (part.size === 0 || partEnd < start || partStart > end) continue;
    const blob = !part.blobId ? undefined : known?.id === part.blobId ? known : await ctx.meta.getBlob(part.blobId);
    if (!blob) throw new Error(`blob ${part.blobId} of part ${part.partNumber} is missing from the metadata`);
    yield* readBlob(ctx, blob, Math.max(start, partStart) - partStart, Math.min(end, partEnd) - partStart, unwrap);
  }
}

/** Byte range [start, end] of part `partNumber` within the object. */
export function partRange(parts: PartRef[], partNumber: number): { start: number; end: number } | undefined {
  let offset = 0;
  for (const p of parts) {
    if (p.partNumber === partNumber) return { start: offset, end: offset + p.size - 1 };
    offset += p.size;
  }
  return undefined;
}
