import { applyEvent } from './apply.js';
import type { LedgerEvent } from './events.js';
import { balanceOf, postOrThrow, supplyOf } from './ledger.js';
import { accelerateDecay, decayPassports } from './passports.js';
import { emissionFor, grossReward, scalePayments, shareReward, zoneMultiplierPpm } from './rewards.js';
import { cmp, normaliseService, type EraServiceInput, type EraServiceRecord } from './service.js';
import { isDowntime, judgeAudits, slashRatePpm, splitSlash, type AuditJudgement } from './slash.js';
import { applyScheduled, cloneState, requiredCollateral, stakeOf, storeStatus, type LedgerState, type StoreStatus } from './state.js';
import { account, MINT, POOL, type Entry, type Rejection } from './types.js';

export interface EraInput {
  era: number;
  /** The era's events in log order (order matters: a deposit before the withdrawal it funds). */
  events: readonly LedgerEvent[];
  /** What stores and monitors did in the era (order does not matter). */
  service: EraServiceInput;
}

/** How one store fared in an era. */
export interface StoreEraLine {
  store: string;
  provider: string;
  zone?: string;
  /** Status after the era's events, before its slashes: what decides whether it is paid. */
  status: StoreStatus;
  stake: bigint;
  required: bigint;
  downtime: boolean;
  audits: AuditJudgement;
  /** Lost in this era (the forfeiture is taken once). */
  lost: boolean;
  failStreak: number;
  slashRatePpm: bigint;
  slashed: bigint;
  slashedFromOwn: bigint;
  slashedFromOthers: bigint;
  multiplierPpm: bigint;
  /** What the store's service was worth (paid only when active and not failing). */
  gross: bigint;
  owed: bigint;
  paid: bigint;
}

export interface MonitorEraLine {
  monitor: string;
  challenges: number;
  owed: bigint;
  paid: bigint;
}

export interface EraSummary {
  era: number;
  minted: bigint;
  burned: bigint;
  fees: bigint;
  feesBurned: bigint;
  slashed: bigint;
  slashBurned: bigint;
  rewardsOwed: bigint;
  rewardsPaid: bigint;
  passportDecay: bigint;
  /** Left in the reward pool for later eras. */
  pool: bigint;
  supply: bigint;
  stores: StoreEraLine[];
  monitors: MonitorEraLine[];
  /** Stores some sources failed and others passed, with who said what. */
  disagreements: Array<{ store: string; failing: string[]; passing: string[] }>;
  /** Service records of stores the ledger does not know (no deposit yet): not paid, not slashed. */
  unknownStores: string[];
}

export interface EraOutcome {
  state: LedgerState;
  entries: Entry[];
  rejections: Rejection[];
  summary?: EraSummary;
  /** The era was settled before: nothing was done. */
  alreadySettled: boolean;
}

/**
 * Settle one era: the state before it, its events and its service in; the state after, the
 * new ledger entries and a summary out. Pure: `before` is not changed. Order of the work:
 * scheduled parameter changes, the events, slashes, minting into the pool what rewards need
 * (up to the schedule's ceiling), rewards (stores then monitors, scaled down together when the
 * pool is still short), Passport decay.
 */
