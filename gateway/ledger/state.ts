import { balanceOf, emptyBook, type Book } from './ledger.js';
import { DEFAULT_PARAMS, type Params } from './params.js';
import { account, type AccountId } from './types.js';

/** Part of an escrow balance that stays locked until `until` (ms). */
export interface Lock {
  amount: bigint;
  until: number;
}

export interface StoreState {
  provider: string;
  /** Delegators with a delegation account on the store, sorted. */
  delegators: string[];
  /** Consecutive settled eras in which the store failed (downtime, audits or lost). */
  failStreak: number;
  /** Gross reward of the store's last era with service (what it would have earned), for the expected reward. */
  lastGross: bigint;
  /** Drained for failing audits: never active again. */
  lost: boolean;
}

export interface PassportState {
  holder: AccountId;
  /** The store it is staked on, once staked. */
  store?: string;
  amount: bigint;
  termEras: number;
  /** Eras of decay left; 0 once fully paid out. */
  erasLeft: number;
}

export interface ScheduledChange {
  fromEra: number;
  changes: Partial<Params>;
}

/** The whole economy between two settlements; balances live in the Book part. */
export interface LedgerState extends Book {
  v: 1;
  /** Start of era 0, ms since the epoch. */
  genesisAt: number;
  params: Params;
  scheduled: ScheduledChange[];
  /** Last settled era, −1 before the first. */
  settledEra: number;
  locks: Map<AccountId, Lock[]>;
  stores: Map<string, StoreState>;
  passports: Map<string, PassportState>;
}

export function emptyState(genesisAt: number, params: Params = { ...DEFAULT_PARAMS }): LedgerState {
  return { v: 1, ...emptyBook(), genesisAt, params, scheduled: [], settledEra: -1, locks: new Map(), stores: new Map(), passports: new Map() };
}

/** A deep copy: settlement works on one so that the state it was given stays as it was. */
export function cloneState(s: LedgerState): LedgerState {
  return structuredClone(s);
}

export function eraOf(s: Pick<LedgerState, 'genesisAt' | 'params'>, at: number): number {
  return Math.floor((at - s.genesisAt) / Number(s.params.eraMs));
}

/** [start, end) of an era in ms. */
export function eraWindow(s: Pick<LedgerState, 'genesisAt' | 'params'>, era: number): { start: number; end: number } {
  const ms = Number(s.params.eraMs);
  return { start: s.genesisAt + era * ms, end: s.genesisAt + (era + 1) * ms };
}

/**
 * What may leave an escrow account at `at`: its balance less what is still locked. Slashes
 * lower the balance without touching locks, so they eat the unlocked part first and the lock
 * keeps backing the store.
 */
export function withdrawable(s: LedgerState, a: AccountId, at: number): bigint {
  const bal = balanceOf(s, a);
  let locked = 0n;
  for (const l of s.locks.get(a) ?? []) if (l.until > at) locked += l.amount;
  return locked >= bal ? 0n : bal - locked;
}

export function addLock(s: LedgerState, a: AccountId, amount: bigint, at: number): void {
  const kept = (s.locks.get(a) ?? []).filter((l) => l.until > at);
  kept.push({ amount, until: at + Number(s.params.lockMs) });
  s.locks.set(a, kept);
}

/** Stake backing a store, by part; the parts are escrow balances, so they are what a slash can take. */
export interface Stake {
  own: bigint;
  delegations: Array<{ delegator: string; amount: bigint }>;
  passports: Array<{ id: string; holder: AccountId; amount: bigint }>;
  total: bigint;
}

export function stakeOf(s: LedgerState, store: string): Stake {
  const st = s.stores.get(store);
  const own = balanceOf(s, account.collateral(store));
  const delegations = (st?.delegators ?? []).map((d) => ({ delegator: d, amount: balanceOf(s, account.delegation(store, d)) })).filter((d) => d.amount > 0n);
  const passports = [...s.passports.entries()]
    .filter(([, p]) => p.store === store)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, p]) => ({ id, holder: p.holder, amount: balanceOf(s, account.passport(id)) }))
    .filter((p) => p.amount > 0n);
  let total = own;
  for (const d of delegations) total += d.amount;
  for (const p of passports) total += p.amount;
  return { own, delegations, passports, total };
}

/** collateralMultiple × erasPerMonth × max(minEraReward, the store's last era gross reward). */
export function requiredCollateral(s: LedgerState, store: string): bigint {
  const last = s.stores.get(store)?.lastGross ?? 0n;
  const era = last > s.params.minEraReward ? last : s.params.minEraReward;
  return s.params.collateralMultiple * s.params.erasPerMonth * era;
}

export type StoreStatus = 'active' | 'pending';

/**
 * Whether placement may give the store new pieces: its stake covers the required collateral
 * and it is not lost. Unknown stores are pending.
 */
export function storeStatus(s: LedgerState, store: string): StoreStatus {
  const st = s.stores.get(store);
  if (st === undefined || st.lost) return 'pending';
  return stakeOf(s, store).total >= requiredCollateral(s, store) ? 'active' : 'pending';
}

/** Parameters in force for an era: the current ones with every change scheduled up to it. */
export function applyScheduled(s: LedgerState, era: number): void {
  const due = s.scheduled.filter((c) => c.fromEra <= era);
  if (due.length === 0) return;
  for (const c of due) Object.assign(s.params, c.changes);
  s.scheduled = s.scheduled.filter((c) => c.fromEra > era);
}

/** Every store with its provider, status, stake and required collateral, sorted: for placement and the admin view. */
export function storeStatuses(s: LedgerState): Array<{ store: string; provider: string; status: StoreStatus; lost: boolean; stake: bigint; required: bigint }> {
  return [...s.stores.keys()].sort().map((store) => ({
    store,
    provider: s.stores.get(store)!.provider,
    status: storeStatus(s, store),
    lost: s.stores.get(store)!.lost,
    stake: stakeOf(s, store).total,
    required: requiredCollateral(s, store),
  }));
}
