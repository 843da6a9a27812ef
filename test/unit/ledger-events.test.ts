/** Events: locks on withdrawals, activation by collateral, parameter changes, refusals of bad input. */
import {
  account, openLedger, parseEvent, settleEra, storeStatus, DEFAULT_PARAMS,
  type EraServiceInput, type LedgerState,
} from '../../gateway/ledger/index.js';
import { at, DAY, ev, rec, T0, TB, TOKEN, type EventBody } from './ledger-fixture.js';

const NONE: EraServiceInput = { stores: [], monitors: [], zones: [] };
const bal = (s: LedgerState, a: string): bigint => s.balances.get(a) ?? 0n;

function genesis(params: Record<string, bigint> = {}): LedgerState {
  const g = openLedger(ev(T0, { type: 'genesis', params, allocations: [
    { account: 'provider:p', amount: 100n * TOKEN }, { account: 'provider:q', amount: 100n * TOKEN },
    { account: 'delegator:d', amount: 100n * TOKEN }, { account: 'operator:op', amount: 1n * TOKEN },
  ] }));
  if (!g.ok) throw new Error(g.reason);
  return g.state;
}

function settle(s: LedgerState, era: number, events: Array<EventBody & { k?: number }>, service = NONE): ReturnType<typeof settleEra> {
  return settleEra(s, { era, events: events.map(({ k, ...e }, i) => ev(at(era, k ?? i + 1), e as never)), service });
}

describe('locks', () => {
  it('refuses a withdrawal before the lock ends and allows it after', () => {
    const s0 = genesis({ lockMs: 2n * BigInt(DAY) });
    const e0 = settle(s0, 0, [{ type: 'deposit', provider: 'p', store: 's', amount: 10n * TOKEN }]);
    const e1 = settle(e0.state, 1, [{ type: 'withdraw', provider: 'p', store: 's', amount: 1n }]);
    expect(e1.rejections).toEqual([{ era: 1, index: 0, what: 'withdraw', reason: 'only 0 of the collateral is past its lock' }]);
    // The deposit was at T0 + 1 ms: its lock ends at T0 + 2 days + 1 ms, inside era 2.
    const e2 = settle(e1.state, 2, [
      { type: 'withdraw', provider: 'p', store: 's', amount: 4n * TOKEN, k: 0 },
      { type: 'withdraw', provider: 'p', store: 's', amount: 4n * TOKEN, k: 1 },
      { type: 'withdraw', provider: 'q', store: 's', amount: 1n, k: 2 },
      { type: 'withdraw', provider: 'p', store: 's', amount: 7n * TOKEN, k: 3 },
    ]);
    expect(e2.rejections.map((r) => r.index)).toEqual([0, 2, 3]);
    expect(bal(e2.state, account.collateral('s'))).toBe(6n * TOKEN);
    expect(bal(e2.state, 'provider:p')).toBe(94n * TOKEN);
  });

  it('keeps a later deposit locked while an earlier one is free', () => {
    const s0 = genesis({ lockMs: BigInt(DAY) });
    const e0 = settle(s0, 0, [{ type: 'deposit', provider: 'p', store: 's', amount: 10n * TOKEN }]);
    const e1 = settle(e0.state, 1, [
      { type: 'deposit', provider: 'p', store: 's', amount: 5n * TOKEN, k: 10 },
      { type: 'withdraw', provider: 'p', store: 's', amount: 10n * TOKEN + 1n, k: 20 },
      { type: 'withdraw', provider: 'p', store: 's', amount: 10n * TOKEN, k: 30 },
    ]);
    expect(e1.rejections.map((r) => [r.index, r.reason])).toEqual([[1, `only ${10n * TOKEN} of the collateral is past its lock`]]);
    expect(bal(e1.state, account.collateral('s'))).toBe(5n * TOKEN);
  });

  it('locks delegations the same way', () => {
    const s0 = genesis({ lockMs: BigInt(DAY) });
    const e0 = settle(s0, 0, [
      { type: 'deposit', provider: 'p', store: 's', amount: 10n * TOKEN },
      { type: 'delegate', delegator: 'd', store: 's', amount: 10n * TOKEN },
      { type: 'undelegate', delegator: 'd', store: 's', amount: 1n },
    ]);
    expect(e0.rejections.map((r) => r.what)).toEqual(['undelegate']);
    const e1 = settle(e0.state, 1, [{ type: 'undelegate', delegator: 'd', store: 's', amount: 10n * TOKEN, k: 100 }]);
    expect(e1.rejections).toEqual([]);
    expect(bal(e1.state, 'delegator:d')).toBe(100n * TOKEN);
  });
});

