import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { monitorsFromReports, serviceFromReports } from '../../gateway/ledger/index.js';
import { openMetaDb } from '../../gateway/meta/db.js';
import { SqliteReportStore } from '../../gateway/meta/reports.js';
import { MonitorLogState } from '../../gateway/monitors/log-check.js';
import {
  authenticateMonitor, monitorAuthorization, parseStatement, recordOf, signStatement, MONITOR_MATERIAL_PATH, type MonitorStatement,
} from '../../gateway/monitors/statement.js';
import { entryPayload } from '../../gateway/reports/jws.js';
import { ReportLog } from '../../gateway/reports/log.js';
import { verifyReportLog } from '../../gateway/reports/verify.js';
import { loadOrCreateGatewayKey, loadOrCreateSigningKey } from '../../gateway/shards/keys.js';
import { onClose } from '../helpers/registry.js';

const T = 1_767_225_600_000;
const counts = (pass: number, wrong = 0) => ({ pass, wrong, missing: 0, timeout: 0, error: 0 });

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-monitors-'));
  onClose(() => rm(dir, { recursive: true, force: true }));
  const db = openMetaDb(join(dir, 'meta.db'));
  onClose(() => void db.close());
  const gw = await loadOrCreateGatewayKey(join(dir, 'gw'));
  const m1 = await loadOrCreateSigningKey(join(dir, 'm1'), 'monitor-key.jwk', 'monitor-key.pub.jwk', 'shardgate monitor');
  const store = new SqliteReportStore(db);
  const log = new ReportLog(store, gw);
  const statement = (extra: Partial<MonitorStatement> = {}): MonitorStatement => ({
    v: 1, monitor: 'm1', gateway: gw.kid, periodStart: T, periodEnd: T + 1_000, challenges: 12,
    results: [{ store: 'ss00', audits: counts(10) }, { store: 'ss01', audits: counts(0, 2) }], ...extra,
  });
  return { gw, m1, store, log, statement };
}

describe('independent monitors in the report log', () => {
  it('the shape of a statement: challenges are the sum of its outcomes, each store once, nothing unknown', () => {
    const base = { v: 1, monitor: 'm1', gateway: 'kid', periodStart: T, periodEnd: T + 1, challenges: 3, results: [{ store: 'b', audits: counts(3) }, { store: 'a', audits: counts(0) }] };
    const ok = parseStatement(base);
    expect(ok.ok && ok.statement.results.map((r) => r.store)).toEqual(['a', 'b']);
    expect(parseStatement({ ...base, challenges: 4 })).toMatchObject({ ok: false, reason: expect.stringMatching(/sum/) });
    expect(parseStatement({ ...base, results: [base.results[0], base.results[0]] })).toMatchObject({ ok: false, reason: expect.stringMatching(/twice/) });
    expect(parseStatement({ ...base, paid: 1 })).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown field/) });
    expect(parseStatement({ ...base, periodEnd: T })).toMatchObject({ ok: false });
    expect(parseStatement({ ...base, results: [{ store: 'a', audits: { ...counts(1), pass: -1 } }] })).toMatchObject({ ok: false });
  });

  it('verifies entries signed by a registered monitor, and names one altered, unregistered, for another gateway or going back', async () => {
    const { gw, m1, store, log, statement } = await setup();
    const s = statement();
    const jws = await signStatement(s, m1);
    await log.appendRecord({ kind: 'monitor-key', monitor: 'm1', jwk: { kty: 'OKP', crv: 'Ed25519', x: m1.publicJwk.x! }, issuedAt: T });
    await log.appendRecord(recordOf(s, jws, T + 1_000));
    await log.append([{ node: 'ss00', zone: 'z', periodStart: T, periodEnd: T + 1_000, audits: counts(4), uptime: { samples: 1, up: 1, ratio: 1 }, score: 1, state: 'active', issuedAt: T + 1_000 }]);
    const entries = await store.page(0, 100);
    const good = await verifyReportLog(entries, gw.publicJwk);
    expect(good.errors).toEqual([]);

    // What settlement reads: the store's report alone as a store record, the statement as m1's record.
    const payloads = entries.map((e) => JSON.parse(entryPayload(e.jws)) as never);
    expect(serviceFromReports(payloads).map((r) => r.store)).toEqual(['ss00']);
    expect(monitorsFromReports(payloads, { start: T, end: T + 60_000 })).toEqual([{ monitor: 'm1', challenges: 12, results: s.results }]);
    expect(monitorsFromReports(payloads, { start: T + 1, end: T + 60_000 })).toEqual([]);

    const state = new MonitorLogState();
    expect(await state.check(recordOf(s, jws, T), gw.kid)).toMatch(/not registered/);
    state.applyKey({ monitor: 'm1', jwk: { kty: 'OKP', crv: 'Ed25519', x: m1.publicJwk.x! } });
    expect(await state.check({ ...recordOf(s, jws, T), challenges: 13 }, gw.kid)).toMatch(/does not repeat/);
    expect(await state.check(recordOf(s, jws, T), 'another-kid')).toMatch(/another gateway/);
    const forged = await signStatement(statement({ results: [{ store: 'ss00', audits: counts(0, 12) }] }), gw);
    expect(await state.check(recordOf(statement(), forged, T), gw.kid)).toMatch(/does not verify/);
    expect(await state.check(recordOf(s, jws, T), gw.kid)).toBeUndefined();
    expect(await state.check(recordOf(s, jws, T), gw.kid)).toMatch(/goes back in time/);
    state.applyKey({ monitor: 'm1', jwk: null });
    expect(await state.check(recordOf(s, jws, T), gw.kid)).toMatch(/not registered/);

    // One byte of the monitor's entry changed: the gateway's signature over it fails.
    const [h, p, sig] = entries[1]!.jws.split('.');
    const altered = Buffer.from(p!, 'base64url').toString().replace('"pass":10', '"pass":11');
    const bad = await verifyReportLog([entries[0]!, { seq: 2, jws: `${h}.${Buffer.from(altered).toString('base64url')}.${sig}` }, entries[2]!], gw.publicJwk);
    expect(bad.errors[0]).toMatch(/entry 2 \(seq 2\): signature does not verify/);
  });

  it('the request token of a monitor: its registered key, this gateway and path, and fresh', async () => {
    const { gw, m1 } = await setup();
    const keyOf = (m: string) => (m === 'm1' ? { kty: 'OKP' as const, crv: 'Ed25519' as const, x: m1.publicJwk.x! } : undefined);
    const expectOn = { gateway: gw.kid, path: MONITOR_MATERIAL_PATH };
    const header = await monitorAuthorization({ monitor: 'm1', gateway: gw.kid, path: MONITOR_MATERIAL_PATH, iat: T }, m1);
    await expect(authenticateMonitor(header, keyOf, expectOn, T + 1_000)).resolves.toEqual({ ok: true, monitor: 'm1' });
    await expect(authenticateMonitor(header, keyOf, expectOn, T + 10 * 60_000)).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/too old/) });
    await expect(authenticateMonitor(header, keyOf, { ...expectOn, gateway: 'other' }, T)).resolves.toMatchObject({ ok: false });
    await expect(authenticateMonitor(undefined, keyOf, expectOn, T)).resolves.toMatchObject({ ok: false });
    const byGateway = await monitorAuthorization({ monitor: 'm1', gateway: gw.kid, path: MONITOR_MATERIAL_PATH, iat: T }, gw);
    await expect(authenticateMonitor(byGateway, keyOf, expectOn, T)).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) });
  });
});
