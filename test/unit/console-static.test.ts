/**
 * The web console's static server (gateway/console/static.ts) on a real socket: content types,
 * caching, the security headers on every answer, the redirect, 404s, and no way out of the
 * console's folder, whatever the encoding.
 */
import Koa from 'koa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_SECURITY_HEADERS, consoleMiddleware, defaultConsoleDir } from '../../gateway/console/static.js';
import { onClose } from '../helpers/registry.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path sent byte for byte (fetch would normalise `..` away). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

async function serve(dir: string): Promise<number> {
  const app = new Koa();
  app.use(consoleMiddleware({ dir }));
  app.use((koa) => {
    koa.body = 'next';
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onClose(() => new Promise<void>((r) => server.close(() => r())), 'file');
  return (server.address() as { port: number }).port;
}

let port: number;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'shardgate-console-'));
  onClose(() => rmSync(root, { recursive: true, force: true }), 'file');
  const dir = join(root, 'console');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(dir, 'assets', 'index-Ab12_x.js'), 'console.log(1)');
  writeFileSync(join(dir, 'assets', 'index-Zz9.css'), 'body{}');
  writeFileSync(join(dir, 'assets', 'logo-1.svg'), '<svg/>');
  // Beside the console's folder: never reachable through it.
  writeFileSync(join(root, 'secret.txt'), 'SECRET');
  port = await serve(dir);
});

function expectSecurityHeaders(a: Answer): void {
  for (const [k, v] of Object.entries(CONSOLE_SECURITY_HEADERS)) expect(a.headers[k], k).toBe(v);
  const csp = String(a.headers['content-security-policy']);
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
}

describe('console static files', () => {
  test('index.html at the prefix with a slash, not cached; the prefix without one redirects to it', async () => {
    const index = await raw(port, 'GET', '/_shardgate/console/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.body).toContain('<title>console</title>');
    expectSecurityHeaders(index);

    const bare = await raw(port, 'GET', '/_shardgate/console');
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe('/_shardgate/console/');
    expectSecurityHeaders(bare);
    expect((await raw(port, 'GET', '/_shardgate/console?x=1')).headers.location).toBe('/_shardgate/console/?x=1');
  });

  test('an unchanged index.html revalidates with a 304', async () => {
    const first = await raw(port, 'GET', '/_shardgate/console/');
    const again = await raw(port, 'GET', '/_shardgate/console/', { 'if-modified-since': String(first.headers['last-modified']) });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expectSecurityHeaders(again);
  });

  test('hashed assets: their content type and an immutable cache; HEAD has the length and no body', async () => {
    const js = await raw(port, 'GET', '/_shardgate/console/assets/index-Ab12_x.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe('console.log(1)');
    expectSecurityHeaders(js);
    expect((await raw(port, 'GET', '/_shardgate/console/assets/index-Zz9.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await raw(port, 'GET', '/_shardgate/console/assets/logo-1.svg')).headers['content-type']).toBe('image/svg+xml');
    const head = await raw(port, 'HEAD', '/_shardgate/console/assets/index-Ab12_x.js');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('14');
    expect(head.body).toBe('');
  });

  test('an unknown file is a 404 sentence with the security headers; other methods are refused', async () => {
    const missing = await raw(port, 'GET', '/_shardgate/console/assets/nope-123.js');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatch(/No console file/);
    expectSecurityHeaders(missing);
    expect((await raw(port, 'GET', '/_shardgate/console/assets')).status).toBe(404);
    const post = await raw(port, 'POST', '/_shardgate/console/');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expectSecurityHeaders(post);
  });

  test.each([
    '/_shardgate/console/../secret.txt',
    '/_shardgate/console/../../package.json',
    '/_shardgate/console/assets/../../secret.txt',
    '/_shardgate/console/%2e%2e/secret.txt',
    '/_shardgate/console/%2E%2E%2Fsecret.txt',
    '/_shardgate/console/..%2fsecret.txt',
    '/_shardgate/console/..%5csecret.txt',
    '/_shardgate/console/..\\secret.txt',
    '/_shardgate/console/%252e%252e/secret.txt',
    '/_shardgate/console//etc/passwd',
    '/_shardgate/console/.hidden',
    '/_shardgate/console/assets/index-Ab12_x.js%00.html',
  ])('no traversal: %s is a 404', async (path) => {
    const a = await raw(port, 'GET', path);
    expect(a.status).toBe(404);
    expect(a.body).not.toContain('SECRET');
    expectSecurityHeaders(a);
  });

  test('other paths go on to the next handler (S3, the admin API)', async () => {
    expect((await raw(port, 'GET', '/_shardgate/consoles')).body).toBe('next');
    expect((await raw(port, 'GET', '/bucket/_shardgate/console/')).body).toBe('next');
  });

  test('without a build, a sentence says to run npm run build', async () => {
    const p = await serve(join(root, 'not-built'));
    const a = await raw(p, 'GET', '/_shardgate/console/');
    expect(a.status).toBe(503);
    expect(a.body).toMatch(/npm run build/);
    expectSecurityHeaders(a);
  });

  test('the default folder is dist/console of the package, not of the working directory', () => {
    expect(defaultConsoleDir()).toBe(join(import.meta.dirname, '..', '..', 'dist', 'console'));
  });
});
