import { statfs } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { StoreError } from './errors.js';
import { startShardStoreServer, type ShardStoreServer } from './server.js';
import { loadTrustedKeys, type TrustedKey } from './peers.js';
import { sizeInBytes } from '../wire/size.js';

/** A mistake in flags or environment; the CLI prints its message as one line and exits non-zero. */
export class ConfigError extends StoreError {
  override code = 'ERR_CONFIG';
}

export const SHARD_STORE_USAGE = `Usage: shardgate shard-store --id ID --data DIR --trusted-key FILE [options]

  --id ID             this store's id, as the gateway knows it (env SHARDGATE_SHARD_ID)
  --data DIR          where pieces are kept (env SHARDGATE_DATA)
  --trusted-key FILE  gateway public key (JWK or SPKI PEM); repeatable
                      (env SHARDGATE_TRUSTED_KEYS: JSON array of public JWKs)
  --host HOST         listen address, default 127.0.0.1 (env SHARDGATE_HOST)
  --port PORT         listen port, 0 picks one (env SHARDGATE_PORT)
  --zone ZONE         failure zone, default zone-1 (env SHARDGATE_ZONE)
  --capacity SIZE     bytes to offer, e.g. 500G; default the disk's size
  --stores JSON       host several stores in this one process instead of --id/--data/--zone,
                      as \`shardgate dev\` does: [{"id":"ss00","data":"DIR","zone":"zone-1"}, ...];
                      each has its own port, key and data folder, and prints its own line`;

/** "100G", "1.5T", "512MiB" or plain bytes (wire/size.ts). */
export function parseSize(text: string): number {
  const bytes = sizeInBytes(text);
  if (bytes === undefined) {
    throw new ConfigError(/^\s*\d+(\.\d+)?\s*([kmgtp]?)(i?b)?\s*$/i.test(text) ? `--capacity ${text}: must be a positive size` : `--capacity ${text}: use bytes or a size like 500G or 2T`);
  }
  return bytes;
}

/** One store of a process: most processes host one, `shardgate dev` hosts several in one. */
export interface HostedStore {
  id: string;
  dir: string;
  zone: string;
  /** Its own port (--stores entries only; a restarted store keeps the address the gateway knows). */
  port?: number;
}

export interface ShardStoreConfig extends HostedStore {
  /** More stores this process serves beside the first (--stores); empty for a single store. */
  more: HostedStore[];
  host: string;
  port: number;
  capacityBytes?: number;
  trustedKeyPaths: string[];
  trustedKeysJson?: string;
}

/** Flags first, then SHARDGATE_* environment variables, then defaults. */
export function parseShardStoreArgs(argv: string[], env: NodeJS.ProcessEnv): ShardStoreConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      zone: { type: 'string' },
      capacity: { type: 'string' },
      stores: { type: 'string' },
      'trusted-key': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const stores = values.stores === undefined ? [singleStore(values, env)] : storesFromJson(values.stores, values);
  const [first, ...more] = stores as [HostedStore, ...HostedStore[]];
  const portText = values.port ?? env.SHARDGATE_PORT ?? '0';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port ${portText}: use 0 to 65535`);
  if (more.length && port !== 0) throw new ConfigError('--stores: each store has its own port (a "port" in its entry, or one picked); leave --port unset (or 0)');
  return {
    ...first,
    more,
    port,
    host: values.host ?? env.SHARDGATE_HOST ?? '127.0.0.1',
    capacityBytes: values.capacity === undefined ? undefined : parseSize(values.capacity),
    trustedKeyPaths: values['trusted-key'] ?? [],
    trustedKeysJson: env.SHARDGATE_TRUSTED_KEYS,
  };
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;

function singleStore(values: { id?: string; data?: string; zone?: string }, env: NodeJS.ProcessEnv): HostedStore {
  const id = values.id ?? env.SHARDGATE_SHARD_ID;
  if (!id) throw new ConfigError('shard-store needs --id ID (or SHARDGATE_SHARD_ID)');
  if (!ID.test(id)) throw new ConfigError(`--id ${id}: use 1 to 64 letters, digits, '.', '_' or '-'`);
  const dir = values.data ?? env.SHARDGATE_DATA;
  if (!dir) throw new ConfigError('shard-store needs --data DIR (or SHARDGATE_DATA)');
  return { id, dir, zone: values.zone ?? env.SHARDGATE_ZONE ?? 'zone-1' };
}

function storesFromJson(text: string, values: { id?: string; data?: string; zone?: string }): HostedStore[] {
  if (values.id !== undefined || values.data !== undefined || values.zone !== undefined) {
    throw new ConfigError('--stores replaces --id, --data and --zone: give one or the other');
  }
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw new ConfigError('--stores: not JSON; expected [{"id":"ss00","data":"DIR","zone":"zone-1"}, ...]');
  }
  if (!Array.isArray(list) || list.length === 0 || list.length > 256) throw new ConfigError('--stores: a JSON array of 1 to 256 stores');
  const seen = new Set<string>();
  return list.map((e: unknown, i) => {
    const o = (e ?? {}) as Record<string, unknown>;
    if (typeof o.id !== 'string' || !ID.test(o.id)) throw new ConfigError(`--stores[${i}].id: use 1 to 64 letters, digits, '.', '_' or '-'`);
    if (typeof o.data !== 'string' || !o.data) throw new ConfigError(`--stores[${i}].data: the store's data folder`);
    if (o.zone !== undefined && typeof o.zone !== 'string') throw new ConfigError(`--stores[${i}].zone: a zone name`);
    if (o.port !== undefined && !(Number.isInteger(o.port) && (o.port as number) >= 0 && (o.port as number) <= 65535)) throw new ConfigError(`--stores[${i}].port: 0 to 65535`);
    if (seen.has(o.id) || seen.has(`dir:${o.data}`)) throw new ConfigError(`--stores[${i}]: id and data folder must be unique`);
    seen.add(o.id).add(`dir:${o.data}`);
    return { id: o.id, dir: o.data, zone: (o.zone) ?? 'zone-1', ...(o.port !== undefined && { port: o.port as number }) };
  });
}

