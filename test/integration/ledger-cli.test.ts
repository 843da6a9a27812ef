import { GetObjectCommand, PutObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAdmin, startCluster } from '../helpers/cluster.js';
import { onClose } from '../helpers/registry.js';
import { tamperingProxy } from '../helpers/tampering-proxy.js';

const TOKEN = 1_000_000n;
// Short eras so that two settle within the test; reports every second, the shortest period.
const ERA_MS = 3_000;

describe('the provider economy through the CLI', () => {
  it('settles short eras, shows balances, verifies the published ledger and names a tampered entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-ledger-genesis-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    const genesis = join(dir, 'genesis.json');
    const stores = Array.from({ length: 16 }, (_, i) => `ss${String(i).padStart(2, '0')}`);
    writeFileSync(genesis, JSON.stringify({
      params: { eraMs: ERA_MS, lockMs: 0 },
      allocations: [{ account: 'provider:p', amount: String(1_000n * TOKEN) }, { account: 'operator:op', amount: String(1_000n * TOKEN) }],
      // 9 tokens are required by default: ss15 has 1, so it is pending and gets no pieces.
      events: stores.map((store) => ({ type: 'deposit', provider: 'p', store, amount: String((store === 'ss15' ? 1n : 20n) * TOKEN) })),
    }));
    const c = await startCluster({ env: { SHARDGATE_LEDGER_GENESIS: genesis, SHARDGATE_REPORT_PERIOD_MS: '1000' } });
    const s3 = c.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'ledger' }));
    const body = Buffer.alloc(300_000, 7);
    await s3.send(new PutObjectCommand({ Bucket: 'ledger', Key: 'a', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'ledger', Key: 'a' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);

    const accounts = await runAdmin(c, ['ledger', 'accounts', '--json']);
    expect(accounts.code, accounts.all).toBe(0);
    const statuses = Object.fromEntries((JSON.parse(accounts.out) as { stores: Array<{ store: string; status: string }> }).stores.map((s) => [s.store, s.status]));
    expect(statuses.ss00).toBe('active');
    expect(statuses.ss15).toBe('pending');

    // Wait for two eras to settle (eras end every 3 s, and each waits for its reports).
    const deadline = Date.now() + 40_000;
    let balances: { settledEra: number; balances: Record<string, string> } = { settledEra: -1, balances: {} };
    while (Date.now() < deadline) {
      const r = await runAdmin(c, ['ledger', 'balances', '--json']);
      expect(r.code, r.all).toBe(0);
      balances = JSON.parse(r.out) as typeof balances;
      if (balances.settledEra >= 1) break;
      await new Promise((res) => setTimeout(res, 1_000));
    }
    expect(balances.settledEra).toBeGreaterThanOrEqual(1);
    expect(BigInt(balances.balances['collateral:ss00']!)).toBe(20n * TOKEN);

    const era0 = await runAdmin(c, ['ledger', 'era', '0', '--json']);
    expect(era0.code, era0.all).toBe(0);
    const lines = (JSON.parse(era0.out) as { era: { stores: Array<{ store: string; status: string }> } }).era.stores;
    expect(lines.find((l) => l.store === 'ss15')!.status).toBe('pending');

    const ok = await runAdmin(c, ['ledger', 'verify', c.endpoint]);
    expect(ok.code, ok.all).toBe(0);
    expect(ok.out).toMatch(/ledger verifies: eras 0\.\.\d+ replayed/);

    // One amount of the published ledger changed on the way: verify fails and names the entry.
    const forgedEntries = await tamperingProxy(c.endpoint, '/_shardgate/ledger/entries', (page) => {
      const e = (page.entries as Array<{ seq: number; amount: string }>)[2]!;
      e.amount = String(BigInt(e.amount) + 1n);
    });
    const bad = await runAdmin(c, ['ledger', 'verify', forgedEntries]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/ledger entry 3 \(seq 3, era 0\) diverges: amount published/);

    // One byte of one signed ledger-log entry changed: its signature fails, and it is named.
    const forgedLog = await tamperingProxy(c.endpoint, '/_shardgate/ledger', (page) => {
      const e = (page.entries as Array<{ seq: number; jws: string }>)[1]!;
      const [h, p, s] = e.jws.split('.');
      const text = Buffer.from(p!, 'base64url').toString().replace('"amount":"20000000"', '"amount":"20000001"');
      e.jws = `${h}.${Buffer.from(text).toString('base64url')}.${s}`;
    });
    const forged = await runAdmin(c, ['ledger', 'verify', forgedLog]);
    expect(forged.code).toBe(1);
    expect(forged.err).toMatch(/ledger log entry 2 \(seq 2\): signature does not verify/);
  }, 90_000);
});
