import Koa from 'koa';
import aws4 from 'aws4';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminRequest, adminTarget, type AdminTarget } from '../../cli/admin.js';
import type { ClusterView } from '../../gateway/admin/cluster.js';
import type { AdminContext } from '../../gateway/admin/context.js';
import type { NodeView } from '../../gateway/admin/nodes.js';
import type { RepairJobView } from '../../gateway/admin/repair.js';
import { adminMiddleware } from '../../gateway/admin/router.js';
import { MetricsHistory } from '../../gateway/metrics-history.js';
import { requestMetrics } from '../../gateway/metrics.js';
import { onClose } from '../helpers/registry.js';
import { adminContextOf, startFixture, type Fixture } from './admin-fixture.js';

const ROOT = { accessKeyId: 'ADMINROOTKEY', secretAccessKey: 'admin-root-secret-123', source: 'env' as const };
const TOKEN = 'metrics-token-0123456789';

async function serve(fx: Fixture): Promise<{ url: string; target: AdminTarget }> {
  const admin: AdminContext = await adminContextOf(fx, ROOT, TOKEN);
  const app = new Koa();
  app.use(requestMetrics(fx.metrics));
  app.use(adminMiddleware(admin));
  // Stands in for the S3 handler: anything the admin layer passes on lands here.
  app.use((koa) => {
    koa.state.operation = 'ListObjects';
    koa.body = 's3';
  });
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  onClose(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, target: { endpoint: url, region: 'us-east-1', accessKeyId: ROOT.accessKeyId, secretAccessKey: ROOT.secretAccessKey } };
}

