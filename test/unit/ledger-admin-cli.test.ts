/**
 * `shardgate admin ledger` subcommands against the real admin API (an in-process gateway core
 * with its metadata), and the ledger's metrics.
 */
import Koa from 'koa';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, exportJWK } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runLedger } from '../../cli/admin-ledger.js';
import { adminMiddleware } from '../../gateway/admin/router.js';
import { LedgerBook } from '../../gateway/economy/book.js';
import { LedgerLog } from '../../gateway/economy/log.js';
import { registerLedgerMetrics } from '../../gateway/economy/start.js';
import { Monitors } from '../../gateway/monitors/service.js';
import { ReportLog } from '../../gateway/reports/log.js';
import { loadOrCreateGatewayKey } from '../../gateway/shards/keys.js';
import { onClose } from '../helpers/registry.js';
import { adminContextOf, startFixture } from './admin-fixture.js';

const ROOT = { accessKeyId: 'LEDGERROOTKEY', secretAccessKey: 'ledger-root-secret-123', source: 'env' as const };
const TOKEN = 1_000_000n;
const ERA = 60_000;

async function setup() {
  const fx = await startFixture();
  const key = await loadOrCreateGatewayKey(fx.dir);
  const book = new LedgerBook(new LedgerLog(fx.meta.ledger, key), fx.meta.reports);
  await book.open({
    params: { eraMs: ERA, lockMs: 0 },
    allocations: [
      { account: 'provider:acme', amount: String(100n * TOKEN) }, { account: 'delegator:dana', amount: String(50n * TOKEN) },
      { account: 'treasury', amount: String(100n * TOKEN) },
    ],
    events: [{ type: 'deposit', provider: 'acme', store: 'ss00', amount: String(20n * TOKEN) }],
  });
  const admin = await adminContextOf(fx, ROOT);
  admin.economy = book;
  const pushed: string[][] = [];
  admin.monitors = new Monitors(fx.meta.reports, new ReportLog(fx.meta.reports, key), {
    gatewayKid: key.kid, nodes: fx.nodes, audit: fx.meta.audit, pins: admin.pins,
    client: { setMonitorKeys: async (n: { id: string }, keys: Array<{ kid?: string }>) => void pushed.push([n.id, ...keys.map((k) => k.kid ?? '')]) } as never,
  });
  registerLedgerMetrics(fx.metrics, book);
  const app = new Koa();
  app.use(adminMiddleware(admin));
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  onClose(() => new Promise<void>((r) => server.close(() => r())));
  const env = { SHARDGATE_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, SHARDGATE_ROOT_USER: ROOT.accessKeyId, SHARDGATE_ROOT_PASSWORD: ROOT.secretAccessKey };
  /** Run `shardgate admin ledger ...args` and return what it printed. */
  const cli = async (...args: string[]): Promise<string> => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      await runLedger(args, env);
    } finally {
      spy.mockRestore();
    }
    return lines.join('\n');
  };
  const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await cli(...args, '--json')) as T;
  return { fx, book, cli, json, pushed, key };
}

interface Accounts {
  stores: Array<{ store: string; provider: string; status: string; stake: string; own: string; delegators: string[] }>;
  passports: Array<{ id: string; holder: string; store: string | null; value: string }>;
}

afterEach(() => vi.restoreAllMocks());

