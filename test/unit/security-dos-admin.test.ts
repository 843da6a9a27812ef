/**
 * Issue 9, the admin API under /_shardgate/admin/v1: bad percent-encoding is a 400, not a 500;
 * `100 Continue` goes only to requests whose signature holds, and a body over the limit is
 * refused by its declared length before a byte of it is asked for. The admin middleware runs
 * on a real server wired as gateway/server.ts wires it, driven by raw sockets.
 */
import Koa from 'koa';
import { once } from 'node:events';
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdminContext } from '../../gateway/admin/context.js';
import { adminMiddleware } from '../../gateway/admin/router.js';
import { ALGORITHM, hmac, sha256Hex, signingKey, stringToSign } from '../../gateway/auth/signing.js';
import { deferContinue } from '../../gateway/object/request-body.js';
import { onClose } from '../helpers/registry.js';
import { adminContextOf, startFixture } from './admin-fixture.js';

const ROOT = { accessKeyId: 'ADMINROOTKEY', secretAccessKey: 'admin-root-secret-123', source: 'env' as const };

let port: number;

beforeEach(async () => {
  const fx = await startFixture();
  const admin: AdminContext = await adminContextOf(fx, ROOT);
  const app = new Koa();
  app.use(adminMiddleware(admin));
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res));
  server.on('checkContinue', (req, res) => {
    deferContinue(req);
    void handle(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  onClose(() => new Promise<void>((r) => server.close(() => r())), 'each');
});

/** SigV4 header signing with the root credentials, of the path exactly as sent (which a library would refuse to sign when it is not valid percent-encoding). */
function signed(method: string, path: string, body: string, secret = ROOT.secretAccessKey): string[] {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': sha256Hex(body), 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const canonical = [method, path, '', names.map((h) => `${h}:${headers[h]}\n`).join(''), names.join(';'), headers['x-amz-content-sha256']].join('\n');
  const scope = `${date}/us-east-1/s3/aws4_request`;
  const signature = hmac(signingKey(secret, date, 'us-east-1', 's3'), stringToSign(amzDate, scope, canonical)).toString('hex');
  return [...names.map((h) => `${h}: ${headers[h]}`), `authorization: ${ALGORITHM} Credential=${ROOT.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`];
}

/** Send a request head; the answer as text once the connection is done or a full answer arrived. */
async function exchange(head: string, body?: string, opts: { bodyAfterContinue?: boolean } = {}): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    if (opts.bodyAfterContinue && body !== undefined && text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && text.length === 25) socket.write(body);
  });
  socket.on('error', () => {});
  socket.write(head);
  if (body !== undefined && !opts.bodyAfterContinue) socket.write(body);
  const closed = new Promise((r) => socket.once('close', r));
  // Done when the final answer's body is complete (Content-Length) or the server closed.
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const final = text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    const m = /\r\ncontent-length: (\d+)\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/i.exec(final);
    if (m && m[2]!.length >= Number(m[1])) break;
    if (await Promise.race([closed.then(() => true), sleep(20).then(() => false)])) break;
  }
  socket.destroy();
  return text;
}

test('a path parameter that is not valid percent-encoding is 400 InvalidRequest, not 500', async () => {
  const path = '/_shardgate/admin/v1/nodes/%E0%A4%A';
  const answer = await exchange(`GET ${path} HTTP/1.1\r\n${signed('GET', path, '').join('\r\n')}\r\n\r\n`);
  expect(answer).toMatch(/^HTTP\/1\.1 400 [\s\S]*"code":"InvalidRequest"/);
});

test('100 Continue goes only to a request whose signature holds', async () => {
  const path = '/_shardgate/admin/v1/repair';
  const body = '{"full":true}';
  // Unsigned, and signed with a wrong secret: refused at once, with no 100 Continue first.
  const anon = await exchange(`POST ${path} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`, body, { bodyAfterContinue: true });
  expect(anon).toMatch(/^HTTP\/1\.1 401 /);
  const wrong = signed('POST', path, body, 'not-the-secret-at-all');
  const forged = await exchange(`POST ${path} HTTP/1.1\r\n${wrong.join('\r\n')}\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`, body, { bodyAfterContinue: true });
  expect(forged).toMatch(/^HTTP\/1\.1 403 /);
  // The root's signed request is told to go on, and is served.
  const ok = await exchange(`POST ${path} HTTP/1.1\r\n${signed('POST', path, body).join('\r\n')}\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\nContent-Type: application/json\r\n\r\n`, body, { bodyAfterContinue: true });
  expect(ok).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 20\d /);
});

test('a body declared over 64 KiB is refused before it is asked for, and the connection closed', async () => {
  const path = '/_shardgate/admin/v1/repair';
  const answer = await exchange(`POST ${path} HTTP/1.1\r\n${signed('POST', path, '{}').join('\r\n')}\r\nExpect: 100-continue\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
  expect(answer).toMatch(/^HTTP\/1\.1 400 [\s\S]*connection: close[\s\S]*at most 65536 bytes/i);
});
