import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { signStatement } from '../../gateway/monitors/statement.js';
import { respawnStore, runAdmin, spawnAndWait, startCluster, type Cluster } from '../helpers/cluster.js';
import { onClose } from '../helpers/registry.js';
import { tamperingProxy } from '../helpers/tampering-proxy.js';

const TOKEN = 1_000_000n;
const PPM = 1_000_000n;
// Two eras must settle within the test, with a store frozen for part of the first.
const ERA_MS = 12_000;
const COMMISSION_PPM = 100_000n;
const MONITOR_REWARD = 100n;

interface Line {
  store: string; status: string; stake: string; downtime: boolean; lost: boolean; slashRatePpm: string; slashed: string; slashedFromOwn: string;
  slashedFromOthers: string; gross: string; paid: string; audits: { failed: boolean; disagreement: boolean; sources: Array<{ source: string; verdict: string; failed: number }> };
}
interface EraJson {
  era: number; stores: Line[]; monitors: Array<{ monitor: string; challenges: number; owed: string; paid: string }>;
  disagreements: Array<{ store: string; failing: string[]; passing: string[] }>;
}
interface EntryRow { seq: number; era: number; reason: string; from: string; to: string; amount: string; ref?: string }

async function json<T>(c: Cluster, args: string[]): Promise<T> {
  const r = await runAdmin(c, [...args, '--json']);
  expect(r.code, r.all).toBe(0);
  return JSON.parse(r.out) as T;
}

async function entries(c: Cluster): Promise<EntryRow[]> {
  const out: EntryRow[] = [];
  for (let after = 0; ;) {
    const page = await (await fetch(`${c.endpoint}/_shardgate/ledger/entries?after=${after}`)).json() as { entries: EntryRow[]; next?: number };
    out.push(...page.entries);
    if (page.next === undefined) return out;
    after = page.next;
  }
}

