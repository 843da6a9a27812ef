/**
 * Properties of the ledger over random histories: conservation after every era, settlement
 * deterministic and idempotent, record order irrelevant, and replay equal to settling era by era.
 */
import fc from 'fast-check';
import {
  balancesFromEntries, canonicalJson, checkConservation, openLedger, replay, settleEra, stateToJson,
  type EraServiceInput, type LedgerEvent, type LedgerState,
} from '../../gateway/ledger/index.js';
import { at, DAY, ev, T0, TOKEN, type EventBody } from './ledger-fixture.js';

const ERAS = 4;
const PROVIDERS = ['a', 'b'];
const STORES = ['s1', 's2', 's3'];
const DELEGATORS = ['d1', 'd2'];

// Round amounts often, so that withdrawals match what was deposited; odd ones for the floors.
const amount = fc.oneof(fc.constantFrom(1n * TOKEN, 5n * TOKEN, 20n * TOKEN), fc.bigInt({ min: 1n, max: 40n * TOKEN }));
const era = fc.integer({ min: 0, max: ERAS - 1 });
const offset = fc.integer({ min: 0, max: DAY - 1 });
const name = (xs: string[]): fc.Arbitrary<string> => fc.constantFrom(...xs);

const eventArb: fc.Arbitrary<[number, number, EventBody]> = fc.tuple(era, offset, fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('deposit' as const), provider: name(PROVIDERS), store: name(STORES), amount }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('withdraw' as const), provider: name(PROVIDERS), store: name(STORES), amount }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('delegate' as const), delegator: name(DELEGATORS), store: name(STORES), amount }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('undelegate' as const), delegator: name(DELEGATORS), store: name(STORES), amount }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('passport-issue' as const), id: name(['P1', 'P2']), from: fc.constant('treasury'), holder: fc.constant('delegator:h'), amount, termEras: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('passport-stake' as const), id: name(['P1', 'P2']), holder: fc.constant('delegator:h'), store: name(STORES) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('fee' as const), operator: fc.constant('op'), storedByteHours: fc.bigInt({ min: 0n, max: 10n ** 14n }), servedBytes: fc.bigInt({ min: 0n, max: 10n ** 12n }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('params' as const), fromEra: fc.integer({ min: 0, max: ERAS }), changes: fc.record({ auditSlashPpm: fc.bigInt({ min: 0n, max: 1_000_000n }), commissionPpm: fc.bigInt({ min: 0n, max: 1_000_000n }) }, { requiredKeys: [] }) }) },
  // Garbage in the log must be refused, not crash anything.
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('deposit', 'nonsense'), provider: fc.string(), amount: fc.constant(-5n) }) as unknown as fc.Arbitrary<EventBody> },
));

const countsArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ pass: fc.integer({ min: 10, max: 30 }), wrong: fc.constant(0), missing: fc.constant(0), timeout: fc.constant(0), error: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ pass: fc.nat(30), wrong: fc.nat(5), missing: fc.nat(3), timeout: fc.nat(3), error: fc.nat(3) }) },
);
const recordArb = fc.record({
  store: name([...STORES, 'stranger']),
  zone: name(['eu', 'us']),
  storedByteHours: fc.bigInt({ min: 0n, max: 10n ** 15n }),
  servedBytes: fc.bigInt({ min: 0n, max: 10n ** 12n }),
  uptime: fc.oneof({ weight: 3, arbitrary: fc.constant({ samples: 24, up: 24 }) }, { weight: 1, arbitrary: fc.nat(24).chain((samples) => fc.record({ samples: fc.constant(samples), up: fc.nat(samples) })) }),
  audits: countsArb,
  lost: fc.constant(false),
});
const serviceArb: fc.Arbitrary<EraServiceInput> = fc.record({
  stores: fc.array(recordArb.chain((r) => fc.integer({ min: 0, max: 19 }).map((k) => ({ ...r, lost: k === 0 }))), { maxLength: 5 }),
  monitors: fc.array(fc.record({ monitor: name(['m1', 'm2']), challenges: fc.nat(50), results: fc.array(fc.record({ store: name(STORES), audits: countsArb }), { maxLength: 3 }) }), { maxLength: 2 }),
  zones: fc.array(fc.record({ zone: name(['eu', 'us']), capacityBytes: fc.bigInt({ min: 0n, max: 10n ** 13n }), freeBytes: fc.bigInt({ min: 0n, max: 10n ** 13n }) }), { maxLength: 2 }),
});

