import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { M, N } from '../../codec/erasure.js';
import { shardFileLength } from '../../codec/layout.js';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { liveBlobs, queuedRepairs, snapshotBlobIds } from '../helpers/meta-query.js';
import { md5Hex, objectBytes, seedBucket } from '../helpers/s3.js';
import { readShardOnDisk, rotShardOnDisk } from '../helpers/shards-on-disk.js';

// Sizes on the thresholds: 1 byte, one 4 MiB segment exactly, one segment + 1, several segments.
const SIZES = [1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 9 * 1024 * 1024 + 77, 300_000, 65_536];

describe('repair: a lost shard-store is rebuilt onto the others (28 stores, 4 zones)', () => {
  let c: Cluster;
  let s3: S3Client;
  let objects = new Map<string, Buffer>();

  beforeAll(async () => {
    c = await startCluster({ stores: 28, zones: 4, env: { SHARDGATE_REPAIR_RATE: '0' } });
    s3 = c.client();
    objects = await seedBucket(s3, 'heal', SIZES, (i) => `obj-${i} é&+`);
  });

  it('repair --wait brings every blob back to 16 healthy pieces on live stores, and they read back after 6 more losses', async () => {
    const before = JSON.parse((await runAdmin(c, ['nodes', '--json'])).out) as Array<{ id: string; zone: string; piecesHeld: number }>;
    expect(before).toHaveLength(28);
    expect(new Set(before.map((n) => n.zone))).toEqual(new Set(['zone-1', 'zone-2', 'zone-3', 'zone-4']));
    const held = (id: string): number => before.find((n) => n.id === id)?.piecesHeld ?? 0;
    const victim = [...c.stores].sort((x, y) => held(y.id) - held(x.id))[0]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    rmSync(victim.dataDir, { recursive: true, force: true });

    const t0 = Date.now();
    const run = await runAdmin(c, ['repair', '--wait']);
    const took = Date.now() - t0;
    expect(run.all).toMatch(/repair complete/);
    expect(run.code, run.all).toBe(0);
    console.log(`repair of ${victim.id} (${before.find((n) => n.id === victim.id)!.piecesHeld} pieces) took ${took} ms: ${run.all.trim().split('\n').slice(-2)[0]}`);

    const nodes = JSON.parse((await runAdmin(c, ['nodes', '--json'])).out) as Array<{ id: string; zone: string; state: string; piecesHeld: number }>;
    expect(nodes.find((n) => n.id === victim.id)).toMatchObject({ state: 'offline', piecesHeld: 0 });
    const zoneOf = new Map(nodes.map((n) => [n.id, n.zone]));
    const dirOf = new Map(c.stores.map((s) => [s.id, s.dataDir]));
    // Besides the objects, a SQLite gateway holds the metadata snapshot it takes when it starts.
    const snapshots = await snapshotBlobIds(c);
    const blobs = (await liveBlobs(c)).filter((b) => !snapshots.has(b.id));
    expect(blobs).toHaveLength(SIZES.length);
    for (const b of blobs) {
      expect(new Set(b.placement).size).toBe(N);
      expect(b.placement).not.toContain(victim.id);
      const perZone = new Map<string, number>();
      b.placement.forEach((node, i) => {
        perZone.set(zoneOf.get(node)!, (perZone.get(zoneOf.get(node)!) ?? 0) + 1);
        const shard = `${b.id}.${i}`;
        expect(readShardOnDisk(dirOf.get(node)!, shard)?.length, `${shard} on ${node}`).toBe(shardFileLength(b.size, b.segmentSize));
      });
      expect(Math.max(...perZone.values())).toBeLessThanOrEqual(M);
    }

    // A drain moves a live store's pieces away, then removes it.
    const drained = c.stores.find((s) => s !== victim && (nodes.find((n) => n.id === s.id)?.piecesHeld ?? 0) > 0)!;
    const drain = await runAdmin(c, ['drain', drained.id, '--wait']);
    expect(drain.code, drain.all).toBe(0);
    expect(drain.all).toMatch(/drained and removed/);

    // The rebuilt pieces are real: with 6 more stores gone every object still reads byte-identical.
    for (const s of c.stores.filter((s) => s !== victim && s !== drained).slice(0, 6)) s.child.kill('SIGKILL');
    for (const [key, body] of objects) expect(md5Hex(await objectBytes(s3, 'heal', key)), key).toBe(md5Hex(body));
  });
});

describe('repair with exactly 16 shard-stores, where no other store can take a piece', () => {
  it('rebuilds pieces a read found rotten on their own stores, byte-identical, and they serve', async () => {
    const c = await startCluster({ scope: 'each', env: { SHARDGATE_REPAIR_RATE: '0' } });
    const s3 = c.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'inplace' }));
    const body = randomBytes(3 * 1024 * 1024 + 5);
    await s3.send(new PutObjectCommand({ Bucket: 'inplace', Key: 'k', Body: body }));
    const snapshots = await snapshotBlobIds(c);
    const [blob] = (await liveBlobs(c)).filter((b) => !snapshots.has(b.id));
    const dirOf = new Map(c.stores.map((s) => [s.id, s.dataDir]));
    const shardOf = (piece: number): [string, string] => [dirOf.get(blob!.placement[piece]!)!, `${blob!.id}.${piece}`];
    // Four data pieces rot where they lie: the GET reads parity instead, and queues them.
    const rotten = [0, 1, 2, 3];
    const original = rotten.map((p) => readShardOnDisk(...shardOf(p))!);
    for (const p of rotten) expect(rotShardOnDisk(...shardOf(p), 1000)).toBe(true);
    expect(md5Hex(await objectBytes(s3, 'inplace', 'k'))).toBe(md5Hex(body));
    expect([...(await queuedRepairs(c)).keys()].sort()).toEqual(rotten.map((p) => shardOf(p)[1]).sort());

    const run = await runAdmin(c, ['repair', '--wait']);
    expect(run.code, run.all).toBe(0);
    expect(run.all).toMatch(/repair complete/);
    expect(await queuedRepairs(c)).toEqual(new Map());
    expect((await liveBlobs(c)).find((b) => b.id === blob!.id)!.placement).toEqual(blob!.placement);
    rotten.forEach((p, i) => expect(readShardOnDisk(...shardOf(p))!.equals(original[i]!), shardOf(p)[1]).toBe(true));
    // They serve: with six of the other stores gone, the object reads from ten that include all four.
    const holders = new Set(rotten.map((p) => blob!.placement[p]!));
    for (const s of c.stores.filter((s) => !holders.has(s.id)).slice(0, 6)) s.child.kill('SIGKILL');
    expect(md5Hex(await objectBytes(s3, 'inplace', 'k'))).toBe(md5Hex(body));
  });
});
