import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetBucketPolicyCommand, GetObjectTaggingCommand,
  HeadObjectCommand, PutBucketPolicyCommand, PutObjectCommand, PutObjectTaggingCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { respawnStore, runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { md5Hex, objectBytes, s3Error, seedBucket } from '../helpers/s3.js';
import { shardsOnDisk } from '../helpers/shards-on-disk.js';

// Sizes on the thresholds: 1 byte, one 4 MiB segment exactly, one segment + 1 byte.
const SIZES = [1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 200_000];

/** The disk is gone: the gateway dies and its whole data folder with it. */
async function loseGatewayDisk(c: Cluster): Promise<string> {
  c.gateway.kill('SIGKILL');
  await once(c.gateway, 'exit');
  const gwDir = join(c.dir, 'gateway');
  rmSync(gwDir, { recursive: true, force: true });
  return gwDir;
}

async function multipart(s3: S3Client, bucket: string, key: string, parts: Buffer[]): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/x-tar' }));
  const done = [];
  for (const [i, body] of parts.entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: body }));
    done.push({ ETag, PartNumber: i + 1 });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: done } }));
}

// Recovery rebuilds a SQLite gateway from the snapshots and journal it ships to the stores; a
// PostgreSQL database keeps its own copies and ships neither (`admin snapshot` refuses).
describe.skipIf(process.env.SHARDGATE_TEST_META === 'postgres')('recover: a gateway whose data folder is gone comes back from the shard-stores and the master key', () => {
  it('restores every acknowledged write, with its metadata, through the last moment before the loss', { timeout: 240_000 }, async () => {
    const master = randomBytes(32).toString('hex');
    // No scheduled snapshots: only the one every gateway takes when it starts a journal epoch,
    // and the one asked for below. Everything else comes back from the journal.
    const c = await startCluster({ stores: 16, env: { SHARDGATE_MASTER_KEY: master, SHARDGATE_SNAPSHOT_INTERVAL_MS: '0', SHARDGATE_AUDIT_INTERVAL_MS: '0' } });
    let s3 = c.client();
    const objects = await seedBucket(s3, 'keep', SIZES, (i) => `before-${i} é&+`);
    const snap = await runAdmin(c, ['snapshot']);
    expect(snap.code, snap.all).toBe(0);
    expect(snap.all).toMatch(/snapshot \d+: .* manifest on 16 stores/);

    // A burst of writes after the last snapshot, the last one answered just before the loss.
    const user = await runAdmin(c, ['user', 'create', 'carol', '--json']);
    expect(user.code, user.all).toBe(0);
    const carol = JSON.parse(user.out) as { accessKeyId: string; secretAccessKey: string };
    const meta = { ContentType: 'image/png', Metadata: { owner: 'team a', n: '7' }, CacheControl: 'max-age=60' };
    const after = randomBytes(5000);
    await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'after-snapshot', Body: after, ...meta }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'keep', Key: 'after-snapshot', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)];
    await multipart(s3, 'keep', 'big.tar', parts);
    const [gone] = [...objects.keys()];
    await s3.send(new DeleteObjectCommand({ Bucket: 'keep', Key: gone }));
    objects.delete(gone!);
    const replaced = randomBytes(300);
    await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'before-3 é&+', Body: replaced }));
    objects.set('before-3 é&+', replaced);
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ['carol'] }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::keep/*' }] };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'keep', Policy: JSON.stringify(policy) }));
    // A burst: 48 writes, 16 in flight, every one acknowledged before the disk goes.
    const burst = new Map(Array.from({ length: 48 }, (_, i) => [`burst/${i}`, randomBytes(1 + i * 997)] as const));
    const queue = [...burst];
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: item[0], Body: item[1] }));
    }));
    for (const [k, v] of burst) objects.set(k, v);
    const last = randomBytes(77);
    await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'the-last-write', Body: last }));

    const gwDir = await loseGatewayDisk(c);
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
    expect(rec.all).toMatch(/replayed \d+ journal entr/);
    expect(rec.all).not.toMatch(/NOT RESTORED/);
    expect(rec.all).toMatch(/every blob on the stores is in the recovered metadata/);
    expect(existsSync(join(gwDir, 'meta.db'))).toBe(true);
    const again = await runAdmin(c, ['recover', '--data', gwDir], { SHARDGATE_SHARD_STORES: stores, SHARDGATE_MASTER_KEY: master });
    expect(again.code).not.toBe(0);
    expect(again.all).toMatch(/exists: recover into an empty data folder/);

    await c.restartGateway();
    s3 = c.client();
    for (const [key, body] of objects) expect(md5Hex(await objectBytes(s3, 'keep', key)), key).toBe(md5Hex(body));
    expect(md5Hex(await objectBytes(s3, 'keep', 'after-snapshot'))).toBe(md5Hex(after));
    expect(md5Hex(await objectBytes(s3, 'keep', 'the-last-write'))).toBe(md5Hex(last));
    expect(md5Hex(await objectBytes(s3, 'keep', 'big.tar'))).toBe(md5Hex(Buffer.concat(parts)));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'keep', Key: 'after-snapshot' }));
    expect(head).toMatchObject({ ContentType: 'image/png', Metadata: { owner: 'team a', n: '7' }, CacheControl: 'max-age=60' });
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'keep', Key: 'after-snapshot' }))).TagSet).toEqual([{ Key: 'k', Value: 'v' }]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'keep', Key: 'big.tar' }))).ContentType).toBe('application/x-tar');
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: 'keep', Key: gone })))).toMatchObject({ status: 404 });
    expect(JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: 'keep' }))).Policy!)).toEqual(policy);
    // A user created after the snapshot keeps her key and what the policy gives her.
    const asCarol = c.client({ credentials: carol });
    expect(md5Hex(await objectBytes(asCarol, 'keep', 'the-last-write'))).toBe(md5Hex(last));

    // The recovered gateway writes again, and a second loss brings that back too.
    const fresh = randomBytes(70_000);
    await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'after-recovery', Body: fresh }));
    expect(md5Hex(await objectBytes(s3, 'keep', 'after-recovery'))).toBe(md5Hex(fresh));
    const gwDir2 = await loseGatewayDisk(c);
    const rec2 = await runAdmin(c, ['recover', '--data', gwDir2], { SHARDGATE_SHARD_STORES: stores, SHARDGATE_MASTER_KEY: master });
    expect(rec2.code, rec2.all).toBe(0);
    await c.restartGateway();
    s3 = c.client();
    expect(md5Hex(await objectBytes(s3, 'keep', 'after-recovery'))).toBe(md5Hex(fresh));
    expect(md5Hex(await objectBytes(s3, 'keep', 'the-last-write'))).toBe(md5Hex(last));
  });

  it('a store that forges pieces of the snapshot blob makes recovery fail with a clear error, never a TypeError', { timeout: 240_000 }, async () => {
    const master = randomBytes(32).toString('hex');
    const c = await startCluster({ stores: 16, scope: 'each', env: { SHARDGATE_MASTER_KEY: master, SHARDGATE_SNAPSHOT_INTERVAL_MS: '0', SHARDGATE_AUDIT_INTERVAL_MS: '0' } });
    await seedBucket(c.client(), 'forged', [1, 70_000], (i) => `k${i}`);
    const snap = await runAdmin(c, ['snapshot']);
    expect(snap.code, snap.all).toBe(0);
    const db = new Database(join(c.dir, 'gateway', 'meta.db'), { readonly: true, fileMustExist: true });
    const { blob_id: blobId } = db.prepare('SELECT blob_id FROM snapshots ORDER BY id DESC LIMIT 1').get() as { blob_id: string };
    db.close();
    // The holder of data piece 0: reads ask the data holders first, so its forged piece is decoded.
    const holder = c.stores.find((s) => shardsOnDisk(s.dataDir).includes(`${blobId}.0`));
    expect(holder).toBeDefined();
    await respawnStore(c, holder!, { env: { SHARDGATE_TEST_LIE_ON_READ: '1' } });
    const gwDir = await loseGatewayDisk(c);
    const stores = c.stores.map((s) => `${s.id}=${s.url}`).join(',');
    // --force: the liar's copy of the manifest does not open either, which alone would stop recovery.
    const rec = await runAdmin(c, ['recover', '--force', '--data', gwDir], { SHARDGATE_SHARD_STORES: stores, SHARDGATE_MASTER_KEY: master });
    expect(rec.all).not.toMatch(/TypeError|weak ?map/i);
    expect(rec.code, rec.all).not.toBe(0);
    expect(rec.all).toMatch(/the snapshot blob does not authenticate/);
    expect(existsSync(join(gwDir, 'meta.db'))).toBe(false);
    expect(readdirSync(gwDir).filter((f) => f.startsWith('meta.db'))).toEqual([]);
    // Left out, the liar costs nothing: any 10 stores rebuild the snapshot.
    const without = c.stores.filter((s) => s !== holder).map((s) => `${s.id}=${s.url}`).join(',');
    const ok = await runAdmin(c, ['recover', '--force', '--data', gwDir], { SHARDGATE_SHARD_STORES: without, SHARDGATE_MASTER_KEY: master });
    expect(ok.code, ok.all).toBe(0);
  });
});
