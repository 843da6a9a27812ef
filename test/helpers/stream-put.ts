import aws4 from 'aws4';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { ACCESS_KEY, SECRET_KEY } from './cluster.js';

/** `total` bytes made of one random block repeated with a counter, produced on demand (no buffering). */
export function generatedBody(total: number, block: Buffer): { stream: Readable; md5: () => string } {
  const hash = createHash('md5');
  let sent = 0;
  let n = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const chunk = Buffer.from(block.subarray(0, Math.min(block.length, total - sent)));
      chunk.writeUInt32BE(n++, 0);
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, md5: () => hash.digest('hex') };
}

/** A SigV4-signed request with UNSIGNED-PAYLOAD, for bodies the SDK would want to buffer or hash. */
export function signed(endpoint: string, method: string, path: string, headers: Record<string, string> = {}): { url: string; headers: Record<string, string> } {
  const u = new URL(endpoint);
  const opts = aws4.sign({
    host: u.host, method, path, service: 's3', region: 'us-east-1',
    headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers },
  }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
  return { url: `${u.origin}${path}`, headers: opts.headers as Record<string, string> };
}

export async function streamPut(endpoint: string, path: string, body: Readable, length: number): Promise<number> {
  const s = signed(endpoint, 'PUT', path, { 'content-length': String(length) });
  const res = await request(s.url, { method: 'PUT', headers: s.headers, body });
  await res.body.dump();
  return res.statusCode;
}

/** Peak and current resident memory of a process, in bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
