import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMetaDb } from '../../gateway/meta/db.js';
import type { ReportEntry } from '../../gateway/reports/format.js';
import { SqliteReportStore } from '../../gateway/meta/reports.js';
import { ReportLog } from '../../gateway/reports/log.js';
import { verifyReportLog } from '../../gateway/reports/verify.js';
import { loadOrCreateGatewayKey } from '../../gateway/shards/keys.js';
import { onClose } from '../helpers/registry.js';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-reports-'));
  onClose(() => rm(dir, { recursive: true, force: true }));
  const db = openMetaDb(join(dir, 'meta.db'));
  onClose(() => void db.close());
  const key = await loadOrCreateGatewayKey(dir);
  const log = new ReportLog(new SqliteReportStore(db), key);
  const report = (node: string, start: number, wrong = 0) => ({
    node, zone: 'zone-1', periodStart: start, periodEnd: start + 1000, audits: { pass: 3, wrong, missing: 0, timeout: 0, error: 0 },
    uptime: { samples: 10, up: 10, ratio: 1 }, score: 1, state: 'active', issuedAt: start + 1000,
  });
  await log.append([report('ss00', 0), report('ss01', 0, 2)]);
  await log.append([report('ss00', 1000), report('ss01', 1000)]);
  return { key, log, entries: await log.page(0, 100) };
}

/** Replace the payload of a compact JWS, keeping header and signature. */
function rewrite(jws: string, edit: (p: Record<string, unknown>) => void): string {
  const [h, p, s] = jws.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
  edit(payload);
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}

describe('signed report log', () => {
  it('verifies a log as written, with the failures it reports', async () => {
    const { key, entries } = await setup();
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const v = await verifyReportLog(entries, key.publicJwk);
    expect(v.errors).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.reports.find((r) => r.node === 'ss01' && r.periodStart === 0)!.audits.wrong).toBe(2);
  });

  it('fails a tampered, a reordered, a removed entry and a foreign key, saying which', async () => {
    const { key, entries } = await setup();
    const tampered: ReportEntry[] = entries.map((e) => (e.seq === 2 ? { ...e, jws: rewrite(e.jws, (p) => ((p.audits as { wrong: number }).wrong = 0)) } : e));
    const t = await verifyReportLog(tampered, key.publicJwk);
    expect(t.ok).toBe(false);
    expect(t.errors[0]).toMatch(/entry 2 \(seq 2\): signature does not verify/);

    const reordered = [entries[0]!, entries[2]!, entries[1]!, entries[3]!];
    const r = await verifyReportLog(reordered, key.publicJwk);
    expect(r.ok).toBe(false);
    expect(r.errors.join('\n')).toMatch(/entry 2 \(seq 3\): signed sequence number is 3, expected 2/);

    const removed = await verifyReportLog([entries[0]!, entries[2]!, entries[3]!], key.publicJwk);
    expect(removed.ok).toBe(false);
    expect(removed.errors.join('\n')).toMatch(/does not chain/);

    const otherDir = await mkdtemp(join(tmpdir(), 'shardgate-other-'));
    onClose(() => rm(otherDir, { recursive: true, force: true }));
    const other = await loadOrCreateGatewayKey(otherDir);
    expect((await verifyReportLog(entries, other.publicJwk)).ok).toBe(false);
  });
});
