/**
 * `npm run bench:ab -- --a 'VAR=x ...' --b 'VAR=y ...' [--a-dir DIR] [--b-dir DIR]
 *    [--size 4KiB] [--concurrency 16] [--op PUT] [--seconds 6] [--pairs 6]`
 *
 * Whether a change makes one cell of the matrix faster. On a small shared machine one run of
 * a cell varies by a quarter from the next, with nothing changed, as the host gives more or
 * less CPU: a single before-and-after pair says nothing about a 5% change. This runs the
 * same cell on a fresh `shardgate dev` again and again, side A and side B alternately (each
 * pair in the other order than the last, so drift favours neither), and reports every pair's
 * ratio B/A and their median and geometric mean: what the closing notes of speed work quote.
 *
 * A side is an environment (`--a 'SHARDGATE_JOURNAL_X=0'`) and/or another built checkout
 * (`--a-dir ../base`: its dist/cli/main.js), so a setting or a whole commit can be compared.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cellSpec } from './cells.js';
import { parseSizeText, runCell, sizeLabel, type Op } from './load.js';
import { BenchError, children, childrenCpuSeconds, cpuSeconds, runBench, startChild, stopChild } from './procs.js';
import { measured, type Measured } from './report.js';
import { dispatcherFor, S3Target } from './targets.js';

const ROOT_USER = 'benchroot';
const ROOT_PASSWORD = 'bench-secret-not-for-use-elsewhere';

interface Side {
  label: 'A' | 'B';
  entry: string;
  env: Record<string, string>;
}

function side(label: 'A' | 'B', envText: string | undefined, dir: string | undefined): Side {
  const entry = dir ? join(resolve(dir), 'dist/cli/main.js') : fileURLToPath(new URL('../cli/main.js', import.meta.url));
  if (!existsSync(entry)) throw new BenchError(`${entry} is missing: run \`npm run build\` in ${dir ?? 'this checkout'}`);
  const env: Record<string, string> = {};
  for (const pair of (envText ?? '').split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new BenchError(`--${label.toLowerCase()}: expected VAR=value pairs, got "${pair}"`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { label, entry, env };
}

/** One run: a fresh `shardgate dev` on an empty data folder, warmed up, then the cell. */
async function runOnce(s: Side, op: Op, size: number, concurrency: number, seconds: number): Promise<Measured> {
  const root = mkdtempSync(join(tmpdir(), `shardgate-ab-${s.label}-`));
  const env = { ...process.env, SHARDGATE_ROOT_USER: ROOT_USER, SHARDGATE_ROOT_PASSWORD: ROOT_PASSWORD, ...s.env };
  const { child, found } = await startChild(`side ${s.label}`, [s.entry, 'dev', '--port', '0', '--data', join(root, 'data')], env,
    [/S3 endpoint:\s+(http:\/\/\S+)/, /Region:\s+(\S+)/]);
  const dispatcher = dispatcherFor({ connections: concurrency });
  try {
    const t = new S3Target(s.label, new URL(found[0]!), found[1]!, { accessKeyId: ROOT_USER, secretAccessKey: ROOT_PASSWORD }, 'bench-ab', dispatcher);
    await t.createBucket();
    const body = randomBytes(size);
    await t.put('warmup', body);
    await t.get('warmup');
    const spec = cellSpec(op, size, concurrency, seconds);
    let existing: string[] | undefined;
    if (op === 'GET') {
      existing = [];
      for (let i = 0; i < concurrency; i++) {
        await t.put(`get-${i}`, body);
        existing.push(`get-${i}`);
      }
    }
    const pid = child.proc.pid;
    const stores = (): number | null => childrenCpuSeconds(pid);
    const g0 = cpuSeconds(pid);
    const s0 = stores();
    const r = await runCell(t, spec, body, { prefix: 'cell-', ...(existing && { existing }) });
    const g1 = cpuSeconds(pid);
    const s1 = stores();
    return measured(r, { gateway: g0 === null || g1 === null ? null : g1 - g0, stores: s0 === null || s1 === null ? null : s1 - s0 });
  } finally {
    await dispatcher.close();
    await stopChild(child);
    children.splice(children.indexOf(child), 1);
    rmSync(root, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function describe(m: Measured, small: boolean): string {
  const rate = small ? `${m.opsPerSec.toFixed(1)} obj/s` : `${m.mbps.toFixed(1)} MB/s`;
  const cpu = typeof m.gatewayCpuMs === 'number' && typeof m.storeCpuMs === 'number' ? `, CPU/op gateway ${m.gatewayCpuMs.toFixed(2)} + stores ${m.storeCpuMs.toFixed(2)} ms` : '';
  return `${rate}, p50 ${m.p50Ms.toFixed(1)} / p99 ${m.p99Ms.toFixed(1)} ms${cpu}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' }, b: { type: 'string' }, 'a-dir': { type: 'string' }, 'b-dir': { type: 'string' },
      size: { type: 'string', default: '4KiB' }, concurrency: { type: 'string', default: '16' }, op: { type: 'string', default: 'PUT' },
      seconds: { type: 'string', default: '6' }, pairs: { type: 'string', default: '6' },
    },
  });
  const a = side('A', values.a, values['a-dir']);
  const b = side('B', values.b, values['b-dir']);
  if (a.entry === b.entry && JSON.stringify(a.env) === JSON.stringify(b.env)) {
    console.log('A and B are the same: this measures the noise of the machine.');
  }
  const op = values.op.toUpperCase();
  if (op !== 'PUT' && op !== 'GET') throw new BenchError('--op: PUT or GET');
  const size = parseSizeText(values.size);
  const concurrency = Number(values.concurrency);
  const seconds = Number(values.seconds);
  const pairs = Number(values.pairs);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new BenchError('--concurrency: an integer from 1 to 256');
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) throw new BenchError('--seconds: an integer from 1 to 600');
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 100) throw new BenchError('--pairs: an integer from 1 to 100');
  const small = size < 1024 * 1024;
  const rate = (m: Measured): number => (small ? m.opsPerSec : m.mbps);
  console.log(`${sizeLabel(size)} ${op} × ${concurrency}, ${pairs} pairs; A: ${a.entry} ${JSON.stringify(a.env)}; B: ${b.entry} ${JSON.stringify(b.env)}`);

  const results: Array<{ a: Measured; b: Measured }> = [];
  for (let i = 0; i < pairs; i++) {
    const got: Partial<Record<'A' | 'B', Measured>> = {};
    for (const s of i % 2 ? [b, a] : [a, b]) {
      got[s.label] = await runOnce(s, op, size, concurrency, seconds);
      console.log(`  pair ${i + 1} ${s.label}: ${describe(got[s.label]!, small)}`);
    }
    results.push({ a: got.A!, b: got.B! });
    console.log(`  pair ${i + 1}: B/A ${(rate(got.B!) / rate(got.A!)).toFixed(3)}`);
  }

  const ratios = results.map((r) => rate(r.b) / rate(r.a));
  const geo = Math.exp(mean(ratios.map(Math.log)));
  const cpuOf = (ms: Measured[]): number | null => (ms.every((m) => typeof m.gatewayCpuMs === 'number' && typeof m.storeCpuMs === 'number')
    ? mean(ms.map((m) => m.gatewayCpuMs! + m.storeCpuMs!)) : null);
  const unit = small ? 'obj/s' : 'MB/s';
  const [cpuA, cpuB] = [cpuOf(results.map((r) => r.a)), cpuOf(results.map((r) => r.b))];
  console.log(`\nA ${mean(results.map((r) => rate(r.a))).toFixed(1)} ${unit}, B ${mean(results.map((r) => rate(r.b))).toFixed(1)} ${unit}; ` +
    `B/A median ${median(ratios).toFixed(3)}, geometric mean ${geo.toFixed(3)}, range ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}` +
    (cpuA !== null && cpuB !== null ? `; CPU/op (gateway + stores) A ${cpuA.toFixed(2)} ms, B ${cpuB.toFixed(2)} ms` : ''));
  console.log(JSON.stringify({
    cell: `${op.toLowerCase()}_${sizeLabel(size).replace(' ', '')}_c${concurrency}`, unit, pairs,
    a: { dir: a.entry, env: a.env }, b: { dir: b.entry, env: b.env },
    ratios: ratios.map((r) => Number(r.toFixed(4))), median: Number(median(ratios).toFixed(4)), geomean: Number(geo.toFixed(4)),
    cpu_ms_per_op: { a: cpuA, b: cpuB },
  }));
}

await runBench('bench:ab', main);
