import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { M, N } from '../../codec/erasure.js';
import { shardFileLength } from '../../codec/layout.js';
import type { NodeAuditResult } from '../../gateway/audit/auditor.js';
import { ACCESS_KEY, SECRET_KEY, respawnStore, runAdmin, startCluster, type Cluster, type StoreProc } from '../helpers/cluster.js';
import { readShardOnDisk, rotShardOnDisk, shardsOnDisk } from '../helpers/shards-on-disk.js';
import { liveBlobs } from '../helpers/meta-query.js';
import { onClose } from '../helpers/registry.js';
import { md5Hex, seedBucket } from '../helpers/s3.js';



interface NodeJson { id: string; zone: string; state: string; piecesHeld: number }

async function nodes(c: Cluster): Promise<NodeJson[]> {
  return JSON.parse((await runAdmin(c, ['nodes', '--json'])).out) as NodeJson[];
}

async function audit(c: Cluster): Promise<{ code: number | null; results: NodeAuditResult[]; failed: string[] }> {
  const r = await runAdmin(c, ['audit', '--json']);
  const results = JSON.parse(r.out) as NodeAuditResult[];
  return { code: r.code, results, failed: results.filter((x) => !x.passed).map((x) => x.nodeId).sort() };
}

// Sizes on the thresholds: 1 byte, one 4 MiB segment exactly, one segment + 1 byte, several segments, small ones.
const SIZES = [1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 9 * 1024 * 1024 + 77, 300_000, 65_536];

