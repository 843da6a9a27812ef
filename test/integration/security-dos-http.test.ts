/**
 * Issue 9, sockets opened and left idle, against a real gateway (its windows shortened by
 * SHARDGATE_* variables): raw TCP sockets that send nothing, half a header, half a body or a
 * trickle are cut off; an upload at 64 KiB/s that lasts several windows succeeds; past the
 * connection cap a client is answered 503 SlowDown. Meanwhile another client's requests are
 * answered throughout.
 */
import { ListBucketsCommand, PutBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { once } from 'node:events';
import { Agent } from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, bytes, objectBytes } from '../helpers/s3.js';

const HEADER_MS = 1_500;
// Node's HTTP clients do not reuse a connection whose server announces `Keep-Alive: timeout=1`;
// the other client's one connection must stay usable.
const IDLE_MS = 2_500;
const MAX_CONNECTIONS = 24;

let cluster: Cluster;
let root: S3Client;
let bucket: string;
let port: number;

beforeAll(async () => {
  cluster = await startCluster({
    scope: 'file',
    env: {
      SHARDGATE_HEADER_TIMEOUT_MS: String(HEADER_MS), SHARDGATE_IDLE_TIMEOUT_MS: String(IDLE_MS),
      SHARDGATE_MIN_BODY_RATE: '8KiB', SHARDGATE_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    },
  });
  root = cluster.client();
  port = Number(new URL(cluster.endpoint).port);
  bucket = await bucketFactory(() => root, 'idle')('up');
  // Anonymous uploads, so that raw sockets reach the body without signing it.
  await root.send(new PutBucketPolicyCommand({
    Bucket: bucket,
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:PutObject', 's3:GetObject'], Resource: `arn:aws:s3:::${bucket}/*` }] }),
  }));
});

interface Raw {
  socket: net.Socket;
  text(): string;
  /** Milliseconds the connection stayed open. */
  closed: Promise<number>;
}

async function connect(): Promise<Raw> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const started = Date.now();
  let received = '';
  socket.on('data', (d: Buffer) => { received += d.toString('latin1'); });
  socket.on('error', () => {});
  return { socket, text: () => received, closed: new Promise((r) => socket.once('close', () => r(Date.now() - started))) };
}

const putHead = (key: string, length: number): string => `PUT /${bucket}/${key} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${length}\r\n\r\n`;

/** Run `attack` while another client lists its buckets every 200 ms; every one of those must succeed, first time. */
async function whileServing<T>(attack: () => Promise<T>): Promise<T> {
  // One kept-alive connection, open before the attack starts (and so counted before any attacker's).
  const other = cluster.client({ requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 1 }) } });
  await other.send(new ListBucketsCommand({}));
  let done = false;
  let served = 0;
  const loop = (async () => {
    // At least two requests, however short the attack.
    while (!done || served < 2) {
      await other.send(new ListBucketsCommand({}));
      served++;
      await sleep(200);
    }
  })();
  try {
    return await attack();
  } finally {
    done = true;
    await loop;
    other.destroy();
    expect(served).toBeGreaterThanOrEqual(2);
  }
}

/** A closed connection took about one window: not at once, and not for ever. */
function expectOneWindow(ms: number, window: number): void {
  expect(ms).toBeGreaterThanOrEqual(window * 0.8);
  expect(ms).toBeLessThan(window + 15_000);
}

test('a connection that sends nothing is closed', async () => {
  await whileServing(async () => {
    const c = await connect();
    expectOneWindow(await c.closed, HEADER_MS);
  });
});

