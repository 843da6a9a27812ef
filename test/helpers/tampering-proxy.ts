import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onClose } from './registry.js';

/** A proxy to the gateway that rewrites one public path's JSON answer. */
export async function tamperingProxy(target: string, path: string, edit: (body: Record<string, unknown>) => void): Promise<string> {
  const server = createServer((req, res) => {
    const up = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (r: IncomingMessage) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        let body = Buffer.concat(chunks);
        if (new URL(req.url ?? '/', target).pathname === path) {
          const json = JSON.parse(body.toString()) as Record<string, unknown>;
          edit(json);
          body = Buffer.from(JSON.stringify(json));
        }
        res.writeHead(r.statusCode ?? 502, { 'content-type': r.headers['content-type'] ?? 'application/json', 'content-length': body.length });
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onClose(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
