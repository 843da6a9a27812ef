import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { md5Hex, seedBucket } from '../helpers/s3.js';
import { readShardOnDisk, rotShardOnDisk, shardsOnDisk } from '../helpers/shards-on-disk.js';


async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

// Sizes on the thresholds: 1 byte, one segment (4 MiB) exactly, one segment + 1, several segments.
const SIZES = [1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 9 * 1024 * 1024 + 77];

describe('faults: shard-stores down, frozen, corrupted; gateway killed', () => {
  let c: Cluster;
  let s3: S3Client;
  let objects = new Map<string, Buffer>();

  beforeAll(async () => {
    c = await startCluster();
    s3 = c.client();
    objects = await seedBucket(s3, 'faults', SIZES, (_, size) => `obj-${size}`);
  });

  it('reads every object byte-identical with 6 of 16 shard-stores gone (3 killed, 3 frozen)', async () => {
    // Stores 0..2 get SIGKILL, 3..5 SIGSTOP: the frozen ones accept connections and never answer.
    for (const s of c.stores.slice(0, 3)) s.child.kill('SIGKILL');
    for (const s of c.stores.slice(3, 6)) s.child.kill('SIGSTOP');
    try {
      for (const [key, body] of objects) {
        const t0 = Date.now();
        const got = await getBytes(s3, 'faults', key);
        expect(md5Hex(got), key).toBe(md5Hex(body));
        // Hedged reads: a frozen store costs a hedge delay and timeouts, never a hang.
        expect(Date.now() - t0).toBeLessThan(20_000);
      }
    } finally {
      for (const s of c.stores.slice(3, 6)) s.child.kill('SIGCONT');
    }
  });

  it('answers 503 ServiceUnavailable promptly, never wrong bytes, with 7 gone', async () => {
    // Stores 0..2 are dead from the previous test; freeze four more.
    const frozen = c.stores.slice(6, 10);
    for (const s of frozen) s.child.kill('SIGSTOP');
    try {
      const t0 = Date.now();
      const err = await getBytes(s3, 'faults', `obj-${SIZES[2]}`).then(() => null, (e: unknown) => e as { name?: string; $metadata?: { httpStatusCode?: number } });
      expect(err?.$metadata?.httpStatusCode).toBe(503);
      expect(err?.name).toBe('ServiceUnavailable');
      expect(Date.now() - t0).toBeLessThan(15_000);
      // A write that cannot reach its quorum is answered, not cut off mid-body.
      const put = await s3.send(new PutObjectCommand({ Bucket: 'faults', Key: 'no-quorum', Body: randomBytes(9 * 1024 * 1024) }))
        .then(() => null, (e: unknown) => e as { name?: string; $metadata?: { httpStatusCode?: number } });
      expect(put?.$metadata?.httpStatusCode).toBe(503);
      expect(put?.name).toBe('ServiceUnavailable');
    } finally {
      for (const s of frozen) s.child.kill('SIGCONT');
    }
  });
});

describe('faults: durability across gateway crashes and disk corruption', () => {
  // Regression: once the monitor marked a store offline, placement found only 15 stores
  // that could take pieces and every write answered 503, though the quorum needs 11.
  it('keeps taking writes with one of 16 shard-stores offline, and reads them back', async () => {
    const c = await startCluster({ scope: 'each' });
    const s3 = c.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'one-down' }));
    c.stores[3]!.child.kill('SIGKILL');
    // A failed write makes the gateway probe the store until it calls it offline.
    await s3.send(new PutObjectCommand({ Bucket: 'one-down', Key: 'first', Body: randomBytes(1000) }));
    // The monitor probes every 10 s, then every second after a failure; 3 misses make it offline.
    const deadline = Date.now() + 45_000;
    const state = async (): Promise<string | undefined> =>
      (JSON.parse((await runAdmin(c, ['nodes', '--json'])).out) as Array<{ id: string; state: string }>).find((n) => n.id === c.stores[3]!.id)?.state;
    while ((await state()) !== 'offline' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await state()).toBe('offline');
    const body = randomBytes(5 * 1024 * 1024 + 9);
    await s3.send(new PutObjectCommand({ Bucket: 'one-down', Key: 'after', Body: body }));
    expect(md5Hex(await getBytes(s3, 'one-down', 'after'))).toBe(md5Hex(body));
  });

  it('reads around a corrupted piece (detected by its checksum)', async () => {
    const c = await startCluster({ scope: 'each' });
    const s3 = c.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'rot' }));
    const body = randomBytes(3 * 1024 * 1024 + 5);
    await s3.send(new PutObjectCommand({ Bucket: 'rot', Key: 'k', Body: body }));
    // Flip one byte in the object's data pieces on 6 stores: decoding must use parity and still be exact.
    // (Its pieces are the large ones: the stores also hold the gateway's own small metadata pieces.)
    let flipped = 0;
    for (const s of c.stores) {
      for (const shard of shardsOnDisk(s.dataDir)) {
        const piece = Number(shard.split('.').pop());
        const size = readShardOnDisk(s.dataDir, shard)!.length;
        if (piece >= 10 || flipped >= 6 || size < 100_000) continue;
        if (rotShardOnDisk(s.dataDir, shard, Math.floor(size / 2))) flipped++;
      }
    }
    expect(flipped).toBe(6);
    expect(md5Hex(await getBytes(s3, 'rot', 'k'))).toBe(md5Hex(body));
  });

  it('leaves no partial object visible after SIGKILL in the middle of uploads, and serves every acknowledged one', async () => {
    const c = await startCluster({ scope: 'each' });
    const s3 = c.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'crash' }));
    const done = randomBytes(2 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: 'acknowledged', Body: done }));
    // A 48 MiB upload in flight, streamed slowly enough to still be running at the kill.
    const big = randomBytes(48 * 1024 * 1024);
    const inflight = s3.send(new PutObjectCommand({ Bucket: 'crash', Key: 'partial', Body: big })).then(() => 'ok', () => 'failed');
    // Wait until pieces of the upload are landing on the stores, then kill the gateway.
    const deadline = Date.now() + 20_000;
    const pieceBytes = (): number => c.stores.reduce((n, s) => n + shardsOnDisk(s.dataDir).length, 0);
    const before = pieceBytes();
    while (pieceBytes() <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await c.restartGateway('SIGKILL');
    const outcome = await inflight;
    expect(outcome).toBe('failed');
    const s3b = c.client();
    const list = await s3b.send(new ListObjectsV2Command({ Bucket: 'crash' }));
    expect((list.Contents ?? []).map((o) => o.Key)).toEqual(['acknowledged']);
    expect(md5Hex(await getBytes(s3b, 'crash', 'acknowledged'))).toBe(md5Hex(done));
    await expect(getBytes(s3b, 'crash', 'partial')).rejects.toMatchObject({ name: 'NoSuchKey' });
  });
});
