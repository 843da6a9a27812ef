import { resolve } from 'node:path';
import { DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE } from '../codec/layout.js';
import { K, N } from '../codec/erasure.js';
import { httpLimits, type HttpLimits } from './http-limits.js';
import { ConfigError } from './secrets.js';

export interface ShardStoreRef {
  id: string;
  url: string;
}

/** Everything a gateway process is configured with. Flags win over environment variables. */
export interface GatewayConfig {
  host: string;
  port: number;
  /** Folder for metadata, keys and credentials. */
  dataDir: string;
  region: string;
  /** Base domains for virtual-hosted-style requests (bucket.<domain>). */
  domains: string[];
  shardStores: ShardStoreRef[];
  segmentSize: number;
  writeQuorum: number;
  hedgeMs: number;
  readTimeoutMs: number;
  writeStallMs: number;
  /** Timeouts, minimum body rate and connection cap of the S3 port. */
  http: HttpLimits;
}

export const DEFAULT_PORT = 9000;

function int(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

function size(name: string, v: string | undefined, dflt: number): number {
  if (!v) return dflt;
  const m = /^(\d+)\s*([KMG]i?B?)?$/i.exec(v.trim());
  if (!m) throw new ConfigError(`${name}: expected a size like 4MiB, got "${v}"`);
  const unit = (m[2] ?? '').toUpperCase()[0];
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  const n = Number(m[1]) * mult;
  if (n < MIN_SEGMENT_SIZE || n > MAX_SEGMENT_SIZE) throw new ConfigError(`${name} must be between 4KiB and 64MiB`);
  return n;
}

/** "ss00=http://10.0.0.1:7000,ss01=http://10.0.0.2:7000" */
export function parseShardStores(text: string | undefined): ShardStoreRef[] {
  if (!text) return [];
  return text.split(/[\s,]+/).filter(Boolean).map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`shard-store "${item}" must be written id=url, e.g. ss00=http://10.0.0.1:7000`);
    const id = item.slice(0, eq);
    const url = item.slice(eq + 1).replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+$/.test(url)) throw new ConfigError(`shard-store ${id}: "${url}" is not an http(s)://host:port URL`);
    return { id, url };
  });
}

export interface GatewayFlags {
  host?: string;
  port?: string;
  data?: string;
  region?: string;
  domain?: string;
  'shard-stores'?: string;
  'segment-size'?: string;
  'write-quorum'?: string;
}

export function gatewayConfig(flags: GatewayFlags, env: NodeJS.ProcessEnv, defaults: { host: string; dataDir: string }): GatewayConfig {
  const domains = (flags.domain ?? env.SHARDGATE_DOMAIN ?? '').split(',').map((d) => d.trim()).filter(Boolean);
  return {
    host: flags.host ?? env.SHARDGATE_HOST ?? defaults.host,
    port: int('SHARDGATE_PORT', flags.port ?? env.SHARDGATE_PORT, DEFAULT_PORT, 0, 65535),
    dataDir: resolve(flags.data ?? env.SHARDGATE_DATA_DIR ?? defaults.dataDir),
    region: flags.region ?? env.SHARDGATE_REGION ?? 'us-east-1',
    domains: [...new Set([...domains, 'localhost', 's3.localhost'])],
    shardStores: parseShardStores(flags['shard-stores'] ?? env.SHARDGATE_SHARD_STORES),
    segmentSize: size('SHARDGATE_SEGMENT_SIZE', flags['segment-size'] ?? env.SHARDGATE_SEGMENT_SIZE, DEFAULT_SEGMENT_SIZE),
    writeQuorum: int('SHARDGATE_WRITE_QUORUM', flags['write-quorum'] ?? env.SHARDGATE_WRITE_QUORUM, K + 1, K, N),
    hedgeMs: int('SHARDGATE_HEDGE_MS', env.SHARDGATE_HEDGE_MS, 250, 1, 60_000),
    readTimeoutMs: int('SHARDGATE_READ_TIMEOUT_MS', env.SHARDGATE_READ_TIMEOUT_MS, 5_000, 100, 600_000),
    writeStallMs: int('SHARDGATE_WRITE_STALL_MS', env.SHARDGATE_WRITE_STALL_MS, 10_000, 100, 600_000),
    http: httpLimits(env),
  };
}
