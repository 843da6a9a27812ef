import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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

/** Set by the supervisor for its children: stop when the supervisor goes (shard-store/main.ts). */
export const SUPERVISED_ENV = 'SHARDGATE_STORE_SUPERVISED';

export function storeEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name, value]) => value !== undefined && STORE_ENV.test(name)));
}

/**
 * Start one `shardgate shard-store` OS process and wait until it prints its address.
 * Each store is its own process, as in production: one crashing never takes the others down.
 */
export async function spawnShardStore(spec: ShardStoreSpec, opts: { startTimeoutMs?: number; logPrefix?: boolean } = {}): Promise<ShardStoreProcess> {
  const args = [
    CLI_ENTRY, 'shard-store', '--id', spec.id, '--data', spec.dataDir, '--zone', spec.zone,
    '--host', spec.host ?? '127.0.0.1', '--port', String(spec.port ?? 0), '--trusted-key', spec.trustedKeyFile,
  ];
  // The store reads nothing from its stdin: it stops when the pipe closes, which is when this
  // process exits however it exits (even kill -9), so a dev cluster never leaves orphans behind.
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...storeEnvironment(process.env), [SUPERVISED_ENV]: '1' } });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const prefix = opts.logPrefix === false ? null : `[${spec.id}] `;
  const errLines = createInterface({ input: child.stderr! });
  const recentErr: string[] = [];
  errLines.on('line', (line) => {
    recentErr.push(line);
    if (recentErr.length > 20) recentErr.shift();
    if (prefix) process.stderr.write(prefix + line + '\n');
  });
  const lines = createInterface({ input: child.stdout! });
  const { url, fingerprint } = await new Promise<{ url: string; fingerprint: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`shard-store ${spec.id} did not start within ${opts.startTimeoutMs ?? 15_000} ms`)), opts.startTimeoutMs ?? 15_000);
    lines.on('line', (line) => {
      const m = / listening on (https:\/\/\S+) key (sha256:\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, fingerprint: m[2]! });
      } else if (prefix) {
        process.stdout.write(prefix + line + '\n');
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`shard-store ${spec.id} exited (${signal ?? code}) before listening: ${recentErr.join(' | ')}`));
    });
  });
  return { spec, url, fingerprint, child, exited };
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