describe('chaos: 28 shard-stores in 4 zones lose, rot, freeze, lie and go dark', () => {
  let c: Cluster;
  let s3: S3Client;
  let objects = new Map<string, Buffer>();

  const readAll = async (when: string): Promise<void> => {
    for (const [key, body] of objects) {
      const res = await s3.send(new GetObjectCommand({ Bucket: 'chaos', Key: key }));
      expect(md5Hex(Buffer.from(await res.Body!.transformToByteArray())), `${key} ${when}`).toBe(md5Hex(body));
    }
  };

  /** Every live blob has 16 distinct holders, none in `gone`, at most M per zone, each with its whole shard file. */
  const checkPlacement = async (zoneOf: Map<string, string>, gone: Set<string>): Promise<void> => {
    const blobs = await liveBlobs(c);
    expect(blobs.length).toBeGreaterThanOrEqual(SIZES.length);
    const dirOf = new Map(c.stores.map((s) => [s.id, s.dataDir]));
    for (const b of blobs) {
      const { placement } = b;
      expect(new Set(placement).size).toBe(N);
      const perZone = new Map<string, number>();
      placement.forEach((node, i) => {
        expect(gone.has(node), `${b.id}.${i} still on ${node}`).toBe(false);
        perZone.set(zoneOf.get(node)!, (perZone.get(zoneOf.get(node)!) ?? 0) + 1);
        const shard = `${b.id}.${i}`;
        expect(readShardOnDisk(dirOf.get(node)!, shard)?.length, `${shard} on ${node}`).toBe(shardFileLength(b.size, b.segmentSize));
      });
      expect(Math.max(...perZone.values())).toBeLessThanOrEqual(M);
    }
  };

  beforeAll(async () => {
    c = await startCluster({
      stores: 28, zones: 4,
      env: {
        SHARDGATE_REPAIR_RATE: '0',
        // Audits, reports and snapshots run when the test asks, so what they see is deterministic.
        SHARDGATE_AUDIT_INTERVAL_MS: '0', SHARDGATE_SNAPSHOT_INTERVAL_MS: '0', SHARDGATE_SCRUB_INTERVAL_MS: '0',
        SHARDGATE_REPORT_PERIOD_MS: '3600000',
        // Long enough that an honest store on a loaded 2-core machine answers; only the frozen one times out.
        SHARDGATE_AUDIT_TIMEOUT_MS: '5000', SHARDGATE_AUDIT_PIECES: '4', SHARDGATE_AUDIT_RECORDS: '2',
        // One failed round makes a node suspect, two make it lost.
        SHARDGATE_AUDIT_SCORE_ALPHA: '0.5', SHARDGATE_AUDIT_SUSPECT_BELOW: '0.8', SHARDGATE_AUDIT_LOST_BELOW: '0.3',
      },
    });
    s3 = c.client();
    objects = await seedBucket(s3, 'chaos', SIZES, (i) => `obj-${i} é&+`);
  });

  // 28 stores and three audit and repair passes: about 35 s on a quiet 2-core machine.
  it('keeps every object readable, flags exactly the misbehaving stores, repairs to 16 pieces and reports it all', { timeout: 180_000 }, async () => {
    const t0 = Date.now();
    const before = await nodes(c);
    const zoneOf = new Map(before.map((n) => [n.id, n.zone]));
    const store = (id: string): StoreProc => c.stores.find((s) => s.id === id)!;
    // The four misbehaving stores are outside zone-4 (killed later) and hold pieces; most pieces first.
    const candidates = before.filter((n) => n.zone !== 'zone-4' && n.piecesHeld > 0).sort((a, b) => b.piecesHeld - a.piecesHeld);
    const pickIn = (zone: string, not: string[] = []): string => candidates.find((n) => n.zone === zone && !not.includes(n.id))!.id;
    const wiped = pickIn('zone-1');
    const rotten = pickIn('zone-2');
    const frozen = pickIn('zone-3');
    const liar = pickIn('zone-1', [wiped]);
    const bad = [wiped, rotten, frozen, liar].sort();

    // 1. Wipe a disk's data (the store comes back empty, with its own key), rot every piece of
    //    another, freeze a third, make a fourth lie.
    const wipedDir = store(wiped).dataDir;
    store(wiped).child.kill('SIGKILL');
    await store(wiped).exited;
    for (const f of readdirSync(wipedDir)) if (f !== 'store-key.pem') rmSync(join(wipedDir, f), { recursive: true, force: true });
    await respawnStore(c, store(wiped), { zone: zoneOf.get(wiped)! });
    for (const shard of shardsOnDisk(store(rotten).dataDir)) {
      rotShardOnDisk(store(rotten).dataDir, shard, Math.floor(readShardOnDisk(store(rotten).dataDir, shard)!.length / 2));
    }
    await respawnStore(c, store(liar), { zone: zoneOf.get(liar)!, env: { SHARDGATE_TEST_LIE_ON_CHALLENGE: '1' } });
    store(frozen).child.kill('SIGSTOP');
    await readAll('with a wiped, a rotten, a frozen and a lying store');

    // 2. Audits flag exactly those four, the first round as suspect, the second as lost.
    const first = await audit(c);
    expect(first.code).toBe(1);
    expect(first.failed).toEqual(bad);
    const outcome = (id: string) => first.results.find((r) => r.nodeId === id)!.outcomes;
    expect(outcome(wiped).missing).toBeGreaterThan(0);
    // The rotten store finds its own pieces fail their checksums and admits the loss.
    expect(outcome(rotten).missing + outcome(rotten).wrong).toBeGreaterThan(0);
    expect(outcome(liar).wrong).toBeGreaterThan(0);
    expect(outcome(frozen).timeout).toBeGreaterThan(0);
    for (const r of first.results.filter((r) => !bad.includes(r.nodeId))) expect(r.score, r.nodeId).toBe(1);
    const second = await audit(c);
    // A bad store the repair worker already emptied between the rounds has nothing left to challenge.
    expect(second.failed).toEqual(bad.filter((id) => second.results.some((r) => r.nodeId === id && r.challenged > 0)));
    for (const id of [wiped, rotten, liar]) expect(second.results.find((r) => r.nodeId === id)!.state).toBe('draining');
    console.log(`audits flagged ${bad.join(', ')} (${Date.now() - t0} ms in)`);

    // 3. Repair moves every piece off them; every object is back to 16 healthy pieces within the zone rule.
    const r1 = Date.now();
    const repair1 = await runAdmin(c, ['repair', '--wait']);
    expect(repair1.code, repair1.out + repair1.err).toBe(0);
    console.log(`repair after the four faults took ${Date.now() - r1} ms: ${repair1.out.trim().split('\n').slice(-2)[0]}`);
    await checkPlacement(zoneOf, new Set(bad));
    await readAll('after the first repair');

    // 4. A whole zone goes dark.
    const zone4 = c.stores.filter((s) => zoneOf.get(s.id) === 'zone-4');
    const zone4Holding = (await nodes(c)).filter((n) => n.zone === 'zone-4' && n.piecesHeld > 0).map((n) => n.id).sort();
    for (const s of zone4) s.child.kill('SIGKILL');
    await Promise.all(zone4.map((s) => s.exited));
    await readAll('with zone-4 gone');
    const third = await audit(c);
    expect(third.failed).toEqual(zone4Holding);
    const r2 = Date.now();
    const repair2 = await runAdmin(c, ['repair', '--wait']);
    expect(repair2.code, repair2.out + repair2.err).toBe(0);
    console.log(`repair after losing zone-4 took ${Date.now() - r2} ms: ${repair2.out.trim().split('\n').slice(-2)[0]}`);
    await checkPlacement(zoneOf, new Set([...bad, ...zone4.map((s) => s.id)]));
    await readAll('after the second repair');

    // 5. The signed report log verifies and shows every failure.
    const { adminRequest } = await import('../../cli/admin.js');
    await adminRequest({ endpoint: c.endpoint, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: 'us-east-1' }, 'POST', '/reports/publish', {});
    const verify = await runAdmin(c, ['verify-reports', c.endpoint]);
    expect(verify.code, verify.out + verify.err).toBe(0);
    expect(verify.out).toMatch(/report log verifies: 28 signed entries/);
    for (const id of [...bad, ...zone4Holding]) expect(verify.out, id).toMatch(new RegExp(`#\\d+ ${id} .*audits pass=\\d+ (wrong|missing|timeout)`));
    const failingLines = verify.out.split('\n').filter((l) => /^\s+#\d+ /.test(l) && !/wrong=0 missing=0 timeout=0 error=0/.test(l));
    expect(failingLines.map((l) => /#\d+ (\S+)/.exec(l)![1]).sort()).toEqual([...new Set([...bad, ...zone4Holding])].sort());

    // The same log with two entries swapped, served elsewhere: verification fails and says where.
    const page = await (await fetch(`${c.endpoint}/_shardgate/reports`)).json() as { key: string; entries: Array<{ seq: number; jws: string }> };
    const key = await (await fetch(`${c.endpoint}/.well-known/shardgate/report-key.jwk`)).text();
    [page.entries[3], page.entries[4]] = [page.entries[4]!, page.entries[3]!];
    const fake = createServer((req, res) => res.end(req.url!.startsWith('/.well-known/') ? key : JSON.stringify(page)));
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    onClose(() => new Promise<void>((r) => fake.close(() => r())));
    const forged = await runAdmin(c, ['verify-reports', `http://127.0.0.1:${(fake.address() as AddressInfo).port}`]);
    expect(forged.code).toBe(1);
    expect(forged.err).toMatch(/entry 4 \(seq 5\): signed sequence number is 5, expected 4/);
    expect(forged.err).toMatch(/does NOT verify/);
    console.log(`chaos test: ${Date.now() - t0} ms after the faults began`);
    store(frozen).child.kill('SIGCONT');
  });
});
