/**
 * `npm run bench`: PUT and GET throughput of 64 MiB objects through the real system (the
 * `shardgate dev` processes, started as a user starts them) beside a single-copy baseline
 * measured in the same run (bench/baseline-server.ts: plain HTTP, one file per object,
 * fsynced). Prints a table, then ONE JSON line. MB = 10^6 bytes.
 *
 * SHARDGATE_BENCH_ROUNDS (default 5) sets the sequential rounds; SHARDGATE_BENCH_STREAMS
 * (default 2, 1 to skip) the streams of the concurrent phase; SHARDGATE_ENGINE passes through
 * to the gateway (reference|native). See bench/README.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import aws4 from 'aws4';
import { Agent, request } from 'undici';

class BenchError extends Error {
  code = 'ERR_BENCH';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

function envInt(name: string, dflt: number, min: number, max: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new BenchError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

/** 64 MiB as the issue asks; SHARDGATE_BENCH_OBJECT_MIB only for quick smoke runs. */
const OBJECT_MIB = envInt('SHARDGATE_BENCH_OBJECT_MIB', 64, 1, 1024);
const OBJECT_BYTES = OBJECT_MIB * 1024 * 1024;
const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 15_000;
const CLI_ENTRY = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const BASELINE_ENTRY = fileURLToPath(new URL('./baseline-server.js', import.meta.url));
const BUCKET = 'bench';
// Fixed bench-only credentials: the gateway lives only as long as this run, on loopback.
const ROOT_USER = 'benchroot';
const ROOT_PASSWORD = 'bench-secret-not-for-use-elsewhere';

// ---- child processes -------------------------------------------------------------------

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<void>;
  /** Last stderr/stdout lines, shown when the child fails. */
  tail: string[];
}

const children: Child[] = [];
const tmpDirs: string[] = [];

/**
 * Spawn `node <args>` in its own process group (a Ctrl-C reaches only us, and we stop the
 * children in order), and wait until stdout has matched every pattern; resolves with the
 * first capture group of each.
 */
async function startChild(name: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp[]): Promise<{ child: Child; found: string[] }> {
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((done) => proc.once('exit', () => done()));
  const child: Child = { name, proc, exited, tail: [] };
  children.push(child);
  const keep = (line: string): void => {
    child.tail.push(line);
    if (child.tail.length > 30) child.tail.shift();
  };
  createInterface({ input: proc.stderr! }).on('line', keep);
  const found: (string | undefined)[] = ready.map(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BenchError(`${name} did not start within ${START_TIMEOUT_MS} ms:\n${child.tail.join('\n')}`)), START_TIMEOUT_MS);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      keep(line);
      ready.forEach((re, i) => {
        const m = re.exec(line);
        if (m && found[i] === undefined) found[i] = m[1] ?? '';
      });
      if (found.every((f) => f !== undefined)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new BenchError(`${name} exited (${proc.signalCode ?? proc.exitCode}) before it was ready:\n${child.tail.join('\n')}`));
    });
  });
  return { child, found: found as string[] };
}

/**
 * SIGTERM, then SIGKILL to its whole process group after a grace period. The group also holds
 * the dev process's shard-stores, which outlive it when it dies before it could stop them.
 */
async function stopChild(c: Child): Promise<void> {
  const pid = c.proc.pid;
  if (pid === undefined) return;
  if (c.proc.exitCode === null && c.proc.signalCode === null) {
    c.proc.kill('SIGTERM');
    if (!(await settles(c.exited, STOP_GRACE_MS))) {
      console.error(`${c.name} did not stop within ${STOP_GRACE_MS} ms: killing it`);
      signalGroup(pid, 'SIGKILL');
      await c.exited;
    }
  }
  if (groupAlive(pid)) {
    signalGroup(pid, 'SIGTERM');
    const deadline = performance.now() + STOP_GRACE_MS;
    while (groupAlive(pid) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
  }
}

async function settles(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((done) => (timer = setTimeout(() => done(false), ms)));
  const ok = await Promise.race([p.then(() => true), timedOut]);
  clearTimeout(timer);
  return ok;
}

/** Whether any process of the group `pgid` (the child's pid, as it was spawned detached) is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // already gone
  }
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of children.splice(0).reverse()) await stopChild(c);
    for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  })();
  return cleaning;
}

// ---- /proc readings (Linux) --------------------------------------------------------------

/**
 * CPU seconds (user + system, every thread: the libuv pool included) a process has used,
 * or null where /proc is not there. On a small shared machine this says more about the
 * gateway's own cost per byte than MB/s, which the 16 shard-store processes also shape.
 */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ ticks
  } catch {
    return null;
  }
}

/** Peak resident set size (VmHWM) in MiB, or null where /proc is not there. */
function peakRssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// ---- clients -----------------------------------------------------------------------------

