/**
 * Several stateless gateways on one PostgreSQL database and one set of shard-stores serve one
 * namespace with S3's read-after-write and list-after-write consistency; what is changed
 * through one applies at once on the others; background work runs on one of them and moves
 * when it dies (issue 10, "How it is tested").
 */
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketPolicyCommand, DeleteObjectCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutObjectCommand, PutObjectLockConfigurationCommand,
  S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRequest, type AdminTarget } from '../../cli/admin.js';
import type { ClusterView } from '../../gateway/admin/cluster.js';
import type { RepairJobView } from '../../gateway/admin/repair.js';
import {
  ACCESS_KEY, SECRET_KEY, pgDatabase, requireBuild, respawnStore, runAdmin, spawnAndWait, startCluster, type Cluster,
} from '../helpers/cluster.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { onClose } from '../helpers/registry.js';
import { bytes, objectBytes, outcomes, s3Error } from '../helpers/s3.js';

const skip = postgresSkipReason();
const TTL_MS = 3000;
const STORES = 17;
const METRICS_TOKEN = 'multi-gateway-metrics-token';

describe.skipIf(skip)(`three gateways on one PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let c: Cluster;
  const target = (i: number): AdminTarget => ({ endpoint: c.gateways[i]!.endpoint, region: 'us-east-1', accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
  const admin = (i: number, args: string[]) => runAdmin(c, args, { SHARDGATE_ENDPOINT: c.gateways[i]!.endpoint });
  const userClient = (i: number, key: { accessKeyId: string; secretAccessKey: string }): S3Client => c.clientOf(i, { credentials: key });
  const LOST = /^(412 PreconditionFailed|409 ConditionalRequestConflict)$/;

  beforeAll(async () => {
    c = await startCluster({
      // Sixteen stores hold every blob's pieces, and one spare takes what repair rebuilds (a
      // piece is rebuilt on a node the blob is not on yet).
      meta: 'postgres', gateways: 3, stores: STORES,
      // Repair slowed down so that a pass is still under way when its gateway is killed.
      env: { SHARDGATE_LEASE_TTL_MS: String(TTL_MS), SHARDGATE_METRICS_TOKEN: METRICS_TOKEN, SHARDGATE_REPAIR_RATE: '2MiB' },
    });
    await c.clientOf(0).send(new CreateBucketCommand({ Bucket: 'shared' }));
  }, 120_000);

  it('an object written through one gateway is read and listed through every other at once', { timeout: 30_000 }, async () => {
    for (let i = 0; i < 3; i++) {
      const body = `through gateway ${i}`;
      await c.clientOf(i).send(new PutObjectCommand({ Bucket: 'shared', Key: `k${i}`, Body: body }));
      for (let j = 0; j < 3; j++) {
        const got = await c.clientOf(j).send(new GetObjectCommand({ Bucket: 'shared', Key: `k${i}` }));
        expect(await got.Body!.transformToString()).toBe(body);
        const listed = await c.clientOf(j).send(new ListObjectsV2Command({ Bucket: 'shared' }));
        expect(listed.Contents!.map((o) => o.Key)).toContain(`k${i}`);
      }
    }
  });

  it('conditional writes race across gateways: exactly one If-None-Match and one If-Match writer wins', { timeout: 30_000 }, async () => {
    const clients = [0, 1, 2].map((i) => c.clientOf(i));
    const bodies = Array.from({ length: 18 }, (_, i) => `writer ${i}`);
    const put = (i: number, Key: string, extra: { IfMatch?: string; IfNoneMatch?: string }) =>
      clients[i % 3]!.send(new PutObjectCommand({ Bucket: 'shared', Key, Body: bodies[i], ...extra }));

    const create = await outcomes(bodies.map((_, i) => put(i, 'race-new', { IfNoneMatch: '*' })));
    expect(create.won).toBe(1);
    for (const l of create.lost) expect(l).toMatch(LOST);
    const winner = await objectBytes(clients[1]!, 'shared', 'race-new');
    expect(bodies).toContain(winner.toString());

    const { ETag } = await clients[0]!.send(new PutObjectCommand({ Bucket: 'shared', Key: 'race-old', Body: 'the first' }));
    const replace = await outcomes(bodies.map((_, i) => put(i, 'race-old', { IfMatch: ETag! })));
    expect(replace.won).toBe(1);
    for (const l of replace.lost) expect(l).toMatch(LOST);
    const now = await clients[2]!.send(new HeadObjectCommand({ Bucket: 'shared', Key: 'race-old' }));
    expect(now.ETag).not.toBe(ETag);
    expect(bodies).toContain((await objectBytes(clients[0]!, 'shared', 'race-old')).toString());
  });

  it('a bucket policy, an access key and an Object Lock setting changed through one gateway apply at once on the others', { timeout: 60_000 }, async () => {
    // An access key made through gateway 0 signs requests to gateways 1 and 2 at once.
    const made = await admin(0, ['user', 'create', 'alice', '--json']);
    expect(made.code, made.all).toBe(0);
    const key = JSON.parse(made.out) as { accessKeyId: string; secretAccessKey: string };
    await c.clientOf(0).send(new PutObjectCommand({ Bucket: 'shared', Key: 'for-alice', Body: 'hello alice' }));
    for (const i of [1, 2]) expect(await s3Error(userClient(i, key).send(new GetObjectCommand({ Bucket: 'shared', Key: 'for-alice' })))).toEqual({ code: 'AccessDenied', status: 403 });

    // A policy set through gateway 1 lets her read through 0 and 2; deleted through 2, it no longer does on 0 and 1.
    await c.clientOf(1).send(new PutBucketPolicyCommand({
      Bucket: 'shared',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::000000000000:user/alice'] }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::shared/for-alice' }],
      }),
    }));
    for (const i of [0, 2]) expect((await objectBytes(userClient(i, key), 'shared', 'for-alice')).toString()).toBe('hello alice');
    await c.clientOf(2).send(new DeleteBucketPolicyCommand({ Bucket: 'shared' }));
    for (const i of [0, 1]) expect(await s3Error(userClient(i, key).send(new GetObjectCommand({ Bucket: 'shared', Key: 'for-alice' })))).toEqual({ code: 'AccessDenied', status: 403 });

    // Her key disabled through gateway 1 is refused by 0 and 2; enabled again, accepted; deleted through 2, refused everywhere.
    const list = (i: number) => userClient(i, key).send(new ListObjectsV2Command({ Bucket: 'shared' }));
    await c.clientOf(0).send(new PutBucketPolicyCommand({
      Bucket: 'shared',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::000000000000:user/alice'] }, Action: 's3:ListBucket', Resource: 'arn:aws:s3:::shared' }],
      }),
    }));
    for (const i of [0, 1, 2]) await list(i);
    expect((await admin(1, ['key', 'disable', key.accessKeyId])).code).toBe(0);
    for (const i of [0, 2]) expect((await s3Error(list(i))).status).toBe(403);
    expect((await admin(2, ['key', 'enable', key.accessKeyId])).code).toBe(0);
    for (const i of [0, 1]) await list(i);
    expect((await admin(2, ['key', 'delete', key.accessKeyId])).code).toBe(0);
    for (const i of [0, 1, 2]) expect(await s3Error(list(i))).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
    await c.clientOf(0).send(new DeleteBucketPolicyCommand({ Bucket: 'shared' }));

    // A default retention set through gateway 1 locks what is written through 2 against deletion through 0.
    await c.clientOf(0).send(new CreateBucketCommand({ Bucket: 'locked', ObjectLockEnabledForBucket: true }));
    await c.clientOf(1).send(new PutObjectLockConfigurationCommand({
      Bucket: 'locked', ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } } },
    }));
    const kept = await c.clientOf(2).send(new PutObjectCommand({ Bucket: 'locked', Key: 'kept', Body: 'retained' }));
    const head = await c.clientOf(0).send(new HeadObjectCommand({ Bucket: 'locked', Key: 'kept' }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(await s3Error(c.clientOf(0).send(new DeleteObjectCommand({ Bucket: 'locked', Key: 'kept', VersionId: kept.VersionId })))).toEqual({ code: 'AccessDenied', status: 403 });
    // The rule removed through gateway 0: what is written through 1 is no longer retained, and 2 deletes it.
    await c.clientOf(0).send(new PutObjectLockConfigurationCommand({ Bucket: 'locked', ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
    const free = await c.clientOf(1).send(new PutObjectCommand({ Bucket: 'locked', Key: 'free', Body: 'not retained' }));
    expect((await c.clientOf(2).send(new HeadObjectCommand({ Bucket: 'locked', Key: 'free' }))).ObjectLockMode).toBeUndefined();
    await c.clientOf(2).send(new DeleteObjectCommand({ Bucket: 'locked', Key: 'free', VersionId: free.VersionId }));
  });

  it('parts of one multipart upload sent through different gateways complete through a third', { timeout: 60_000 }, async () => {
    const parts = [bytes(5 * 1024 * 1024, 'part 1'), bytes(5 * 1024 * 1024 + 17, 'part 2'), bytes(300_001, 'part 3')];
    const { UploadId } = await c.clientOf(0).send(new CreateMultipartUploadCommand({ Bucket: 'shared', Key: 'spread' }));
    const etags = [];
    for (const [i, Body] of parts.entries()) {
      // Parts 1 and 3 through gateway 0, part 2 through gateway 1.
      const r = await c.clientOf(i === 1 ? 1 : 0).send(new UploadPartCommand({ Bucket: 'shared', Key: 'spread', UploadId, PartNumber: i + 1, Body }));
      etags.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await c.clientOf(2).send(new CompleteMultipartUploadCommand({ Bucket: 'shared', Key: 'spread', UploadId, MultipartUpload: { Parts: etags } }));
    const whole = Buffer.concat(parts);
    for (let i = 0; i < 3; i++) expect((await objectBytes(c.clientOf(i), 'shared', 'spread')).equals(whole), `through gateway ${i}`).toBe(true);
  });

  it('a gateway killed in the middle of uploads loses no acknowledged object; restarted, it serves again', { timeout: 90_000 }, async () => {
    const victim = 1;
    const bodies = Array.from({ length: 16 }, (_, i) => bytes(1024 * 1024 + i * 4099, `kill ${i}`));
    let firstAck!: () => void;
    const acked = new Promise<void>((r) => (firstAck = r));
    const puts = bodies.map((Body, i) => c.clientOf(i % 3).send(new PutObjectCommand({ Bucket: 'shared', Key: `under-kill/${i}`, Body })).then(
      () => { firstAck(); return true; },
      () => false,
    ));
    await acked;
    const gw = c.gateways[victim]!.child;
    const exited = once(gw, 'exit');
    gw.kill('SIGKILL');
    await exited;
    const ok = await Promise.all(puts);
    // Only writes through the killed gateway may have failed.
    ok.forEach((done, i) => { if (i % 3 !== victim) expect(done, `PUT ${i} through gateway ${i % 3}`).toBe(true); });
    const through = (i: number) => ok.flatMap((done, k) => (done ? [k] : [])).map(async (k) => {
      expect((await objectBytes(c.clientOf(i), 'shared', `under-kill/${k}`)).equals(bodies[k]!), `under-kill/${k} through gateway ${i}`).toBe(true);
    });
    for (const i of [0, 2]) await Promise.all(through(i));
    console.log(`${ok.filter(Boolean).length} of 16 PUTs acknowledged with gateway ${victim} killed mid-upload`);

    await c.restartGatewayAt(victim);
    await Promise.all(through(victim));
    await c.clientOf(victim).send(new PutObjectCommand({ Bucket: 'shared', Key: 'after-restart', Body: 'back' }));
    expect((await objectBytes(c.clientOf(0), 'shared', 'after-restart')).toString()).toBe('back');
  });

  it('admin nodes, repair, audit, cluster and the metrics answer from every gateway; one runs the background work', { timeout: 90_000 }, async () => {
    const holders = new Set<string>();
    let leading = 0;
    for (let i = 0; i < 3; i++) {
      const nodes = await admin(i, ['nodes', '--json']);
      expect(nodes.code, nodes.all).toBe(0);
      expect((JSON.parse(nodes.out) as unknown[]).length).toBe(STORES);
      const audit = await admin(i, ['audit', '--json']);
      expect(audit.code, audit.all).toBe(0);
      expect((JSON.parse(audit.out) as unknown[]).length).toBe(STORES);
      const repair = await admin(i, ['repair', '--json']);
      expect(repair.code, repair.all).toBe(0);
      expect((JSON.parse(repair.out) as { job: unknown }).job).not.toBeNull();
      const cluster = await admin(i, ['cluster', '--json']);
      expect(cluster.code, cluster.all).toBe(0);
      const view = JSON.parse(cluster.out) as ClusterView;
      expect(view.backend).toBe('postgres');
      if (view.gateway.leading) leading++;
      const lease = view.leases.find((l) => l.name === 'background')!;
      expect(lease.live).toBe(true);
      holders.add(lease.holder);
      const res = await fetch(`${c.gateways[i]!.endpoint}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^shardgate_piece_ops_total \d+$/m);
    }
    expect(holders.size).toBe(1);
    expect(leading).toBe(1);
    expect((await admin(0, ['cluster'])).out).toMatch(/LEASE\s+HOLDER\s+EXPIRES/);
  });

  it('a repair asked of a standing-by gateway runs on the lease holder, and finishes on another when the holder is killed', { timeout: 150_000 }, async () => {
    const holderIndex = async (via: number): Promise<number> => {
      const { leases } = await adminRequest<ClusterView>(target(via), 'GET', '/cluster');
      const lease = leases.find((l) => l.name === 'background' && l.live);
      const pid = lease && Number(lease.holder.split(':')[1]);
      return c.gateways.findIndex((g) => g.child.pid === pid && g.child.exitCode === null && g.child.signalCode === null);
    };
    const holder = await holderIndex(0);
    expect(holder).toBeGreaterThanOrEqual(0);
    const asker = (holder + 1) % 3;
    const other = (holder + 2) % 3;

    const seeded = Array.from({ length: 8 }, (_, i) => bytes(1024 * 1024 + i, `heal ${i}`));
    await c.clientOf(other).send(new CreateBucketCommand({ Bucket: 'heal' }));
    for (const [i, Body] of seeded.entries()) await c.clientOf(other).send(new PutObjectCommand({ Bucket: 'heal', Key: `h${i}`, Body }));

    // A disk replaced by an empty one: the store comes back with its key and none of its pieces.
    const wiped = c.stores[5]!;
    wiped.child.kill('SIGKILL');
    await wiped.exited;
    for (const f of readdirSync(wiped.dataDir)) if (f !== 'store-key.pem') rmSync(join(wiped.dataDir, f), { recursive: true, force: true });
    await respawnStore(c, wiped);

    const { job } = await adminRequest<{ job: RepairJobView }>(target(asker), 'POST', '/repair', { full: true });
    const jobOf = async (via: number) => (await adminRequest<{ job: RepairJobView }>(target(via), 'GET', `/repair/jobs/${job.id}`)).job;
    // The holder picks the job up from the database (it polls every 5 s) and rebuilds pieces.
    const t0 = Date.now();
    let seen = await jobOf(asker);
    while (seen.state === 'running' && seen.piecesRebuilt === 0 && Date.now() - t0 < 60_000) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await jobOf(asker);
    }
    expect(seen.state, JSON.stringify(seen)).toBe('running');
    expect(seen.piecesRebuilt).toBeGreaterThan(0);

    const gw = c.gateways[holder]!.child;
    const exited = once(gw, 'exit');
    gw.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    let next = -1;
    while (next < 0 && Date.now() - killedAt < 60_000) {
      await new Promise((r) => setTimeout(r, 200));
      next = await holderIndex(asker);
    }
    const movedIn = Date.now() - killedAt;
    expect(next).toBeGreaterThanOrEqual(0);
    expect(next).not.toBe(holder);
    console.log(`background lease moved from gateway ${holder} to ${next} ${movedIn} ms after the kill (ttl ${TTL_MS} ms); job ${job.id} had rebuilt ${seen.piecesRebuilt} pieces`);
    // Within ttl + renew on a quiet machine; the issue's bound is a minute.
    expect(movedIn).toBeLessThan(60_000);

    let done = await jobOf(other);
    while (done.state === 'running' && Date.now() - killedAt < 100_000) {
      await new Promise((r) => setTimeout(r, 500));
      done = await jobOf(other);
    }
    expect(done.state, JSON.stringify(done)).toBe('complete');
    expect(done.piecesRebuilt).toBeGreaterThan(seen.piecesRebuilt);
    const status = await adminRequest<{ backlog: { degraded: number; blobs: number } }>(target(other), 'GET', '/repair');
    expect(status.backlog.degraded).toBe(0);
    for (const [i, body] of seeded.entries()) expect((await objectBytes(c.clientOf(asker), 'heal', `h${i}`)).equals(body)).toBe(true);

    await c.restartGatewayAt(holder);
    expect((await objectBytes(c.clientOf(holder), 'heal', 'h0')).equals(seeded[0]!)).toBe(true);
  });

  it('shardgate dev --gateways 3 --meta URL prints every endpoint; they serve one namespace', { timeout: 90_000 }, async () => {
    requireBuild();
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-dev-mg-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    const env = { ...process.env, SHARDGATE_ROOT_USER: ACCESS_KEY, SHARDGATE_ROOT_PASSWORD: SECRET_KEY, SHARDGATE_DATA_DIR: dir, SHARDGATE_PORT: '0' };
    const { child, match, output } = await spawnAndWait(['dev', '--gateways', '3', '--meta', await pgDatabase()], env, /S3 endpoint:\s+(http:\/\/\S+)/, 90_000);
    onClose(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    });
    const also = output.map((l) => /also at (.+)$/.exec(l)).find(Boolean);
    expect(also, output.join('\n')).toBeTruthy();
    const endpoints = [match[1]!, ...also![1]!.split(', ')];
    expect(new Set(endpoints).size).toBe(3);
    const client = (endpoint: string): S3Client => new S3Client({
      endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1,
    });
    await client(endpoints[0]!).send(new CreateBucketCommand({ Bucket: 'dev-shared' }));
    await client(endpoints[1]!).send(new PutObjectCommand({ Bucket: 'dev-shared', Key: 'k', Body: 'through the second' }));
    expect((await objectBytes(client(endpoints[2]!), 'dev-shared', 'k')).toString()).toBe('through the second');
    const gone = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await gone;
    expect(code).toBe(0);
  });
});
