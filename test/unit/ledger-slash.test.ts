/**
 * Slashing: own collateral before delegators, escalation over consecutive failing eras, the
 * lost store's forfeiture, and the audit quorum with monitors that disagree.
 */
import {
  account, openLedger, settleEra, slashRatePpm, storeStatus, DEFAULT_PARAMS,
  type EraServiceInput, type LedgerState, type Params,
} from '../../gateway/ledger/index.js';
import { at, counts, ev, rec, T0, TOKEN, type EventBody } from './ledger-fixture.js';

const NONE: EraServiceInput = { stores: [], monitors: [], zones: [] };

/** Genesis with `params`, then era 0 with `events` and no service (nothing paid or slashed). */
function start(params: Partial<Params>, events: Array<EventBody>): LedgerState {
  const g = openLedger(ev(T0, { type: 'genesis', params, allocations: [
    { account: 'provider:p', amount: 1000n * TOKEN },
    { account: 'delegator:d1', amount: 1000n * TOKEN },
    { account: 'delegator:d2', amount: 1000n * TOKEN },
  ] }));
  if (!g.ok) throw new Error(g.reason);
  const out = settleEra(g.state, { era: 0, events: events.map((e, i) => ev(at(0, i + 1), e)), service: NONE });
  expect(out.rejections).toEqual([]);
  return out.state;
}

const bal = (s: LedgerState, a: string): bigint => s.balances.get(a) ?? 0n;
const down = rec('s', { uptime: { samples: 24, up: 12 } });