test('half a request header is answered 408 and closed', async () => {
  await whileServing(async () => {
    const c = await connect();
    c.socket.write(`GET /${bucket}/k HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    expectOneWindow(await c.closed, HEADER_MS);
    expect(c.text()).toMatch(/^HTTP\/1\.1 408 [\s\S]*<Code>RequestTimeout<\/Code>/);
  });
});

test('a body longer than its Content-Length gets an S3 error document, not a bare status line', async () => {
  const c = await connect();
  // Three bytes announced, eleven sent: the rest is read as the next request, which it is not.
  c.socket.write(putHead('overlong', 3) + 'abcdefghijk');
  await c.closed;
  const answers = c.text().split(/(?=HTTP\/1\.1 )/);
  expect(answers[0]).toMatch(/^HTTP\/1\.1 200 /);
  expect(answers[1]).toMatch(/^HTTP\/1\.1 400 [\s\S]*Content-Type: application\/xml[\s\S]*<Code>InvalidRequest<\/Code>/);
  // The object is what the Content-Length said. A client of its own: the shared one's kept-alive
  // connection may meet this cluster's 2.5 s idle timeout mid-request ("socket hang up").
  const fresh = cluster.client();
  try {
    expect((await objectBytes(fresh, bucket, 'overlong')).toString()).toBe('abc');
  } finally {
    fresh.destroy();
  }
});

test('a header section over the limit is answered 400 RequestHeaderSectionTooLarge', async () => {
  const c = await connect();
  c.socket.write(`GET /${bucket}/k HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-meta-big: ${'v'.repeat(20_000)}\r\n\r\n`);
  await c.closed;
  expect(c.text()).toMatch(/^HTTP\/1\.1 400 [\s\S]*<Code>RequestHeaderSectionTooLarge<\/Code>/);
});

test('an upload whose body stops is answered 400 RequestTimeout and closed', async () => {
  await whileServing(async () => {
    const c = await connect();
    c.socket.write(putHead('stalled', 1024 * 1024) + 'x'.repeat(1000));
    expectOneWindow(await c.closed, IDLE_MS);
    expect(c.text()).toMatch(/^HTTP\/1\.1 400 [\s\S]*<Code>RequestTimeout<\/Code>/);
  });
});

test('an upload that trickles below the minimum rate is answered 400 RequestTimeout', async () => {
  await whileServing(async () => {
    const c = await connect();
    c.socket.write(putHead('trickle', 1024 * 1024));
    // 10 bytes every 100 ms: never silent, far under 8 KiB/s.
    const drip = setInterval(() => c.socket.write('y'.repeat(10)), 100);
    const ms = await c.closed;
    clearInterval(drip);
    expect(ms).toBeLessThan(IDLE_MS + 15_000);
    expect(c.text()).toMatch(/<Code>RequestTimeout<\/Code>/);
  });
});

test('an upload at a steady 64 KiB/s over several windows is stored whole', async () => {
  const body = bytes(480 * 1024, 'steady');
  await whileServing(async () => {
    const c = await connect();
    c.socket.write(putHead('steady', body.length));
    for (let at = 0; at < body.length; at += 16 * 1024) {
      c.socket.write(body.subarray(at, at + 16 * 1024));
      await sleep(250);
    }
    while (!/\r\n\r\n/.test(c.text())) await sleep(20);
    expect(c.text()).toMatch(/^HTTP\/1\.1 200 /);
    c.socket.destroy();
  });
  expect((await objectBytes(root, bucket, 'steady')).equals(body)).toBe(true);
});

test('past the connection cap, a new connection is answered 503 SlowDown; open ones are served', async () => {
  await whileServing(async () => {
    // Honest slow uploads (16 KiB/s each) hold the connections, as a busy gateway's clients would.
    const fillers = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => connect()));
    fillers.forEach((f, i) => f.socket.write(putHead(`filler-${i}`, 64 * 1024 * 1024)));
    const feed = setInterval(() => fillers.forEach((f) => f.socket.write(Buffer.alloc(4 * 1024))), 250);
    try {
      const over = await connect();
      over.socket.write(`GET /${bucket}/steady HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await over.closed;
      expect(over.text()).toMatch(/^HTTP\/1\.1 503 [\s\S]*<Code>SlowDown<\/Code>/);
      // The refusal is in the access log, like any other answer.
      await expect.poll(() => cluster.gatewayOutput.stdout.join('').split('\n').some((l) => /"status":503/.test(l) && /"error":"SlowDown"/.test(l) && /"path":"\/[^"]*\/steady"/.test(l))).toBe(true);
      // The other client's connection, open before the cap was reached, is served meanwhile.
      await sleep(1_000);
    } finally {
      clearInterval(feed);
      for (const f of fillers) f.socket.destroy();
    }
    await Promise.all(fillers.map((f) => f.closed));
  });
  // Room again: new connections are served.
  await sleep(200);
  const after = await connect();
  after.socket.write(`GET /${bucket}/steady HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await after.closed;
  expect(after.text()).toMatch(/^HTTP\/1\.1 200 /);
});

test('the admin API sends no 100 Continue to an unsigned request, and refuses it at once', async () => {
  await whileServing(async () => {
    const c = await connect();
    c.socket.write(`POST /_shardgate/admin/v1/repair HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 1048576\r\n\r\n`);
    while (!/\r\n\r\n\{[\s\S]*\}\n$/.test(c.text())) await sleep(20);
    expect(c.text()).toMatch(/^HTTP\/1\.1 401 /);
    c.socket.destroy();
  });
});
