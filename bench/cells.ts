import type { CellSpec, Op } from './load.js';

/**
 * How long each cell of the matrix runs, by object size: long enough to settle, short
 * enough for the whole matrix to take minutes. Small objects run for a time; 64 MiB ones
 * for a count (one wave of requests in flight, at least three).
 */
export function cellSpec(op: Op, size: number, concurrency: number, seconds: number): CellSpec {
  if (size <= 64 * 1024) return { op, size, concurrency, minMs: seconds * 1000, minOps: 100, maxMs: seconds * 3000 };
  if (size <= 4 * 1024 * 1024) return { op, size, concurrency, minMs: seconds * 1000, minOps: 2 * concurrency, maxMs: seconds * 4000 };
  return { op, size, concurrency, minMs: 0, minOps: Math.max(3, concurrency), maxMs: 120_000 };
}
