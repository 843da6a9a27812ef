import { S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { serverNodeFlags } from '../../cli/node-flags.js';
import { ensureDevCertificate } from '../../gateway/tls/dev-ca.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { onClose } from './registry.js';
import { freshDatabase, postgresSkipReason, startPostgres, type PgServer } from './postgres.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');
export const ACCESS_KEY = 'TESTROOTACCESSKEY001';
export const SECRET_KEY = 'test-root-secret-key-0123456789abcdef';

export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the integration tests');
}

export interface StoreProc {
  id: string;
  url: string;
  /** Its TLS key fingerprint (what the gateway pins). */
  fingerprint: string;
  dataDir: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

export interface Cluster {
  dir: string;
  endpoint: string;
  stores: StoreProc[];
  gateway: ChildProcess;
  /** Where the metadata lives: 'sqlite' (the gateway's data folder) or a PostgreSQL URL. */
  meta: string;
  /** Every gateway (the first is `gateway`/`endpoint`); more than one only on PostgreSQL. */
  gateways: GatewayProc[];
  env: NodeJS.ProcessEnv;
  /** With `tls`: the CA that signed the gateway's certificate. */
  caFile?: string;
  /** The running gateway's output lines so far (since its last start), stdout and stderr apart. */
  gatewayOutput: { stdout: string[]; stderr: string[] };
  client(opts?: Partial<ConstructorParameters<typeof S3Client>[0]>): S3Client;
  /** A client of gateway `i` (0 is the first). */
  clientOf(i: number, opts?: Partial<ConstructorParameters<typeof S3Client>[0]>): S3Client;
  /** Stop gateway `i` with `signal` (default SIGKILL) and start it again on its data and port. */
  restartGatewayAt(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** SIGKILL the gateway and start it again on the same data (same port), with `env` added to the cluster's for this start. */
  restartGateway(signal?: NodeJS.Signals, env?: NodeJS.ProcessEnv): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Spawn a CLI child and resolve with the first stdout match of `pattern`. `output` keeps every
 * line, stdout and stderr interleaved as they came; `stdout` and `stderr` keep them apart.
 * It runs with the V8 flags the `shardgate` launcher gives a server (cli/node-flags.ts).
 */
export async function spawnAndWait(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp, timeoutMs = 30_000): Promise<{
  child: ChildProcess; match: RegExpExecArray; output: string[]; stdout: string[]; stderr: string[];
}> {
  const child = spawn(process.execPath, [...serverNodeFlags(), CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const lines = createInterface({ input: child.stdout });
  createInterface({ input: child.stderr }).on('line', (l) => {
    output.push(l);
    stderr.push(l);
    if (process.env.SHARDGATE_TEST_VERBOSE) console.error(l);
  });
  const match = await new Promise<RegExpExecArray>((res, rej) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL'); // a child that never got ready must not outlive the test
      rej(new Error(`timed out waiting for ${pattern} from shardgate ${args[0]}: ${output.join('\n')}`));
    }, timeoutMs);
    lines.on('line', (l) => {
      output.push(l);
      stdout.push(l);
      const m = pattern.exec(l);
      if (m) {
        clearTimeout(t);
        res(m);
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      rej(new Error(`shardgate ${args[0]} exited (${sig ?? code}):\n${output.join('\n')}`));
    });
  });
  return { child, match, output, stdout, stderr };
}

export interface GatewayProc {
  endpoint: string;
  dataDir: string;
  child: ChildProcess;
}

/** The gateway's secrets, copied to every other gateway of a cluster (cli/gateway.ts --init). */
const SHARED_GATEWAY_FILES = ['gateway-key.jwk', 'gateway-key.pub.jwk', 'master.key'];

let pgServer: Promise<PgServer> | undefined;

/** One PostgreSQL server per test file, a new database per cluster. */
export async function pgDatabase(): Promise<string> {
  const skip = postgresSkipReason();
  if (skip) throw new Error(`a PostgreSQL cluster was asked for: ${skip}`);
  pgServer ??= startPostgres();
  return freshDatabase((await pgServer).url);
}

async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = once(child, 'exit');
  child.kill('SIGCONT');
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(t);
}

/**
 * The production topology on loopback: N `shardgate shard-store` processes and one
 * `shardgate gateway` process pointed at them, all state in a fresh temp folder.
 */
export async function startCluster(opts: {
  stores?: number; zones?: number; env?: NodeJS.ProcessEnv; scope?: 'each' | 'file';
  /** Serve S3 over HTTPS with a certificate from a CA made for the test (Cluster.caFile). */
  tls?: boolean;
  /** The metadata backend (default: SHARDGATE_TEST_META, else sqlite). */
  meta?: 'sqlite' | 'postgres';
  /** Gateways over the same stores and metadata (default 1; more need PostgreSQL). */
  gateways?: number;
} = {}): Promise<Cluster> {
  requireBuild();
  const backend = opts.meta ?? (process.env.SHARDGATE_TEST_META === 'postgres' ? 'postgres' : 'sqlite');
  const gatewayCount = opts.gateways ?? 1;
  if (gatewayCount > 1 && backend !== 'postgres') throw new Error('several gateways need meta: postgres');
  const metaUrl = backend === 'postgres' ? await pgDatabase() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-test-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHARDGATE_ROOT_USER: ACCESS_KEY,
    SHARDGATE_ROOT_PASSWORD: SECRET_KEY,
    SHARDGATE_HEDGE_MS: '150',
    SHARDGATE_READ_TIMEOUT_MS: '2000',
    SHARDGATE_WRITE_STALL_MS: '3000',
    ...(metaUrl && { SHARDGATE_META_URL: metaUrl }),
    ...opts.env,
  };
  const gwDir = join(dir, 'gateway');
  const tls = opts.tls ? ensureDevCertificate(join(dir, 'tls')) : undefined;
  await spawnAndWait(['gateway', '--init', '--data', gwDir], env, /copy (\S+) to every shard-store/).then(({ child }) => once(child, 'exit'));
  // Stores trust a copy kept beside the cluster, as an operator would copy it to each
  // store's machine: tests that wipe the gateway's directory can still respawn stores.
  const pubKey = join(dir, 'gateway-key.pub.jwk');
  copyFileSync(join(gwDir, 'gateway-key.pub.jwk'), pubKey);
  const stores: StoreProc[] = [];
  const n = opts.stores ?? 16;
  // Stores are spread round-robin over the zones, as `shardgate dev --zones` does.
  const zones = opts.zones ?? 1;
  // Until the cluster object exists, a failed start must still stop what it started.
  const abandon = async (err: unknown): Promise<never> => {
    await Promise.all(stores.map((s) => kill(s.child)));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  };
  for (let i = 0; i < n; i += 4) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(4, n - i) }, async (_, j) => {
      const id = `ss${String(i + j).padStart(2, '0')}`;
      const dataDir = join(dir, 'shards', id);
      const zone = `zone-${((i + j) % zones) + 1}`;
      const { child, match } = await spawnAndWait(
        ['shard-store', '--id', id, '--port', '0', '--data', dataDir, '--zone', zone, '--trusted-key', pubKey], env, / listening on (https:\/\/\S+) key (\S+)/);
      const store: StoreProc = { id, url: match[1]!, fingerprint: match[2]!, dataDir, child, exited: once(child, 'exit') };
      stores.push(store);
      return store;
    }));
    const failed = batch.find((r) => r.status === 'rejected');
    if (failed) await abandon(failed.reason);
  }
  stores.sort((a, b) => a.id.localeCompare(b.id));
  let port = '0';
  let gatewayOutput: Cluster['gatewayOutput'] = { stdout: [], stderr: [] };
  const launch = async (dataDir: string, atPort: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    const gwEnv = { ...env, ...extraEnv, SHARDGATE_SHARD_STORES: stores.map((s) => `${s.id}=${s.url}`).join(',') };
    const tlsArgs = tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : [];
    return spawnAndWait(['gateway', '--data', dataDir, '--host', '127.0.0.1', '--port', atPort, ...tlsArgs], gwEnv, /S3 endpoint:\s+(https?:\/\/\S+)/, 60_000);
  };
  const startGw = async (extraEnv: NodeJS.ProcessEnv = {}): Promise<ChildProcess> => {
    const { child, match, stdout, stderr } = await launch(gwDir, port, extraEnv);
    port = new URL(match[1]!).port;
    gatewayOutput = { stdout, stderr };
    return child;
  };
  const gateway = await startGw().catch(abandon);
  const gateways: GatewayProc[] = [{ endpoint: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, dataDir: gwDir, child: gateway }];
  for (let i = 2; i <= gatewayCount; i++) {
    const dataDir = join(dir, `gateway-${i}`);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    for (const f of SHARED_GATEWAY_FILES) if (existsSync(join(gwDir, f))) copyFileSync(join(gwDir, f), join(dataDir, f));
    const { child, match } = await launch(dataDir, '0').catch(abandon);
    gateways.push({ endpoint: match[1]!, dataDir, child });
  }
  const clientFor = (endpoint: string, o?: Partial<ConstructorParameters<typeof S3Client>[0]>): S3Client => new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: true,
    ...(tls && { requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca: readFileSync(tls.ca) }) }) }),
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1, ...o,
  });
  const cluster: Cluster = {
    dir, stores, gateway, env, gateways, meta: metaUrl ?? 'sqlite',
    endpoint: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    ...(tls && { caFile: tls.ca }),
    get gatewayOutput() {
      return gatewayOutput;
    },
    client: (o) => clientFor(cluster.endpoint, o),
    clientOf: (i, o) => clientFor(gateways[i]!.endpoint, o),
    restartGateway: async (signal = 'SIGKILL', extraEnv) => {
      await kill(cluster.gateway, signal);
      cluster.gateway = await startGw(extraEnv);
      gateways[0]!.child = cluster.gateway;
    },
    restartGatewayAt: async (i, signal = 'SIGKILL') => {
      if (i === 0) return cluster.restartGateway(signal);
      const g = gateways[i]!;
      await kill(g.child, signal);
      g.child = (await launch(g.dataDir, new URL(g.endpoint).port)).child;
    },
    stop: async () => {
      await Promise.all(gateways.slice(1).map((g) => kill(g.child)));
      await kill(cluster.gateway);
      await Promise.all(stores.map((s) => kill(s.child)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  onClose(() => cluster.stop(), opts.scope ?? 'file');
  return cluster;
}

/**
 * Stop a store (SIGKILL) and start it again on the same address, data and key, with extra
 * environment (e.g. one that makes it lie) or flags (`--capacity 1M`); the cluster's gateway
 * reconnects by itself.
 */
export async function respawnStore(c: Cluster, s: StoreProc, opts: { zone?: string; env?: NodeJS.ProcessEnv; args?: string[] } = {}): Promise<void> {
  s.child.kill('SIGKILL');
  await s.exited;
  const port = new URL(s.url).port;
  const { child } = await spawnAndWait(['shard-store', '--id', s.id, '--port', port, '--data', s.dataDir, '--zone', opts.zone ?? 'zone-1',
    '--trusted-key', join(c.dir, 'gateway-key.pub.jwk'), ...(opts.args ?? [])], { ...c.env, ...opts.env }, / listening on (https:\/\/\S+)/);
  s.child = child;
  s.exited = once(child, 'exit');
}

/**
 * Run `shardgate admin ...` as an operator would, against the cluster's gateway with the
 * root credentials; stdout and stderr apart (--json goes to stdout) and together.
 */
export async function runAdmin(c: Cluster, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string; all: string }> {
  const child = spawn(process.execPath, [CLI, 'admin', ...args], {
    env: { ...process.env, SHARDGATE_ENDPOINT: c.endpoint, SHARDGATE_ROOT_USER: ACCESS_KEY, SHARDGATE_ROOT_PASSWORD: SECRET_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let all = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); all += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); all += d.toString(); });
  const [code] = await once(child, 'exit') as [number | null];
  return { code, out, err, all };
}
