/**
 * One cell of a benchmark matrix: `concurrency` workers doing PUTs (or GETs) of `size`-byte
 * objects back to back for a while, each request timed. Throughput is all bytes (or
 * requests) over the wall time of the cell; latency percentiles are over every request.
 */
import { performance } from 'node:perf_hooks';
import { BenchError } from './procs.js';
import type { Target } from './targets.js';

export type Op = 'PUT' | 'GET';

export interface CellSpec {
  op: Op;
  size: number;
  concurrency: number;
  /** The cell runs at least this long ... */
  minMs: number;
  /** ... and at least this many requests (a 64 MiB cell needs a few to mean anything). */
  minOps: number;
  /** ... but stops starting requests after this long whatever the count. */
  maxMs: number;
}

export interface CellResult {
  ops: number;
  bytes: number;
  seconds: number;
  latenciesMs: number[];
}

/**
 * Run one cell. PUTs write keys `${prefix}${n}`; GETs read the keys given, round-robin
 * (written by the PUT cell before), checking each read's length.
 */
export async function runCell(t: Target, spec: CellSpec, body: Buffer, keys: { prefix: string; existing?: string[] }, onProgress?: (ops: number) => void): Promise<CellResult & { written: string[] }> {
  if (spec.op === 'GET' && !keys.existing?.length) throw new BenchError('a GET cell needs objects written before');
  const latencies: number[] = [];
  const written: string[] = [];
  let started = 0;
  let bytes = 0;
  const t0 = performance.now();
  const more = (): boolean => {
    const elapsed = performance.now() - t0;
    return elapsed < spec.maxMs && (elapsed < spec.minMs || started < spec.minOps);
  };
  const worker = async (): Promise<void> => {
    while (more()) {
      const n = started++;
      const s = performance.now();
      if (spec.op === 'PUT') {
        const key = `${keys.prefix}${n}`;
        await t.put(key, body);
        written.push(key);
        bytes += body.length;
      } else {
        const key = keys.existing![n % keys.existing!.length]!;
        const got = await t.get(key);
        if (got !== spec.size) throw new BenchError(`${t.label} GET ${key}: ${got} bytes, expected ${spec.size}`);
        bytes += got;
      }
      latencies.push(performance.now() - s);
      onProgress?.(latencies.length);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  return { ops: latencies.length, bytes, seconds: (performance.now() - t0) / 1000, latenciesMs: latencies, written };
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** "4KiB", "1MiB", "64MiB", or bytes. */
export function parseSizeText(text: string): number {
  const m = /^(\d+)\s*(k|ki|kib|kb|m|mi|mib|mb|g|gi|gib|gb)?$/i.exec(text.trim());
  if (!m) throw new BenchError(`not a size: ${text} (use e.g. 4KiB, 1MiB, 64MiB)`);
  const unit = (m[2] ?? '').toLowerCase()[0];
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
}

export function sizeLabel(bytes: number): string {
  if (bytes % (1024 ** 2) === 0) return `${bytes / 1024 ** 2} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