describe('the provider economy on a real cluster of 20 stores', () => {
  it('pays, slashes and decays by the formulas over two eras, with a frozen store, a lying one, delegators, a Passport and two monitors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-economy-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    const stores = Array.from({ length: 20 }, (_, i) => `ss${String(i).padStart(2, '0')}`);
    // ss01 is frozen for part of era 0; ss02 lies to every challenge (own 1 token, d3's 20
    // behind it: a slash takes its own collateral first); ss03 is backed by two delegators;
    // ss04 by a Passport. Storage is priced high so that a few MB held for seconds earn
    // something, and a month is one era so that the requirement stays below the stakes.
    const own = (s: string): bigint => (s === 'ss02' ? 1n : 20n) * TOKEN;
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify({
      params: {
        eraMs: ERA_MS, lockMs: 0, collateralMultiple: 1, erasPerMonth: 1, rewardStoredPerGbMonth: '30000000000000', minAudits: 3,
        commissionPpm: String(COMMISSION_PPM), monitorRewardPerChallenge: String(MONITOR_REWARD),
      },
      allocations: [
        { account: 'provider:p', amount: String(1_000n * TOKEN) }, { account: 'treasury', amount: String(100n * TOKEN) },
        { account: 'delegator:d1', amount: String(10n * TOKEN) }, { account: 'delegator:d2', amount: String(30n * TOKEN) },
        { account: 'delegator:d3', amount: String(20n * TOKEN) },
      ],
      events: [
        ...stores.map((store) => ({ type: 'deposit', provider: 'p', store, amount: String(own(store)) })),
        { type: 'delegate', delegator: 'd1', store: 'ss03', amount: String(10n * TOKEN) },
        { type: 'delegate', delegator: 'd2', store: 'ss03', amount: String(30n * TOKEN) },
        { type: 'delegate', delegator: 'd3', store: 'ss02', amount: String(20n * TOKEN) },
        { type: 'passport-issue', id: 'P1', from: 'treasury', holder: 'delegator:hana', amount: String(10n * TOKEN), termEras: 10 },
        { type: 'passport-stake', id: 'P1', holder: 'delegator:hana', store: 'ss04' },
      ],
    }));
    const c = await startCluster({
      stores: 20,
      env: {
        SHARDGATE_LEDGER_GENESIS: join(dir, 'genesis.json'), SHARDGATE_REPORT_PERIOD_MS: '1000',
        // Audits every second, two pieces a store; a store is never drained as lost here (no repair traffic).
        SHARDGATE_AUDIT_INTERVAL_MS: '1000', SHARDGATE_AUDIT_PIECES: '2', SHARDGATE_AUDIT_TIMEOUT_MS: '2000', SHARDGATE_AUDIT_LOST_BELOW: '0',
      },
    });
    const liar = c.stores.find((s) => s.id === 'ss02')!;
    const frozen = c.stores.find((s) => s.id === 'ss01')!;
    await respawnStore(c, liar, { env: { SHARDGATE_TEST_LIE_ON_CHALLENGE: '1' } });

    const s3 = c.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'economy' }));
    const body = Buffer.alloc(512 * 1024, 3);
    for (let i = 0; i < 16; i++) await s3.send(new PutObjectCommand({ Bucket: 'economy', Key: `o${i}`, Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'economy', Key: 'o0' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);

    // Monitor m1 is a real `shardgate monitor` with its own key, registered once it runs.
    const m1 = await spawnAndWait(['monitor', '--gateway', c.endpoint, '--name', 'm1', '--data', join(dir, 'm1'),
      '--round-ms', '1000', '--report-ms', '1500', '--pieces', '2', '--records', '2', '--timeout-ms', '2000'], c.env, /monitor m1: key (\S+) /);
    onClose(async () => {
      m1.child.kill('SIGKILL');
      await once(m1.child, 'exit').catch(() => undefined);
    });
    const add = await runAdmin(c, ['ledger', 'monitor', 'add', 'm1', join(dir, 'm1', 'monitor-key.pub.jwk')]);
    expect(add.code, add.all).toBe(0);
    expect(add.out).toMatch(/monitor m1 registered as report log entry \d+/);

    // Monitor m2 says ss03 failed every challenge: it disagrees with the gateway and m1, and
    // one party's word does not slash.
    const m2 = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const m2Jwk = await exportJWK(m2.publicKey);
    expect((await runAdmin(c, ['ledger', 'monitor', 'add', 'm2', m2Jwk.x!])).code).toBe(0);
    const overview = await json<{ genesisAt: string }>(c, ['ledger']);
    const genesisAt = Date.parse(overview.genesisAt);
    // The eras checked are E, the one the freeze starts in (with 7 s of it left), and E + 1.
    let E = Math.floor((Date.now() - genesisAt) / ERA_MS);
    if (genesisAt + (E + 1) * ERA_MS - Date.now() < 7_000) {
      E += 1;
      await new Promise((r) => setTimeout(r, genesisAt + E * ERA_MS + 300 - Date.now()));
    }
    const gatewayKid = (await (await fetch(`${c.endpoint}/.well-known/shardgate/report-key.jwk`)).json() as { kid: string }).kid;
    const statement = await signStatement({
      v: 1, monitor: 'm2', gateway: gatewayKid, periodStart: genesisAt + E * ERA_MS, periodEnd: Date.now(), challenges: 10,
      results: [{ store: 'ss03', audits: { pass: 0, wrong: 10, missing: 0, timeout: 0, error: 0 } }],
    }, { kid: await calculateJwkThumbprint(m2Jwk), privateKey: m2.privateKey });
    const posted = await fetch(`${c.endpoint}/_shardgate/monitor/statements`, { method: 'POST', body: JSON.stringify({ statement }) });
    expect(posted.status, await posted.clone().text()).toBe(201);
    // The same statement again overlaps its own period: refused.
    expect((await fetch(`${c.endpoint}/_shardgate/monitor/statements`, { method: 'POST', body: JSON.stringify({ statement }) })).status).toBe(409);

    // ss01 is frozen for 6 s of era E: its audits and m1's challenges time out meanwhile.
    frozen.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 6_000));
    frozen.child.kill('SIGCONT');

    // Both eras settle once over and reported.
    const deadline = Date.now() + 60_000;
    let settled = -1;
    while (Date.now() < deadline && settled < E + 1) {
      settled = (await json<{ settledEra: number }>(c, ['ledger'])).settledEra;
      if (settled < E + 1) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(settled).toBeGreaterThanOrEqual(E + 1);
    // eras[0] is era E, eras[1] era E + 1.
    const eras = [(await json<{ era: EraJson }>(c, ['ledger', 'era', String(E)])).era, (await json<{ era: EraJson }>(c, ['ledger', 'era', String(E + 1)])).era];
    const all = await entries(c);
    const line = (e: number, s: string): Line => eras[e]!.stores.find((l) => l.store === s)!;
    const paidTo = (e: number, reason: string, to: string, ref: string): bigint =>
      all.filter((x) => x.era === E + e && x.reason === reason && x.to === to && x.ref === ref).reduce((a, x) => a + BigInt(x.amount), 0n);

    for (const e of [0, 1]) {
      // Every slash is floor(stake × rate), taken from the provider's own collateral first.
      for (const l of eras[e]!.stores) {
        expect(BigInt(l.slashed)).toBe((BigInt(l.stake) * BigInt(l.slashRatePpm)) / PPM);
        expect(BigInt(l.slashedFromOwn) + BigInt(l.slashedFromOthers)).toBe(BigInt(l.slashed));
      }
      // Storage was paid: every healthy store earned something.
      expect(BigInt(line(e, 'ss05').paid)).toBeGreaterThan(0n);
    }

    // The frozen store: the gateway's audits time out while it is frozen. It is slashed in era E,
    // all from its own collateral (20 tokens cover it), when a second source saw it too (m1's
    // challenges, or the node monitor's probes as downtime). Whether m1's statement covering the
    // freeze is counted depends on when it lands against the settlement (a statement appended
    // after the settler read its era is not, docs/economy.md): then one party's word does not
    // slash, and the disagreement is what the era shows.
    const f = line(0, 'ss01');
    const byGateway = f.audits.sources.find((x) => x.source === 'gateway');
    expect(byGateway?.failed ?? 0, JSON.stringify(f)).toBeGreaterThan(0);
    if (f.downtime || f.audits.failed) {
      expect(BigInt(f.slashed)).toBeGreaterThan(0n);
      expect(BigInt(f.slashedFromOwn)).toBe(BigInt(f.slashed));
      expect(BigInt(f.paid)).toBe(0n);
    } else {
      expect(f.audits.disagreement, JSON.stringify(f)).toBe(true);
      expect(BigInt(f.slashed)).toBe(0n);
    }

    // The liar fails its audits by two sources (the gateway's and m1's) in each era, and is
    // slashed from its 1 token of own collateral first, then from d3's delegation.
    for (const e of [0, 1]) {
      const l = line(e, 'ss02');
      expect(l.audits.failed, JSON.stringify(l)).toBe(true);
      expect(l.audits.sources.filter((x) => x.verdict === 'fail').map((x) => x.source)).toEqual(expect.arrayContaining(['gateway', 'monitor:m1']));
      expect(BigInt(l.paid)).toBe(0n);
    }
    const l0 = line(0, 'ss02');
    const l1 = line(1, 'ss02');
    // A failing era after a failing era slashes more (up to the cap).
    if (BigInt(l0.slashRatePpm) < 500_000n) expect(BigInt(l1.slashRatePpm)).toBeGreaterThan(BigInt(l0.slashRatePpm));
    const ownSlashed = (before: number): bigint => all.filter((x) => x.era < before && x.reason === 'slash' && x.from === 'collateral:ss02').reduce((a, x) => a + BigInt(x.amount), 0n);
    for (const [e, l] of [[0, l0], [1, l1]] as const) {
      const ownBefore = own('ss02') - ownSlashed(E + e);
      expect(BigInt(l.slashedFromOwn)).toBe(BigInt(l.slashed) < ownBefore ? BigInt(l.slashed) : ownBefore);
    }
    const fromD3 = all.filter((x) => x.reason === 'slash' && x.from === 'delegation:ss02:d3' && x.era >= E && x.era <= E + 1).reduce((a, x) => a + BigInt(x.amount), 0n);
    expect(fromD3).toBe(BigInt(l0.slashedFromOthers) + BigInt(l1.slashedFromOthers));
    expect(fromD3).toBeGreaterThan(0n);

    // ss03: m2's word alone does not slash it; the disagreement is in the era and in the log.
    const d = eras[0]!.disagreements.find((x) => x.store === 'ss03');
    expect(d).toEqual({ store: 'ss03', failing: ['monitor:m2'], passing: expect.arrayContaining(['gateway']) });
    expect(BigInt(line(0, 'ss03').slashed)).toBe(0n);
    const text = await runAdmin(c, ['ledger', 'era', String(E)]);
    expect(text.out).toMatch(/disagreement on ss03: failed by monitor:m2; passed by gateway/);
    // Delegators are paid pro rata of their stake: 10 and 30 of 60 tokens, after the commission.
    for (const e of [0, 1]) {
      const l = line(e, 'ss03');
      const paid = BigInt(l.paid);
      expect(paid).toBeGreaterThan(0n);
      const rest = paid - (paid * COMMISSION_PPM) / PPM;
      expect(paidTo(e, 'reward', 'delegator:d1', 'ss03')).toBe((rest * 10n * TOKEN) / BigInt(l.stake));
      expect(paidTo(e, 'reward', 'delegator:d2', 'ss03')).toBe((rest * 30n * TOKEN) / BigInt(l.stake));
    }

    // The Passport on ss04 decays a tenth of its 10 tokens an era to hana, who also earns its
    // share of ss04's rewards by its value (10 tokens in era 0, 1 token less each era after).
    for (const [e, value] of [[0, BigInt(10 - E) * TOKEN], [1, BigInt(9 - E) * TOKEN]] as const) {
      const l = line(e, 'ss04');
      expect(BigInt(l.slashed)).toBe(0n);
      expect(paidTo(e, 'passport-decay', 'delegator:hana', 'P1')).toBe(TOKEN);
      const paid = BigInt(l.paid);
      const rest = paid - (paid * COMMISSION_PPM) / PPM;
      expect(paidTo(e, 'reward', 'delegator:hana', 'ss04')).toBe((rest * value) / BigInt(l.stake));
    }

    // Monitors are paid for their challenges.
    const m1Line = eras[0]!.monitors.find((m) => m.monitor === 'm1') ?? eras[1]!.monitors.find((m) => m.monitor === 'm1');
    expect(m1Line!.challenges).toBeGreaterThan(0);
    expect(BigInt(m1Line!.owed)).toBe(BigInt(m1Line!.challenges) * MONITOR_REWARD);
    expect(eras[0]!.monitors.find((m) => m.monitor === 'm2')).toMatchObject({ challenges: 10, owed: String(10n * MONITOR_REWARD) });

    // Offline, from the published logs: everything verifies ...
    const ok = await runAdmin(c, ['ledger', 'verify', c.endpoint]);
    expect(ok.code, ok.all).toBe(0);
    expect(ok.out).toMatch(/ledger verifies: eras 0\.\.\d+ replayed/);
    // ... and one byte changed in one monitor statement of the report log (m2's) is caught.
    const forged = await tamperingProxy(c.endpoint, '/_shardgate/reports', (page) => {
      const list = page.entries as Array<{ seq: number; jws: string }>;
      const e = list.find((x) => Buffer.from(x.jws.split('.')[1]!, 'base64url').toString().includes('"kind":"monitor","monitor":"m2"'));
      if (!e) return;
      const [h, p, s] = e.jws.split('.');
      const t = Buffer.from(p!, 'base64url').toString().replace('"wrong":10', '"wrong":11');
      e.jws = `${h}.${Buffer.from(t).toString('base64url')}.${s}`;
    });
    const bad = await runAdmin(c, ['ledger', 'verify', forged]);
    expect(bad.code, bad.all).toBe(1);
    expect(bad.err).toMatch(/report log: entry \d+ \(seq \d+\): signature does not verify/);
  }, 150_000);
});
