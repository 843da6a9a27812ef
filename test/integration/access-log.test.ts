/**
 * The access log and the operator metrics of a real cluster: one JSON line on the gateway's
 * stdout per request, with the fields an operator filters on, and none of the secrets a
 * request carries (keys, signatures, SSE-C keys, bearer tokens); the banner lines stay as
 * they are; SHARDGATE_LOG_LEVEL silences it or, when invalid, stops the start with one line.
 * The metrics: event-loop delay and per-store piece latency, and every series the Grafana
 * dashboard in docs/ queries.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import aws4 from 'aws4';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, requireBuild, runAdmin, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { bytes, s3Error } from '../helpers/s3.js';
import { hmac, signingKey } from '../../gateway/auth/signing.js';
import { dashboardMetricNames } from '../helpers/dashboard.js';

const METRICS_TOKEN = 'metrics-bearer-token-5f1e0c2a9b7d';

interface Line {
  time: string;
  level: string;
  msg: string;
  req_id: string;
  operation: string;
  bucket?: string;
  key?: string;
  path?: string;
  status: number;
  error?: string;
  aborted?: boolean;
  bytes_in: number;
  bytes_out: number;
  duration_ms: number;
  user: string;
  remote?: string;
  client?: string;
  agent?: string;
}

let cluster: Cluster;
let user: { accessKeyId: string; secretAccessKey: string };
let s3: S3Client;
/** Every secret value a request of this file sent: none may reach the gateway's output. */
const secrets: string[] = [METRICS_TOKEN];

beforeAll(async () => {
  // Loopback is a trusted proxy here, so that a request can say whom it was relayed for.
  cluster = await startCluster({ scope: 'file', env: { SHARDGATE_METRICS_TOKEN: METRICS_TOKEN, SHARDGATE_TRUSTED_PROXIES: '127.0.0.1' } });
  const made = await runAdmin(cluster, ['user', 'create', 'logger', '--json']);
  expect(made.code, made.all).toBe(0);
  user = JSON.parse(made.out) as typeof user;
  secrets.push(user.secretAccessKey);
  s3 = cluster.client({ credentials: user });
  await s3.send(new CreateBucketCommand({ Bucket: 'logs' }));
});

const accessLines = (out: readonly string[]): Line[] =>
  out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line).filter((l) => l.msg === 'request');

/** The line of one request: written asynchronously, so it may take a moment to arrive. */
async function lineOf(requestId: string | null | undefined): Promise<Line> {
  expect(requestId).toMatch(/^[0-9A-F]{16}$/);
  for (let waited = 0; waited < 15_000; waited += 50) {
    const found = accessLines(cluster.gatewayOutput.stdout).filter((l) => l.req_id === requestId);
    if (found.length) {
      expect(found).toHaveLength(1);
      return found[0]!;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no access-log line for request ${requestId}`);
}

function expectCommon(l: Line): void {
  expect(l.level).toBe('info');
  expect(new Date(l.time).toISOString()).toBe(l.time);
  expect(l.duration_ms).toBeGreaterThanOrEqual(0);
  expect(l.remote).toBe('127.0.0.1');
}

/** A GET answer's head, then the client hangs up (after the first body bytes). */
function getAndHangUp(path: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${cluster.endpoint}${path}`, { headers }, (res) => {
      expect(res.statusCode).toBe(200);
      res.once('data', () => {
        req.destroy();
        resolve(res.headers['x-amz-request-id'] as string);
      });
    });
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
    req.end();
  });
}

