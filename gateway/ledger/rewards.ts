import type { Draft } from './ledger.js';
import type { Params } from './params.js';
import type { EraServiceRecord, ZoneCapacity } from './service.js';
import type { Stake } from './state.js';
import { account, GB, HOURS_PER_MONTH, mulDiv, POOL, PPM, ppmOf, type AccountId } from './types.js';

/**
 * Zone multiplier (ppm): lo + floor((hi − lo) × used / capacity) with used = capacity − free,
 * so it rises linearly as free capacity runs out. A zone with no capacity reported gets lo.
 */
export function zoneMultiplierPpm(p: Params, zone: ZoneCapacity | undefined): bigint {
  const lo = p.zoneMinPpm < p.zoneMaxPpm ? p.zoneMinPpm : p.zoneMaxPpm;
  const hi = p.zoneMinPpm < p.zoneMaxPpm ? p.zoneMaxPpm : p.zoneMinPpm;
  if (zone === undefined || zone.capacityBytes <= 0n) return lo;
  const free = zone.freeBytes < zone.capacityBytes ? zone.freeBytes : zone.capacityBytes;
  return lo + mulDiv(hi - lo, zone.capacityBytes - free, zone.capacityBytes);
}

/** floor(byteHours × rewardStored / (GB × 720)) + floor(served × rewardServed / GB). */
export function baseReward(p: Params, r: Pick<EraServiceRecord, 'storedByteHours' | 'servedBytes'>): bigint {
  return mulDiv(r.storedByteHours, p.rewardStoredPerGbMonth, GB * HOURS_PER_MONTH) + mulDiv(r.servedBytes, p.rewardServedPerGb, GB);
}

/** floor(base × multiplier / 10^6). */
export function grossReward(p: Params, r: EraServiceRecord, zone: ZoneCapacity | undefined): bigint {
  return mulDiv(baseReward(p, r), zoneMultiplierPpm(p, zone), PPM);
}

/** The era's minting ceiling: initialEraEmission halved every halvingEras eras (a shift: it reaches 0 and stays). */
export function emissionCap(p: Params, era: number): bigint {
  const halvings = BigInt(era) / p.halvingEras;
  return halvings >= 128n ? 0n : p.initialEraEmission >> halvings;
}

/** What an era mints: what its rewards owe beyond the pool, up to the ceiling. */
export function emissionFor(p: Params, era: number, owed: bigint, pool: bigint): bigint {
  const need = owed > pool ? owed - pool : 0n;
  const cap = emissionCap(p, era);
  return need < cap ? need : cap;
}

/**
 * What each claim is paid from a pool: everything when the pool covers the total, else
 * floor(owed × pool / total) each; what floors leave stays in the pool.
 */
export function scalePayments(owed: readonly bigint[], pool: bigint): bigint[] {
  let total = 0n;
  for (const o of owed) total += o;
  if (total <= pool) return [...owed];
  return owed.map((o) => mulDiv(o, pool, total));
}

/**
 * Share a store's paid reward R: the provider takes floor(R × commission); the rest, r, goes
 * to the stakes, each floor(r × stake_i / total stake), the provider's own collateral among
 * them; a Passport's share goes to its holder. What the floors leave goes to the provider
 * with the commission, so the parts add up to R exactly.
 */
export function shareReward(p: Params, store: string, provider: string, stake: Stake, paid: bigint): Draft[] {
  const commission = ppmOf(paid, p.commissionPpm);
  const rest = paid - commission;
  const shares: Array<{ to: AccountId; amount: bigint }> = [];
  if (stake.total > 0n) {
    shares.push({ to: account.provider(provider), amount: mulDiv(rest, stake.own, stake.total) });
    for (const d of stake.delegations) shares.push({ to: account.delegator(d.delegator), amount: mulDiv(rest, d.amount, stake.total) });
    for (const x of stake.passports) shares.push({ to: x.holder, amount: mulDiv(rest, x.amount, stake.total) });
  }
  let given = 0n;
  for (const s of shares) given += s.amount;
  const drafts: Draft[] = [{ reason: 'commission', from: POOL, to: account.provider(provider), amount: commission + rest - given, ref: store }];
  for (const s of shares) drafts.push({ reason: 'reward', from: POOL, to: s.to, amount: s.amount, ref: store });
  return drafts;
}
