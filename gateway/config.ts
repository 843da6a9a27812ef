import { resolve } from 'node:path';
import { DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE } from '../codec/layout.js';
import { K, N } from '../codec/erasure.js';
import { httpLimits, type HttpLimits } from './http-limits.js';
import { ConfigError } from './secrets.js';
import type { TlsFiles } from './tls/server-certs.js';
import { isFingerprint } from '../wire/identity.js';
import { TrustedProxies } from './access/trusted-proxies.js';
import { logConfig, type LogConfig } from './log.js';

export interface ShardStoreRef {
  id: string;
  url: string;
  /** The store's key fingerprint when given with its address (`#sha256:...`); else pinned on first contact. */
  pin?: string;
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
  /** Serve S3 over HTTPS with this certificate chain and key (PEM files); plain HTTP when absent. */
  tls?: TlsFiles;
  /** Proxies whose X-Forwarded-Proto / X-Forwarded-For are believed (SHARDGATE_TRUSTED_PROXIES). */
  trustedProxies: TrustedProxies;
  /** Timeouts, minimum body rate and connection cap of the S3 port. */
  http: HttpLimits;
  /** Webhook targets of bucket event notifications and how their delivery is paced. */
  notify: NotifyConfig;
  /** The access log's level and format (SHARDGATE_LOG_LEVEL, SHARDGATE_LOG_FORMAT). */
  log: LogConfig;
}

/** A webhook target of bucket notifications, set by the operator (SHARDGATE_NOTIFY_WEBHOOK_<ID>). */
export interface WebhookTarget {
  id: string;
  url: string;
  /** Sent as `Authorization: Bearer <token>` (SHARDGATE_NOTIFY_WEBHOOK_<ID>_TOKEN). */
  token?: string;
}

export interface NotifyConfig {
  webhooks: WebhookTarget[];
  /** How often each target's queue is looked at besides the wake-up after each queued event. */
  intervalMs: number;
  /** The first retry's delay; it doubles per failed attempt up to `retryMaxMs`, with jitter. */
  retryMs: number;
  retryMaxMs: number;
  /** One delivery attempt's limit, connection to answer. */
  timeoutMs: number;
  /** Deliveries in flight per target. */
  concurrency: number;
  /** Events kept waiting per target; past it the oldest are dropped (a target gone for good must not fill the disk). */
  maxPending: number;
}

/** The ARN a bucket's QueueConfiguration names a webhook target by, in the form MinIO uses. */
export function webhookArn(id: string): string {
  return `arn:shardgate:sqs::${id}:webhook`;
}

const WEBHOOK_PREFIX = 'SHARDGATE_NOTIFY_WEBHOOK_';
const TOKEN_SUFFIX = '_TOKEN';

/**
 * `SHARDGATE_NOTIFY_WEBHOOK_<ID>=https://host/path` and optionally
 * `SHARDGATE_NOTIFY_WEBHOOK_<ID>_TOKEN=...`; ID: letters, digits, '-' and '_' (and not ending
 * in _TOKEN, which names a token).
 */
export function parseWebhooks(env: NodeJS.ProcessEnv): WebhookTarget[] {
  const urls = new Map<string, string>();
  const tokens = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(WEBHOOK_PREFIX) || value === undefined) continue;
    const rest = name.slice(WEBHOOK_PREFIX.length);
    const isToken = rest.endsWith(TOKEN_SUFFIX);
    const id = isToken ? rest.slice(0, -TOKEN_SUFFIX.length) : rest;
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new ConfigError(`${name}: the target ID "${id}" may hold only letters, digits, '-' and '_'`);
    if (isToken) {
      if (value === '') throw new ConfigError(`${name} is empty: remove it or give the token`);
      tokens.set(id, value);
      continue;
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(`${name}: "${value}" is not a URL (expected e.g. https://host/path)`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name}: "${value}" is not an http:// or https:// URL`);
    urls.set(id, value);
  }
  for (const id of tokens.keys()) {
    if (!urls.has(id)) throw new ConfigError(`${WEBHOOK_PREFIX}${id}${TOKEN_SUFFIX} is set but ${WEBHOOK_PREFIX}${id} (the target's URL) is not`);
  }
  return [...urls].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, url]) => ({ id, url, ...(tokens.has(id) && { token: tokens.get(id)! }) }));
}

