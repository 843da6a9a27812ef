import { ConfigError } from '../secrets.js';
import { parseRate } from '../repair/config.js';

/** How audits, scrubs, reports and snapshots run; from SHARDGATE_AUDIT_*, _SCRUB_*, _REPORT_*, _SNAPSHOT_* (README). */
export interface TrustConfig {
  /** Time between scheduled audit rounds over every node; 0 disables the schedule. */
  auditIntervalMs: number;
  /** Shard files challenged per node per round, and records per shard file. */
  auditPieces: number;
  auditRecords: number;
  /** A challenge with no answer after this long counts as a timeout. */
  auditTimeoutMs: number;
  /** Weight of the latest round in the node's score (an exponential average of passed rounds). */
  scoreAlpha: number;
  /** Below this score a node is suspect; below `lostBelow` it is treated as lost (its pieces move away). */
  suspectBelow: number;
  lostBelow: number;
  /** Scrub traffic in bytes per second (0 = unlimited), and the pause between full passes. */
  scrubRate: number;
  scrubIntervalMs: number;
  /** Length of a report period (one signed report per node per period). */
  reportPeriodMs: number;
  /** Time between metadata snapshots; 0 disables them. */
  snapshotIntervalMs: number;
  /** Snapshots kept on the shard-stores (older ones are deleted). */
  snapshotsKept: number;
}

function num(name: string, v: string | undefined, dflt: number, min: number, max: number, integer = true): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new ConfigError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${v}"`);
  }
  return n;
}

const DAY = 24 * 3600_000;

export function trustConfig(env: NodeJS.ProcessEnv): TrustConfig {
  const suspectBelow = num('SHARDGATE_AUDIT_SUSPECT_BELOW', env.SHARDGATE_AUDIT_SUSPECT_BELOW, 0.8, 0, 1, false);
  const lostBelow = num('SHARDGATE_AUDIT_LOST_BELOW', env.SHARDGATE_AUDIT_LOST_BELOW, 0.45, 0, 1, false);
  if (lostBelow > suspectBelow) throw new ConfigError('SHARDGATE_AUDIT_LOST_BELOW must not be above SHARDGATE_AUDIT_SUSPECT_BELOW');
  return {
    auditIntervalMs: num('SHARDGATE_AUDIT_INTERVAL_MS', env.SHARDGATE_AUDIT_INTERVAL_MS, 3600_000, 0, 30 * DAY),
    auditPieces: num('SHARDGATE_AUDIT_PIECES', env.SHARDGATE_AUDIT_PIECES, 4, 1, 64),
    auditRecords: num('SHARDGATE_AUDIT_RECORDS', env.SHARDGATE_AUDIT_RECORDS, 2, 1, 16),
    auditTimeoutMs: num('SHARDGATE_AUDIT_TIMEOUT_MS', env.SHARDGATE_AUDIT_TIMEOUT_MS, 10_000, 100, 600_000),
    scoreAlpha: num('SHARDGATE_AUDIT_SCORE_ALPHA', env.SHARDGATE_AUDIT_SCORE_ALPHA, 0.25, 0.01, 1, false),
    suspectBelow,
    lostBelow,
    scrubRate: parseRate('SHARDGATE_SCRUB_RATE', env.SHARDGATE_SCRUB_RATE ?? '8MiB'),
    scrubIntervalMs: num('SHARDGATE_SCRUB_INTERVAL_MS', env.SHARDGATE_SCRUB_INTERVAL_MS, DAY, 0, 365 * DAY),
    reportPeriodMs: num('SHARDGATE_REPORT_PERIOD_MS', env.SHARDGATE_REPORT_PERIOD_MS, DAY, 1_000, 365 * DAY),
    snapshotIntervalMs: num('SHARDGATE_SNAPSHOT_INTERVAL_MS', env.SHARDGATE_SNAPSHOT_INTERVAL_MS, 3600_000, 0, 30 * DAY),
    snapshotsKept: num('SHARDGATE_SNAPSHOTS_KEPT', env.SHARDGATE_SNAPSHOTS_KEPT, 3, 1, 100),
  };
}