describe('access log', () => {
  test('one line per S3 request with operation, bucket, key, status, bytes, duration, id and user', async () => {
    const body = bytes(70_000, 'put');
    const put = await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'dir/obj é+1', Body: body }));
    const putLine = await lineOf(put.$metadata.requestId);
    expectCommon(putLine);
    expect(putLine).toMatchObject({ msg: 'request', operation: 'PutObject', bucket: 'logs', key: 'dir/obj é+1', status: 200, user: user.accessKeyId });
    expect(putLine.bytes_in).toBe(body.length);
    expect(putLine.error).toBeUndefined();
    expect(putLine.aborted).toBeUndefined();
    expect(putLine.agent).toMatch(/aws-sdk-js/);

    const get = await s3.send(new GetObjectCommand({ Bucket: 'logs', Key: 'dir/obj é+1' }));
    expect(Buffer.from(await get.Body!.transformToByteArray()).equals(body)).toBe(true);
    const getLine = await lineOf(get.$metadata.requestId);
    expectCommon(getLine);
    expect(getLine).toMatchObject({ operation: 'GetObject', bucket: 'logs', key: 'dir/obj é+1', status: 200, bytes_in: 0, bytes_out: body.length, user: user.accessKeyId });
  });

  test('SSE-C: the line has the request, never the customer key or its MD5', async () => {
    const key = randomBytes(32);
    const keyB64 = key.toString('base64');
    const md5 = createHash('md5').update(key).digest('base64');
    secrets.push(keyB64, md5, key.toString('hex'));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'ssec', Body: 'sealed', SSECustomerAlgorithm: 'AES256', SSECustomerKey: keyB64 }));
    const l = await lineOf(put.$metadata.requestId);
    expect(l).toMatchObject({ operation: 'PutObject', key: 'ssec', status: 200, bytes_in: 6 });
    expect(JSON.stringify(l)).not.toMatch(/customer|server-side/i);
  });

  test('a presigned GET is logged as its signer, without its query', async () => {
    const signed = aws4.sign(
      { host: new URL(cluster.endpoint).host, method: 'GET', path: '/logs/dir/obj%20%C3%A9%2B1?X-Amz-Expires=300', service: 's3', region: 'us-east-1', signQuery: true },
      user,
    );
    const signature = new URL(signed.path!, cluster.endpoint).searchParams.get('X-Amz-Signature')!;
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    secrets.push(signature);
    const res = await fetch(`${cluster.endpoint}${signed.path!}`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const l = await lineOf(res.headers.get('x-amz-request-id'));
    expect(l).toMatchObject({ operation: 'GetObject', bucket: 'logs', key: 'dir/obj é+1', status: 200, bytes_out: 70_000, user: user.accessKeyId });
    expect(JSON.stringify(l)).not.toMatch(/X-Amz-|Expires|Credential/i);
  });

  test('a browser form upload is logged as its signer and key; its policy and signature are not', async () => {
    const boundary = '----access-log-form-0b1c2d';
    const now = new Date();
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const credential = `${user.accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const policy = Buffer.from(JSON.stringify({
      expiration: new Date(now.getTime() + 60_000).toISOString(),
      conditions: [{ bucket: 'logs' }, ['starts-with', '$key', 'forms/'], { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': amzDate }],
    })).toString('base64');
    const signature = hmac(signingKey(user.secretAccessKey, amzDate.slice(0, 8), 'us-east-1', 's3'), policy).toString('hex');
    secrets.push(policy, signature);
    const fields: Array<[string, string]> = [
      ['key', 'forms/${filename}'], ['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', credential], ['x-amz-date', amzDate], ['policy', policy], ['x-amz-signature', signature],
    ];
    const body = Buffer.concat([
      ...fields.map(([n, v]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`)),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\nform data\r\n--${boundary}--\r\n`),
    ]);
    const res = await fetch(`${cluster.endpoint}/logs`, { method: 'POST', body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    expect(res.status).toBe(204);
    const l = await lineOf(res.headers.get('x-amz-request-id'));
    expect(l).toMatchObject({ operation: 'PostObject', bucket: 'logs', key: 'forms/f.txt', status: 204, bytes_in: body.length, user: user.accessKeyId });
  });

  test('refusals: anonymous, a bad signature, a refusal before routing', async () => {
    const anon = await fetch(`${cluster.endpoint}/logs/dir/x`);
    expect(anon.status).toBe(403);
    const anonLine = await lineOf(anon.headers.get('x-amz-request-id'));
    expect(anonLine).toMatchObject({ operation: 'GetObject', bucket: 'logs', key: 'dir/x', status: 403, error: 'AccessDenied', user: 'anonymous' });
    expect(anonLine.client).toBeUndefined();
    // Relayed by a trusted proxy: the client it names as well as the proxy's address.
    const relayed = await fetch(`${cluster.endpoint}/logs/dir/x`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(await lineOf(relayed.headers.get('x-amz-request-id'))).toMatchObject({ status: 403, remote: '127.0.0.1', client: '203.0.113.9' });

    const wrong = 'not-the-secret-of-this-key-0123456789';
    secrets.push(wrong);
    const bad = cluster.client({ credentials: { accessKeyId: user.accessKeyId, secretAccessKey: wrong } });
    let requestId: string | undefined;
    try {
      await bad.send(new PutObjectCommand({ Bucket: 'logs', Key: 'forged', Body: 'x' }));
    } catch (err) {
      requestId = (err as { $metadata: { requestId?: string } }).$metadata.requestId;
    }
    expect(await s3Error(bad.send(new GetObjectCommand({ Bucket: 'logs', Key: 'forged' })))).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    expect(await lineOf(requestId)).toMatchObject({ operation: 'PutObject', key: 'forged', status: 403, error: 'SignatureDoesNotMatch', user: 'anonymous' });

    // An expectation the gateway cannot meet is refused before the request is routed.
    const fakeSignature = 'ab'.repeat(32);
    secrets.push(fakeSignature);
    const refused = await new Promise<string>((resolve, reject) => {
      const req = request(`${cluster.endpoint}/logs/a?versionId=1&X-Amz-Signature=${fakeSignature}`, { method: 'PUT', headers: { expect: 'something-else' } }, (res) => {
        res.resume();
        expect(res.statusCode).toBe(417);
        resolve(res.headers['x-amz-request-id'] as string);
      });
      req.on('error', reject);
      req.end('x');
    });
    expect(await lineOf(refused)).toMatchObject({ operation: 'Unknown', path: '/logs/a', status: 417, error: 'ExpectationFailed', user: 'anonymous' });
  });

  test('a client that hangs up mid-answer: the status sent, the bytes sent so far, aborted', async () => {
    const size = 24 * 1024 * 1024;
    await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'big', Body: bytes(size, 'big') }));
    const signed = aws4.sign({ host: new URL(cluster.endpoint).host, method: 'GET', path: '/logs/big', service: 's3', region: 'us-east-1' }, user);
    const requestId = await getAndHangUp('/logs/big', signed.headers as Record<string, string>);
    const l = await lineOf(requestId);
    expect(l).toMatchObject({ operation: 'GetObject', key: 'big', status: 200, aborted: true, user: user.accessKeyId });
    expect(l.bytes_out).toBeGreaterThan(0);
    expect(l.bytes_out).toBeLessThan(size);
  });

  test('admin and metrics requests are logged by their admin operation; the bearer token is not', async () => {
    const res = await fetch(`${cluster.endpoint}/_shardgate/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    await res.text();
    expect(await lineOf(res.headers.get('x-amz-request-id'))).toMatchObject({ operation: 'admin:GetMetrics', path: '/_shardgate/metrics', status: 200 });
    const nodes = await runAdmin(cluster, ['nodes', '--json']);
    expect(nodes.code, nodes.all).toBe(0);
    await expect.poll(() => accessLines(cluster.gatewayOutput.stdout).some((l) => l.operation === 'admin:ListNodes' && l.user !== 'anonymous')).toBe(true);
  });

  test('no secret anywhere in the output; the root secret only in the banner; every other stdout line whole', async () => {
    const { stdout, stderr } = cluster.gatewayOutput;
    const all = [...stdout, ...stderr];
    for (const s of secrets) expect(all.filter((l) => l.includes(s)), 'a secret in the output').toEqual([]);
    // The banner shows the root credentials to the person who started the gateway, nowhere else.
    expect(all.filter((l) => l.includes(SECRET_KEY) && !/^\s*(Secret key:|export AWS_ACCESS_KEY_ID=)/.test(l))).toEqual([]);
    expect(stdout.some((l) => /S3 endpoint:\s+http:\/\/127\.0\.0\.1:\d+$/.test(l))).toBe(true);
    for (const l of stdout.filter((x) => x.startsWith('{'))) expect(() => JSON.parse(l) as unknown, l).not.toThrow();
  });
});

