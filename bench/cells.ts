import type { CellSpec, Op } from './load.js';

/**
 * How long each cell of the matrix runs, by object size: long enough to settle, short
 * enough for the whole matrix to take minutes. Small objects run for a time. 64 MiB PUTs
 * run for a count (one wave of requests in flight, at least three), since each writes
 * 100 MiB to disk; 64 MiB GETs write nothing and run for the time too. Three GETs were
 * 0.4 s of a stream, and their ratio swung from 0.55 to 0.84 between the rounds of one run.
 */
export function cellSpec(op: Op, size: number, concurrency: number, seconds: number): CellSpec {
  if (size <= 64 * 1024) return { op, size, concurrency, minMs: seconds * 1000, minOps: 100, maxMs: seconds * 3000 };
  if (size <= 4 * 1024 * 1024) return { op, size, concurrency, minMs: seconds * 1000, minOps: 2 * concurrency, maxMs: seconds * 4000 };
  return { op, size, concurrency, minMs: op === 'GET' ? seconds * 1000 : 0, minOps: Math.max(3, concurrency), maxMs: 120_000 };
}