/** What a bench round talks to: the gateway over S3, or the baseline over plain HTTP. */
interface Target {
  readonly label: string;
  put(key: string, body: Buffer): Promise<void>;
  /** Reads the whole object into `into`; returns the byte count. */
  get(key: string, into: Buffer): Promise<number>;
}

// One keep-alive pool for both targets: connection setup is not what we measure.
const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 8 });

async function readInto(body: AsyncIterable<Buffer>, into: Buffer): Promise<number> {
  let n = 0;
  for await (const chunk of body) {
    if (n + chunk.length > into.length) throw new BenchError(`response is longer than ${into.length} bytes`);
    chunk.copy(into, n);
    n += chunk.length;
  }
  return n;
}

async function expectStatus(what: string, res: { statusCode: number; body: { text(): Promise<string> } }, ok: number[]): Promise<void> {
  if (ok.includes(res.statusCode)) return;
  const text = await res.body.text().catch(() => '');
  throw new BenchError(`${what}: HTTP ${res.statusCode} ${text.slice(0, 500)}`);
}

/**
 * The gateway, over SigV4 signed with `aws4` and sent with undici: a thin client, so that on a
 * 2-core machine the client's own CPU does not dominate. UNSIGNED-PAYLOAD spares hashing 64 MiB
 * on the client (the baseline is not hashed either); TLS-less loopback makes it safe here.
 */
class S3Target implements Target {
  readonly label = 'gateway';
  readonly notes: string[] = [];
  constructor(private readonly endpoint: URL, private readonly region: string, private readonly md5: string) {}

  private signed(method: string, path: string, headers: Record<string, string> = {}): Record<string, string> {
    const opts = aws4.sign(
      { host: this.endpoint.host, path, method, service: 's3', region: this.region, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers } },
      { accessKeyId: ROOT_USER, secretAccessKey: ROOT_PASSWORD },
    );
    return opts.headers as Record<string, string>;
  }

  async createBucket(): Promise<void> {
    const path = `/${BUCKET}`;
    const res = await request(new URL(path, this.endpoint), { method: 'PUT', headers: this.signed('PUT', path), dispatcher });
    await expectStatus('CreateBucket', res, [200, 409]);
    await res.body.dump();
  }

  async put(key: string, body: Buffer): Promise<void> {
    const path = `/${BUCKET}/${key}`;
    const headers = this.signed('PUT', path, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
    const res = await request(new URL(path, this.endpoint), { method: 'PUT', headers, body, dispatcher });
    await expectStatus(`PutObject ${key}`, res, [200]);
    await res.body.dump();
    const etag = String(res.headers.etag ?? '');
    // A single-part PutObject's ETag is the body's MD5, as AWS S3 gives for SSE-S3 objects.
    if (etag !== `"${this.md5}"` && this.notes.length === 0) this.notes.push(`PutObject ETag ${etag} is not the body's MD5 "${this.md5}"`);
  }

  async get(key: string, into: Buffer): Promise<number> {
    const path = `/${BUCKET}/${key}`;
    const res = await request(new URL(path, this.endpoint), { method: 'GET', headers: this.signed('GET', path), dispatcher });
    await expectStatus(`GetObject ${key}`, res, [200]);
    return readInto(res.body, into);
  }
}

class BaselineTarget implements Target {
  readonly label = 'baseline';
  constructor(private readonly endpoint: URL) {}

  async put(key: string, body: Buffer): Promise<void> {
    const res = await request(new URL(`/${key}`, this.endpoint), { method: 'PUT', body, dispatcher, headers: { 'content-length': String(body.length) } });
    await expectStatus(`baseline PUT ${key}`, res, [201]);
    await res.body.dump();
  }

  async get(key: string, into: Buffer): Promise<number> {
    const res = await request(new URL(`/${key}`, this.endpoint), { method: 'GET', dispatcher });
    await expectStatus(`baseline GET ${key}`, res, [200]);
    return readInto(res.body, into);
  }
}

// ---- measuring ---------------------------------------------------------------------------

/** The object every request sends, and its MD5 (hex). */
interface Payload { data: Buffer; md5: string }

interface Sample { target: string; op: 'PUT' | 'GET'; streams: number; mbps: number }
const samples: Sample[] = [];

function md5(buf: Buffer): string {
  return createHash('md5').update(buf).digest('hex');
}

/**
 * `streams` PUTs (or GETs) of the object at once; MB/s = all bytes / wall time. GET bytes are
 * checked against the PUT bytes by MD5 after the clock stops, so hashing is not measured.
 */
