/** Passports: linear decay paid to the holder, stake on a store, and faster decay after a slash. */
import { account, openLedger, settleEra, stakeOf, type EraServiceInput, type LedgerState } from '../../gateway/ledger/index.js';
import { at, ev, rec, T0, TOKEN, type EventBody } from './ledger-fixture.js';

const NONE: EraServiceInput = { stores: [], monitors: [], zones: [] };
const bal = (s: LedgerState, a: string): bigint => s.balances.get(a) ?? 0n;

function run(eras: Array<{ events?: Array<EventBody>; service?: EraServiceInput }>): Array<ReturnType<typeof settleEra>> {
  const g = openLedger(ev(T0, { type: 'genesis', allocations: [{ account: 'treasury', amount: 100n * TOKEN }, { account: 'provider:p', amount: 100n * TOKEN }] }));
  if (!g.ok) throw new Error(g.reason);
  let state = g.state;
  return eras.map((e, era) => {
    const out = settleEra(state, { era, events: (e.events ?? []).map((x, i) => ev(at(era, i + 1), x)), service: e.service ?? NONE });
    expect(out.rejections).toEqual([]);
    state = out.state;
    return out;
  });
}

const decays = (outs: Array<ReturnType<typeof settleEra>>): bigint[] => outs.map((o) => o.summary!.passportDecay);

describe('Passports', () => {
  it('decay linearly over their term, paid to the holder, the floors evened out in the last era', () => {
    const outs = run([{ events: [{ type: 'passport-issue', id: 'P', from: 'treasury', holder: 'delegator:h', amount: 10n, termEras: 3 }] }, {}, {}, {}]);
    expect(decays(outs)).toEqual([3n, 3n, 4n, 0n]);
    const last = outs[3]!.state;
    expect(bal(last, 'delegator:h')).toBe(10n);
    expect(bal(last, account.passport('P'))).toBe(0n);
    expect(last.passports.get('P')!.erasLeft).toBe(0);
  });

  it('count toward the stake of the store they are staked on', () => {
    const [out] = run([{ events: [
      { type: 'deposit', provider: 'p', store: 's', amount: 5n * TOKEN },
      { type: 'passport-issue', id: 'P', from: 'treasury', holder: 'delegator:h', amount: 12n * TOKEN, termEras: 6 },
      { type: 'passport-stake', id: 'P', holder: 'delegator:h', store: 's' },
    ] }]);
    // 12 tokens less the first era's 2 of decay.
    expect(stakeOf(out!.state, 's')).toMatchObject({ own: 5n * TOKEN, total: 15n * TOKEN, passports: [{ id: 'P', holder: 'delegator:h', amount: 10n * TOKEN }] });
  });

  it('decay faster once the store they back is slashed', () => {
    const down = rec('s', { uptime: { samples: 24, up: 0 } });
    const outs = run([
      { events: [
        { type: 'deposit', provider: 'p', store: 's', amount: 50n * TOKEN },
        { type: 'passport-issue', id: 'P', from: 'treasury', holder: 'delegator:h', amount: 12n * TOKEN, termEras: 6 },
        { type: 'passport-stake', id: 'P', holder: 'delegator:h', store: 's' },
      ] },
      { service: { ...NONE, stores: [down] } },
      {}, {}, {}, {},
    ]);
    // Era 0: 12/6 = 2. Era 1: the slash (covered by the provider's own collateral) halves the
    // 5 eras left to 3, so 10/3 = 3.33… instead of 2; the last of it is paid in era 3, not 5.
    expect(decays(outs)).toEqual([2n * TOKEN, 3_333_333n, 3_333_333n, 3_333_334n, 0n, 0n]);
    expect(outs[1]!.summary!.stores[0]!.slashedFromOthers).toBe(0n);
    expect(bal(outs[5]!.state, 'delegator:h')).toBe(12n * TOKEN);
  });

  it('refuse a second stake, a stake by someone else, and an unknown store', () => {
    const g = openLedger(ev(T0, { type: 'genesis', allocations: [{ account: 'treasury', amount: 100n * TOKEN }, { account: 'provider:p', amount: 100n * TOKEN }] }));
    if (!g.ok) throw new Error(g.reason);
    const out = settleEra(g.state, { era: 0, service: NONE, events: [
      ev(at(0, 1), { type: 'deposit', provider: 'p', store: 's', amount: 5n * TOKEN }),
      ev(at(0, 2), { type: 'passport-issue', id: 'P', from: 'treasury', holder: 'delegator:h', amount: 1n * TOKEN, termEras: 2 }),
      ev(at(0, 3), { type: 'passport-stake', id: 'P', holder: 'delegator:x', store: 's' }),
      ev(at(0, 4), { type: 'passport-stake', id: 'P', holder: 'delegator:h', store: 'nowhere' }),
      ev(at(0, 5), { type: 'passport-stake', id: 'P', holder: 'delegator:h', store: 's' }),
      ev(at(0, 6), { type: 'passport-stake', id: 'P', holder: 'delegator:h', store: 's' }),
      ev(at(0, 7), { type: 'passport-issue', id: 'P', from: 'treasury', holder: 'delegator:h', amount: 1n, termEras: 2 }),
    ] });
    expect(out.rejections.map((r) => [r.index, r.what])).toEqual([[2, 'passport-stake'], [3, 'passport-stake'], [5, 'passport-stake'], [6, 'passport-issue']]);
  });
});
