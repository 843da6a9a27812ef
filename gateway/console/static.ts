import type Koa from 'koa';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AccessState } from '../access-log.js';

/** Bucket names cannot start with `_`, so nothing under this prefix is an S3 path. */
export const CONSOLE_PREFIX = '/_shardgate/console';

/**
 * Every console answer, the redirect and the 404 included. The page holds a secret in memory,
 * so no script but its own may run (no inline script, no eval), it talks to its own origin
 * only, and no other site may frame it.
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'",
    "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// What Vite writes: `index.html` and `assets/<name>-<hash>.<ext>`. Anything else (dot
// segments, percent-encoding, backslashes) is not a console file, so traversal never reaches
// the file system.
const ASSET_PATH = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * The built console: dist/console of this package, wherever it is started from. Compiled, this
 * file is dist/gateway/console/static.js; run from source (tests), gateway/console/static.ts.
 */
export function defaultConsoleDir(): string {
  const up = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return existsSync(join(up, 'package.json')) ? join(up, 'dist', 'console') : join(up, 'console');
}

function send(koa: Koa.Context, status: number, text: string): void {
  koa.status = status;
  koa.type = 'text/plain; charset=utf-8';
  koa.set('cache-control', 'no-store');
  koa.body = text + '\n';
}

/**
 * The web console's static files under /_shardgate/console/. They hold no secret and are
 * served without authentication; the page signs its own S3 and admin requests (SigV4).
 */
export function consoleMiddleware(opts: { dir?: string } = {}): Koa.Middleware {
  const dir = opts.dir ?? defaultConsoleDir();
  return async (koa, next) => {
    const raw = koa.req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    if (rawPath !== CONSOLE_PREFIX && !rawPath.startsWith(CONSOLE_PREFIX + '/')) return next();
    koa.state.admin = true;
    (koa.state as AccessState).operation = 'console:GetFile';
    koa.set(CONSOLE_SECURITY_HEADERS);
    if (koa.method !== 'GET' && koa.method !== 'HEAD') {
      koa.set('allow', 'GET, HEAD');
      if (!koa.req.complete) koa.set('connection', 'close');
      return send(koa, 405, `The console is read with GET; ${koa.method} is not allowed here.`);
    }
    if (rawPath === CONSOLE_PREFIX) {
      koa.status = 308;
      koa.set('location', CONSOLE_PREFIX + '/' + (q < 0 ? '' : raw.slice(q)));
      koa.set('cache-control', 'no-store');
      koa.body = '';
      return;
    }
    const rel = rawPath.slice(CONSOLE_PREFIX.length + 1) || 'index.html';
    if (!existsSync(join(dir, 'index.html'))) {
      return send(koa, 503, 'The web console is not built: run `npm run build` in the shardgate package, then reload this page.');
    }
    if (!ASSET_PATH.test(rel)) return send(koa, 404, `No console file ${rawPath}.`);
    const file = join(dir, ...rel.split('/'));
    if (!file.startsWith(dir + sep)) return send(koa, 404, `No console file ${rawPath}.`);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return send(koa, 404, `No console file ${rawPath}.`);
    koa.status = 200;
    koa.type = TYPES[extname(file)] ?? 'application/octet-stream';
    koa.length = st.size;
    // Vite names every asset after its content: it never changes under that name.
    koa.set('cache-control', rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    koa.set('last-modified', st.mtime.toUTCString());
    // index.html is revalidated on every load (no-cache): unchanged, it costs a 304.
    if (koa.fresh) {
      koa.status = 304;
      return;
    }
    // Koa answers HEAD without a body; a stream opened for it would only hold a descriptor.
    if (koa.method === 'GET') koa.body = createReadStream(file);
  };
}