/**
 * `shardgate shard-store ...`: serve until SIGTERM or SIGINT, then finish in-flight requests
 * (bounded) and resolve. Prints exactly one line on stdout once listening, which a supervisor
 * parses: `shard-store <id> listening on https://<host>:<port> key sha256:<fingerprint>` (the
 * key is what the gateway pins: SHARDGATE_SHARD_STORES accepts `id=https://host:port#sha256:...`). Configuration mistakes reject
 * with a ConfigError (code ERR_CONFIG) whose message says what to do.
 */
export async function runShardStore(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const config = parseShardStoreArgs(argv, env);
  if (config === 'help') {
    console.log(SHARD_STORE_USAGE);
    return;
  }
  let keys: TrustedKey[];
  try {
    keys = await loadTrustedKeys(config.trustedKeyPaths, config.trustedKeysJson);
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err });
  }
  if (keys.length === 0) {
    throw new ConfigError('shard-store needs the gateway public key: --trusted-key <gateway data dir>/gateway-key.pub.jwk (or SHARDGATE_TRUSTED_KEYS)');
  }
  const hosted = [config, ...config.more];
  const several = hosted.length > 1;
  const servers: ShardStoreServer[] = [];
  // Listening for the signals before the listening line is printed: a supervisor may send
  // SIGTERM the moment it reads that line, and without a handler SIGTERM kills at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    if (env.SHARDGATE_STORE_SUPERVISED === '1') {
      // Started by `shardgate dev`: its end (even kill -9) closes our stdin, and we stop too.
      process.stdin.on('data', () => undefined);
      process.stdin.once('end', stop);
      process.stdin.once('error', stop);
    }
  });
  const closeAll = () => Promise.all(servers.map((s) => s.close()));
  for (const h of hosted) {
    if (config.capacityBytes !== undefined) await checkCapacity(h.dir, config.capacityBytes);
    let store: ShardStoreServer;
    try {
      // Several stores share stderr: each line names its store.
      const log = several ? (line: string) => process.stderr.write(`[${h.id}] ${line}\n`) : undefined;
      store = await startShardStoreServer({ ...config, ...h, port: h.port ?? config.port, trustedKeys: keys, log });
    } catch (err) {
      await closeAll();
      const code = (err as { code?: string }).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'EROFS' || code === 'ENOTDIR') {
        throw new ConfigError(`cannot start${several ? ` ${h.id}` : ''}: ${(err as Error).message}; pick another --port/--host or --data`, { cause: err });
      }
      throw err;
    }
    servers.push(store);
    process.stdout.write(`shard-store ${store.id} listening on ${store.url} key ${store.fingerprint}\n`);
  }
  await stopped;
  await closeAll();
  // Stopped by a signal while supervised: the stdin pipe would keep the process alive.
  if (env.SHARDGATE_STORE_SUPERVISED === '1') process.stdin.destroy();
}

/** A capacity larger than the disk would promise space that is not there; say so at start rather than at 507 time. */
async function checkCapacity(dir: string, capacityBytes: number): Promise<void> {
  try {
    const fs = await statfs(dir);
    if (capacityBytes > fs.blocks * fs.bsize) {
      process.stderr.write(`shard-store: warning: --capacity ${capacityBytes} is larger than the disk under ${dir} (${fs.blocks * fs.bsize} bytes)\n`);
    }
  } catch {
    // the directory may not exist yet; the store creates it
  }
}
