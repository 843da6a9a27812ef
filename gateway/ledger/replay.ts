import { canonicalJson } from './canonical.js';
import { parseEvent, type LedgerEvent } from './events.js';
import { post } from './ledger.js';
import { mergeParams, DEFAULT_PARAMS } from './params.js';
import { NO_SERVICE, type EraServiceInput } from './service.js';
import { settleEra, type EraSummary } from './settle.js';
import { emptyState, eraOf, type LedgerState } from './state.js';
import { MINT, type AccountId, type Entry, type Rejection } from './types.js';

export type Opened = { ok: true; state: LedgerState; entries: Entry[] } | { ok: false; reason: string };

/** The state right after genesis: parameters set, allocations minted (entries of era 0). */
export function openLedger(raw: unknown): Opened {
  const parsed = parseEvent(raw);
  if (!parsed.ok) return parsed;
  const g = parsed.event;
  if (g.type !== 'genesis') return { ok: false, reason: 'the log opens with a genesis event' };
  const m = mergeParams(DEFAULT_PARAMS, g.params ?? {}, true);
  if (!m.ok) return m;
  const state = emptyState(g.at, m.params);
  const r = post(state, 0, g.allocations.map((a) => ({ reason: 'genesis' as const, from: MINT, to: a.account, amount: a.amount })));
  if (!r.ok) return r;
  return { ok: true, state, entries: r.entries };
}

/** Service inputs by era; eras missing from it had no service. */
export type ServiceByEra = ReadonlyMap<number, EraServiceInput> | ((era: number) => EraServiceInput | undefined);

export type Replayed =
  | { ok: true; state: LedgerState; entries: Entry[]; summaries: EraSummary[]; rejections: Rejection[] }
  | { ok: false; reason: string };

/**
 * The full state from the two logs: genesis, then eras 0..throughEra settled in order, each
 * with the events whose `at` falls in it (kept in log order) and its service. An event
 * logged after a later era's event, or timed past throughEra, is refused with its log index.
 */
export function replay(events: readonly unknown[], services: ServiceByEra, throughEra: number): Replayed {
  const opened = openLedger(events[0]);
  if (!opened.ok) return { ok: false, reason: `genesis: ${opened.reason}` };
  let state = opened.state;
  const entries = [...opened.entries];
  const summaries: EraSummary[] = [];
  const rejections: Rejection[] = [];
  const byEra = new Map<number, LedgerEvent[]>();
  const logIndex = new Map<LedgerEvent, number>();
  let lastEra = 0;
  events.slice(1).forEach((e, i) => {
    const at = typeof e === 'object' && e !== null ? (e as { at?: unknown }).at : undefined;
    const era = typeof at === 'number' && Number.isFinite(at) ? eraOf(state, at) : lastEra;
    if (era < lastEra || era > throughEra || era < 0) {
      rejections.push({ era, index: i + 1, what: 'event', reason: era < lastEra ? `logged after an event of era ${lastEra}` : 'outside the eras replayed' });
      return;
    }
    lastEra = era;
    const list = byEra.get(era) ?? [];
    list.push(e as LedgerEvent);
    logIndex.set(e as LedgerEvent, i + 1);
    byEra.set(era, list);
  });
  const serviceOf = typeof services === 'function' ? services : (era: number) => services.get(era);
  for (let era = 0; era <= throughEra; era++) {
    const evs = byEra.get(era) ?? [];
    const out = settleEra(state, { era, events: evs, service: serviceOf(era) ?? NO_SERVICE });
    state = out.state;
    entries.push(...out.entries);
    if (out.summary !== undefined) summaries.push(out.summary);
    // Rejections name the event's index in the whole log, which is what an auditor can look up.
    rejections.push(...out.rejections.map((r) => (r.index === undefined ? r : { ...r, index: logIndex.get(evs[r.index]!) ?? r.index })));
  }
  return { ok: true, state, entries, summaries, rejections };
}

/** Where two entry lists first differ: the index, and per differing field both values. */
export interface Divergence {
  index: number;
  /** Field name → [published, recomputed] as canonical JSON; `entry` when one side has none. */
  fields: Record<string, [string, string]>;
}

/**
 * Compare published entries with recomputed ones, entry by entry: the first that differs (or
 * that only one side has), or null when they agree.
 */
export function firstDivergence(published: readonly Entry[], recomputed: readonly Entry[]): Divergence | null {
  const n = Math.max(published.length, recomputed.length);
  for (let i = 0; i < n; i++) {
    const a = published[i];
    const b = recomputed[i];
    if (a === undefined || b === undefined) return { index: i, fields: { entry: [a === undefined ? 'none' : canonicalJson(a), b === undefined ? 'none' : canonicalJson(b)] } };
    const fields: Divergence['fields'] = {};
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of [...keys].sort()) {
      const x = canonicalJson((a as unknown as Record<string, unknown>)[k] ?? null);
      const y = canonicalJson((b as unknown as Record<string, unknown>)[k] ?? null);
      if (x !== y) fields[k] = [x, y];
    }
    if (Object.keys(fields).length > 0) return { index: i, fields };
  }
  return null;
}

/** Balances that differ (absent counts as 0), sorted by account. */
export function diffBalances(
  published: ReadonlyMap<AccountId, bigint> | Readonly<Record<AccountId, bigint | string>>,
  recomputed: ReadonlyMap<AccountId, bigint>,
): Array<{ account: AccountId; published: bigint; recomputed: bigint }> {
  const pub: ReadonlyMap<AccountId, bigint> = published instanceof Map ? published : new Map(Object.entries(published as Readonly<Record<AccountId, bigint | string>>).map(([k, v]): [AccountId, bigint] => [k, BigInt(v)]));
  const out: Array<{ account: AccountId; published: bigint; recomputed: bigint }> = [];
  for (const a of [...new Set([...pub.keys(), ...recomputed.keys()])].sort()) {
    const x = pub.get(a) ?? 0n;
    const y = recomputed.get(a) ?? 0n;
    if (x !== y) out.push({ account: a, published: x, recomputed: y });
  }
  return out;
}

/**
 * The state as plain sorted JSON (bigints as decimal strings), zero balances left out: what
 * is published, compared, and hashed. Two states are equal when these strings are.
 */
export function stateToJson(s: LedgerState): Record<string, unknown> {
  const sortedObj = <T>(m: ReadonlyMap<string, T>, f: (v: T) => unknown = (v) => v): Record<string, unknown> =>
    Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, f(v)]));
  const balances = new Map([...s.balances].filter(([, v]) => v !== 0n));
  return JSON.parse(canonicalJson({
    v: s.v, genesisAt: s.genesisAt, settledEra: s.settledEra, nextSeq: s.nextSeq,
    genesisSupply: s.genesisSupply, minted: s.minted, burned: s.burned,
    params: s.params, scheduled: s.scheduled,
    balances: sortedObj(balances),
    locks: sortedObj(s.locks),
    stores: sortedObj(s.stores),
    passports: sortedObj(s.passports),
  })) as Record<string, unknown>;
}
