/**
 * Errors that happen while a request body is on the wire, over raw sockets against real
 * processes: a refused upload is answered at once and its connection closed, rather than
 * read to its end; clients that drop uploads or break their framing cost a metric, not a log
 * line each; a write quorum lost in the middle of a chunked upload is answered 503
 * ServiceUnavailable, not a 500 (Node 20's pipeline() reported its own AbortError instead).
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { respawnStore, startCluster, type Cluster } from '../helpers/cluster.js';
import { signed } from '../helpers/stream-put.js';

const METRICS_TOKEN = 'body-errors-metrics';

interface Raw {
  socket: net.Socket;
  /** Resolves with the status line's code and the text received up to the end of the answer's head. */
  head: Promise<{ status: number; text: () => string }>;
  /** The gateway ended its side of the connection. */
  ended: Promise<void>;
  closed: Promise<void>;
  isClosed(): boolean;
}

/** A raw connection; `allowHalfOpen` keeps sending after the gateway ends its side, as a client that does not read would. */
async function open(c: Cluster, requestHead: string, allowHalfOpen = false): Promise<Raw> {
  const u = new URL(c.endpoint);
  const socket = net.connect({ port: Number(u.port), host: u.hostname, allowHalfOpen });
  await once(socket, 'connect');
  let received = '';
  let closed = false;
  socket.on('error', () => {});
  const head = new Promise<{ status: number; text: () => string }>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      received += d.toString('latin1');
      if (!received.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.on('data', (more: Buffer) => { received += more.toString('latin1'); });
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1]), text: () => received });
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before an answer: ${received}`)));
  });
  head.catch(() => undefined);
  const closedP = new Promise<void>((r) => socket.once('close', () => { closed = true; r(); }));
  const ended = new Promise<void>((r) => socket.once('end', r));
  socket.write(requestHead);
  return { socket, head, ended, closed: closedP, isClosed: () => closed };
}

function requestHead(method: string, path: string, headers: Record<string, string>): string {
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}

/** Keeps sending body bytes at a steady pace until the socket closes or `stop()` says so. */
async function keepSending(raw: Raw, piece: Buffer, stop: () => boolean): Promise<number> {
  let sent = 0;
  while (!raw.isClosed() && !stop()) {
    // once() rejects on the socket's 'error' (EPIPE once the gateway has closed): that ends it too.
    if (!raw.socket.write(piece)) await Promise.race([once(raw.socket, 'drain').catch(() => undefined), raw.closed]);
    sent += piece.length;
    await sleep(10);
  }
  return sent;
}

describe('one gateway', () => {
  let c: Cluster;
  let host: string;
  const stderr: string[] = [];

  beforeAll(async () => {
    c = await startCluster({ scope: 'file', env: { SHARDGATE_METRICS_TOKEN: METRICS_TOKEN } });
    host = new URL(c.endpoint).host;
    c.gateway.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    await c.client().send(new CreateBucketCommand({ Bucket: 'closed-doors' }));
  });

  test('a refused 1 GiB upload is answered before its body is sent, and its connection closed', async () => {
    const raw = await open(c, requestHead('PUT', '/closed-doors/big', { host, 'content-length': String(1024 ** 3) }), true);
    raw.socket.write(Buffer.alloc(256 * 1024));
    const { status, text } = await raw.head;
    expect(status).toBe(403);
    expect(text()).toMatch(/\r\nconnection: close\r\n/i);
    // The client goes on sending as if it had not read the answer. The gateway ends its side at
    // once, reads and drops what still comes for a few seconds (so that the answer is not lost
    // to a reset), then closes. Kept alive, it would have read the whole gigabyte first.
    const deadline = Date.now() + 40_000;
    let ended = false;
    void raw.ended.then(() => { ended = true; });
    const sent = await keepSending(raw, Buffer.alloc(64 * 1024), () => Date.now() > deadline);
    expect(ended).toBe(true);
    expect(raw.isClosed()).toBe(true);
    expect(sent).toBeLessThan(1024 ** 3);
    expect(text()).toContain('<Code>AccessDenied</Code>');
  });

  test('uploads dropped mid-body or with broken framing are counted, not logged one line each', async () => {
    const before = stderr.length;
    for (let i = 0; i < 5; i++) {
      const path = `/closed-doors/dropped-${i}`;
      const cut = await open(c, requestHead('PUT', path, signed(c.endpoint, 'PUT', path, { 'content-length': String(50_000_000) }).headers));
      cut.socket.write(Buffer.alloc(512 * 1024));
      await sleep(100);
      cut.socket.destroy();
      const garbled = await open(c, requestHead('PUT', `${path}-chunked`, signed(c.endpoint, 'PUT', `${path}-chunked`, { 'transfer-encoding': 'chunked' }).headers));
      garbled.socket.write('10\r\n0123456789abcdef\r\nzz\r\n');
      await garbled.closed;
    }
    // Each socket is gone on the gateway's side once its metric is counted.
    const counted = async (): Promise<number> => {
      const res = await fetch(`${c.endpoint}/_shardgate/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      const text = await res.text();
      return [...text.matchAll(/^shardgate_s3_client_disconnects_total\{operation="PutObject"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const deadline = Date.now() + 20_000;
    while ((await counted()) < 10 && Date.now() < deadline) await sleep(100);
    expect(await counted()).toBe(10);
    expect(stderr.slice(before).join('')).not.toMatch(/dropped-|Parse Error|aborted/);
  });
});

test('a write quorum lost in the middle of a chunked upload is answered 503 ServiceUnavailable', async () => {
  // Small segments: the lost quorum shows at the next segment, not 4 MiB later.
  const c = await startCluster({ scope: 'each', env: { SHARDGATE_SEGMENT_SIZE: '256KiB' } });
  await c.client().send(new CreateBucketCommand({ Bucket: 'fragile' }));
  // Six stores offer 2 MiB each: past about 20 MiB of body they refuse this upload's pieces
  // (507), leaving 10 where 11 must be durable. They still take the metadata journal, so the
  // answer is the upload's own error (with stores killed instead, the journal's failure
  // would answer for it).
  for (const s of c.stores.slice(0, 6)) await respawnStore(c, s, { args: ['--capacity', '2M'] });
  const path = '/fragile/streamed';
  const raw = await open(c, requestHead('PUT', path, signed(c.endpoint, 'PUT', path, { 'transfer-encoding': 'chunked' }).headers));
  const piece = Buffer.alloc(256 * 1024, 0x61);
  const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
  let answered = false;
  void raw.head.then(() => { answered = true; }, () => undefined);
  // The client keeps sending (up to 200 MiB) until it is answered.
  let sent = 0;
  await keepSending(raw, chunk, () => answered || (sent += piece.length) > 200 * 1024 * 1024);
  const { status, text } = await raw.head;
  await Promise.race([raw.closed, sleep(10_000)]);
  expect([status, /<Code>([^<]*)<\/Code>/.exec(text())?.[1]]).toEqual([503, 'ServiceUnavailable']);
});
