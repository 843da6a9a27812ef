/**
 * Issue 9, sockets left idle: the S3 port's limits (gateway/http-limits.ts) on a real
 * node:http server on loopback with short windows, driven by raw TCP sockets. Here the
 * handlers are small ones that make the gateway's situations on demand (working long, not
 * reading the body yet, deferring 100 Continue); test/integration/security-dos-http.test.ts
 * sends the same attacks to a real gateway.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpLimiter, httpLimits, type HttpLimits } from '../../gateway/http-limits.js';

const LIMITS: HttpLimits = { headerTimeoutMs: 600, idleTimeoutMs: 600, minBodyRate: 16 * 1024, maxConnections: 1000 };

let server: Server;
let port: number;

async function start(limits: HttpLimits = LIMITS): Promise<void> {
  const limiter = new HttpLimiter(limits);
  const handle = limiter.wrap((req, res) => void route(req, res));
  server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, handle);
  limiter.attach(server);
  // As the gateway does: 100 Continue only once the handler reads the body.
  server.on('checkContinue', (req, res) => void handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
}

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** `/work?ms=`: answer after working that long; `/upload?wait=`: read the body after waiting, then answer its size. */
async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const wait = Number(url.searchParams.get('ms') ?? url.searchParams.get('wait') ?? 0);
  if (url.pathname === '/big') {
    res.end(Buffer.alloc(64 * 1024 * 1024));
    return;
  }
  await sleep(wait);
  if (url.pathname === '/upload') {
    if (req.headers.expect) res.writeContinue();
    let n = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) n += chunk.length;
    } catch {
      return;
    }
    res.end(String(n));
    return;
  }
  res.end('done');
}

interface Raw {
  socket: net.Socket;
  /** Everything received, as text. */
  text(): string;
  closed: Promise<number>;
}

/** A raw connection; `closed` resolves with the milliseconds it stayed open. */
async function connect(): Promise<Raw> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const started = Date.now();
  let received = '';
  socket.on('data', (d: Buffer) => { received += d.toString('latin1'); });
  socket.on('error', () => {});
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
  return { socket, text: () => received, closed };
}

const put = (path: string, length: number, extra = ''): string => `PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n${extra}\r\n`;