async function round(t: Target, op: 'PUT' | 'GET', keys: string[], { data, md5: want }: Payload, sinks: Buffer[], record: boolean): Promise<void> {
  const start = performance.now();
  const got = await Promise.all(keys.map((k, i) => (op === 'PUT' ? t.put(k, data).then(() => data.length) : t.get(k, sinks[i]!))));
  const seconds = (performance.now() - start) / 1000;
  if (op === 'GET') {
    got.forEach((n, i) => {
      if (n !== data.length) throw new BenchError(`${t.label} GET ${keys[i]}: ${n} bytes, expected ${data.length}`);
      if (md5(sinks[i]!) !== want) throw new BenchError(`${t.label} GET ${keys[i]}: MD5 differs from the PUT bytes`);
    });
  }
  if (record) samples.push({ target: t.label, op, streams: keys.length, mbps: (keys.length * data.length) / 1e6 / seconds });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function stats(target: string, op: 'PUT' | 'GET', streams: number): { median: number; min: number; max: number } | null {
  const xs = samples.filter((s) => s.target === target && s.op === op && s.streams === streams).map((s) => s.mbps);
  return xs.length ? { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) } : null;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

// ---- the run -----------------------------------------------------------------------------

async function main(): Promise<void> {
  const rounds = envInt('SHARDGATE_BENCH_ROUNDS', 5, 1, 100);
  const streams = envInt('SHARDGATE_BENCH_STREAMS', 2, 1, 8);
  const concurrentRounds = streams > 1 ? Math.max(2, Math.ceil(rounds / 2)) : 0;

  const root = mkdtempSync(join(tmpdir(), 'shardgate-bench-'));
  tmpDirs.push(root);
  const data = randomBytes(OBJECT_BYTES);
  const payload: Payload = { data, md5: md5(data) };
  const sinks = Array.from({ length: streams }, () => Buffer.allocUnsafe(OBJECT_BYTES));

  const env: NodeJS.ProcessEnv = { ...process.env, SHARDGATE_ROOT_USER: ROOT_USER, SHARDGATE_ROOT_PASSWORD: ROOT_PASSWORD };
  console.log(`starting shardgate dev (16 shard-stores) and the baseline under ${root} ...`);
  const [dev, base] = await Promise.all([
    startChild('shardgate dev', [CLI_ENTRY, 'dev', '--port', '0', '--data', join(root, 'dev')], env,
      [/S3 endpoint:\s+(http:\/\/\S+)/, /Region:\s+(\S+)/, /Engine:\s+(.+?)\s*$/]),
    startChild('baseline', [BASELINE_ENTRY, mkdirFor(root, 'baseline')], process.env, [/listening on (http:\/\/\S+)/]),
  ]);
  const [endpoint, region, engine] = dev.found as [string, string, string];
  const gw = new S3Target(new URL(endpoint), region, payload.md5);
  const bl = new BaselineTarget(new URL(base.found[0]!));
  console.log(`gateway ${endpoint} (engine: ${engine}), baseline ${base.found[0]}; ${OBJECT_MIB} MiB objects, ${rounds} rounds, ${availableParallelism()} cores`);

  await gw.createBucket();
  // Warm-up: JIT, connection pools, first-write paths (directories, metadata pages).
  for (const t of [gw, bl]) {
    await round(t, 'PUT', ['warmup'], payload, sinks, false);
    await round(t, 'GET', ['warmup'], payload, sinks, false);
  }
  // Alternate which side goes first, so drift on a shared machine does not favour one.
  const pairs = (i: number): Target[] => (i % 2 ? [bl, gw] : [gw, bl]);
  const devPid = dev.child.proc.pid;
  const gb = (rounds * OBJECT_BYTES) / 1e9;
  const cpu0 = cpuSeconds(devPid);
  for (let i = 0; i < rounds; i++) for (const t of pairs(i)) await round(t, 'PUT', [`obj-${i}`], payload, sinks, true);
  const cpu1 = cpuSeconds(devPid);
  for (let i = 0; i < rounds; i++) for (const t of pairs(i)) await round(t, 'GET', [`obj-${i}`], payload, sinks, true);
  const cpu2 = cpuSeconds(devPid);
  const perGb = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : r3((b - a) / gb));
  const gatewayCpu = { put: perGb(cpu0, cpu1), get: perGb(cpu1, cpu2) };
  for (let i = 0; i < concurrentRounds; i++) {
    const keys = Array.from({ length: streams }, (_, s) => `multi-${i}-${s}`);
    for (const t of pairs(i)) await round(t, 'PUT', keys, payload, sinks, true);
  }
  for (let i = 0; i < concurrentRounds; i++) {
    const keys = Array.from({ length: streams }, (_, s) => `multi-${i}-${s}`);
    for (const t of pairs(i)) await round(t, 'GET', keys, payload, sinks, true);
  }

  // Read before stopping: VmHWM is gone with the process.
  const stores = childPids(devPid);
  const gatewayRss = peakRssMiB(devPid);
  const storeRss = stores.map(peakRssMiB).filter((x): x is number => x !== null);
  const baselineRss = peakRssMiB(base.child.proc.pid);
  report({ rounds, streams, engine, gatewayRss, storeRss, baselineRss, gatewayCpu, notes: gw.notes });
}