describe('admin API', () => {
  it('answers only SigV4 requests signed with the root credentials', async () => {
    const { url, target } = await serve(await startFixture());
    const anon = await fetch(`${url}/_shardgate/admin/v1/nodes`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe('AccessDenied');
    await expect(adminRequest(target, 'GET', '/nodes')).resolves.toBeDefined();
    await expect(adminRequest({ ...target, secretAccessKey: 'wrong-secret-value' }, 'GET', '/nodes')).rejects.toThrow(/refused the credentials/);
    await expect(adminRequest({ ...target, accessKeyId: 'SOMEUSERKEY' }, 'GET', '/nodes')).rejects.toThrow(/only the root credentials/);
    // A body that does not match its signed hash.
    const req: aws4.Request = { host: new URL(url).host, path: '/_shardgate/admin/v1/repair', method: 'POST', service: 's3', region: 'us-east-1',
      headers: { 'content-type': 'application/json' }, body: '{"full":true}' };
    aws4.sign(req, ROOT);
    const h = { ...(req.headers as Record<string, string>) };
    delete h.Host;
    delete h['Content-Length'];
    const tampered = await fetch(`${url}/_shardgate/admin/v1/repair`, { method: 'POST', headers: h, body: '{"full":false}' });
    expect(tampered.status).toBe(403);
  });

  it('lists nodes with state, zone, free space, score and pieces held', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    await fx.put('k', 1_000);
    const { target } = await serve(fx);
    const { nodes } = await adminRequest<{ nodes: NodeView[] }>(target, 'GET', '/nodes');
    expect(nodes).toHaveLength(20);
    expect(nodes[0]).toMatchObject({ id: 'n00', state: 'active', zone: 'zone-1', score: 1, freeBytes: 1e12 });
    expect(nodes.reduce((s, n) => s + n.piecesHeld, 0)).toBe(16);
    await expect(adminRequest(target, 'GET', '/nodes/nope')).rejects.toThrow(/NoSuchNode/);
    await expect(adminRequest(target, 'GET', '/nothing')).rejects.toThrow(/NoSuchRoute/);
    await expect(adminRequest(target, 'POST', '/nodes/n00')).rejects.toThrow(/MethodNotAllowed/);
  });

  it('shows the leases and whether the gateway answering runs the background work', async () => {
    const fx = await startFixture();
    const { target } = await serve(fx);
    // A gateway alone on its database runs the background work without a lease.
    expect(await adminRequest<ClusterView>(target, 'GET', '/cluster')).toEqual({ gateway: { holder: '', leading: true }, backend: 'sqlite', leases: [] });
    await fx.meta.leases.acquire('background', 'host:42:abc', 30_000);
    const { leases } = await adminRequest<ClusterView>(target, 'GET', '/cluster');
    expect(leases).toEqual([{ name: 'background', holder: 'host:42:abc', expiresAt: expect.any(String), live: true, generation: 1 }]);
    await fx.meta.leases.release('background', 'host:42:abc');
    expect((await adminRequest<ClusterView>(target, 'GET', '/cluster')).leases[0]!.live).toBe(false);
  });

  it('drains a node through the API and refuses state changes that would lose pieces', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const { blobId } = await fx.put('k', 3_000);
    const holder = (await fx.meta.getBlob(blobId))!.placement[0]!;
    const { target } = await serve(fx);
    await expect(adminRequest(target, 'POST', `/nodes/${holder}/state`, { state: 'removed' })).rejects.toThrow(/drain it first/);
    await expect(adminRequest(target, 'POST', `/nodes/${holder}/state`, { state: 'offline' })).rejects.toThrow(/InvalidRequest/);
    const res = await adminRequest<{ message: string; node: NodeView }>(target, 'POST', `/nodes/${holder}/state`, { state: 'draining' });
    expect(res.node.state).toBe('draining');
    expect(res.message).toMatch(/draining/);
    await fx.worker.idle();
    const { node } = await adminRequest<{ node: NodeView }>(target, 'GET', `/nodes/${holder}`);
    expect(node).toMatchObject({ state: 'removed', piecesHeld: 0 });
  });

  it('starts a repair and shows its progress and the backlog', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const { blobId } = await fx.put('k', 50_000);
    const lost = (await fx.meta.getBlob(blobId))!.placement[2]!;
    fx.stores.down.add(lost);
    const { target } = await serve(fx);
    const before = await adminRequest<{ backlog: { degraded: number } }>(target, 'GET', '/repair');
    expect(before.backlog.degraded).toBe(0); // not known to be down yet
    const { job } = await adminRequest<{ job: RepairJobView }>(target, 'POST', '/repair', { full: true });
    expect(job).toMatchObject({ state: 'running', threshold: 16, trigger: 'admin' });
    await fx.worker.idle();
    const after = await adminRequest<{ job: RepairJobView }>(target, 'GET', `/repair/jobs/${job.id}`);
    expect(after.job).toMatchObject({ state: 'complete', piecesRebuilt: 1, blobsRepaired: 1 });
    expect(after.job.bytesRead).toBeGreaterThan(0);
    await expect(adminRequest(target, 'GET', '/repair/jobs/999')).rejects.toThrow(/NoSuchJob/);
  });

  it('serves Prometheus metrics to the bearer token or SigV4, and leaves /metrics to S3 otherwise', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    await fx.put('k', 1_000);
    const { url, target } = await serve(fx);
    expect(await (await fetch(`${url}/bucket?list-type=2`)).text()).toBe('s3');
    expect((await fetch(`${url}/_shardgate/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/_shardgate/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const res = await fetch(`${url}/_shardgate/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('shardgate_s3_requests_total{operation="ListObjects",code="200"} 1');
    expect(text).toMatch(/shardgate_s3_request_duration_seconds_bucket\{operation="ListObjects",le="\+Inf"\} 1/);
    expect(text).toContain('shardgate_pieces{state="healthy"} 16');
    expect(text).toContain('shardgate_nodes{state="active"} 20');
    expect(text).toContain('shardgate_repair_backlog_blobs{target="full"} 0');
    expect(text).toContain('shardgate_node_pieces{node="n00",zone="zone-1"}');
    // The conventional path, for scrapers that send the token.
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toBe('s3');
    // SigV4 with the root credentials works too.
    const signed: aws4.Request = { host: new URL(url).host, path: '/_shardgate/metrics', method: 'GET', service: 's3', region: target.region };
    aws4.sign(signed, ROOT);
    const h = { ...(signed.headers as Record<string, string>) };
    delete h.Host;
    expect((await fetch(`${url}/_shardgate/metrics`, { headers: h })).status).toBe(200);
  });
});

