/**
 * The worked example of docs/economy.md ("One era, worked"), number by number: if this test
 * changes, the document changes with it.
 */
import { readFileSync } from 'node:fs';
import {
  account, DEFAULT_PARAMS, PARAM_NAMES, checkConservation, openLedger, settleEra, storeStatus, storeStatuses, requiredCollateral, stakeOf,
  type EraServiceInput, type LedgerState,
} from '../../gateway/ledger/index.js';
import { at, counts, ev, rec, T0, TB, GB, TOKEN } from './ledger-fixture.js';

function example(): { state: LedgerState; genesisEntries: number } {
  const g = openLedger(ev(T0, { type: 'genesis', allocations: [
    { account: 'provider:alice', amount: 100n * TOKEN },
    { account: 'provider:bob', amount: 100n * TOKEN },
    { account: 'delegator:dana', amount: 50n * TOKEN },
    { account: 'operator:op', amount: 10n * TOKEN },
    { account: 'treasury', amount: 100n * TOKEN },
  ] }));
  if (!g.ok) throw new Error(g.reason);
  return { state: g.state, genesisEntries: g.entries.length };
}

export const EXAMPLE_EVENTS = [
  ev(at(0, 1), { type: 'deposit', provider: 'alice', store: 's1', amount: 30n * TOKEN }),
  ev(at(0, 2), { type: 'delegate', delegator: 'dana', store: 's1', amount: 10n * TOKEN }),
  ev(at(0, 3), { type: 'passport-issue', id: 'P1', from: 'treasury', holder: 'delegator:hana', amount: 10n * TOKEN, termEras: 10 }),
  ev(at(0, 4), { type: 'passport-stake', id: 'P1', holder: 'delegator:hana', store: 's1' }),
  ev(at(0, 5), { type: 'deposit', provider: 'bob', store: 's2', amount: 20n * TOKEN }),
  ev(at(0, 6), { type: 'fee', operator: 'op', storedByteHours: 24n * TB, servedBytes: 10n * GB }),
];

export const EXAMPLE_SERVICE: EraServiceInput = {
  stores: [
    rec('s1', { storedByteHours: 2n * TB * 24n, servedBytes: 50n * GB, uptime: { samples: 24, up: 24 }, audits: counts({ pass: 20 }) }),
    rec('s2', { storedByteHours: 1n * TB * 24n, servedBytes: 0n, uptime: { samples: 24, up: 20 }, audits: counts({ pass: 24 }) }),
  ],
  monitors: [{ monitor: 'm1', challenges: 20, results: [
    { store: 's1', audits: counts({ pass: 10 }) },
    { store: 's2', audits: counts({ pass: 6, wrong: 4 }) },
  ] }],
  zones: [{ zone: 'eu', capacityBytes: 10n * TB, freeBytes: 7_500_000_000_000n }],
};

describe('the worked example of docs/economy.md', () => {
  it('settles era 0 to the numbers in the document', () => {
    const { state } = example();
    expect(storeStatus(state, 's1')).toBe('pending'); // no deposit yet: unknown to the ledger
    const out = settleEra(state, { era: 0, events: EXAMPLE_EVENTS, service: EXAMPLE_SERVICE });
    expect(out.rejections).toEqual([]);
    const s = out.state;
    const sum = out.summary!;
    const [s1, s2] = sum.stores;

    // s1: 2 TB for 24 h and 50 GB served, zone 25 % full → ×1.25.
    expect(s1).toMatchObject({ store: 's1', status: 'active', stake: 50n * TOKEN, required: 9n * TOKEN, multiplierPpm: 1_250_000n, gross: 250_000n, owed: 250_000n, paid: 250_000n, slashed: 0n });
    // s2: 20 of 24 uptime samples (83 %) is downtime; m1 fails it on audits, the gateway passes it.
    expect(s2).toMatchObject({ store: 's2', status: 'active', downtime: true, failStreak: 1, slashRatePpm: 10_000n, slashed: 200_000n, slashedFromOwn: 200_000n, gross: 62_500n, owed: 0n, paid: 0n });
    expect(s2!.audits.failed).toBe(false);
    expect(sum.disagreements).toEqual([{ store: 's2', failing: ['monitor:m1'], passing: ['gateway'] }]);
    expect(sum.monitors).toEqual([{ monitor: 'm1', challenges: 20, owed: 2_000n, paid: 2_000n }]);

    expect(sum).toMatchObject({
      fees: 203_333n, feesBurned: 40_666n,
      slashed: 200_000n, slashBurned: 100_000n,
      rewardsOwed: 252_000n, rewardsPaid: 252_000n,
      minted: 89_333n, burned: 140_666n, passportDecay: 1_000_000n,
      pool: 0n, supply: 359_948_667n,
    });

    const bal = (a: string): bigint => s.balances.get(a) ?? 0n;
    expect(bal('provider:alice')).toBe(70_160_000n);
    expect(bal('provider:bob')).toBe(80_000_000n);
    expect(bal(account.collateral('s1'))).toBe(30_000_000n);
    expect(bal(account.collateral('s2'))).toBe(19_800_000n);
    expect(bal('delegator:dana')).toBe(40_045_000n);
    expect(bal(account.delegation('s1', 'dana'))).toBe(10_000_000n);
    expect(bal('delegator:hana')).toBe(1_045_000n);
    expect(bal(account.passport('P1'))).toBe(9_000_000n);
    expect(bal('treasury')).toBe(90_100_000n);
    expect(bal('operator:op')).toBe(9_796_667n);
    expect(bal('monitor:m1')).toBe(2_000n);
    expect(bal('burn')).toBe(140_666n);
    expect(bal('mint')).toBe(-360_089_333n);
    expect(checkConservation(s)).toEqual([]);

    // Next era: s1 needs 6 × 30 × 250 000 = 45 tokens and has 49; s2 needs 11.25 and has 19.8.
    expect(requiredCollateral(s, 's1')).toBe(45n * TOKEN);
    expect(stakeOf(s, 's1').total).toBe(49n * TOKEN);
    expect(storeStatus(s, 's1')).toBe('active');
    expect(requiredCollateral(s, 's2')).toBe(11_250_000n);
    expect(storeStatus(s, 's2')).toBe('active');
    expect(storeStatuses(s)).toEqual([
      { store: 's1', provider: 'alice', status: 'active', lost: false, stake: 49n * TOKEN, required: 45n * TOKEN },
      { store: 's2', provider: 'bob', status: 'active', lost: false, stake: 19_800_000n, required: 11_250_000n },
    ]);
  });
});

describe('docs/economy.md', () => {
  it('lists every parameter with its default', () => {
    const doc = readFileSync(new URL('../../docs/economy.md', import.meta.url), 'utf8').split('\n## Parameters\n')[1]!.split('\n## ')[0]!;
    const rows = new Map([...doc.matchAll(/^\| `(\w+)` \| ([0-9 ]+)/gm)].map((m) => [m[1]!, BigInt(m[2]!.replace(/ /g, ''))]));
    expect([...rows.keys()].sort()).toEqual(PARAM_NAMES);
    for (const name of PARAM_NAMES) expect([name, rows.get(name)]).toEqual([name, DEFAULT_PARAMS[name]]);
  });
});