function mkdirFor(root: string, name: string): string {
  return mkdtempSync(join(root, `${name}-`));
}

interface ReportInput {
  rounds: number;
  streams: number;
  engine: string;
  gatewayRss: number | null;
  storeRss: number[];
  baselineRss: number | null;
  /** Gateway CPU seconds (all threads) per GB of objects moved, sequential rounds. */
  gatewayCpu: { put: number | null; get: number | null };
  notes: string[];
}

function report(r: ReportInput): void {
  console.log('\n| op | streams | gateway MB/s (min-max) | baseline MB/s (min-max) | ratio |\n| --- | --- | --- | --- | --- |');
  const ratios: Record<string, number | null> = {};
  const medians: Record<string, number | null> = {};
  for (const streams of [1, r.streams].filter((s, i, a) => a.indexOf(s) === i)) {
    for (const op of ['PUT', 'GET'] as const) {
      const g = stats('gateway', op, streams);
      const b = stats('baseline', op, streams);
      if (!g || !b) continue;
      const ratio = g.median / b.median;
      const key = `${op.toLowerCase()}${streams > 1 ? `_${streams}streams` : ''}`;
      medians[`${key}_mbps`] = r1(g.median);
      medians[`baseline_${key}_mbps`] = r1(b.median);
      ratios[`${key}_ratio`] = r3(ratio);
      console.log(`| ${op} | ${streams} | ${g.median.toFixed(1)} (${g.min.toFixed(0)}-${g.max.toFixed(0)}) | ${b.median.toFixed(1)} (${b.min.toFixed(0)}-${b.max.toFixed(0)}) | ${ratio.toFixed(3)} |`);
    }
  }
  const mib = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(0)} MiB`);
  console.log(`\nengine: ${r.engine}`);
  console.log(`peak RSS (VmHWM): gateway (dev process) ${mib(r.gatewayRss)}; shard-stores max ${mib(r.storeRss.length ? Math.max(...r.storeRss) : null)} ` +
    `each over ${r.storeRss.length}; baseline ${mib(r.baselineRss)}`);
  console.log(`gateway CPU (all threads) per GB: PUT ${r.gatewayCpu.put ?? 'n/a'} s, GET ${r.gatewayCpu.get ?? 'n/a'} s`);
  for (const n of r.notes) console.log(`note: ${n}`);
  console.log(JSON.stringify({
    put_mbps: medians.put_mbps,
    get_mbps: medians.get_mbps,
    baseline_put_mbps: medians.baseline_put_mbps,
    baseline_get_mbps: medians.baseline_get_mbps,
    put_ratio: ratios.put_ratio,
    get_ratio: ratios.get_ratio,
    engine: r.engine,
    object_mib: OBJECT_MIB,
    rounds: r.rounds,
    streams: r.streams,
    ...(r.streams > 1 ? {
      [`put_${r.streams}streams_mbps`]: medians[`put_${r.streams}streams_mbps`],
      [`get_${r.streams}streams_mbps`]: medians[`get_${r.streams}streams_mbps`],
      [`put_${r.streams}streams_ratio`]: ratios[`put_${r.streams}streams_ratio`],
      [`get_${r.streams}streams_ratio`]: ratios[`get_${r.streams}streams_ratio`],
    } : {}),
    gateway_cpu_s_per_gb_put: r.gatewayCpu.put,
    gateway_cpu_s_per_gb_get: r.gatewayCpu.get,
    gateway_peak_rss_mib: r.gatewayRss === null ? null : Math.round(r.gatewayRss),
    shard_store_peak_rss_mib: r.storeRss.length ? Math.round(Math.max(...r.storeRss)) : null,
  }));
}

let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  console.error('\nSIGINT: stopping the gateway and the baseline ...');
  void cleanup().finally(() => process.exit(130));
});
process.once('exit', () => {
  // Last resort if we exit without cleanup() having finished: nothing may outlive the bench.
  for (const c of children) if (c.proc.pid !== undefined) signalGroup(c.proc.pid, 'SIGKILL');
});

try {
  await main();
} catch (err) {
  // After a Ctrl-C the children are going away on purpose: their failures are not news.
  if (!interrupted) {
    console.error('bench failed:', err instanceof Error ? err.message : err);
    if (err instanceof Error && err.cause) console.error('cause:', err.cause);
    // The children's own words are usually the explanation (a 5xx is logged by the gateway).
    for (const c of children) if (c.tail.length) console.error(`--- last lines from ${c.name}:\n${c.tail.slice(-15).join('\n')}`);
  }
  process.exitCode = 1;
} finally {
  await cleanup();
  await dispatcher.close();
}
