/**
 * What the log wiring and `admin ledger verify` reuse: canonical JSON, the hash chain of the
 * ledger-event log, the first divergence between published and recomputed entries, replay's
 * refusals, and the service records aggregated from report payloads.
 */
import {
  canonicalJson, chainEvents, chainNext, diffBalances, firstDivergence, ledgerEntryHash, LEDGER_GENESIS_PREV,
  parseEvent, replay, serviceFromReports, verifyChain, type LedgerLogEntry, type ServiceReport,
} from '../../gateway/ledger/index.js';
import { at, counts, DAY, ev, T0, TOKEN } from './ledger-fixture.js';

const GENESIS_EVENT = ev(T0, { type: 'genesis', allocations: [{ account: 'provider:p', amount: 10n * TOKEN }] });
const EVENTS = [
  GENESIS_EVENT,
  ev(at(0), { type: 'deposit', provider: 'p', store: 's', amount: 9n * TOKEN }),
  ev(at(1), { type: 'params', fromEra: 3, changes: { commissionPpm: 0n } }),
];

describe('canonical JSON', () => {
  it('sorts keys, writes bigints as decimal strings and leaves undefined members out', () => {
    expect(canonicalJson({ b: 1n, a: [2, { d: undefined, c: 'x' }], e: null })).toBe('{"a":[2,{"c":"x"}],"b":"1","e":null}');
  });

  it('round-trips an event through its log form', () => {
    for (const e of EVENTS) {
      const back = parseEvent(JSON.parse(canonicalJson(e)));
      expect(back.ok && canonicalJson(back.event)).toBe(canonicalJson(e));
    }
  });
});

describe('the ledger-event log chain', () => {
  const log = (): LedgerLogEntry[] => JSON.parse(canonicalJson(chainEvents(EVENTS))) as LedgerLogEntry[];

  it('links each entry to the SHA-256 of the canonical entry before it', () => {
    const l = log();
    expect(l[0]).toMatchObject({ v: 1, seq: 1, prev: LEDGER_GENESIS_PREV });
    expect(l[1]!.prev).toBe(ledgerEntryHash(l[0]!));
    expect(chainNext(l[2], EVENTS[0]).seq).toBe(4);
    expect(verifyChain(l)).toBeNull();
  });

  it('names the entry after one whose bytes changed, and a reordered entry', () => {
    const altered = log();
    (altered[1]!.event as { amount: string }).amount = '9000001';
    expect(verifyChain(altered)).toEqual({ index: 2, reason: expect.stringMatching(/^entry 3: does not chain/) });
    const swapped = log();
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    expect(verifyChain(swapped)!.index).toBe(1);
  });
});

describe('replay and verification', () => {
  it('names the first entry where published and recomputed entries part, field by field', () => {
    const r = replay(EVENTS, new Map(), 2);
    if (!r.ok) throw new Error(r.reason);
    expect(firstDivergence(r.entries, r.entries)).toBeNull();
    const published = r.entries.map((e, i) => (i === 1 ? { ...e, amount: e.amount + 1n } : e));
    expect(firstDivergence(published, r.entries)).toEqual({ index: 1, fields: { amount: [`"${9n * TOKEN + 1n}"`, `"${9n * TOKEN}"`] } });
    // Genesis and the deposit: nothing was owed, so nothing was minted after genesis.
    expect(r.entries.map((e) => e.reason)).toEqual(['genesis', 'deposit']);
    expect(firstDivergence(r.entries.slice(0, 1), r.entries)).toMatchObject({ index: 1, fields: { entry: ['none', expect.any(String)] } });
    expect(diffBalances({ 'provider:p': String(1n * TOKEN), 'collateral:s': 9n * TOKEN, mint: -10n * TOKEN, 'nobody:x': '0' }, r.state.balances)).toEqual([]);
    expect(diffBalances({ 'provider:p': '1', 'collateral:s': 9n * TOKEN, mint: -10n * TOKEN }, r.state.balances))
      .toEqual([{ account: 'provider:p', published: 1n, recomputed: 1n * TOKEN }]);
  });

  it('refuses events logged out of time order or past the eras replayed, and a log without genesis', () => {
    const r = replay([GENESIS_EVENT, ev(at(1), { type: 'deposit', provider: 'p', store: 's', amount: 1n }), ev(at(0, 5), { type: 'deposit', provider: 'p', store: 's', amount: 1n }), ev(at(9), { type: 'deposit', provider: 'p', store: 's', amount: 1n })], new Map(), 2);
    if (!r.ok) throw new Error(r.reason);
    expect(r.rejections.map((x) => [x.index, x.reason])).toEqual([[2, 'logged after an event of era 1'], [3, 'outside the eras replayed']]);
    expect(r.summaries.map((s) => s.era)).toEqual([0, 1, 2]);
    expect(replay([EVENTS[1]], new Map(), 0)).toEqual({ ok: false, reason: 'genesis: the log opens with a genesis event' });
  });

  it('names a refused event by its index in the whole log', () => {
    const r = replay([GENESIS_EVENT, ev(at(0), { type: 'deposit', provider: 'p', store: 's', amount: 1n }), ev(at(1), { type: 'withdraw', provider: 'p', store: 's', amount: 1n })], new Map(), 1);
    if (!r.ok) throw new Error(r.reason);
    expect(r.rejections).toEqual([{ era: 1, index: 2, what: 'withdraw', reason: 'only 0 of the collateral is past its lock' }]);
  });
});

describe('serviceFromReports', () => {
  const report = (node: string, hour: number, extra: Partial<ServiceReport> = {}): ServiceReport => ({
    v: 1, seq: hour * 10 + node.length, prev: '0'.repeat(64), node, zone: 'eu',
    periodStart: T0 + hour * 3_600_000, periodEnd: T0 + (hour + 1) * 3_600_000,
    audits: counts({ pass: 2 }), uptime: { samples: 12, up: 12, ratio: 1 }, score: 1, state: 'active', issuedAt: 0, ...extra,
  });

  it('sums one era of a store\'s reports and takes the zone of the latest', () => {
    const recs = serviceFromReports([
      report('s1', 0, { storedByteHours: '1000', servedBytes: 5, audits: counts({ pass: 1, wrong: 1 }) }),
      report('s1', 1, { storedByteHours: 2000, zone: 'us', uptime: { samples: 12, up: 6, ratio: 0.5 } }),
      report('s0', 2, { lost: true, storedByteHours: 'lots', servedBytes: -4 }),
      report('s1', 24, { storedByteHours: 99999 }), // the next era
    ], { start: T0, end: T0 + DAY });
    expect(recs).toEqual([
      { store: 's0', zone: 'eu', storedByteHours: 0n, servedBytes: 0n, uptime: { samples: 12, up: 12 }, audits: counts({ pass: 2 }), lost: true },
      { store: 's1', zone: 'us', storedByteHours: 3000n, servedBytes: 5n, uptime: { samples: 24, up: 18 }, audits: counts({ pass: 3, wrong: 1 }), lost: false },
    ]);
  });

  it('reads today\'s reports, which have no byte counts, as storing and serving nothing', () => {
    expect(serviceFromReports([report('s', 0)])[0]).toMatchObject({ storedByteHours: 0n, servedBytes: 0n, lost: false });
  });
});