const historyArb = fc.record({
  events: fc.array(eventArb, { minLength: 10, maxLength: 40 }).map((xs) => xs
    .map(([e, k, body]) => ev(at(e, k), body as EventBody & { type: 'deposit' }))
    .sort((x, y) => x.at - y.at)),
  services: fc.array(serviceArb, { minLength: ERAS, maxLength: ERAS }),
});

function genesis(): LedgerEvent {
  return ev(T0, { type: 'genesis', params: { lockMs: BigInt(DAY) }, allocations: [
    ...PROVIDERS.map((p) => ({ account: `provider:${p}`, amount: 200n * TOKEN })),
    ...DELEGATORS.map((d) => ({ account: `delegator:${d}`, amount: 100n * TOKEN })),
    { account: 'operator:op', amount: 50n * TOKEN },
    { account: 'treasury', amount: 100n * TOKEN },
  ] });
}

/** Settle era by era, as a running gateway would; checks conservation after each era. */
function incremental(events: LedgerEvent[], services: EraServiceInput[]): { state: LedgerState; entries: unknown[] } {
  const g = openLedger(genesis());
  if (!g.ok) throw new Error(g.reason);
  let state = g.state;
  const entries: unknown[] = [...g.entries];
  for (let e = 0; e < ERAS; e++) {
    const out = settleEra(state, { era: e, events: events.filter((x) => Math.floor((x.at - T0) / DAY) === e), service: services[e]! });
    expect(checkConservation(out.state)).toEqual([]);
    expect(out.summary!.supply).toBe(out.state.genesisSupply + out.state.minted - out.state.burned);
    state = out.state;
    entries.push(...out.entries);
  }
  return { state, entries };
}

const RUNS = { numRuns: 40 };

describe('ledger properties', () => {
  it('conserves supply and keeps every balance at or above zero', () => {
    fc.assert(fc.property(historyArb, ({ events, services }) => {
      const { state, entries } = incremental(events, services);
      // Balances follow from the entries alone.
      const recomputed = balancesFromEntries(entries as Parameters<typeof balancesFromEntries>[0]);
      for (const [a, v] of state.balances) expect(recomputed.get(a) ?? 0n).toBe(v);
    }), RUNS);
  });

  it('settles deterministically, whatever the order of the service records', () => {
    fc.assert(fc.property(historyArb, fc.infiniteStream(fc.nat()), ({ events, services }, seeds) => {
      const shuffle = <T>(xs: T[]): T[] => xs.map((x) => [seeds.next().value as number, x] as const).sort((p, q) => p[0] - q[0]).map(([, x]) => x);
      const shuffled = services.map((s) => ({ stores: shuffle(s.stores), monitors: shuffle(s.monitors).map((m) => ({ ...m, results: shuffle(m.results) })), zones: shuffle(s.zones) }));
      const a = incremental(events, services);
      const b = incremental(events, services);
      const c = incremental(events, shuffled);
      expect(canonicalJson(b.entries)).toBe(canonicalJson(a.entries));
      expect(canonicalJson(c.entries)).toBe(canonicalJson(a.entries));
      expect(canonicalJson(stateToJson(c.state))).toBe(canonicalJson(stateToJson(a.state)));
    }), { numRuns: 20 });
  });

  it('settles an era once: again is a no-op, and the input state is left as it was', () => {
    fc.assert(fc.property(historyArb, ({ events, services }) => {
      const g = openLedger(genesis());
      if (!g.ok) throw new Error(g.reason);
      const before = canonicalJson(stateToJson(g.state));
      const input = { era: 0, events: events.filter((x) => x.at < T0 + DAY), service: services[0]! };
      const once = settleEra(g.state, input);
      expect(canonicalJson(stateToJson(g.state))).toBe(before);
      const twice = settleEra(once.state, input);
      expect(twice.alreadySettled).toBe(true);
      expect(twice.entries).toEqual([]);
      expect(twice.state).toBe(once.state);
      const skip = settleEra(once.state, { ...input, era: 2 });
      expect(skip.entries).toEqual([]);
      expect(skip.rejections[0]!.reason).toMatch(/in order/);
    }), RUNS);
  });

  it('replays from scratch to the state settled era by era', () => {
    fc.assert(fc.property(historyArb, ({ events, services }) => {
      const inc = incremental(events, services);
      const r = replay([genesis(), ...events], new Map(services.map((s, i) => [i, s])), ERAS - 1);
      if (!r.ok) throw new Error(r.reason);
      expect(canonicalJson(stateToJson(r.state))).toBe(canonicalJson(stateToJson(inc.state)));
      expect(canonicalJson(r.entries)).toBe(canonicalJson(inc.entries));
    }), RUNS);
  });
});
