/** The benchmark table and its one JSON line. */
import { percentile, sizeLabel, type CellResult, type CellSpec } from './load.js';

export interface Measured {
  opsPerSec: number;
  mbps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU milliseconds per request of the gateway process and of all shard-stores together, when known. */
  gatewayCpuMs?: number | null;
  storeCpuMs?: number | null;
}

export interface Row {
  spec: CellSpec;
  target: Measured;
  baseline?: Measured;
  /** Each round's ratio when the cell ran several (the row is the round of the median ratio). */
  roundRatios?: number[];
}

export function measured(r: CellResult, cpu?: { gateway: number | null; stores: number | null }): Measured {
  const per = (s: number | null | undefined): number | null => (s === null || s === undefined || r.ops === 0 ? null : (s * 1000) / r.ops);
  return {
    opsPerSec: r.ops / r.seconds,
    mbps: r.bytes / 1e6 / r.seconds,
    p50Ms: percentile(r.latenciesMs, 50),
    p99Ms: percentile(r.latenciesMs, 99),
    ...(cpu && { gatewayCpuMs: per(cpu.gateway), storeCpuMs: per(cpu.stores) }),
  };
}

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f3 = (x: number): number => Math.round(x * 1000) / 1000;
const opt = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : x.toFixed(2));

/** Small objects are counted in requests per second, large ones in MB/s: each the figure users feel. */
function figure(spec: CellSpec, m: Measured): string {
  return spec.size < 1024 * 1024 ? `${f1(m.opsPerSec)}/s` : `${f1(m.mbps)} MB/s`;
}

export function ratioOf(spec: CellSpec, row: Row): number | null {
  if (!row.baseline) return null;
  return spec.size < 1024 * 1024 ? row.target.opsPerSec / row.baseline.opsPerSec : row.target.mbps / row.baseline.mbps;
}

export function printTable(rows: Row[], label: string): void {
  const withBase = rows.some((r) => r.baseline);
  const withCpu = rows.some((r) => r.target.gatewayCpuMs !== undefined);
  console.log(`\n| object | op | in flight | ${label} | p50 / p99 ms |${withBase ? ' baseline | p50 / p99 ms | ratio |' : ''}${withCpu ? ` ${label} CPU ms/req | store CPU ms/req |` : ''}`);
  console.log(`| --- | --- | --- | --- | --- |${withBase ? ' --- | --- | --- |' : ''}${withCpu ? ' --- | --- |' : ''}`);
  for (const r of rows) {
    const t = r.target;
    const base = r.baseline ? ` ${figure(r.spec, r.baseline)} | ${f1(r.baseline.p50Ms)} / ${f1(r.baseline.p99Ms)} | ${opt(ratioOf(r.spec, r))} |` : withBase ? ' | | |' : '';
    const cpu = withCpu ? ` ${opt(t.gatewayCpuMs)} | ${opt(t.storeCpuMs)} |` : '';
    console.log(`| ${sizeLabel(r.spec.size)} | ${r.spec.op} | ${r.spec.concurrency} | ${figure(r.spec, t)} | ${f1(t.p50Ms)} / ${f1(t.p99Ms)} |${base}${cpu}`);
  }
}

/** One line of JSON: every cell, keyed `<op>_<size>_c<concurrency>`. */
export function jsonLine(rows: Row[], extra: Record<string, unknown>): string {
  const cells: Record<string, unknown> = {};
  for (const r of rows) {
    const key = `${r.spec.op.toLowerCase()}_${sizeLabel(r.spec.size).replace(' ', '')}_c${r.spec.concurrency}`;
    const m = (x: Measured) => ({
      ops_per_s: f3(x.opsPerSec), mbps: f3(x.mbps), p50_ms: f3(x.p50Ms), p99_ms: f3(x.p99Ms),
      ...(x.gatewayCpuMs !== undefined && { gateway_cpu_ms_per_op: x.gatewayCpuMs === null ? null : f3(x.gatewayCpuMs) }),
      ...(x.storeCpuMs !== undefined && { store_cpu_ms_per_op: x.storeCpuMs === null ? null : f3(x.storeCpuMs) }),
    });
    const ratio = ratioOf(r.spec, r);
    cells[key] = {
      ...m(r.target), ...(r.baseline && { baseline: m(r.baseline) }), ...(ratio !== null && { ratio: f3(ratio) }),
      ...(r.roundRatios && { ratio_rounds: r.roundRatios.map(f3) }),
    };
  }
  return JSON.stringify({ ...extra, cells });
}
