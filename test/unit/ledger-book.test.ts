import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LedgerBook, LedgerRefusedError, type GenesisSpec } from '../../gateway/economy/book.js';
import { LedgerLog } from '../../gateway/economy/log.js';
import { EraSettler } from '../../gateway/economy/settler.js';
import { verifyLedger, type PublishedLedger } from '../../gateway/economy/verify.js';
import { openMetaDb, type Db } from '../../gateway/meta/db.js';
import { SqliteLedgerLogStore } from '../../gateway/meta/ledger-log.js';
import { SqliteReportStore } from '../../gateway/meta/reports.js';
import type { AuditStore } from '../../gateway/meta/audit-store.js';
import type { NodeStore } from '../../gateway/meta/nodes.js';
import { ReportLog } from '../../gateway/reports/log.js';
import { loadOrCreateGatewayKey } from '../../gateway/shards/keys.js';
import { onClose } from '../helpers/registry.js';

const ERA = 1_000;
const T = 1_767_225_600_000;
const TOKEN = 1_000_000n;

function genesis(): GenesisSpec {
  return {
    at: T,
    params: { eraMs: ERA, lockMs: 0 },
    allocations: [{ account: 'provider:p', amount: String(100n * TOKEN) }, { account: 'delegator:d', amount: String(50n * TOKEN) }, { account: 'operator:op', amount: String(100n * TOKEN) }],
    // Default requirement: 6 × 30 × 0.05 = 9 tokens. ss00 covers it, ss01 does not.
    events: [{ type: 'deposit', provider: 'p', store: 'ss00', amount: String(10n * TOKEN) }, { type: 'deposit', provider: 'p', store: 'ss01', amount: String(1n * TOKEN) }],
  };
}

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-ledger-'));
  onClose(() => rm(dir, { recursive: true, force: true }));
  const db = openMetaDb(join(dir, 'meta.db'));
  onClose(() => void db.close());
  const key = await loadOrCreateGatewayKey(dir);
  const store = new SqliteLedgerLogStore(db);
  const reportStore = new SqliteReportStore(db);
  const reports = new ReportLog(reportStore, key);
  const book = (): LedgerBook => new LedgerBook(new LedgerLog(store, key), reportStore);
  const report = (node: string, start: number, extra: Record<string, unknown> = {}) => ({
    node, zone: 'eu', periodStart: start, periodEnd: start + ERA, audits: { pass: 20, wrong: 0, missing: 0, timeout: 0, error: 0 },
    uptime: { samples: 10, up: 10, ratio: 1 }, score: 1, state: 'active', issuedAt: start + ERA, ...extra,
  });
  const published = async (): Promise<PublishedLedger> => ({
    jwk: key.publicJwk, reportLog: await reportStore.page(0, 10_000), ledgerLog: await store.page(0, 10_000), entries: await store.entries(0, 10_000),
  });
  return { db, key, store, reportStore, reports, book, report, published };
}