/** The webhook targets and the delivery knobs (the latter for tests and tuning). */
export function notifyConfig(env: NodeJS.ProcessEnv): NotifyConfig {
  const retryMs = int('SHARDGATE_NOTIFY_RETRY_MS', env.SHARDGATE_NOTIFY_RETRY_MS, 1_000, 1, 3_600_000);
  return {
    webhooks: parseWebhooks(env),
    intervalMs: int('SHARDGATE_NOTIFY_INTERVAL_MS', env.SHARDGATE_NOTIFY_INTERVAL_MS, 1_000, 10, 3_600_000),
    retryMs,
    retryMaxMs: int('SHARDGATE_NOTIFY_RETRY_MAX_MS', env.SHARDGATE_NOTIFY_RETRY_MAX_MS, Math.max(300_000, retryMs), retryMs, 86_400_000),
    timeoutMs: int('SHARDGATE_NOTIFY_TIMEOUT_MS', env.SHARDGATE_NOTIFY_TIMEOUT_MS, 10_000, 100, 600_000),
    concurrency: int('SHARDGATE_NOTIFY_CONCURRENCY', env.SHARDGATE_NOTIFY_CONCURRENCY, 4, 1, 256),
    maxPending: int('SHARDGATE_NOTIFY_MAX_PENDING', env.SHARDGATE_NOTIFY_MAX_PENDING, 100_000, 1, 100_000_000),
  };
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

/** "10.0.0.5, 10.1.0.0/16, ::1": addresses and CIDR blocks; empty trusts no proxy. */
function proxies(name: string, v: string | undefined): TrustedProxies {
  try {
    return TrustedProxies.parse(v);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`);
  }
}

/**
 * "ss00=https://10.0.0.1:7000,ss01=https://10.0.0.2:7000#sha256:..." (the fingerprint a store
 * prints at start, optional). Shard-stores speak only TLS: an http:// address from an older
 * configuration is taken as https://, with a warning.
 */
export function parseShardStores(text: string | undefined, warn: (line: string) => void = console.error): ShardStoreRef[] {
  if (!text) return [];
  return text.split(/[\s,]+/).filter(Boolean).map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`shard-store "${item}" must be written id=url, e.g. ss00=https://10.0.0.1:7000`);
    const id = item.slice(0, eq);
    const hash = item.indexOf('#', eq);
    let url = item.slice(eq + 1, hash < 0 ? undefined : hash).replace(/\/+$/, '');
    const pin = hash < 0 ? undefined : item.slice(hash + 1);
    if (!/^https?:\/\/[^/]+$/.test(url)) throw new ConfigError(`shard-store ${id}: "${url}" is not an https://host:port URL`);
    if (pin !== undefined && !isFingerprint(pin)) throw new ConfigError(`shard-store ${id}: "#${pin}" is not a key fingerprint (sha256:... as the store prints at start)`);
    if (url.startsWith('http://')) {
      url = `https://${url.slice('http://'.length)}`;
      warn(`shard-store ${id}: shard-stores speak TLS only; using ${url} (update SHARDGATE_SHARD_STORES)`);
    }
    return { id, url, ...(pin !== undefined && { pin }) };
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
  'tls-cert'?: string;
  'tls-key'?: string;
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
    trustedProxies: proxies('SHARDGATE_TRUSTED_PROXIES', env.SHARDGATE_TRUSTED_PROXIES),
    http: httpLimits(env),
    notify: notifyConfig(env),
    log: logConfig(env),
    ...tlsFiles(flags['tls-cert'] ?? env.SHARDGATE_TLS_CERT, flags['tls-key'] ?? env.SHARDGATE_TLS_KEY),
  };
}

function tlsFiles(cert: string | undefined, key: string | undefined): { tls?: TlsFiles } {
  if (!cert && !key) return {};
  if (!cert || !key) throw new ConfigError('HTTPS needs both a certificate and its key: set --tls-cert and --tls-key (SHARDGATE_TLS_CERT, SHARDGATE_TLS_KEY)');
  return { tls: { cert: resolve(cert), key: resolve(key) } };
}
