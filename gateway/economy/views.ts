import { canonicalJson, eraOf, storeStatuses, type EraSummary, type LedgerState } from '../ledger/index.js';
import type { LedgerBook } from './book.js';
import { balancesJson } from './verify.js';

/**
 * The economy as the admin API and the CLI show it: plain JSON (amounts as decimal strings,
 * since they pass 2^53), read from the book.
 */

/** A value with bigints as decimal strings, ready for JSON.stringify. */
export function plain<T>(v: T): unknown {
  return JSON.parse(canonicalJson(v)) as unknown;
}

export interface LedgerOverview {
  genesisAt: string;
  eraMs: string;
  /** The era now, and the last settled. */
  era: number;
  settledEra: number;
  supply: string;
  minted: string;
  burned: string;
  stores: number;
  activeStores: number;
  events: number;
}

export function overview(book: LedgerBook, now = Date.now()): LedgerOverview {
  const v = book.current;
  const s = v.state;
  const statuses = storeStatuses(book.preview);
  return {
    genesisAt: new Date(s.genesisAt).toISOString(), eraMs: String(s.params.eraMs), era: eraOf(s, now), settledEra: v.settledEra,
    supply: String(s.genesisSupply + s.minted - s.burned), minted: String(s.minted), burned: String(s.burned),
    stores: statuses.length, activeStores: statuses.filter((x) => x.status === 'active').length,
    events: v.pending.length,
  };
}

export interface BalancesView {
  settledEra: number;
  /** After the last settled era: what the published ledger says. */
  balances: Record<string, string>;
  /** With the events logged since applied (deposits, delegations...): what placement uses. */
  preview: Record<string, string>;
}

export function balancesView(book: LedgerBook): BalancesView {
  return { settledEra: book.current.settledEra, balances: balancesJson(book.current.state.balances), preview: balancesJson(book.preview.balances) };
}

export interface StoreAccountView {
  store: string;
  provider: string;
  status: 'active' | 'pending';
  lost: boolean;
  stake: string;
  required: string;
  own: string;
  delegators: string[];
  failStreak: number;
}

export interface AccountsView {
  stores: StoreAccountView[];
  passports: Array<{ id: string; holder: string; store: string | null; value: string; erasLeft: number }>;
}

export function accountsView(s: LedgerState): AccountsView {
  return {
    stores: storeStatuses(s).map((x) => {
      const st = s.stores.get(x.store)!;
      return {
        store: x.store, provider: x.provider, status: x.status, lost: x.lost, stake: String(x.stake), required: String(x.required),
        own: String(s.balances.get(`collateral:${x.store}`) ?? 0n), delegators: st.delegators, failStreak: st.failStreak,
      };
    }),
    passports: [...s.passports.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, p]) => ({
      id, holder: p.holder, store: p.store ?? null, value: String(s.balances.get(`passport:${id}`) ?? 0n), erasLeft: p.erasLeft,
    })),
  };
}

export function eraView(summary: EraSummary): unknown {
  return plain(summary);
}
