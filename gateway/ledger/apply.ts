import { parseEvent } from './events.js';
import { balanceOf, post, type Draft } from './ledger.js';
import { mergeParams } from './params.js';
import { addLock, eraOf, withdrawable, type LedgerState } from './state.js';
import { account, BURN, GB, HOURS_PER_MONTH, mulDiv, POOL, ppmOf, type Entry } from './types.js';

export type Applied = { ok: true; entries: Entry[] } | { ok: false; reason: string };

/** fee = floor(byteHours × feeStored / (GB × 720)) + floor(served × feeServed / GB). */
export function feeAmount(p: LedgerState['params'], storedByteHours: bigint, servedBytes: bigint): bigint {
  return mulDiv(storedByteHours, p.feeStoredPerGbMonth, GB * HOURS_PER_MONTH) + mulDiv(servedBytes, p.feeServedPerGb, GB);
}

/**
 * Apply one event of era `era` to `s` (which it changes). Re-checks the event's shape, so a
 * caller may hand over anything read from a log: every problem is a refusal with its reason,
 * and a refused event changes nothing.
 */
export function applyEvent(s: LedgerState, era: number, raw: unknown): Applied {
  const parsed = parseEvent(raw);
  if (!parsed.ok) return parsed;
  const e = parsed.event;
  if (eraOf(s, e.at) !== era) return { ok: false, reason: `at ${e.at} is in era ${eraOf(s, e.at)}, not ${era}` };
  const ref = 'store' in e ? e.store : 'id' in e ? e.id : undefined;
  const drafts = (ds: Draft[]): Draft[] => ds.map((d) => (ref === undefined ? d : { ...d, ref }));
  switch (e.type) {
    case 'genesis':
      return { ok: false, reason: 'genesis only opens the log' };
    case 'deposit': {
      const st = s.stores.get(e.store);
      if (st !== undefined && st.provider !== e.provider) return { ok: false, reason: `store ${e.store} belongs to provider ${st.provider}` };
      if (st?.lost) return { ok: false, reason: `store ${e.store} is lost` };
      const r = post(s, era, drafts([{ reason: 'deposit', from: account.provider(e.provider), to: account.collateral(e.store), amount: e.amount }]));
      if (!r.ok) return r;
      if (st === undefined) s.stores.set(e.store, { provider: e.provider, delegators: [], failStreak: 0, lastGross: 0n, lost: false });
      addLock(s, account.collateral(e.store), e.amount, e.at);
      return r;
    }
    case 'withdraw': {
      const st = s.stores.get(e.store);
      if (st === undefined || st.provider !== e.provider) return { ok: false, reason: `store ${e.store} is not provider ${e.provider}'s` };
      const free = withdrawable(s, account.collateral(e.store), e.at);
      if (e.amount > free) return { ok: false, reason: `only ${free} of the collateral is past its lock` };
      return post(s, era, drafts([{ reason: 'withdraw', from: account.collateral(e.store), to: account.provider(e.provider), amount: e.amount }]));
    }
    case 'delegate': {
      const st = s.stores.get(e.store);
      if (st === undefined) return { ok: false, reason: `unknown store ${e.store}` };
      if (st.lost) return { ok: false, reason: `store ${e.store} is lost` };
      const r = post(s, era, drafts([{ reason: 'delegate', from: account.delegator(e.delegator), to: account.delegation(e.store, e.delegator), amount: e.amount }]));
      if (!r.ok) return r;
      if (!st.delegators.includes(e.delegator)) st.delegators = [...st.delegators, e.delegator].sort();
      addLock(s, account.delegation(e.store, e.delegator), e.amount, e.at);
      return r;
    }
    case 'undelegate': {
      const a = account.delegation(e.store, e.delegator);
      const free = withdrawable(s, a, e.at);
      if (e.amount > free) return { ok: false, reason: `only ${free} of the delegation is past its lock` };
      return post(s, era, drafts([{ reason: 'undelegate', from: a, to: account.delegator(e.delegator), amount: e.amount }]));
    }
    case 'passport-issue': {
      if (s.passports.has(e.id)) return { ok: false, reason: `passport ${e.id} exists` };
      const r = post(s, era, drafts([{ reason: 'passport-issue', from: e.from, to: account.passport(e.id), amount: e.amount }]));
      if (!r.ok) return r;
      s.passports.set(e.id, { holder: e.holder, amount: e.amount, termEras: e.termEras, erasLeft: e.termEras });
      return r;
    }
    case 'passport-stake': {
      const p = s.passports.get(e.id);
      if (p === undefined) return { ok: false, reason: `unknown passport ${e.id}` };
      if (p.holder !== e.holder) return { ok: false, reason: `passport ${e.id} is held by ${p.holder}` };
      if (p.store !== undefined) return { ok: false, reason: `passport ${e.id} is already staked on ${p.store}` };
      if (balanceOf(s, account.passport(e.id)) === 0n) return { ok: false, reason: `passport ${e.id} has no value left` };
      const st = s.stores.get(e.store);
      if (st === undefined || st.lost) return { ok: false, reason: `store ${e.store} is unknown or lost` };
      p.store = e.store;
      return { ok: true, entries: [] };
    }
    case 'fee': {
      const fee = feeAmount(s.params, e.storedByteHours, e.servedBytes);
      if (fee === 0n) return { ok: false, reason: 'the fee comes to 0' };
      const burn = ppmOf(fee, s.params.feeBurnPpm);
      const payer = account.operator(e.operator);
      return post(s, era, [
        { reason: 'fee', from: payer, to: POOL, amount: fee - burn },
        { reason: 'fee-burn', from: payer, to: BURN, amount: burn },
      ]);
    }
    case 'params': {
      if (e.fromEra <= era) return { ok: false, reason: `a change logged in era ${era} takes effect from a later era, not ${e.fromEra}` };
      const m = mergeParams(s.params, e.changes, false);
      if (!m.ok) return m;
      s.scheduled.push({ fromEra: e.fromEra, changes: m.changes });
      return { ok: true, entries: [] };
    }
  }
}
