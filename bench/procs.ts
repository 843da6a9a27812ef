/**
 * Child processes and /proc readings for the benchmarks: start `shardgate dev` and the
 * baseline as a user would, stop them (and everything they started) on exit or Ctrl-C, and
 * read CPU time and peak memory. Linux /proc; elsewhere the readings are null.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { serverNodeFlags } from '../cli/node-flags.js';

export class BenchError extends Error {
  code = 'ERR_BENCH';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function envInt(name: string, dflt: number, min: number, max: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new BenchError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

export const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 15_000;

export interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<void>;
  /** Last stderr/stdout lines, shown when the child fails. */
  tail: string[];
}

export const children: Child[] = [];
export const tmpDirs: string[] = [];

/**
 * Spawn `node <args>` in its own process group (a Ctrl-C reaches only us, and we stop the
 * children in order), and wait until stdout has matched every pattern; resolves with the
 * first capture group of each. Every server runs with the V8 flags `shardgate` gives its own
 * (cli/node-flags.ts): shardgate as users start it, and the baseline on the same terms.
 */
export async function startChild(name: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp[]): Promise<{ child: Child; found: string[] }> {
  const proc = spawn(process.execPath, [...serverNodeFlags(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((done) => proc.once('exit', () => done()));
  const child: Child = { name, proc, exited, tail: [] };
  children.push(child);
  const keep = (line: string): void => {
    child.tail.push(line);
    if (child.tail.length > 30) child.tail.shift();
  };
  createInterface({ input: proc.stderr }).on('line', keep);
  const found: (string | undefined)[] = ready.map(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BenchError(`${name} did not start within ${START_TIMEOUT_MS} ms:\n${child.tail.join('\n')}`)), START_TIMEOUT_MS);
    createInterface({ input: proc.stdout }).on('line', (line) => {
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
export async function stopChild(c: Child): Promise<void> {
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

export function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // already gone
  }
}

let cleaning: Promise<void> | undefined;
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of children.splice(0).reverse()) await stopChild(c);
    for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  })();
  return cleaning;
}

/**
 * CPU seconds (user + system, every thread: the libuv pool included) a process has used,
 * or null where /proc is not there. On a small shared machine this says more about the
 * gateway's own cost per byte than MB/s, which the 16 shard-store processes also shape.
 */
export function cpuSeconds(pid: number | undefined): number | null {
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
export function peakRssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds of a process's children together (the dev process's shard-stores), or null where unknown. */
export function childrenCpuSeconds(pid: number | undefined): number | null {
  const xs = childPids(pid).map(cpuSeconds);
  return xs.length === 0 || xs.some((x) => x === null) ? null : xs.reduce((a, b) => a! + b!, 0);
}

/**
 * Run a bench's main: on Ctrl-C, or when it throws (with the last lines of every child),
 * everything it started is stopped and its temp folders removed; nothing outlives it.
 */
export async function runBench(name: string, main: () => Promise<void>, onError?: (err: unknown) => void): Promise<void> {
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    console.error(`\nSIGINT: stopping what ${name} started ...`);
    void cleanup().finally(() => process.exit(130));
  });
  process.once('exit', () => {
    // Last resort: nothing may outlive the bench.
    for (const c of children) if (c.proc.pid !== undefined) signalGroup(c.proc.pid, 'SIGKILL');
  });
  try {
    await main();
  } catch (err) {
    if (!interrupted) {
      console.error(`\n${name} failed:`, err instanceof Error ? err.message : err);
      onError?.(err);
      for (const c of children) if (c.tail.length) console.error(`--- last lines from ${c.name}:\n${c.tail.slice(-15).join('\n')}`);
    }
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}