export function settleEra(before: LedgerState, input: EraInput): EraOutcome {
  const era = input.era;
  if (era <= before.settledEra) return { state: before, entries: [], rejections: [], alreadySettled: true };
  if (era !== before.settledEra + 1) {
    return { state: before, entries: [], rejections: [{ era, what: 'settlement', reason: `eras settle in order: the next is ${before.settledEra + 1}` }], alreadySettled: false };
  }
  const s = cloneState(before);
  applyScheduled(s, era);
  const p = s.params;
  const mark = { minted: s.minted, burned: s.burned };
  const entries: Entry[] = [];
  const rejections: Rejection[] = [];
  input.events.forEach((e, index) => {
    const r = applyEvent(s, era, e);
    if (r.ok) entries.push(...r.entries);
    else rejections.push({ era, index, what: describeEvent(e), reason: r.reason });
  });

  const svc = normaliseService(input.service);
  const recs = new Map(svc.stores.map((r) => [r.store, r]));
  const zones = new Map(svc.zones.map((z) => [z.zone, z]));
  const lines: StoreEraLine[] = [];
  for (const [store, st] of [...s.stores.entries()].sort(([a], [b]) => cmp(a, b))) {
    const rec = recs.get(store);
    const wasLost = st.lost;
    const line = judgeStore(s, store, rec, svc.monitors);
    if (!wasLost) {
      const failed = line.downtime || line.audits.failed || line.lost;
      if (failed) st.failStreak += 1;
      else if (rec !== undefined) st.failStreak = 0;
      line.failStreak = st.failStreak;
      line.slashRatePpm = failed ? slashRatePpm(p, { downtime: line.downtime, audits: line.audits.failed, lost: line.lost }, st.failStreak) : 0n;
      if (line.slashRatePpm > 0n) {
        const split = splitSlash(p, store, stakeOf(s, store), line.slashRatePpm);
        entries.push(...postOrThrow(s, era, split.drafts));
        Object.assign(line, { slashed: split.amount, slashedFromOwn: split.fromOwn, slashedFromOthers: split.fromOthers });
        for (const x of s.passports.values()) if (x.store === store) accelerateDecay(p, x);
      }
      if (line.lost) st.lost = true;
      if (rec !== undefined) {
        line.multiplierPpm = zoneMultiplierPpm(p, zones.get(rec.zone));
        line.gross = grossReward(p, rec, zones.get(rec.zone));
        st.lastGross = line.gross;
        if (line.status === 'active' && !failed) line.owed = line.gross;
      }
    }
    lines.push(line);
  }

  const monitors: MonitorEraLine[] = svc.monitors.map((m) => ({ monitor: m.monitor, challenges: m.challenges, owed: BigInt(m.challenges) * p.monitorRewardPerChallenge, paid: 0n }));
  const owed = [...lines, ...monitors].reduce((a, l) => a + l.owed, 0n);
  entries.push(...postOrThrow(s, era, [{ reason: 'emission', from: MINT, to: POOL, amount: emissionFor(p, era, owed, balanceOf(s, POOL)) }]));
  const paid = scalePayments([...lines.map((l) => l.owed), ...monitors.map((m) => m.owed)], balanceOf(s, POOL));
  lines.forEach((l, i) => {
    l.paid = paid[i] ?? 0n;
    if (l.paid > 0n) entries.push(...postOrThrow(s, era, shareReward(p, l.store, l.provider, stakeOf(s, l.store), l.paid)));
  });
  monitors.forEach((m, i) => {
    m.paid = paid[lines.length + i] ?? 0n;
    entries.push(...postOrThrow(s, era, [{ reason: 'monitor-reward', from: POOL, to: account.monitor(m.monitor), amount: m.paid }]));
  });
  entries.push(...postOrThrow(s, era, decayPassports(s)));
  s.settledEra = era;

  const sum = (reason: Entry['reason']): bigint => entries.filter((e) => e.reason === reason).reduce((a, e) => a + e.amount, 0n);
  const summary: EraSummary = {
    era,
    minted: s.minted - mark.minted,
    burned: s.burned - mark.burned,
    fees: sum('fee') + sum('fee-burn'),
    feesBurned: sum('fee-burn'),
    slashed: sum('slash'),
    slashBurned: sum('slash-burn'),
    rewardsOwed: owed,
    rewardsPaid: [...lines, ...monitors].reduce((a, l) => a + l.paid, 0n),
    passportDecay: sum('passport-decay'),
    pool: balanceOf(s, POOL),
    supply: supplyOf(s),
    stores: lines,
    monitors,
    disagreements: lines.filter((l) => l.audits.disagreement).map((l) => ({
      store: l.store,
      failing: l.audits.sources.filter((x) => x.verdict === 'fail').map((x) => x.source),
      passing: l.audits.sources.filter((x) => x.verdict === 'pass').map((x) => x.source),
    })),
    unknownStores: svc.stores.filter((r) => !s.stores.has(r.store)).map((r) => r.store),
  };
  return { state: s, entries, rejections, summary, alreadySettled: false };
}

/** A store's line before slashes and pay are decided. */
function judgeStore(s: LedgerState, store: string, rec: EraServiceRecord | undefined, monitors: EraServiceInput['monitors']): StoreEraLine {
  const st = s.stores.get(store)!;
  const line: StoreEraLine = {
    store,
    provider: st.provider,
    status: storeStatus(s, store),
    stake: stakeOf(s, store).total,
    required: requiredCollateral(s, store),
    downtime: !st.lost && isDowntime(s.params, rec),
    audits: judgeAudits(s.params, store, rec, monitors),
    lost: !st.lost && rec?.lost === true,
    failStreak: st.failStreak,
    slashRatePpm: 0n, slashed: 0n, slashedFromOwn: 0n, slashedFromOthers: 0n,
    multiplierPpm: 0n, gross: 0n, owed: 0n, paid: 0n,
  };
  if (rec !== undefined) line.zone = rec.zone;
  return line;
}

function describeEvent(e: unknown): string {
  const t = typeof e === 'object' && e !== null ? (e as { type?: unknown }).type : undefined;
  return typeof t === 'string' ? t : 'event';
}