describe('activation', () => {
  it('keeps a store pending, and unpaid, until its stake covers the required collateral', () => {
    // Required with no history: 6 × 30 × minEraReward (50 000) = 9 tokens.
    const s0 = genesis();
    const served = rec('s', { storedByteHours: 24n * TB });
    const e0 = settle(s0, 0, [{ type: 'deposit', provider: 'p', store: 's', amount: 8n * TOKEN }], { ...NONE, stores: [served] });
    expect(e0.summary!.stores[0]).toMatchObject({ status: 'pending', required: 9n * TOKEN, stake: 8n * TOKEN, gross: 50_000n, owed: 0n, paid: 0n });
    expect(storeStatus(e0.state, 's')).toBe('pending');
    const e1 = settle(e0.state, 1, [{ type: 'delegate', delegator: 'd', store: 's', amount: 1n * TOKEN }], { ...NONE, stores: [served] });
    expect(e1.summary!.stores[0]).toMatchObject({ status: 'active', paid: 50_000n });
    expect(storeStatus(e1.state, 's')).toBe('active');
    expect(storeStatus(e1.state, 'unknown')).toBe('pending');
  });

  it('binds a store to the provider that deposits first', () => {
    const e0 = settle(genesis(), 0, [
      { type: 'deposit', provider: 'p', store: 's', amount: 1n },
      { type: 'deposit', provider: 'q', store: 's', amount: 1n },
      { type: 'delegate', delegator: 'd', store: 'nobody', amount: 1n },
      { type: 'deposit', provider: 'p', store: 's2', amount: 101n * TOKEN },
    ]);
    expect(e0.rejections.map((r) => r.reason)).toEqual(['store s belongs to provider p', 'unknown store nobody', `provider:p holds ${100n * TOKEN - 1n}, ${101n * TOKEN} needed`]);
    expect(e0.state.stores.has('s2')).toBe(false);
  });
});

describe('parameters and fees', () => {
  it('takes a change from the era it names, and refuses one for the past or for eraMs', () => {
    const served = rec('s', { storedByteHours: 24n * TB });
    const e0 = settle(genesis(), 0, [
      { type: 'deposit', provider: 'p', store: 's', amount: 50n * TOKEN },
      { type: 'params', fromEra: 2, changes: { commissionPpm: 1_000_000n } },
      { type: 'params', fromEra: 0, changes: { commissionPpm: 0n } },
      { type: 'params', fromEra: 5, changes: { eraMs: 1000n } } as never,
    ]);
    expect(e0.rejections.map((r) => r.index)).toEqual([2, 3]);
    const e1 = settle(e0.state, 1, [], { ...NONE, stores: [served] });
    const e2 = settle(e1.state, 2, [], { ...NONE, stores: [served] });
    const commission = (o: ReturnType<typeof settleEra>): bigint => o.entries.filter((e) => e.reason === 'commission').reduce((a, e) => a + e.amount, 0n);
    expect(commission(e1)).toBe(5_000n); // 10 % of 50 000
    expect(commission(e2)).toBe(50_000n);
    expect(e2.state.params.commissionPpm).toBe(1_000_000n);
    expect(DEFAULT_PARAMS.commissionPpm).toBe(100_000n);
  });

  it('burns the configured share of a fee and refuses one the operator cannot pay', () => {
    const e0 = settle(genesis(), 0, [
      { type: 'fee', operator: 'op', storedByteHours: 720n * 10n ** 9n * 100n, servedBytes: 0n }, // 100 GB-months: 400 000
      { type: 'fee', operator: 'op', storedByteHours: 720n * 10n ** 9n * 1000n, servedBytes: 0n },
      { type: 'fee', operator: 'op', storedByteHours: 1n, servedBytes: 1n },
    ]);
    expect(e0.rejections.map((r) => [r.index, r.reason])).toEqual([[1, 'operator:op holds 600000, 3200000 needed'], [2, 'the fee comes to 0']]);
    expect(e0.summary).toMatchObject({ fees: 400_000n, feesBurned: 80_000n });
  });
});