describe('slashing', () => {
  it('takes the provider\'s own collateral first, then delegators pro rata', () => {
    const s0 = start({ downtimeSlashPpm: 500_000n }, [
      { type: 'deposit', provider: 'p', store: 's', amount: 10n * TOKEN },
      { type: 'delegate', delegator: 'd1', store: 's', amount: 30n * TOKEN },
      { type: 'delegate', delegator: 'd2', store: 's', amount: 10n * TOKEN },
    ]);
    const out = settleEra(s0, { era: 1, events: [], service: { ...NONE, stores: [down] } });
    const line = out.summary!.stores[0]!;
    // 50 % of 50 tokens = 25: all 10 of the provider's, then 15 split 30:10 between d1 and d2.
    expect(line).toMatchObject({ slashed: 25n * TOKEN, slashedFromOwn: 10n * TOKEN, slashedFromOthers: 15n * TOKEN });
    expect(bal(out.state, account.collateral('s'))).toBe(0n);
    expect(bal(out.state, account.delegation('s', 'd1'))).toBe(30n * TOKEN - 11_250_000n);
    expect(bal(out.state, account.delegation('s', 'd2'))).toBe(10n * TOKEN - 3_750_000n);
    // Half burned, half to the treasury.
    expect(out.summary!.slashBurned).toBe(12_500_000n);
    expect(bal(out.state, 'treasury')).toBe(12_500_000n);
    expect(out.entries.filter((e) => e.reason === 'slash').map((e) => e.from)).toEqual([account.collateral('s'), account.delegation('s', 'd1'), account.delegation('s', 'd2')]);
  });

  it('leaves delegators alone while the own collateral covers the slash', () => {
    const s0 = start({}, [
      { type: 'deposit', provider: 'p', store: 's', amount: 20n * TOKEN },
      { type: 'delegate', delegator: 'd1', store: 's', amount: 80n * TOKEN },
    ]);
    const out = settleEra(s0, { era: 1, events: [], service: { ...NONE, stores: [down] } });
    expect(out.summary!.stores[0]).toMatchObject({ slashRatePpm: 10_000n, slashed: 1n * TOKEN, slashedFromOwn: 1n * TOKEN, slashedFromOthers: 0n });
    expect(bal(out.state, account.delegation('s', 'd1'))).toBe(80n * TOKEN);
  });

  it('doubles the rate for each consecutive failing era, resets after a clean one, and caps it', () => {
    let s = start({}, [{ type: 'deposit', provider: 'p', store: 's', amount: 100n * TOKEN }]);
    const rates: bigint[] = [];
    const streaks: number[] = [];
    const plan = [down, down, down, rec('s'), down];
    plan.forEach((r, i) => {
      const out = settleEra(s, { era: i + 1, events: [], service: { ...NONE, stores: [r] } });
      rates.push(out.summary!.stores[0]!.slashRatePpm);
      streaks.push(out.summary!.stores[0]!.failStreak);
      s = out.state;
    });
    expect(rates).toEqual([10_000n, 20_000n, 40_000n, 0n, 10_000n]);
    expect(streaks).toEqual([1, 2, 3, 0, 1]);
    // Downtime and failed audits together, ten eras running: capped at maxSlashPpm.
    expect(slashRatePpm(DEFAULT_PARAMS, { downtime: true, audits: true, lost: false }, 10)).toBe(DEFAULT_PARAMS.maxSlashPpm);
    expect(slashRatePpm(DEFAULT_PARAMS, { downtime: true, audits: true, lost: false }, 1)).toBe(60_000n);
  });

  it('takes more from a lost store, once, and the store never becomes active again', () => {
    const s0 = start({}, [
      { type: 'deposit', provider: 'p', store: 's', amount: 40n * TOKEN },
      { type: 'delegate', delegator: 'd1', store: 's', amount: 40n * TOKEN },
    ]);
    expect(storeStatus(s0, 's')).toBe('active');
    const lost = rec('s', { lost: true, audits: counts({ pass: 5, wrong: 15 }) });
    const out = settleEra(s0, { era: 1, events: [], service: { ...NONE, stores: [lost] } });
    // lostSlashPpm (50 %) of 80 tokens: 40 from the provider, nothing left to take from d1.
    expect(out.summary!.stores[0]).toMatchObject({ lost: true, slashRatePpm: 500_000n, slashed: 40n * TOKEN, slashedFromOwn: 40n * TOKEN });
    expect(storeStatus(out.state, 's')).toBe('pending');
    const again = settleEra(out.state, { era: 2, events: [
      ev(at(2), { type: 'deposit', provider: 'p', store: 's', amount: 500n * TOKEN }),
      ev(at(2, 2), { type: 'delegate', delegator: 'd2', store: 's', amount: 5n * TOKEN }),
    ], service: { ...NONE, stores: [lost] } });
    expect(again.summary!.stores[0]).toMatchObject({ lost: false, slashed: 0n, paid: 0n });
    expect(again.rejections.map((r) => r.reason)).toEqual(['store s is lost', 'store s is lost']);
    expect(storeStatus(again.state, 's')).toBe('pending');
  });

  describe('audit verdicts and monitors', () => {
    const s0 = (): LedgerState => start({}, [{ type: 'deposit', provider: 'p', store: 's', amount: 100n * TOKEN }]);
    const lying = counts({ pass: 10, wrong: 10 });
    const clean = counts({ pass: 20 });
    const judge = (service: EraServiceInput) => settleEra(s0(), { era: 1, events: [], service }).summary!;

    it('slashes on the gateway\'s audits when no one else audited the store', () => {
      const sum = judge({ ...NONE, stores: [rec('s', { audits: lying })] });
      expect(sum.stores[0]).toMatchObject({ slashRatePpm: 50_000n, slashed: 5n * TOKEN });
      expect(sum.disagreements).toEqual([]);
    });

    it('does not slash when a monitor contradicts the gateway, and shows the disagreement', () => {
      const sum = judge({ ...NONE, stores: [rec('s', { audits: lying })], monitors: [{ monitor: 'm1', challenges: 20, results: [{ store: 's', audits: clean }] }] });
      expect(sum.stores[0]!.slashed).toBe(0n);
      expect(sum.stores[0]!.audits.sources.map((x) => [x.source, x.verdict])).toEqual([['gateway', 'fail'], ['monitor:m1', 'pass']]);
      expect(sum.disagreements).toEqual([{ store: 's', failing: ['gateway'], passing: ['monitor:m1'] }]);
    });

    it('slashes when two sources agree, whatever a third says', () => {
      const sum = judge({ ...NONE, stores: [rec('s', { audits: lying })], monitors: [
        { monitor: 'm2', challenges: 20, results: [{ store: 's', audits: clean }] },
        { monitor: 'm1', challenges: 20, results: [{ store: 's', audits: lying }] },
      ] });
      expect(sum.stores[0]!.slashed).toBe(5n * TOKEN);
      expect(sum.disagreements).toEqual([{ store: 's', failing: ['gateway', 'monitor:m1'], passing: ['monitor:m2'] }]);
    });

    it('gives no verdict for a source with fewer than minAudits audits, and counts errors for no one', () => {
      const sum = judge({ ...NONE, stores: [rec('s', { audits: counts({ pass: 3, error: 50 }) })], monitors: [{ monitor: 'm1', challenges: 3, results: [{ store: 's', audits: counts({ wrong: 9 }) }] }] });
      expect(sum.stores[0]!.audits.sources.map((x) => x.verdict)).toEqual(['none', 'none']);
      expect(sum.stores[0]!.slashed).toBe(0n);
    });
  });
});
