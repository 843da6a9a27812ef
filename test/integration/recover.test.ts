import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAdmin, startCluster } from '../helpers/cluster.js';
import { md5Hex, objectBytes, seedBucket } from '../helpers/s3.js';




// Sizes on the thresholds: 1 byte, one 4 MiB segment exactly, one segment + 1 byte.
const SIZES = [1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 200_000];

describe('recover: a gateway whose data folder is gone comes back from the shard-stores and the master key', () => {
  it('restores every object written before the last snapshot and lists later writes as at risk', async () => {
    const master = randomBytes(32).toString('hex');
    const c = await startCluster({ stores: 16, env: { SHARDGATE_MASTER_KEY: master, SHARDGATE_SNAPSHOT_INTERVAL_MS: '0', SHARDGATE_AUDIT_INTERVAL_MS: '0' } });
    let s3 = c.client();
    const objects = await seedBucket(s3, 'keep', SIZES, (i) => `before-${i} é&+`);
    const snap = await runAdmin(c, ['snapshot']);
    expect(snap.code, snap.all).toBe(0);
    expect(snap.all).toMatch(/snapshot 1: .* manifest on 16 stores/);
    await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'after-snapshot', Body: randomBytes(5000) }));

    // The disk is gone: the gateway dies and its whole data folder with it.
    c.gateway.kill('SIGKILL');
    await once(c.gateway, 'exit');
    const gwDir = join(c.dir, 'gateway');
    rmSync(gwDir, { recursive: true, force: true });

    const stores = c.stores.map((s) => `${s.id}=${s.url}`).join(',');
    const noKey = await runAdmin(c, ['recover', '--data', gwDir], { SHARDGATE_SHARD_STORES: stores, SHARDGATE_MASTER_KEY: '' });
    expect(noKey.code).not.toBe(0);
    expect(noKey.all).toMatch(/needs the master key/);
    const wrongKey = await runAdmin(c, ['recover', '--data', gwDir], { SHARDGATE_SHARD_STORES: stores, SHARDGATE_MASTER_KEY: randomBytes(32).toString('hex') });
    expect(wrongKey.code).not.toBe(0);
    expect(wrongKey.all).toMatch(/right master key/);

    const t0 = Date.now();
    const rec = await runAdmin(c, ['recover', '--data', gwDir], { SHARDGATE_SHARD_STORES: stores, SHARDGATE_MASTER_KEY: master });
    console.log(`recover took ${Date.now() - t0} ms:\n${rec.all}`);
    expect(rec.code, rec.all).toBe(0);
    expect(rec.all).toMatch(/16 of 16 stores answer, 16 hold a manifest/);
    expect(rec.all).toMatch(/AT RISK: 1 blob\(s\) \(16 shard files\)/);
    expect(existsSync(join(gwDir, 'meta.db'))).toBe(true);
    const again = await runAdmin(c, ['recover', '--data', gwDir], { SHARDGATE_SHARD_STORES: stores, SHARDGATE_MASTER_KEY: master });
    expect(again.code).not.toBe(0);
    expect(again.all).toMatch(/exists: recover into an empty data folder/);

    await c.restartGateway();
    s3 = c.client();
    for (const [key, body] of objects) expect(md5Hex(await objectBytes(s3, 'keep', key)), key).toBe(md5Hex(body));
    await expect(objectBytes(s3, 'keep', 'after-snapshot')).rejects.toMatchObject({ name: 'NoSuchKey' });
    // The restored signing key is the one the stores trust: the gateway writes again.
    const fresh = randomBytes(70_000);
    await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'after-recovery', Body: fresh }));
    expect(md5Hex(await objectBytes(s3, 'keep', 'after-recovery'))).toBe(md5Hex(fresh));
  });
});
