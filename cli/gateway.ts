import { parseArgs } from 'node:util';
import { gatewayConfig } from '../gateway/config.js';
import { join } from 'node:path';
import { ConfigError, loadMasterKey, loadRootCredentials } from '../gateway/secrets.js';
import { startGateway } from '../gateway/server.js';
import { loadOrCreateGatewayKey } from '../gateway/shards/keys.js';
import { onShutdownSignals, printBanner } from './banner.js';

const HELP = `shardgate gateway — the S3 front end, in front of shard-store servers

Options (environment variable in brackets):
  --shard-stores LIST    id=url pairs, comma-separated [SHARDGATE_SHARD_STORES], at least 16
                         e.g. ss00=https://10.0.0.1:7000,ss01=https://10.0.0.2:7000,...
  --port PORT            S3 endpoint port [SHARDGATE_PORT] (default 9000)
  --host HOST            listen address [SHARDGATE_HOST] (default 0.0.0.0)
  --data DIR             metadata, keys and credentials [SHARDGATE_DATA_DIR] (default ./data)
  --meta URL             keep the metadata in PostgreSQL (postgres://user:pass@host:5432/db) that
                         several gateways share [SHARDGATE_META_URL] (default: SQLite in DIR/meta.db)
  --region REGION        [SHARDGATE_REGION] (default us-east-1)
  --domain D[,D]         base domains for virtual-hosted-style buckets [SHARDGATE_DOMAIN]
  --write-quorum Q       pieces durable before a write is acknowledged [SHARDGATE_WRITE_QUORUM] (default 11)
  --segment-size SIZE    plaintext bytes per segment of new objects [SHARDGATE_SEGMENT_SIZE] (default 4MiB)
  --tls-cert FILE        serve S3 over HTTPS with this PEM certificate chain [SHARDGATE_TLS_CERT]
  --tls-key FILE         ... and this PEM private key [SHARDGATE_TLS_KEY]; SIGHUP reloads both
  --init                 create the data folder, master key and gateway signing key, print the
                         public key file for the shard-stores' --trusted-key and what every
                         other gateway of the same cluster needs, and exit
The S3 port, by environment only:
  [SHARDGATE_TRUSTED_PROXIES]    addresses or CIDR blocks whose X-Forwarded-Proto/-For count (default none)
  [SHARDGATE_HEADER_TIMEOUT_MS]  time a client has to send a request's headers (default 60000)
  [SHARDGATE_IDLE_TIMEOUT_MS]    a connection or body silent this long is closed (default 65000)
  [SHARDGATE_MIN_BODY_RATE]      bytes/s a body must average over each idle window; 0 = none (default 1KiB)
  [SHARDGATE_MAX_CONNECTIONS]    open connections served; past it, 503 SlowDown (default 4096)
The access log on stdout, one line per request, by environment only:
  [SHARDGATE_LOG_LEVEL]          trace, debug, info, warn, error or silent (default info)
  [SHARDGATE_LOG_FORMAT]         json or pretty (default: pretty on a terminal, JSON lines otherwise)
Credentials: [SHARDGATE_ROOT_USER] / [SHARDGATE_ROOT_PASSWORD]. Master key: [SHARDGATE_MASTER_KEY],
[SHARDGATE_MASTER_KEY_FILE], or DIR/master.key (created on first start: back it up, it cannot be recovered).
Economy: [SHARDGATE_LEDGER_GENESIS] a ledger genesis file (docs/economy.md); without one, and
without a genesis already logged, the provider economy is off.`;

export async function runGateway(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' }, region: { type: 'string' },
      domain: { type: 'string' }, 'shard-stores': { type: 'string' }, 'write-quorum': { type: 'string' },
      'segment-size': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
      meta: { type: 'string' }, init: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(HELP);
  const cfg = gatewayConfig(values, env, { host: '0.0.0.0', dataDir: './data' });
  if (values.init) {
    const key = await loadOrCreateGatewayKey(cfg.dataDir);
    const master = loadMasterKey(cfg.dataDir, env);
    const root = loadRootCredentials(cfg.dataDir, env);
    console.log(`gateway data folder: ${cfg.dataDir}`);
    console.log(`copy ${key.publicKeyFile} to every shard-store and pass it as --trusted-key`);
    console.log('');
    console.log('More gateways over the same PostgreSQL (--meta) and shard-stores serve one namespace;');
    console.log('each needs the same secrets. Copy these files into each other gateway\'s data folder');
    console.log('(private: mode 0600, never in a repository):');
    console.log(`  ${join(cfg.dataDir, 'gateway-key.jwk')} and ${key.publicKeyFile}`);
    console.log(`  ${master.source === 'SHARDGATE_MASTER_KEY' ? '(or give each the same SHARDGATE_MASTER_KEY)' : master.source}`);
    console.log(`  ${root.source === 'env' ? '(and the same SHARDGATE_ROOT_USER / SHARDGATE_ROOT_PASSWORD)' : join(cfg.dataDir, 'root-credentials.json')}`);
    return;
  }
  if (cfg.shardStores.length < 16) {
    throw new ConfigError(`the gateway needs at least 16 shard-stores, got ${cfg.shardStores.length}: set --shard-stores or SHARDGATE_SHARD_STORES (id=url,...)`);
  }
  const meta = values.meta ?? env.SHARDGATE_META_URL;
  const gw = await startGateway(cfg, env, { dataDir: cfg.dataDir, ...(meta && { meta }) });
  // Before the banner: a supervisor may send SIGTERM as soon as it reads it.
  onShutdownSignals(() => gw.close());
  printBanner(gw, `${cfg.shardStores.length} shard-stores, data in ${cfg.dataDir}${meta ? ', metadata in PostgreSQL' : ''}`);
  if (env.SHARDGATE_GATEWAY_SUPERVISED === '1') {
    // Started by `shardgate dev --gateways N`: its end (even kill -9) closes our stdin; stop too.
    process.stdin.on('data', () => undefined);
    process.stdin.once('end', () => process.kill(process.pid, 'SIGTERM'));
  }
}
