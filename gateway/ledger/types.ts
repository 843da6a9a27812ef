/**
 * Units, accounts and ledger entries of the provider economy (issue 12).
 *
 * Amounts are bigints in the smallest unit (UNITS_PER_TOKEN of them make one token); nothing
 * here is ever a float. Rates are integers too: parts per million (ppm) for shares, and
 * amounts per GB (10^9 bytes) for prices, so every product is one multiplication and one
 * floor division, and the rounding rule can be stated once per formula.
 */

export type Amount = bigint;
export const UNITS_PER_TOKEN = 1_000_000n;
export const PPM = 1_000_000n;
export const GB = 1_000_000_000n;
/** Hours in the month that prices per GB-month use (30 days). */
export const HOURS_PER_MONTH = 720n;

/** floor(a * b / c) for a, b ≥ 0 and c > 0: bigint division truncates, which is floor here. */
export function mulDiv(a: bigint, b: bigint, c: bigint): bigint {
  if (c <= 0n) throw new RangeError('mulDiv: divisor must be positive');
  return (a * b) / c;
}

/** floor(a * ppm / 10^6). */
export function ppmOf(a: bigint, ppm: bigint): bigint {
  return mulDiv(a, ppm, PPM);
}

/** Store, party, monitor and Passport names: no ':' so account ids stay unambiguous. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export function isName(s: unknown): s is string {
  return typeof s === 'string' && NAME_RE.test(s);
}

/**
 * An account id is a string `kind:name[:name]`, so that it is its own canonical encoding.
 * Liquid accounts (a party's free balance): provider, delegator, monitor, operator, treasury.
 * System accounts: mint (the issuance source; its balance is minus everything ever issued,
 * the only balance allowed below zero), burn (the sink; never debited), pool (the reward
 * pool, funded by fees and the emission schedule).
 * Escrow accounts: collateral:<store> (the provider's own stake on a store),
 * delegation:<store>:<delegator>, passport:<id> (a Passport's undecayed value).
 */
export type AccountId = string;
export type PartyKind = 'provider' | 'delegator' | 'monitor' | 'operator';
export const PARTY_KINDS: readonly PartyKind[] = ['provider', 'delegator', 'monitor', 'operator'];
export const TREASURY: AccountId = 'treasury';
export const BURN: AccountId = 'burn';
export const MINT: AccountId = 'mint';
export const POOL: AccountId = 'pool';

export const account = {
  provider: (id: string): AccountId => `provider:${id}`,
  delegator: (id: string): AccountId => `delegator:${id}`,
  monitor: (id: string): AccountId => `monitor:${id}`,
  operator: (id: string): AccountId => `operator:${id}`,
  collateral: (store: string): AccountId => `collateral:${store}`,
  delegation: (store: string, delegator: string): AccountId => `delegation:${store}:${delegator}`,
  passport: (id: string): AccountId => `passport:${id}`,
};

/** A balance a party spends from: what genesis may fund, and what a Passport may be paid to. */
export function isLiquid(a: unknown): a is AccountId {
  if (a === TREASURY) return true;
  if (typeof a !== 'string') return false;
  const [kind, name, extra] = a.split(':');
  return extra === undefined && PARTY_KINDS.includes(kind as PartyKind) && isName(name);
}

/** Why an entry was made; mint entries are `genesis` and `emission`, burn entries end in `burn`. */
export type EntryReason =
  | 'genesis' | 'emission'
  | 'deposit' | 'withdraw' | 'delegate' | 'undelegate'
  | 'passport-issue' | 'passport-decay'
  | 'fee' | 'fee-burn'
  | 'commission' | 'reward' | 'monitor-reward'
  | 'slash' | 'slash-burn';

/**
 * One line of the double-entry ledger: `amount` leaves `from` and reaches `to`. A mint is an
 * entry from MINT, a burn an entry to BURN, so the sum of all balances is always zero and
 * supply = −balance(mint) − balance(burn) = genesis + minted − burned.
 */
export interface Entry {
  /** Position in the ledger, from 1, without gaps. */
  seq: number;
  era: number;
  reason: EntryReason;
  from: AccountId;
  to: AccountId;
  amount: Amount;
  /** What the entry is about: a store, a Passport, `event:<index>`; absent when nothing more is needed. */
  ref?: string;
}

/** An event or input that was refused, with the reason; the rest of the era goes on. */
export interface Rejection {
  era: number;
  /** Position of the event among the era's events (or in the log for replay); absent for service inputs. */
  index?: number;
  what: string;
  reason: string;
}