describe('shardgate admin ledger, through the admin API', () => {
  it('deposit and withdraw move a provider\'s collateral; a withdrawal past it is refused with the reason', async () => {
    const { cli, json } = await setup();
    expect(await cli('deposit', '--provider', 'acme', '--store', 'ss01', '--amount', '12.5')).toMatch(/^logged deposit as ledger log entry \d+ \(era 0,/);
    let a = await json<Accounts>('accounts');
    expect(a.stores.find((s) => s.store === 'ss01')).toMatchObject({ provider: 'acme', own: String(12_500_000n), status: 'active' });
    expect(await cli('withdraw', '--provider', 'acme', '--store', 'ss01', '--amount', '2.5')).toMatch(/logged withdraw/);
    a = await json<Accounts>('accounts');
    expect(a.stores.find((s) => s.store === 'ss01')!.own).toBe(String(10n * TOKEN));
    await expect(cli('withdraw', '--provider', 'acme', '--store', 'ss01', '--amount', '11')).rejects.toThrow(/withdraw|more than|exceeds|only/i);
    // Amounts are tokens with at most 6 decimals.
    await expect(cli('deposit', '--provider', 'acme', '--store', 'ss01', '--amount', '0.0000001')).rejects.toThrow(/up to 6 decimals/);
    await expect(cli('deposit', '--provider', 'acme', '--store', 'ss01')).rejects.toThrow(/--amount is required/);
    const b = await json<{ preview: Record<string, string> }>('balances');
    expect(b.preview['provider:acme']).toBe(String(70n * TOKEN));
  });

  it('delegate and undelegate back a store with a delegator\'s stake', async () => {
    const { cli, json } = await setup();
    expect(await cli('delegate', '--delegator', 'dana', '--store', 'ss00', '--amount', '10')).toMatch(/logged delegate/);
    const a = await json<Accounts>('accounts');
    expect(a.stores.find((s) => s.store === 'ss00')).toMatchObject({ stake: String(30n * TOKEN), delegators: ['dana'] });
    expect(await cli('undelegate', '--delegator', 'dana', '--store', 'ss00', '--amount', '4')).toMatch(/logged undelegate/);
    const b = await json<{ preview: Record<string, string> }>('balances');
    expect(b.preview['delegation:ss00:dana']).toBe(String(6n * TOKEN));
    expect(b.preview['delegator:dana']).toBe(String(44n * TOKEN));
    await expect(cli('delegate', '--delegator', 'dana', '--store', 'ss00', '--amount', '1000')).rejects.toThrow(/ledger|balance|short|insufficient/i);
  });

  it('passport issue and stake: the Passport\'s value backs the store', async () => {
    const { cli, json } = await setup();
    expect(await cli('passport', 'issue', '--id', 'P1', '--from', 'treasury', '--holder', 'delegator:hana', '--amount', '10', '--term', '5')).toMatch(/logged passport-issue/);
    expect(await cli('passport', 'stake', '--id', 'P1', '--holder', 'delegator:hana', '--store', 'ss00')).toMatch(/logged passport-stake/);
    const a = await json<Accounts>('accounts');
    expect(a.passports).toEqual([expect.objectContaining({ id: 'P1', holder: 'delegator:hana', store: 'ss00', value: String(10n * TOKEN) })]);
    expect(a.stores.find((s) => s.store === 'ss00')!.stake).toBe(String(30n * TOKEN));
    // Only its holder stakes it, once.
    await expect(cli('passport', 'stake', '--id', 'P1', '--holder', 'delegator:dana', '--store', 'ss00')).rejects.toThrow();
    await expect(cli('passport', 'burn', '--id', 'P1')).rejects.toThrow(/usage/);
  });

  it('params shows the parameters in force and schedules a change from a later era', async () => {
    const { cli, json } = await setup();
    const p = await json<{ params: Record<string, string>; scheduled: unknown[] }>('params');
    expect(p.params).toMatchObject({ eraMs: String(ERA), lockMs: '0', commissionPpm: '100000' });
    expect(await cli('params', 'set', 'commissionPpm=200000', '--from-era', '3')).toMatch(/logged params/);
    const after = await json<{ scheduled: Array<{ fromEra: number; changes: Record<string, string> }> }>('params');
    expect(after.scheduled).toEqual([expect.objectContaining({ fromEra: 3, changes: { commissionPpm: '200000' } })]);
    await expect(cli('params', 'set', 'eraMs=1000', '--from-era', '3')).rejects.toThrow(/eraMs/);
    await expect(cli('params', 'set', 'commissionPpm=2000000', '--from-era', '3')).rejects.toThrow(/commissionPpm/);
    await expect(cli('params', 'set', 'commissionPpm=x', '--from-era', '3')).rejects.toThrow(/NAME=INTEGER/);
  });

  it('monitor add, monitors and monitor remove: entries of the report log, listed on the stores', async () => {
    const { cli, json, pushed, fx } = await setup();
    const { publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwk = await exportJWK(publicKey);
    // A key's x is base64url: one in 64 starts with '-', which goes after '--' like any such argument.
    expect(await cli('monitor', 'add', 'm1', '--', jwk.x!)).toMatch(/monitor m1 registered as report log entry 1/);
    expect(await cli('monitor', 'add', 'm1', JSON.stringify(jwk))).toMatch(/registered with that key already/);
    await expect(cli('monitor', 'add', 'm2', '--', jwk.x!)).rejects.toThrow(/registered for monitor m1 already/);
    await expect(cli('monitor', 'add', 'm3', JSON.stringify({ ...jwk, d: jwk.x }))).rejects.toThrow(/private key/);
    expect((await json<{ monitors: Array<{ monitor: string; jwk: { x: string } }> }>('monitors')).monitors).toEqual([expect.objectContaining({ monitor: 'm1', jwk: expect.objectContaining({ x: jwk.x }) })]);
    // Every store was told the key.
    expect(new Set(pushed.filter((p) => p.includes('m1')).map((p) => p[0])).size).toBe((await fx.nodes.list()).length);
    expect(await cli('monitor', 'remove', 'm1')).toMatch(/monitor m1 revoked as report log entry 2/);
    expect(await cli('monitors')).toMatch(/no monitor registered/);
    await expect(cli('monitor', 'remove', 'm1')).rejects.toThrow(/not registered/);
  });
});

describe('ledger metrics', () => {
  it('stake, requirement and status per store; after a settled era, what it paid, slashed and burned', async () => {
    const { fx, book } = await setup();
    await book.submit({ type: 'deposit', provider: 'acme', store: 'ss01', amount: String(TOKEN) });
    let text = await fx.metrics.render();
    expect(text).toMatch(/^shardgate_ledger_settled_era -1$/m);
    expect(text).toMatch(/^shardgate_ledger_stake_units\{store="ss00"\} 20000000$/m);
    expect(text).toMatch(/^shardgate_ledger_required_units\{store="ss00"\} 9000000$/m);
    expect(text).toMatch(/^shardgate_ledger_store_active\{store="ss00"\} 1$/m);
    // 1 token does not cover the 9 required: pending.
    expect(text).toMatch(/^shardgate_ledger_store_active\{store="ss01"\} 0$/m);
    const g = book.genesis!.at;
    const settled = await book.settleNext({ zones: [], reportsThrough: 0, now: g + ERA });
    expect(settled?.era).toBe(0);
    text = await fx.metrics.render();
    expect(text).toMatch(/^shardgate_ledger_settled_era 0$/m);
    expect(text).toMatch(/^shardgate_ledger_era_rewards_units\{store="ss00",era="0"\} 0$/m);
    expect(text).toMatch(/^shardgate_ledger_era_slashed_units\{store="ss00",era="0"\} 0$/m);
    expect(text).toMatch(/^shardgate_ledger_era_burned_units\{era="0"\} 0$/m);
    expect(text).toMatch(/^shardgate_ledger_(rewards|slashed|burned|minted)_units_total 0$/m);
  });
});
