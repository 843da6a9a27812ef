import { mergeParams, toBigInt, DEFAULT_PARAMS, type Params } from './params.js';
import { isLiquid, isName, type AccountId } from './types.js';

/**
 * Events of the ledger-event log. Each carries the version of its shape and `at`, the time
 * (ms since the epoch) it was accepted, which decides its era. In the log amounts are decimal
 * strings (canonical.ts); parseEvent turns that form back into these types.
 */
interface Base {
  v: 1;
  at: number;
}

/** Opens the log: the start of era 0, parameters other than the defaults, the first balances. */
export interface GenesisEvent extends Base {
  type: 'genesis';
  params?: Partial<Params>;
  allocations: Array<{ account: AccountId; amount: bigint }>;
}

/** Provider collateral on a store; the first deposit on a store makes it the provider's. */
export interface DepositEvent extends Base {
  type: 'deposit';
  provider: string;
  store: string;
  amount: bigint;
}

/** Back to the provider's balance: only the part of the store's collateral past its lock. */
export interface WithdrawEvent extends Base {
  type: 'withdraw';
  provider: string;
  store: string;
  amount: bigint;
}

/**
 * Stake on a store (not on a provider): activation, rewards and slashes are per store, so a
 * delegator picks whose service it vouches for. Locked like a deposit.
 */
export interface DelegateEvent extends Base {
  type: 'delegate';
  delegator: string;
  store: string;
  amount: bigint;
}

export interface UndelegateEvent extends Base {
  type: 'undelegate';
  delegator: string;
  store: string;
  amount: bigint;
}

/** A time-locked amount taken from `from`, decaying to `holder` over `termEras` eras. */
export interface PassportIssueEvent extends Base {
  type: 'passport-issue';
  id: string;
  from: AccountId;
  holder: AccountId;
  amount: bigint;
  termEras: number;
}

/** The holder stakes its Passport's remaining value on a store, once, for the rest of its term. */
export interface PassportStakeEvent extends Base {
  type: 'passport-stake';
  id: string;
  holder: AccountId;
  store: string;
}

/** The operator pays for what was stored and served; the amount follows from the fee parameters. */
export interface FeeEvent extends Base {
  type: 'fee';
  operator: string;
  storedByteHours: bigint;
  servedBytes: bigint;
}

/** New values for some parameters, in force from `fromEra` (a later era than the event's). */
export interface ParamsEvent extends Base {
  type: 'params';
  fromEra: number;
  changes: Partial<Params>;
}

export type LedgerEvent =
  | GenesisEvent | DepositEvent | WithdrawEvent | DelegateEvent | UndelegateEvent
  | PassportIssueEvent | PassportStakeEvent | FeeEvent | ParamsEvent;
export type LedgerEventType = LedgerEvent['type'];

type Parsed = { ok: true; event: LedgerEvent } | { ok: false; reason: string };

/** Largest term a Passport may have, so eras stay small integers. */
export const MAX_TERM_ERAS = 100_000;

/**
 * Shape check of one event as read from the log (amounts as decimal strings or bigints).
 * Whether it can be applied (balances, locks, owners) is decided when it is applied.
 */
export function parseEvent(raw: unknown): Parsed {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'an event is an object' };
  const r = raw as Record<string, unknown>;
  if (r.v !== 1) return { ok: false, reason: `unknown event version ${String(r.v)}` };
  if (!Number.isSafeInteger(r.at) || (r.at as number) < 0) return { ok: false, reason: 'at must be a non-negative integer (ms)' };
  const at = r.at as number;
  const f = new Fields(r);
  let event: LedgerEvent;
  switch (r.type) {
    case 'genesis': {
      if (!Array.isArray(r.allocations)) return { ok: false, reason: 'allocations must be an array' };
      const allocations: GenesisEvent['allocations'] = [];
      for (const a of r.allocations as unknown[]) {
        const o = (typeof a === 'object' && a !== null ? a : {}) as Record<string, unknown>;
        const amount = toBigInt(o.amount);
        if (!isLiquid(o.account)) return { ok: false, reason: `allocation to ${String(o.account)}: genesis funds liquid accounts only` };
        if (amount === undefined || amount <= 0n) return { ok: false, reason: `allocation to ${o.account}: amount must be a positive integer` };
        allocations.push({ account: o.account, amount });
      }
      event = { v: 1, at, type: 'genesis', allocations };
      if (r.params !== undefined) {
        const m = mergeParams(DEFAULT_PARAMS, r.params, true);
        if (!m.ok) return m;
        event.params = m.changes;
      }
      break;
    }
    case 'deposit':
    case 'withdraw':
      event = { v: 1, at, type: r.type, provider: f.name('provider'), store: f.name('store'), amount: f.positive('amount') };
      break;
    case 'delegate':
    case 'undelegate':
      event = { v: 1, at, type: r.type, delegator: f.name('delegator'), store: f.name('store'), amount: f.positive('amount') };
      break;
    case 'passport-issue':
      event = { v: 1, at, type: 'passport-issue', id: f.name('id'), from: f.liquid('from'), holder: f.liquid('holder'), amount: f.positive('amount'), termEras: f.int('termEras', 1, MAX_TERM_ERAS) };
      break;
    case 'passport-stake':
      event = { v: 1, at, type: 'passport-stake', id: f.name('id'), holder: f.liquid('holder'), store: f.name('store') };
      break;
    case 'fee':
      event = { v: 1, at, type: 'fee', operator: f.name('operator'), storedByteHours: f.amount('storedByteHours'), servedBytes: f.amount('servedBytes') };
      break;
    case 'params': {
      const m = mergeParams(DEFAULT_PARAMS, r.changes, false);
      if (!m.ok) return m;
      event = { v: 1, at, type: 'params', fromEra: f.int('fromEra', 0, Number.MAX_SAFE_INTEGER), changes: m.changes };
      break;
    }
    default:
      return { ok: false, reason: `unknown event type ${String(r.type)}` };
  }
  return f.problem === undefined ? { ok: true, event } : { ok: false, reason: f.problem };
}

/** Field readers that note the first problem instead of throwing, so parseEvent stays one switch. */
class Fields {
  problem: string | undefined;
  constructor(private readonly r: Record<string, unknown>) {}
  private fail<T>(msg: string, fallback: T): T {
    this.problem ??= msg;
    return fallback;
  }
  name(k: string): string {
    const v = this.r[k];
    return isName(v) ? v : this.fail(`${k} must be a name (letters, digits, . _ -; up to 64)`, '');
  }
  liquid(k: string): AccountId {
    const v = this.r[k];
    return isLiquid(v) ? v : this.fail(`${k} must be a liquid account (provider:, delegator:, monitor:, operator: or treasury)`, '');
  }
  amount(k: string): bigint {
    const v = toBigInt(this.r[k]);
    return v !== undefined && v >= 0n ? v : this.fail(`${k} must be a non-negative integer`, 0n);
  }
  positive(k: string): bigint {
    const v = toBigInt(this.r[k]);
    return v !== undefined && v > 0n ? v : this.fail(`${k} must be a positive integer`, 0n);
  }
  int(k: string, min: number, max: number): number {
    const v = this.r[k];
    return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : this.fail(`${k} must be an integer in [${min}, ${max}]`, 0);
  }
}
