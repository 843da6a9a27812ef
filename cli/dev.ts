import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gatewayConfig } from '../gateway/config.js';
import { ConfigError, ensurePrivateDir } from '../gateway/secrets.js';
import { startGateway } from '../gateway/server.js';
import { loadOrCreateGatewayKey } from '../gateway/shards/keys.js';
import { spawnShardStores, stopProcess, type ShardStoreProcess } from './supervisor.js';
import { spawnMoreGateways, type GatewayProcess } from './more-gateways.js';
import { printBanner, onShutdownSignals } from './banner.js';
import { ensureDevCertificate } from '../gateway/tls/dev-ca.js';
import { ensureDevGenesis, GENESIS_ENV } from '../gateway/economy/genesis.js';

const HELP = `shardgate dev — the embedded default: one gateway and N shard-stores on loopback

Options (environment variable in brackets):
  --port PORT            S3 endpoint port [SHARDGATE_PORT] (default 9000)
  --data DIR             all state lives here [SHARDGATE_DATA_DIR] (default ./data)
  --shard-stores N       number of shard-store processes (default 16, at least 16)
  --zones Z              spread the shard-stores round-robin over Z zones (default 1)
  --store-processes P    host the shard-stores in P processes [SHARDGATE_STORE_PROCESSES]
                         (default 1: like one machine with 16 disks, the fastest on a small
                         box; 16 gives each store a process of its own, to kill one alone)
  --host HOST            listen address [SHARDGATE_HOST] (default 127.0.0.1)
  --tls                  serve S3 over HTTPS with a local CA and certificate made under DIR/tls
                         (clients trust DIR/tls/ca.pem, e.g. AWS_CA_BUNDLE)
  --tls-cert FILE        or with your own PEM certificate chain [SHARDGATE_TLS_CERT]
  --tls-key FILE         ... and its PEM key [SHARDGATE_TLS_KEY]
  --meta URL             keep the metadata in PostgreSQL (postgres://...) [SHARDGATE_META_URL]
                         (default: SQLite in DIR/gateway/meta.db)
  --gateways N           serve S3 from N gateways over the same stores and metadata, on PORT,
                         PORT+1, ... (default 1; more than one needs --meta)
Access log on stdout: [SHARDGATE_LOG_LEVEL] trace|debug|info|warn|error|silent (default info),
[SHARDGATE_LOG_FORMAT] json|pretty (default: pretty on a terminal, JSON lines otherwise).
Credentials: [SHARDGATE_ROOT_USER] / [SHARDGATE_ROOT_PASSWORD]; generated and kept in
DIR/gateway/root-credentials.json when not set. Master key: [SHARDGATE_MASTER_KEY] or DIR/gateway/master.key.
Economy: [SHARDGATE_LEDGER_GENESIS] names the ledger genesis; by default DIR/ledger-genesis.json,
written on the first start, funds every store so it is active (docs/economy.md).`;

