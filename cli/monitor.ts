import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../gateway/secrets.js';
import { MonitorRunner } from '../gateway/monitors/runner.js';
import { loadOrCreateSigningKey } from '../gateway/shards/keys.js';
import { onShutdownSignals } from './banner.js';

export const MONITOR_KEY_FILE = 'monitor-key.jwk';
export const MONITOR_PUBLIC_KEY_FILE = 'monitor-key.pub.jwk';

const HELP = `shardgate monitor — an independent monitor: challenges the shard-stores with its own key and
signs what it sees into the gateway's report log (docs/economy.md, "Independent monitors")

  shardgate monitor --gateway URL --name NAME [options]
  shardgate monitor key [--data DIR]     make the key if needed, print the public key to register

Options (environment variable in brackets):
  --gateway URL          the gateway's base URL [SHARDGATE_MONITOR_GATEWAY]
  --name NAME            the name the monitor is registered under [SHARDGATE_MONITOR_NAME]
  --data DIR             where its key is kept [SHARDGATE_MONITOR_DATA] (default ./monitor-data)
  --pieces N             pieces of each store challenged per round (default 4)
  --records N            records of each piece challenged (default 4)
  --round-ms MS          time between rounds (default 60000)
  --report-ms MS         time between signed statements (default 300000)
  --timeout-ms MS        a store that has not answered a challenge by then fails it (default 10000)

The key (monitor-key.jwk, mode 0600, made on first start) is the monitor's identity: the gateway
operator registers its public half with
  shardgate admin ledger monitor add NAME <monitor-key.pub.jwk or its x>
and the gateway then lists it on every shard-store, which answer its challenges (and nothing else).`;

export async function runMonitor(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      gateway: { type: 'string' }, name: { type: 'string' }, data: { type: 'string' }, pieces: { type: 'string' }, records: { type: 'string' },
      'round-ms': { type: 'string' }, 'report-ms': { type: 'string' }, 'timeout-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(HELP);
  const dir = resolve(values.data ?? env.SHARDGATE_MONITOR_DATA ?? './monitor-data');
  const key = await loadOrCreateSigningKey(dir, MONITOR_KEY_FILE, MONITOR_PUBLIC_KEY_FILE, 'shardgate monitor');
  if (positionals[0] === 'key') {
    console.log((await readFile(key.publicKeyFile, 'utf8')).trim());
    return;
  }
  if (positionals.length) throw new ConfigError(`monitor: unknown argument "${positionals[0]}"`);
  const gateway = values.gateway ?? env.SHARDGATE_MONITOR_GATEWAY;
  const name = values.name ?? env.SHARDGATE_MONITOR_NAME;
  if (!gateway || !/^https?:\/\/[^/]+\/?$/.test(gateway)) throw new ConfigError('monitor: --gateway must be the gateway\'s base URL, http(s)://host:port');
  if (!name) throw new ConfigError('monitor: --name is required (the name it is registered under)');
  const runner = new MonitorRunner({
    gateway, name, key,
    pieces: int(values.pieces, 'pieces', 4), records: int(values.records, 'records', 4), roundMs: int(values['round-ms'], 'round-ms', 60_000),
    reportMs: int(values['report-ms'], 'report-ms', 300_000), timeoutMs: int(values['timeout-ms'], 'timeout-ms', 10_000),
  });
  console.log(`monitor ${name}: key ${key.publicJwk.x} (${key.publicKeyFile}); challenging the stores of ${gateway}`);
  runner.start();
  onShutdownSignals(() => runner.stop());
}

function int(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) throw new ConfigError(`monitor: --${name} must be a positive integer`);
  return Number(text);
}