describe('silent and slow clients are cut off', () => {
  beforeEach(() => start());

  test('a connection that sends nothing is closed after the header or idle timeout', async () => {
    const c = await connect();
    const ms = await c.closed;
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(ms).toBeLessThan(10_000);
    // Whichever window ends first: Node's header check answers 408, the idle timeout nothing.
    expect(c.text()).toMatch(/^(HTTP\/1\.1 408 [\s\S]*)?$/);
  });

  test('half a request header is closed after the header timeout, even if it trickles', async () => {
    const c = await connect();
    c.socket.write('GET /work HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => c.socket.write('X-A: b\r\n'), 100);
    const ms = await c.closed;
    clearInterval(drip);
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(ms).toBeLessThan(10_000);
    expect(c.text()).toMatch(/^HTTP\/1\.1 408 /);
  });

  test('a keep-alive connection idle after its answer is closed after the idle timeout', async () => {
    const c = await connect();
    c.socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
    const ms = await c.closed;
    expect(c.text()).toMatch(/^HTTP\/1\.1 200 [\s\S]*done$/);
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(ms).toBeLessThan(10_000);
  });

  test('a body that stops is answered 400 RequestTimeout and closed', async () => {
    const c = await connect();
    c.socket.write(put('/upload', 1000) + 'x'.repeat(100));
    const ms = await c.closed;
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(ms).toBeLessThan(10_000);
    expect(c.text()).toMatch(/^HTTP\/1\.1 400 [\s\S]*connection: close[\s\S]*<Code>RequestTimeout<\/Code>/i);
  });

  test('a body that trickles below the minimum rate is answered 400 RequestTimeout', async () => {
    const c = await connect();
    c.socket.write(put('/upload', 100_000));
    // 100 bytes every 50 ms: 2 KB/s, never silent, under 16 KiB/s.
    const drip = setInterval(() => c.socket.write('y'.repeat(100)), 50);
    const ms = await c.closed;
    clearInterval(drip);
    expect(ms).toBeLessThan(10_000);
    expect(c.text()).toMatch(/<Code>RequestTimeout<\/Code>/);
  });

  test('an answer the client does not read is cut off after the idle timeout', async () => {
    const c = await connect();
    c.socket.pause();
    c.socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    // A paused client sees the close only once it reads what the kernel holds for it.
    await sleep(2_000);
    let received = 0;
    c.socket.removeAllListeners('data');
    c.socket.on('data', (d: Buffer) => { received += d.length; });
    c.socket.resume();
    await c.closed;
    expect(received).toBeLessThan(64 * 1024 * 1024);
  });
});

// Wider windows here: client and server share one process, and a pause of the whole process
// must not look like a silent client.
describe('slow but honest clients, and the gateway\'s own time, are not', () => {
  beforeEach(() => start({ ...LIMITS, idleTimeoutMs: 1_000 }));

  test('a body sent steadily at 64 KiB/s for several windows is received whole', async () => {
    const size = 3 * 64 * 1024;
    const c = await connect();
    c.socket.write(put('/upload', size));
    for (let sent = 0; sent < size; sent += 16 * 1024) {
      c.socket.write(Buffer.alloc(16 * 1024, 1));
      await sleep(250);
    }
    while (!/\r\n\r\n\d+$/.test(c.text())) await sleep(20);
    expect(c.text()).toMatch(new RegExp(`^HTTP/1\\.1 200 [\\s\\S]*\\r\\n\\r\\n${size}$`));
    c.socket.destroy();
  });

  test('an answer that takes the gateway three idle windows to make still arrives', async () => {
    const c = await connect();
    c.socket.write('GET /work?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n');
    while (!c.text().endsWith('done')) await sleep(20);
    expect(c.text()).toMatch(/^HTTP\/1\.1 200 /);
    c.socket.destroy();
  });

  test('a body the gateway does not read for three windows is not held against the client', async () => {
    const size = 8 * 1024 * 1024;
    const c = await connect();
    c.socket.write(put('/upload?wait=3000', size));
    c.socket.write(Buffer.alloc(size, 2));
    while (!/\r\n\r\n\d+$/.test(c.text())) await sleep(20);
    expect(c.text()).toMatch(new RegExp(`\\r\\n\\r\\n${size}$`));
    c.socket.destroy();
  });

  test('a client waiting for a deferred 100 Continue is not idle', async () => {
    const c = await connect();
    c.socket.write(put('/upload?wait=3000', 5, 'Expect: 100-continue\r\n'));
    while (!c.text().includes('100 Continue')) await sleep(20);
    c.socket.write('hello');
    while (!/\r\n\r\n5$/.test(c.text())) await sleep(20);
    c.socket.destroy();
  });
});

test('past the connection cap, new connections are answered 503 SlowDown; those already open are served', async () => {
  await start({ ...LIMITS, headerTimeoutMs: 60_000, idleTimeoutMs: 60_000, maxConnections: 3 });
  const served = await connect();
  served.socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
  const fillers = [await connect(), await connect()];
  const over = await connect();
  over.socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
  await over.closed;
  expect(over.text()).toMatch(/^HTTP\/1\.1 503 [\s\S]*<Code>SlowDown<\/Code>/);
  // A connection opened before the cap was reached is still served.
  served.socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
  while ((served.text().match(/done/g) ?? []).length < 2) await sleep(20);
  // Once connections close, new ones are served again.
  for (const f of fillers) f.socket.destroy();
  await Promise.all(fillers.map((f) => f.closed));
  await sleep(50);
  const after = await connect();
  after.socket.write('GET /work HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await after.closed;
  expect(after.text()).toMatch(/^HTTP\/1\.1 200 /);
  served.socket.destroy();
});

test('the limits come from SHARDGATE_* variables, with production defaults', () => {
  expect(httpLimits({})).toEqual({ headerTimeoutMs: 60_000, idleTimeoutMs: 65_000, minBodyRate: 1024, maxConnections: 4096 });
  expect(httpLimits({
    SHARDGATE_HEADER_TIMEOUT_MS: '1000', SHARDGATE_IDLE_TIMEOUT_MS: '2000', SHARDGATE_MIN_BODY_RATE: '8KiB', SHARDGATE_MAX_CONNECTIONS: '10',
  })).toEqual({ headerTimeoutMs: 1000, idleTimeoutMs: 2000, minBodyRate: 8192, maxConnections: 10 });
  expect(() => httpLimits({ SHARDGATE_MAX_CONNECTIONS: '0' })).toThrow(/SHARDGATE_MAX_CONNECTIONS/);
});
