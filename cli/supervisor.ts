import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { serverNodeFlags } from './node-flags.js';

/** The compiled CLI entry; child processes run it so their command line names their role. */
export const CLI_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));

export interface ShardStoreSpec {
  id: string;
  dataDir: string;
  zone: string;
  trustedKeyFile: string;
  host?: string;
  port?: number;
}

export interface ShardStoreProcess {
  spec: ShardStoreSpec;
  url: string;
  /** The store's TLS key fingerprint, which the gateway pins. */
  fingerprint: string;
  child: ChildProcess;
  /** Resolves when the process exited, with its code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * What a store process started here may see of this process's environment: what Node and the
 * C library need (paths, locale, time zone, temp folder, Node's own options), nothing else.
 * A store is told everything about its role by flags; it must never see the master key, the
 * root credentials or any other SHARDGATE_* setting, nor the operator's other secrets
 * (cloud keys, tokens) that happen to be in the environment. /proc/PID/environ of a store
 * must show none of them.
 */
const STORE_ENV = /^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|TMP|TEMP|NODE_OPTIONS|NODE_ENV|NODE_EXTRA_CA_CERTS|UV_THREADPOOL_SIZE|SYSTEMROOT|WINDIR)$/i;

/**
 * Node's profiling flags, which store processes inherit from this one: `node --cpu-prof
 * dist/cli/main.js dev` then profiles the stores too (one file per process, named by its pid),
 * which is where half of a small PUT's CPU goes (bench/cpuprofile.ts). Only these: nothing
 * else of how this process was started changes a store. `--cpu-prof-name` and
 * `--heap-prof-name` are left out, since every process would write the same file.
 */
const PROFILING_FLAGS = new Set(['--cpu-prof', '--heap-prof', '--perf-basic-prof', '--perf-basic-prof-only-functions', '--perf-prof', '--prof']);
const PROFILING_OPTIONS = new Set(['--cpu-prof-dir', '--cpu-prof-interval', '--heap-prof-dir', '--heap-prof-interval']);

export function profilingFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (PROFILING_FLAGS.has(arg)) out.push(arg);
    else if (PROFILING_OPTIONS.has(name)) {
      if (eq >= 0) out.push(arg);
      else if (i + 1 < execArgv.length) out.push(`${arg}=${execArgv[++i]!}`);
    }
  }
  return out;
}

/** Set by the supervisor for its children: stop when the supervisor goes (shard-store/main.ts). */
export const SUPERVISED_ENV = 'SHARDGATE_STORE_SUPERVISED';

export function storeEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name, value]) => value !== undefined && STORE_ENV.test(name)));
}

/**
 * Start one `shardgate shard-store` OS process hosting `specs` (one store, or several with
 * --stores) and wait until each has printed its address. The stores of one process share its
 * event loop and fate, as the disks of one machine do; each keeps its own port, TLS key and
 * data folder, so the gateway sees independent stores either way.
 */
export async function spawnShardStores(specs: ShardStoreSpec[], opts: { startTimeoutMs?: number; logPrefix?: boolean } = {}): Promise<ShardStoreProcess[]> {
  const first = specs[0];
  if (!first) throw new RangeError('spawnShardStores needs at least one store');
  const single = specs.length === 1;
  const common = ['--host', first.host ?? '127.0.0.1', '--trusted-key', first.trustedKeyFile];
  const args = single
    ? [CLI_ENTRY, 'shard-store', '--id', first.id, '--data', first.dataDir, '--zone', first.zone, '--port', String(first.port ?? 0), ...common]
    : [CLI_ENTRY, 'shard-store', '--stores', JSON.stringify(specs.map((s) => ({ id: s.id, data: s.dataDir, zone: s.zone, ...(s.port && { port: s.port }) }))), ...common];
  const name = single ? `shard-store ${first.id}` : `shard-stores ${first.id}..${specs[specs.length - 1]!.id}`;
  // The store reads nothing from its stdin: it stops when the pipe closes, which is when this
  // process exits however it exits (even kill -9), so a dev cluster never leaves orphans behind.
  const env: NodeJS.ProcessEnv = { ...storeEnvironment(process.env), [SUPERVISED_ENV]: '1' };
  // Every store's file I/O and fdatasync run on libuv's threadpool (4 threads by default): with
  // several stores per process, one store's fdatasync must not hold up the others' appends.
  if (!single && !env.UV_THREADPOOL_SIZE) env.UV_THREADPOOL_SIZE = String(Math.min(128, 4 * specs.length));
  const child = spawn(process.execPath, [...serverNodeFlags(), ...profilingFlags(process.execArgv), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  // A process hosting several stores prefixes its lines with the store's id itself.
  const prefix = opts.logPrefix === false ? null : single ? `[${first.id}] ` : '';
  const errLines = createInterface({ input: child.stderr });
  const recentErr: string[] = [];
  errLines.on('line', (line) => {
    recentErr.push(line);
    if (recentErr.length > 20) recentErr.shift();
    if (prefix !== null) process.stderr.write(prefix + line + '\n');
  });
  const lines = createInterface({ input: child.stdout });
  const found = new Map<string, { url: string; fingerprint: string }>();
  const timeoutMs = opts.startTimeoutMs ?? 15_000 + 1_000 * (specs.length - 1);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs} ms: ${recentErr.join(' | ')}`));
    }, timeoutMs);
    lines.on('line', (line) => {
      const m = /^shard-store (\S+) listening on (https:\/\/\S+) key (sha256:\S+)/.exec(line);
      if (m && specs.some((s) => s.id === m[1])) {
        found.set(m[1]!, { url: m[2]!, fingerprint: m[3]! });
        if (found.size === specs.length) {
          clearTimeout(timer);
          resolve();
        }
      } else if (prefix !== null) {
        process.stdout.write(prefix + line + '\n');
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before listening: ${recentErr.join(' | ')}`));
    });
  });
  return specs.map((spec) => ({ spec, ...found.get(spec.id)!, child, exited }));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(p: { child: ChildProcess; exited: Promise<unknown> }, graceMs = 5_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGCONT'); // a frozen store cannot act on SIGTERM
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}