export async function runDev(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' }, data: { type: 'string' }, host: { type: 'string' },
      'shard-stores': { type: 'string' }, zones: { type: 'string' }, 'store-processes': { type: 'string' }, tls: { type: 'boolean' },
      'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, meta: { type: 'string' }, gateways: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(HELP);
  const count = Number(values['shard-stores'] ?? 16);
  const zones = Number(values.zones ?? 1);
  if (!Number.isInteger(count) || count < 16 || count > 256) throw new ConfigError('--shard-stores must be an integer from 16 to 256');
  if (!Number.isInteger(zones) || zones < 1 || zones > count) throw new ConfigError('--zones must be an integer from 1 to the number of shard-stores');
  const processesText = values['store-processes'] ?? env.SHARDGATE_STORE_PROCESSES ?? '1';
  const processes = Number(processesText);
  if (!Number.isInteger(processes) || processes < 1 || processes > count) {
    throw new ConfigError(`--store-processes ${processesText}: an integer from 1 to the number of shard-stores (${count})`);
  }

  const meta = values.meta ?? env.SHARDGATE_META_URL;
  const gatewaysText = values.gateways ?? '1';
  const gateways = Number(gatewaysText);
  if (!Number.isInteger(gateways) || gateways < 1 || gateways > 16) throw new ConfigError(`--gateways ${gatewaysText}: an integer from 1 to 16`);
  if (gateways > 1 && !meta) throw new ConfigError('--gateways needs --meta postgres://...: gateways share their metadata, and SQLite is one gateway\'s');
  const flags = { port: values.port, data: values.data, host: values.host, 'tls-cert': values['tls-cert'], 'tls-key': values['tls-key'] };
  const base = gatewayConfig(flags, env, { host: '127.0.0.1', dataDir: './data' });
  const root = base.dataDir;
  let caFile: string | undefined;
  if (values.tls && !base.tls) {
    const made = ensureDevCertificate(join(root, 'tls'), [base.host]);
    base.tls = { cert: made.cert, key: made.key };
    caFile = made.ca;
  }
  const gatewayDir = join(root, 'gateway');
  // Everything under the data folder is for this user alone: the gateway's secrets and
  // metadata, and the shard-stores' pieces (ciphertext, but nobody else's business).
  ensurePrivateDir(root);
  ensurePrivateDir(gatewayDir);
  ensurePrivateDir(join(root, 'shards'));
  const key = await loadOrCreateGatewayKey(gatewayDir);

  const stores: ShardStoreProcess[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    await Promise.all(byProcess(stores).map((g) => stopProcess(g[0]!)));
  };
  try {
    console.log(`starting ${count} shard-stores under ${join(root, 'shards')} ...`);
    const specs = Array.from({ length: count }, (_, i) => {
      const id = `ss${String(i).padStart(2, '0')}`;
      return { id, dataDir: join(root, 'shards', id), zone: `zone-${(i % zones) + 1}`, trustedKeyFile: key.publicKeyFile };
    });
    for (const s of specs) ensurePrivateDir(s.dataDir);
    // Consecutive stores share a process; at most four processes start at once (each start is CPU).
    const groups = splitEvenly(specs, processes);
    for (let i = 0; i < groups.length; i += 4) {
      for (const started of await Promise.all(groups.slice(i, i + 4).map((g) => spawnShardStores(g)))) stores.push(...started);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  // A store process that dies is started again on the same ports, data and keys (the gateway
  // reconnects by itself); until then the stores it hosted are down and writes go around them.
  for (const group of byProcess(stores)) {
    keepRunning(group, () => stopping, (next) => {
      for (const s of next) stores[stores.findIndex((o) => o.spec.id === s.spec.id)] = s;
    });
  }

  let gateway;
  let more: GatewayProcess[] = [];
  try {
    // The economy is on out of the box: a genesis funds the stores so they are active (docs/economy.md).
    const genesis = env[GENESIS_ENV] || ensureDevGenesis(root, stores.map((s) => s.spec.id));
    gateway = await startGateway({ ...base, shardStores: stores.map((s) => ({ id: s.spec.id, url: s.url, pin: s.fingerprint })) }, { ...env, [GENESIS_ENV]: genesis }, {
      dataDir: gatewayDir, ...(meta && { meta }),
    });
    if (gateways > 1) {
      more = await spawnMoreGateways({
        count: gateways, firstDir: gatewayDir, root, meta: meta!, host: base.host, port: base.port === 0 ? 0 : gateway.config.port,
        shardStores: stores.map((s) => `${s.spec.id}=${s.url}#${s.fingerprint}`).join(','), env: { ...env, [GENESIS_ENV]: genesis },
      });
    }
  } catch (err) {
    // Never leave the stores running without the gateway that owns them.
    stopping = true;
    await Promise.all(more.map((g) => stopProcess(g)));
    await gateway?.close();
    await stopAll();
    throw err;
  }
  const also = more.length ? `; ${more.length + 1} gateways over one metadata database, also at ${more.map((g) => g.url).join(', ')}` : '';
  printBanner(gateway, `${count} shard-stores in ${zones} zone(s), data in ${root}${also}`, caFile);
  onShutdownSignals(async () => {
    stopping = true;
    await Promise.all(more.map((g) => stopProcess(g)));
    await gateway.close();
    await stopAll();
  });
}

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A process that stayed up this long crashed afresh: its next restart waits the minimum again. */
const STABLE_MS = 60_000;

/**
 * Restart `group`'s process whenever it exits while dev runs, with a back-off that doubles
 * (to RESTART_MAX_MS) while it keeps dying young, so a store that cannot start does not spin.
 */
function keepRunning(group: ShardStoreProcess[], stopping: () => boolean, replaced: (next: ShardStoreProcess[]) => void, delayMs = RESTART_MIN_MS): void {
  const first = group[0]!;
  const name = group.length === 1 ? `shard-store ${first.spec.id}` : `shard-stores ${first.spec.id}..${group[group.length - 1]!.spec.id}`;
  const startedAt = Date.now();
  void first.exited.then(async ({ code, signal }) => {
    if (stopping()) return;
    let delay = Date.now() - startedAt > STABLE_MS ? RESTART_MIN_MS : delayMs;
    console.error(`${name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s`);
    // Same ports as before: the gateway knows the stores by address.
    const specs = group.map((s) => ({ ...s.spec, port: Number(new URL(s.url).port) }));
    for (;;) {
      await new Promise((r) => setTimeout(r, delay));
      if (stopping()) return;
      try {
        const next = await spawnShardStores(specs);
        if (stopping()) {
          await stopProcess(next[0]!);
          return;
        }
        replaced(next);
        console.error(`${name} restarted`);
        keepRunning(next, stopping, replaced, Math.min(RESTART_MAX_MS, delay * 2));
        return;
      } catch (err) {
        delay = Math.min(RESTART_MAX_MS, delay * 2);
        console.error(`${name} did not restart (${(err as Error).message}); trying again in ${delay / 1000} s`);
      }
    }
  });
}

/** `items` cut into `n` runs of consecutive items whose lengths differ by at most one. */
function splitEvenly<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0, at = 0; i < n; i++) {
    const len = Math.floor(items.length / n) + (i < items.length % n ? 1 : 0);
    out.push(items.slice(at, at + len));
    at += len;
  }
  return out;
}

/** The stores grouped by the process that hosts them. */
function byProcess(stores: ShardStoreProcess[]): ShardStoreProcess[][] {
  const groups = new Map<ShardStoreProcess['child'], ShardStoreProcess[]>();
  for (const s of stores) groups.set(s.child, [...(groups.get(s.child) ?? []), s]);
  return [...groups.values()];
}
