/**
 * What a benchmark talks to: an S3 endpoint (the gateway, or any S3 service for `shardgate
 * bench --endpoint`), or the single-copy baseline. The S3 client is undici with SigV4 signed
 * by `aws4` and UNSIGNED-PAYLOAD: a thin client, so that on a small machine its own CPU does
 * not shape the figures (no SDK layers, no hashing of bodies).
 */
import aws4 from 'aws4';
import { Agent, request, type Dispatcher } from 'undici';
import { BenchError } from './procs.js';

export interface Target {
  readonly label: string;
  put(key: string, body: Buffer): Promise<void>;
  /** Reads the whole object; returns its byte count. */
  get(key: string): Promise<number>;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function dispatcherFor(opts: { connections: number; ca?: Buffer; insecure?: boolean }): Agent {
  return new Agent({
    keepAliveTimeout: 30_000, connections: opts.connections, pipelining: 1,
    connect: { ...(opts.ca && { ca: opts.ca }), ...(opts.insecure && { rejectUnauthorized: false }) },
  });
}

async function expectStatus(what: string, res: Dispatcher.ResponseData, ok: number[]): Promise<void> {
  if (ok.includes(res.statusCode)) return;
  const text = await res.body.text().catch(() => '');
  throw new BenchError(`${what}: HTTP ${res.statusCode} ${text.slice(0, 500)}`);
}

async function drain(body: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.length;
  return n;
}

export class S3Target implements Target {
  readonly notes: string[] = [];

  constructor(
    readonly label: string, private readonly endpoint: URL, private readonly region: string, private readonly creds: S3Credentials,
    readonly bucket: string, private readonly dispatcher: Dispatcher,
  ) {}

  private signed(method: string, path: string, headers: Record<string, string> = {}): Record<string, string> {
    const opts = aws4.sign(
      { host: this.endpoint.host, path, method, service: 's3', region: this.region, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers } },
      this.creds,
    );
    return opts.headers as Record<string, string>;
  }

  private url(path: string): URL {
    return new URL(path, this.endpoint);
  }

  /** Create the bucket; one that exists and is ours is fine. */
  async createBucket(): Promise<void> {
    const path = `/${this.bucket}`;
    const res = await request(this.url(path), { method: 'PUT', headers: this.signed('PUT', path), dispatcher: this.dispatcher });
    if (res.statusCode === 409) {
      const text = await res.body.text();
      if (/BucketAlreadyOwnedByYou/.test(text)) return;
      throw new BenchError(`CreateBucket ${this.bucket}: ${text.slice(0, 300)}`);
    }
    await expectStatus(`CreateBucket ${this.bucket}`, res, [200]);
    await res.body.dump();
  }

  async put(key: string, body: Buffer): Promise<void> {
    const path = `/${this.bucket}/${key}`;
    const headers = this.signed('PUT', path, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
    const res = await request(this.url(path), { method: 'PUT', headers, body, dispatcher: this.dispatcher });
    await expectStatus(`PutObject ${key}`, res, [200]);
    await res.body.dump();
  }

  async get(key: string): Promise<number> {
    const path = `/${this.bucket}/${key}`;
    const res = await request(this.url(path), { method: 'GET', headers: this.signed('GET', path), dispatcher: this.dispatcher });
    await expectStatus(`GetObject ${key}`, res, [200]);
    return drain(res.body as AsyncIterable<Buffer>);
  }

  async deleteBucket(): Promise<void> {
    const path = `/${this.bucket}`;
    const res = await request(this.url(path), { method: 'DELETE', headers: this.signed('DELETE', path), dispatcher: this.dispatcher });
    await expectStatus(`DeleteBucket ${this.bucket}`, res, [204, 200]);
    await res.body.dump();
  }

  async delete(key: string): Promise<void> {
    const path = `/${this.bucket}/${key}`;
    const res = await request(this.url(path), { method: 'DELETE', headers: this.signed('DELETE', path), dispatcher: this.dispatcher });
    await expectStatus(`DeleteObject ${key}`, res, [204, 200]);
    await res.body.dump();
  }
}

/** bench/baseline-server.ts: PUT /<name> stores one fsynced file, GET streams it back. */
export class BaselineTarget implements Target {
  readonly label = 'baseline';

  constructor(private readonly endpoint: URL, private readonly dispatcher: Dispatcher) {}

  async put(key: string, body: Buffer): Promise<void> {
    const res = await request(new URL(`/${key.replaceAll('/', '_')}`, this.endpoint), {
      method: 'PUT', body, dispatcher: this.dispatcher, headers: { 'content-length': String(body.length) },
    });
    await expectStatus(`baseline PUT ${key}`, res, [201]);
    await res.body.dump();
  }

  async get(key: string): Promise<number> {
    const res = await request(new URL(`/${key.replaceAll('/', '_')}`, this.endpoint), { method: 'GET', dispatcher: this.dispatcher });
    await expectStatus(`baseline GET ${key}`, res, [200]);
    return drain(res.body as AsyncIterable<Buffer>);
  }
}