describe('ledger log, book and settlement', () => {
  it('logs the genesis with its deposits, activates the stores that cover their requirement, and refuses what the ledger would', async () => {
    const { book, store } = await setup();
    const b = book();
    await b.sync();
    expect(b.on).toBe(false);
    expect(b.status('ss00')).toBeUndefined();
    expect(await b.open(genesis())).toBe(true);
    expect(await b.open(genesis())).toBe(false);
    expect(b.status('ss00')).toBe('active');
    expect(b.status('ss01')).toBe('pending');
    expect(b.status('ss99')).toBe('pending');
    // A delegation lifts ss01 over its requirement at once (the preview), before any settlement.
    await b.submit({ type: 'delegate', delegator: 'd', store: 'ss01', amount: String(8n * TOKEN) }, T + 10);
    expect(b.status('ss01')).toBe('active');
    await expect(b.submit({ type: 'withdraw', provider: 'p', store: 'ss00', amount: String(1_000n * TOKEN) }, T + 20)).rejects.toThrow(LedgerRefusedError);
    expect(await store.size()).toBe(4);
    // The genesis entries are published with the log.
    expect((await store.entries(0, 100)).map((e) => e.reason)).toEqual(['genesis', 'genesis', 'genesis']);
  });

  it('settles eras in order, once, with the service of the signed reports, and the published logs verify', async () => {
    const { book, reports, report, published, store } = await setup();
    const b = book();
    await b.open(genesis());
    await reports.append([
      report('ss00', T, { storedByteHours: String(2n * 10n ** 12n * 24n), servedBytes: '50000000000' }),
      report('ss01', T, { storedByteHours: '1000', uptime: { samples: 10, up: 2, ratio: 0.2 } }),
    ]);
    const inputs = { zones: [{ zone: 'eu', capacityBytes: '10000000000000', freeBytes: '7500000000000' }], reportsThrough: 2, operator: 'op' };
    expect(await b.settleNext({ ...inputs, now: T + ERA - 1 })).toBeUndefined();
    // Two gateways settle at once: one records era 0, the other finds it settled and does era 1.
    const other = book();
    const [s1, s2] = await Promise.all([b.settleNext({ ...inputs, now: T + 2 * ERA }), other.settleNext({ ...inputs, now: T + 2 * ERA })]);
    expect([s1!.era, s2!.era].sort()).toEqual([0, 1]);
    expect((await store.settlements()).map((s) => s.era)).toEqual([0, 1]);
    const era0 = b.summary(0)!;
    expect(era0.stores.find((s) => s.store === 'ss00')!.paid).toBeGreaterThan(0n);
    expect(era0.stores.find((s) => s.store === 'ss01')!.downtime).toBe(true);
    expect(era0.stores.find((s) => s.store === 'ss01')!.slashed).toBeGreaterThan(0n);
    // The fee for era 0's usage was logged once it was over: it is paid in the era it was logged in.
    await b.sync();
    expect(b.current.pending.filter((p) => p.event.type === 'fee').map((p) => [p.era, (p.event as { forEra?: number }).forEra])).toEqual([[2, 0]]);

    const v = await verifyLedger(await published());
    expect(v.errors).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.settledEra).toBe(1);
    expect(BigInt(v.balances!['provider:p']!)).toBe(b.current.state.balances.get('provider:p'));
  });

  it('names the first entry where a tampered log or ledger parts from the recomputation', async () => {
    const { book, report, reports, published, db } = await setup();
    const b = book();
    await b.open(genesis());
    await reports.append([report('ss00', T, { storedByteHours: String(10n ** 15n) })]);
    await b.settleNext({ zones: [], reportsThrough: 1, now: T + ERA });
    const good = await published();
    expect((await verifyLedger(good)).ok).toBe(true);

    // One byte of the signed deposit (entry 2) changed: its signature fails, and the chain after it.
    const forged = good.ledgerLog.map((e) => (e.seq === 2 ? { ...e, jws: rewrite(e.jws, (p) => ((p.event as { amount: string }).amount = '9000000')) } : e));
    const f = await verifyLedger({ ...good, ledgerLog: forged });
    expect(f.ok).toBe(false);
    expect(f.errors[0]).toMatch(/^ledger log entry 2 \(seq 2\): signature does not verify/);

    // An entry of the published ledger altered in the database: named, with the field.
    setAmount(db, 5, '1');
    const t = await verifyLedger(await published());
    expect(t.ok).toBe(false);
    expect(t.errors[0]).toMatch(/^ledger entry 5 \(seq 5, era 0\) diverges: amount published "1", recomputed "\d+"/);
  });

  it('the settler waits for the era to end and its reports to be published, then settles each era once', async () => {
    const { book, reportStore } = await setup();
    const b = book();
    await b.open({ ...genesis(), at: Date.now() - 3 * ERA - 10 });
    const state = new Map<string, string>();
    const audit = { getState: async (k: string) => state.get(k) } as unknown as AuditStore;
    const nodes = { list: async () => [{ id: 'ss00', zone: 'eu', state: 'active', capacity: 100, freeBytes: 40 }] } as unknown as NodeStore;
    const settled: number[] = [];
    const settler = new EraSettler(b, nodes, audit, reportStore, { onSettled: (s) => settled.push(s.era) });
    expect(await settler.tick()).toEqual([]);
    state.set('reports.periodStart', String(b.current.state.genesisAt + 2 * ERA));
    expect((await settler.tick()).map((s) => s.era)).toEqual([0, 1]);
    expect(await settler.tick()).toEqual([]);
    expect(settled).toEqual([0, 1]);
    expect(b.current.settlements[1]!.zones).toEqual([{ zone: 'eu', capacityBytes: '100', freeBytes: '40' }]);
    settler.start();
    await settler.stop();
  });
});

/** Replace the payload of a compact JWS, keeping header and signature. */
function rewrite(jws: string, edit: (p: Record<string, unknown>) => void): string {
  const [h, p, s] = jws.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
  edit(payload);
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}

function setAmount(db: Db, seq: number, amount: string): void {
  db.prepare('UPDATE ledger_entries SET amount = ? WHERE seq = ?').run(amount, seq);
}