describe('parseEvent', () => {
  it.each([
    ['not an object', 'x', /object/],
    ['an unknown version', { v: 2, at: 1, type: 'deposit' }, /version/],
    ['a time that is not an integer', { v: 1, at: 1.5, type: 'deposit' }, /at must be/],
    ['an unknown type', { v: 1, at: 1, type: 'mint' }, /unknown event type/],
    ['a negative amount', { v: 1, at: 1, type: 'deposit', provider: 'p', store: 's', amount: '-1' }, /amount must be a positive/],
    ['an amount with a fraction', { v: 1, at: 1, type: 'deposit', provider: 'p', store: 's', amount: '1.5' }, /amount/],
    ['a name with a colon', { v: 1, at: 1, type: 'deposit', provider: 'p:x', store: 's', amount: '1' }, /provider must be a name/],
    ['genesis funding an escrow account', { v: 1, at: 1, type: 'genesis', allocations: [{ account: 'collateral:s', amount: '1' }] }, /liquid accounts only/],
    ['an unknown parameter', { v: 1, at: 1, type: 'params', fromEra: 1, changes: { bribe: '1' } }, /unknown parameter/],
    ['a share over 100 %', { v: 1, at: 1, type: 'params', fromEra: 1, changes: { feeBurnPpm: '1000001' } }, /feeBurnPpm must be in/],
    ['a Passport with no term', { v: 1, at: 1, type: 'passport-issue', id: 'P', from: 'treasury', holder: 'delegator:h', amount: '1', termEras: 0 }, /termEras/],
  ])('refuses %s', (_, raw, reason) => {
    const r = parseEvent(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('reads amounts from decimal strings', () => {
    expect(parseEvent({ v: 1, at: 5, type: 'delegate', delegator: 'd', store: 's', amount: '123456789012345678901234567890' }))
      .toEqual({ ok: true, event: { v: 1, at: 5, type: 'delegate', delegator: 'd', store: 's', amount: 123456789012345678901234567890n } });
  });

  it('refuses garbage during settlement without stopping the era', () => {
    const out = settleEra(genesis(), { era: 0, events: [null, 42, { v: 1 }, ev(at(0), { type: 'deposit', provider: 'p', store: 's', amount: 1n })] as never, service: NONE });
    expect(out.rejections.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(out.state.stores.has('s')).toBe(true);
  });

  it('reads malformed service records as no service rather than stopping the era', () => {
    const e0 = settle(genesis(), 0, [{ type: 'deposit', provider: 'p', store: 's', amount: 50n * TOKEN }]);
    const bad = { stores: [{ store: 's', zone: 7 }, { store: 's', storedByteHours: 5, uptime: null, audits: { pass: 'x' } }], monitors: [{ monitor: 'm', challenges: -3 }], zones: [] };
    const out = settleEra(e0.state, { era: 1, events: [], service: bad as never });
    expect(out.summary!.stores[0]).toMatchObject({ downtime: false, slashed: 0n, gross: 0n });
    expect(out.summary!.monitors).toEqual([{ monitor: 'm', challenges: 0, owed: 0n, paid: 0n }]);
  });

  it('refuses an event timed outside the era being settled', () => {
    const out = settle(genesis(), 0, [{ type: 'deposit', provider: 'p', store: 's', amount: 1n, k: DAY }]);
    expect(out.rejections[0]!.reason).toMatch(/is in era 1, not 0/);
  });
});
