import { K, N } from '../../codec/erasure.js';
import { ConfigError } from '../secrets.js';

/** How the repair worker runs; from SHARDGATE_REPAIR_* variables (README "Configuration"). */
export interface RepairConfig {
  /** A scheduled pass repairs blobs with fewer healthy pieces than this. */
  threshold: number;
  /** Repair traffic (pieces read + written) in bytes per second; 0 = unlimited. */
  rateBytesPerSec: number;
  /** Time between scheduled passes. */
  intervalMs: number;
  /** Blobs rebuilt at the same time. */
  concurrency: number;
  /** Blobs read from the metadata per step; the job's cursor advances per batch. */
  batch: number;
  /** How long an old shard file stays after its piece moved, for reads already under way. */
  orphanGraceMs: number;
  /** Passes a job makes before it reports what is left (each pass must make progress). */
  maxPasses: number;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "64MiB", "200M", "1G", "0" (unlimited); an optional "/s" is allowed. */
export function parseRate(name: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?(?:\/s)?$/i.exec(text.trim());
  if (!m) throw new ConfigError(`${name}: expected bytes per second like 64MiB or 0 for no limit, got "${text}"`);
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
}

function int(name: string, v: string | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

export function repairConfig(env: NodeJS.ProcessEnv): RepairConfig {
  return {
    // Below K+1 a blob would be one failure from loss before repair even starts.
    threshold: int('SHARDGATE_REPAIR_THRESHOLD', env.SHARDGATE_REPAIR_THRESHOLD, 14, K + 1, N),
    rateBytesPerSec: parseRate('SHARDGATE_REPAIR_RATE', env.SHARDGATE_REPAIR_RATE ?? '64MiB'),
    intervalMs: int('SHARDGATE_REPAIR_INTERVAL_MS', env.SHARDGATE_REPAIR_INTERVAL_MS, 10 * 60_000, 1_000, 7 * 24 * 3600_000),
    concurrency: int('SHARDGATE_REPAIR_CONCURRENCY', env.SHARDGATE_REPAIR_CONCURRENCY, 4, 1, 64),
    batch: 128,
    orphanGraceMs: 60_000,
    maxPasses: 5,
  };
}