describe('metrics', () => {
  async function scrape(): Promise<string> {
    const res = await fetch(`${cluster.endpoint}/_shardgate/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    return res.text();
  }

  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  test('event-loop delay and per-store piece latency', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'timed', Body: bytes(100_000, 'timed') }));
    await s3.send(new GetObjectCommand({ Bucket: 'logs', Key: 'timed' })).then((r) => r.Body!.transformToByteArray());
    const text = await scrape();
    for (const q of ['0.5', '0.99', '1']) {
      const v = sample(text, `shardgate_event_loop_delay_seconds{quantile="${q}"}`);
      expect(v, q).toBeGreaterThanOrEqual(0);
      expect(v, q).toBeLessThan(60);
    }
    expect(text).toContain('# TYPE shardgate_store_request_duration_seconds histogram');
    // Every piece of the PUT went to some store; the GET read from at least 10.
    const count = (op: string): number => cluster.stores.reduce((n, s) => n + (sample(text, `shardgate_store_request_duration_seconds_count{node="${s.id}",op="${op}"}`) ?? 0), 0);
    expect(count('put')).toBeGreaterThanOrEqual(16);
    expect(count('get')).toBeGreaterThanOrEqual(10);
    const inf = sample(text, `shardgate_store_request_duration_seconds_bucket{node="ss00",op="put",le="+Inf"}`);
    expect(inf).toBe(sample(text, 'shardgate_store_request_duration_seconds_count{node="ss00",op="put"}'));
    // No label by bucket or key.
    expect(text).not.toMatch(/shardgate_store_request_duration_seconds\S*\{[^}]*(bucket|key)=/);
    expect(sample(text, 'shardgate_log_dropped_lines_total')).toBe(0);
  });

  test('a write\'s wait for its metadata to be durable is timed by operation; a read waits for none', async () => {
    const waits = (text: string, operation: string): number => sample(text, `shardgate_write_durable_wait_seconds_count{operation="${operation}"}`) ?? 0;
    const before = await scrape();
    await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'durable', Body: bytes(4096, 'durable') }));
    await s3.send(new GetObjectCommand({ Bucket: 'logs', Key: 'durable' })).then((r) => r.Body!.transformToByteArray());
    const after = await scrape();
    expect(after).toContain('# TYPE shardgate_write_durable_wait_seconds histogram');
    expect(waits(after, 'PutObject') - waits(before, 'PutObject')).toBe(1);
    expect(waits(after, 'GetObject')).toBe(0);
    // The PUT's wait is part of its request's time.
    const sum = (text: string, m: string) => sample(text, `${m}_sum{operation="PutObject"}`) ?? 0;
    expect(sum(after, 'shardgate_write_durable_wait_seconds')).toBeLessThanOrEqual(sum(after, 'shardgate_s3_request_duration_seconds'));
  });

  test('received and sent bytes count bodies, even a small one read with the headers', async () => {
    const series = (dir: string) => `shardgate_s3_${dir}_bytes_total{operation="PutObject"}`;
    const get = (dir: string) => `shardgate_s3_${dir}_bytes_total{operation="GetObject"}`;
    const before = await scrape();
    await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'counted', Body: bytes(5000, 'counted') }));
    await s3.send(new GetObjectCommand({ Bucket: 'logs', Key: 'counted' })).then((r) => r.Body!.transformToByteArray());
    const after = await scrape();
    expect((sample(after, series('received')) ?? 0) - (sample(before, series('received')) ?? 0)).toBe(5000);
    expect((sample(after, get('sent')) ?? 0) - (sample(before, get('sent')) ?? 0)).toBe(5000);
  });

  test('every metric the Grafana dashboard queries is one the gateway exports', async () => {
    const exported = new Set([...(await scrape()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const queried = dashboardMetricNames();
    expect(queried.length).toBeGreaterThan(5);
    expect(queried.filter((n) => !exported.has(n))).toEqual([]);
  });
});

describe('SHARDGATE_LOG_LEVEL', () => {
  test('silent: no access lines', async () => {
    await cluster.restartGateway('SIGTERM', { SHARDGATE_LOG_LEVEL: 'silent' });
    const silent = cluster.gateway;
    const { stdout } = cluster.gatewayOutput;
    const put = await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'quiet', Body: 'shh' }));
    expect(put.$metadata.httpStatusCode).toBe(200);
    expect((await fetch(`${cluster.endpoint}/logs/quiet`)).status).toBe(403);
    // Its output is complete once it has exited (a stop flushes the log).
    const closed = once(silent, 'close');
    await cluster.restartGateway('SIGTERM');
    await closed;
    expect(stdout.some((l) => l.includes('S3 endpoint:'))).toBe(true);
    expect(accessLines(stdout)).toEqual([]);
    // And at the default level again, a stop does not lose the last lines.
    const last = await s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'last', Body: 'bye' }));
    const gw = cluster.gateway;
    const out = cluster.gatewayOutput.stdout;
    const gone = once(gw, 'close');
    gw.kill('SIGTERM');
    await gone;
    expect(accessLines(out).filter((l) => l.req_id === last.$metadata.requestId)).toHaveLength(1);
    await cluster.restartGateway();
  });

  test('an invalid level stops the start with one line', async () => {
    requireBuild();
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-loglevel-'));
    try {
      const child = spawn(process.execPath, [CLI, 'gateway', '--data', dir, '--port', '0'], {
        env: { ...cluster.env, SHARDGATE_LOG_LEVEL: 'chatty' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const [code] = await once(child, 'close') as [number | null];
      expect(code).toBe(1);
      expect(out).toBe('');
      expect(err).toBe('shardgate: SHARDGATE_LOG_LEVEL must be one of trace, debug, info, warn, error, silent, got "chatty"\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