describe('shardgate admin: endpoint and credentials', () => {
  it('uses SHARDGATE_ENDPOINT, else SHARDGATE_PORT on loopback', async () => {
    const creds = { SHARDGATE_ROOT_USER: 'abc', SHARDGATE_ROOT_PASSWORD: 'abcdefgh' };
    expect(adminTarget({ ...creds }).endpoint).toBe('http://127.0.0.1:9000');
    expect(adminTarget({ ...creds, SHARDGATE_PORT: '9123' }).endpoint).toBe('http://127.0.0.1:9123');
    expect(adminTarget({ ...creds, SHARDGATE_PORT: '9123', SHARDGATE_ENDPOINT: 'http://10.0.0.5:80/' }).endpoint).toBe('http://10.0.0.5:80');
    expect(() => adminTarget({ SHARDGATE_ROOT_USER: 'abc' })).toThrow(/set both/);
  });

  it('falls back to the credentials file of the data folder, and says where it looked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-admin-cli-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    expect(() => adminTarget({ SHARDGATE_DATA_DIR: dir })).toThrow(/SHARDGATE_ROOT_USER.*root-credentials\.json/);
    writeFileSync(join(dir, 'root-credentials.json'), JSON.stringify({ accessKeyId: 'GW', secretAccessKey: 'gw-secret' }));
    expect(adminTarget({ SHARDGATE_DATA_DIR: dir })).toMatchObject({ accessKeyId: 'GW', secretAccessKey: 'gw-secret' });
    // `shardgate dev` keeps them one level down, and that one wins.
    mkdirSync(join(dir, 'gateway'));
    writeFileSync(join(dir, 'gateway', 'root-credentials.json'), JSON.stringify({ accessKeyId: 'DEV', secretAccessKey: 'dev-secret' }));
    expect(adminTarget({ SHARDGATE_DATA_DIR: dir }).accessKeyId).toBe('DEV');
  });

  it('sets, shows and removes a bucket quota, root only', async () => {
    const { target } = await serve(await startFixture());
    const path = '/buckets/bucket/quota';
    await expect(adminRequest(target, 'GET', path)).resolves.toEqual({ bucket: 'bucket', quotaBytes: null, usedBytes: 0 });
    await expect(adminRequest(target, 'PUT', path, { quotaBytes: 500 * 2 ** 30 })).resolves.toEqual({ bucket: 'bucket', quotaBytes: 500 * 2 ** 30, usedBytes: 0 });
    await expect(adminRequest(target, 'GET', path)).resolves.toMatchObject({ quotaBytes: 500 * 2 ** 30 });
    await expect(adminRequest(target, 'PUT', path, { quotaBytes: null })).resolves.toMatchObject({ quotaBytes: null });
    for (const bad of [0, -1, 1.5, '10G', undefined]) {
      await expect(adminRequest(target, 'PUT', path, { quotaBytes: bad })).rejects.toThrow(/InvalidRequest/);
    }
    await expect(adminRequest(target, 'GET', '/buckets/nope/quota')).rejects.toThrow(/NoSuchBucket/);
    await expect(adminRequest({ ...target, accessKeyId: 'SOMEUSERKEY' }, 'PUT', path, { quotaBytes: 1 })).rejects.toThrow(/only the root credentials/);
  });

  it('lists every bucket with its owner, bytes and current object count, root only', async () => {
    const fx = await startFixture();
    await fx.meta.createBucket('other', 'alice', 'us-east-1');
    await fx.put('a', 1000);
    await fx.put('b', 24);
    const { target } = await serve(fx);
    const { buckets } = await adminRequest<{ buckets: Array<Record<string, unknown>> }>(target, 'GET', '/buckets');
    expect(buckets).toEqual([
      { name: 'bucket', owner: 'root', createdAt: expect.stringMatching(/^\d{4}-/), usedBytes: 1024, objects: 2, quotaBytes: null },
      { name: 'other', owner: 'alice', createdAt: expect.stringMatching(/^\d{4}-/), usedBytes: 0, objects: 0, quotaBytes: null },
    ]);
    const light = await adminRequest<{ buckets: Array<Record<string, unknown>> }>(target, 'GET', '/buckets?objects=false');
    expect(light.buckets.map((b) => [b.name, b.usedBytes, b.objects])).toEqual([['bucket', 1024, null], ['other', 0, null]]);
    await expect(adminRequest({ ...target, accessKeyId: 'SOMEUSERKEY' }, 'GET', '/buckets')).rejects.toThrow(/only the root credentials/);
  });

  it('answers the activity history, or says there is none', async () => {
    const fx = await startFixture();
    const { target } = await serve(fx);
    await expect(adminRequest(target, 'GET', '/activity')).rejects.toThrow(/no activity history/);
    const admin = await adminContextOf(fx, ROOT, TOKEN);
    admin.activity = new MetricsHistory(fx.metrics, 10_000);
    fx.metrics.observeRequest('GetObject', 200, 0.5, 0, 100);
    admin.activity.sample(1_000);
    const app = new Koa();
    app.use(adminMiddleware(admin));
    const handle = app.callback();
    const server = createServer((req, res) => void handle(req, res)).listen(0, '127.0.0.1');
    await once(server, 'listening');
    onClose(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await expect(adminRequest({ ...target, endpoint: url }, 'GET', '/activity')).resolves.toEqual({
      intervalMs: 10_000,
      samples: [{ at: 1_000, ops: { GetObject: { requests: 1, errors: 0, bytesIn: 0, bytesOut: 100, latencySum: 0.5 } }, repairBytes: 0 }],
    });
  });

  it('explains an unreachable gateway', async () => {
    const t: AdminTarget = { endpoint: 'http://127.0.0.1:1', region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b' };
    await expect(adminRequest(t, 'GET', '/nodes')).rejects.toThrow(/cannot reach the gateway at http:\/\/127\.0\.0\.1:1.*SHARDGATE_ENDPOINT/);
  });
});
