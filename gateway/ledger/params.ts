/**
 * Every rate of the economy, with its default. Parameters are bigints so that one canonical
 * encoding (decimal strings) serves them all; a change is a recorded `params` event that takes
 * effect from a later era (events.ts). docs/economy.md explains each one.
 */

export interface Params {
  /** Era length in ms. Fixed at genesis: changing it would re-cut eras already settled. */
  eraMs: bigint;
  /** How long a deposit or delegation stays locked after it is made, ms. */
  lockMs: bigint;
  /** Required collateral = collateralMultiple × expected monthly reward. */
  collateralMultiple: bigint;
  /** Eras in a month, to turn an era's reward into a monthly one. */
  erasPerMonth: bigint;
  /** Floor of the expected era reward, so a new store with no history still needs collateral. */
  minEraReward: bigint;
  /** Store reward per GB-month stored (units), before the zone multiplier. */
  rewardStoredPerGbMonth: bigint;
  /** Store reward per GB served (units), before the zone multiplier. */
  rewardServedPerGb: bigint;
  /**
   * Zone multiplier bounds (ppm): the lower with all capacity free, the upper with none free.
   * Changes of the two may be scheduled apart, so the multiplier takes them in sorted order.
   */
  zoneMinPpm: bigint;
  zoneMaxPpm: bigint;
  /** Monitor reward per challenge run (units). */
  monitorRewardPerChallenge: bigint;
  /** The provider's share of a store's reward (ppm) before the rest is shared by stake. */
  commissionPpm: bigint;
  /**
   * Most era e may mint: initialEraEmission >> floor(e / halvingEras). An era mints only what
   * its rewards need beyond the pool, up to this ceiling.
   */
  initialEraEmission: bigint;
  halvingEras: bigint;
  /** Fees the operator pays (units per GB-month stored, per GB served), and the share burned. */
  feeStoredPerGbMonth: bigint;
  feeServedPerGb: bigint;
  feeBurnPpm: bigint;
  /** An era with up/samples below this (ppm) is downtime. */
  minUptimePpm: bigint;
  /** A source with fewer audits of a store than this gives no verdict on it. */
  minAudits: bigint;
  /** A source fails a store when (wrong + missing + timeout) / audits exceeds this (ppm). */
  maxAuditFailPpm: bigint;
  /** Failing verdicts needed for an audit slash: min(auditQuorum, sources with a verdict). */
  auditQuorum: bigint;
  /** Base slash rates (ppm of stake); doubled for each further consecutive failing era. */
  downtimeSlashPpm: bigint;
  auditSlashPpm: bigint;
  /** Cap of the escalated rate (ppm). */
  maxSlashPpm: bigint;
  /** A lost store forfeits at least this share of its stake (ppm). */
  lostSlashPpm: bigint;
  /** Share of every slash that is burned (ppm); the rest goes to the treasury. */
  slashBurnPpm: bigint;
  /** A slash cuts the remaining term of Passports staked on the store by this share (ppm). */
  passportSlashTermPpm: bigint;
}

const DAY = 86_400_000n;
const TOKEN = 1_000_000n;

export const DEFAULT_PARAMS: Readonly<Params> = Object.freeze({
  eraMs: DAY,
  lockMs: 30n * DAY,
  collateralMultiple: 6n,
  erasPerMonth: 30n,
  minEraReward: 50_000n,
  rewardStoredPerGbMonth: 1_500n,
  rewardServedPerGb: 2_000n,
  zoneMinPpm: 1_000_000n,
  zoneMaxPpm: 2_000_000n,
  monitorRewardPerChallenge: 100n,
  commissionPpm: 100_000n,
  initialEraEmission: 10n * TOKEN,
  halvingEras: 1460n,
  feeStoredPerGbMonth: 4_000n,
  feeServedPerGb: 7_000n,
  feeBurnPpm: 200_000n,
  minUptimePpm: 950_000n,
  minAudits: 10n,
  maxAuditFailPpm: 20_000n,
  auditQuorum: 2n,
  downtimeSlashPpm: 10_000n,
  auditSlashPpm: 50_000n,
  maxSlashPpm: 500_000n,
  lostSlashPpm: 500_000n,
  slashBurnPpm: 500_000n,
  passportSlashTermPpm: 500_000n,
});

export type ParamName = keyof Params;
export const PARAM_NAMES = Object.keys(DEFAULT_PARAMS).sort() as ParamName[];

const MAX_PPM = 1_000_000n;
/** Inclusive bounds of each parameter; `fixed` ones are set at genesis only. */
const BOUNDS: Record<ParamName, { min: bigint; max?: bigint; fixed?: true }> = {
  eraMs: { min: 1n, fixed: true },
  lockMs: { min: 0n },
  collateralMultiple: { min: 0n },
  erasPerMonth: { min: 1n },
  minEraReward: { min: 0n },
  rewardStoredPerGbMonth: { min: 0n },
  rewardServedPerGb: { min: 0n },
  zoneMinPpm: { min: 0n, max: 100n * MAX_PPM },
  zoneMaxPpm: { min: 0n, max: 100n * MAX_PPM },
  monitorRewardPerChallenge: { min: 0n },
  commissionPpm: { min: 0n, max: MAX_PPM },
  initialEraEmission: { min: 0n },
  halvingEras: { min: 1n },
  feeStoredPerGbMonth: { min: 0n },
  feeServedPerGb: { min: 0n },
  feeBurnPpm: { min: 0n, max: MAX_PPM },
  minUptimePpm: { min: 0n, max: MAX_PPM },
  minAudits: { min: 1n },
  maxAuditFailPpm: { min: 0n, max: MAX_PPM },
  auditQuorum: { min: 1n },
  downtimeSlashPpm: { min: 0n, max: MAX_PPM },
  auditSlashPpm: { min: 0n, max: MAX_PPM },
  maxSlashPpm: { min: 0n, max: MAX_PPM },
  lostSlashPpm: { min: 0n, max: MAX_PPM },
  slashBurnPpm: { min: 0n, max: MAX_PPM },
  passportSlashTermPpm: { min: 0n, max: MAX_PPM },
};

/**
 * Parse a set of changes (values as bigints, integers or decimal strings) against `base`.
 * Returns the merged parameters or the first reason they are refused.
 */
export function mergeParams(
  base: Readonly<Params>,
  changes: unknown,
  atGenesis: boolean,
): { ok: true; params: Params; changes: Partial<Params> } | { ok: false; reason: string } {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) return { ok: false, reason: 'parameter changes must be an object' };
  const out: Params = { ...base };
  const parsed: Partial<Params> = {};
  for (const name of Object.keys(changes).sort()) {
    const b = BOUNDS[name as ParamName] as (typeof BOUNDS)[ParamName] | undefined;
    if (b === undefined || !Object.hasOwn(BOUNDS, name)) return { ok: false, reason: `unknown parameter ${name}` };
    if (b.fixed && !atGenesis) return { ok: false, reason: `${name} is fixed at genesis` };
    const v = toBigInt((changes as Record<string, unknown>)[name]);
    if (v === undefined) return { ok: false, reason: `${name} must be an integer` };
    if (v < b.min || (b.max !== undefined && v > b.max)) return { ok: false, reason: `${name} must be in [${b.min}, ${b.max ?? '∞'}]` };
    out[name as ParamName] = v;
    parsed[name as ParamName] = v;
  }
  return { ok: true, params: out, changes: parsed };
}

/** A bigint from a bigint, a safe integer or a decimal string; undefined for anything else. */
export function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'string' && /^-?(0|[1-9][0-9]{0,39})$/.test(v)) return BigInt(v);
  return undefined;
}
