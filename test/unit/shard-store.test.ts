import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { ShardClient, type ShardNode } from '../../gateway/shards/client.js';
import { ShardFullError, ShardNotFoundError, ShardRefusedError, ShardTimeoutError, ShardUnavailableError } from '../../gateway/shards/errors.js';
import { loadOrCreateGatewayKey, type GatewayKey } from '../../gateway/shards/keys.js';
import { TokenMinter } from '../../gateway/shards/tokens.js';
import { parseShardStoreArgs, parseSize } from '../../shard-store/main.js';
import { parseRange } from '../../shard-store/routes.js';
import { startShardStoreServer, type ShardStoreServer } from '../../shard-store/server.js';
import { PieceStore } from '../../shard-store/store.js';
import { loadTrustedKeys, TokenVerifier } from '../../shard-store/token.js';
import { onClose } from '../helpers/registry.js';

const STORE_ID = 'ss-test';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-ss-'));
  onClose(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function newShardId(piece = 3): string {
  return `${randomBytes(16).toString('hex')}.${piece}`;
}

/** Every file under `dir`, relative. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  }
  return out;
}

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

interface Setup {
  dir: string;
  dataDir: string;
  key: GatewayKey;
  server: ShardStoreServer;
  minter: TokenMinter;
  client: ShardClient;
  node: ShardNode;
}

async function setup(opts: { capacityBytes?: number; store?: PieceStore } = {}): Promise<Setup> {
  const dir = await tempDir();
  const key = await loadOrCreateGatewayKey(join(dir, 'gateway'));
  const dataDir = join(dir, 'data');
  const server = await startShardStoreServer({
    id: STORE_ID, dir: dataDir, trustedKeys: await loadTrustedKeys([key.publicKeyFile]), ...opts,
  });
  onClose(() => server.close(200));
  const minter = new TokenMinter(key);
  const client = new ShardClient({ minter, connections: 4 });
  onClose(() => client.close());
  return { dir, dataDir, key, server, minter, client, node: { id: STORE_ID, url: server.url, zone: 'zone-1' } };
}

/** A raw request with a token minted for exactly what the test says. */
async function raw(s: Setup, method: 'GET' | 'PUT' | 'HEAD' | 'DELETE' | 'POST', path: string, headers: Record<string, string> = {}, body?: Buffer | string) {
  const res = await request(`${s.server.url}${path}`, { method, headers, body });
  const data = method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, data };
}

/** Send exact bytes, return the whole answer as text. */
async function rawBytes(port: number, text: string): Promise<string> {
  const sock = connect(port, '127.0.0.1');
  sock.end(text);
  const chunks: Buffer[] = [];
  for await (const c of sock) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

async function bearer(s: Setup, op: Parameters<TokenMinter['mint']>[1], shards: string[], opts: { aud?: string; ttlSeconds?: number; issuedAt?: number } = {}) {
  return { authorization: `Bearer ${await s.minter.mint(opts.aud ?? STORE_ID, op, shards, opts)}` };
}

async function putShard(s: Setup, shardId: string, data: Buffer, chunk = 64 * 1024): Promise<void> {
  const w = s.client.openShardWriter(s.node, shardId, { stallTimeoutMs: 5_000 });
  for (let off = 0; off < data.length; off += chunk) await w.write([data.subarray(off, off + chunk)]);
  await w.end();
}

describe('shard-store: pieces', () => {
  it('stores, reads whole and ranged, heads and deletes a piece', async () => {
    const s = await setup();
    const id = newShardId(15);
    // Not a multiple of the chunk size, and more than one chunk.
    const data = randomBytes(300_001);
    await putShard(s, id, data);

    const path = join(s.dataDir, id.slice(0, 2), id.slice(2, 4), id);
    expect((await stat(path)).size).toBe(data.length);
    expect(await listFiles(s.dataDir)).toEqual([join(id.slice(0, 2), id.slice(2, 4), id)]);

    expect(await s.client.head(s.node, id)).toEqual({ size: data.length });
    expect((await s.client.readRange(s.node, id, 0, data.length)).equals(data)).toBe(true);
    expect((await s.client.readRange(s.node, id, 12_345, 1000)).equals(data.subarray(12_345, 13_345))).toBe(true);
    expect((await s.client.readRange(s.node, id, data.length - 1, 1)).equals(data.subarray(-1))).toBe(true);

    const whole = await raw(s, 'GET', `/pieces/${id}`, await bearer(s, 'get', [id]));
    expect(whole.status).toBe(200);
    expect(whole.data.equals(data)).toBe(true);

    await s.client.deleteShard(s.node, id);
    expect(existsSync(path)).toBe(false);
    expect(await s.client.head(s.node, id)).toBeNull();
    await s.client.deleteShard(s.node, id); // idempotent
    await expect(s.client.readRange(s.node, id, 0, 10)).rejects.toBeInstanceOf(ShardNotFoundError);
  });

  it('streams large reads (over the one-buffer limit) and overwrites atomically', async () => {
    const s = await setup();
    const id = newShardId();
    // Just over 1 MiB: the server switches from one buffer to a file stream.
    const first = randomBytes(1024 * 1024 + 1);
    await putShard(s, id, first, 256 * 1024);
    expect((await s.client.readRange(s.node, id, 0, first.length)).equals(first)).toBe(true);
    const second = randomBytes(1000);
    await putShard(s, id, second);
    expect((await s.client.readRange(s.node, id, 0, 1000)).equals(second)).toBe(true);
    const st = await s.client.status(s.node);
    expect(st).toMatchObject({ id: STORE_ID, zone: 'zone-1', pieces: 1, usedBytes: 1000 });
    expect(st.freeBytes).toBeGreaterThan(0);
    expect(st.capacityBytes).toBeGreaterThan(0);
    expect(typeof st.version).toBe('string');
  });

  it('answers Range forms and refuses bad ones', async () => {
    const s = await setup();
    const id = newShardId();
    const data = randomBytes(100);
    await putShard(s, id, data);
    const auth = await bearer(s, 'get', [id]);
    const get = (range: string) => raw(s, 'GET', `/pieces/${id}`, { ...auth, range });
    const suffix = await get('bytes=-10');
    expect(suffix.status).toBe(206);
    expect(suffix.headers['content-range']).toBe('bytes 90-99/100');
    expect(suffix.data.equals(data.subarray(90))).toBe(true);
    const open = await get('bytes=95-');
    expect(open.data.equals(data.subarray(95))).toBe(true);
    const clamped = await get('bytes=98-1000');
    expect(clamped.headers['content-range']).toBe('bytes 98-99/100');
    expect((await get('bytes=100-200')).status).toBe(416);
    expect((await get('bytes=0-1,5-6')).status).toBe(400);
    expect((await get('bytes=5-1')).status).toBe(400);
    // The client asks for bytes the shard does not have: a protocol error, not silently short data.
    await expect(s.client.readRange(s.node, id, 90, 20)).rejects.toMatchObject({ code: 'ERR_SHARD_PROTOCOL' });
  });

  it('refuses shard ids that are not <32 hex>.<index> with 400, before touching the disk', async () => {
    const s = await setup();
    const auth = await bearer(s, 'get', []);
    for (const bad of ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', `${'A'.repeat(32)}.1`, `${'a'.repeat(32)}.100`,
      `${'a'.repeat(31)}.1`, `${'a'.repeat(32)}`, `${'a'.repeat(32)}.1.tmp0a`, `${'a'.repeat(32)}.1%00`]) {
      // Raw bytes: an HTTP client would normalise the dot segments away before sending.
      const head = await rawBytes(s.server.port, `GET /pieces/${bad} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\nConnection: close\r\n\r\n`);
      expect(head, bad).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect((await raw(s, 'GET', '/nothing', auth)).status).toBe(404);
    expect((await raw(s, 'POST', `/pieces/${newShardId()}`, auth)).status).toBe(405);
  });

  it('a connection cut while a whole PUT is handled is not an internal error (junk after it, or the client half-closing)', async () => {
    const dir = await tempDir();
    const key = await loadOrCreateGatewayKey(join(dir, 'gateway'));
    const logged: string[] = [];
    const server = await startShardStoreServer({ id: STORE_ID, dir: join(dir, 'data'), trustedKeys: await loadTrustedKeys([key.publicKeyFile]), log: (l) => logged.push(l) });
    onClose(() => server.close(200));
    const minter = new TokenMinter(key);
    for (const tail of ['junk', '']) {
      const id = newShardId();
      await rawBytes(server.port, `PUT /pieces/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await minter.mint(STORE_ID, 'put', [id])}\r\nContent-Length: 1\r\n\r\nx${tail}`);
    }
    // The aborted handlers settle after the connection is gone.
    await new Promise((r) => setTimeout(r, 100));
    expect(logged).toEqual([]);
  });

  it('answers a challenge with sha256(nonce || range) per range', async () => {
    const s = await setup();
    const id = newShardId();
    const data = randomBytes(5000);
    await putShard(s, id, data);
    const nonce = randomBytes(16);
    const ranges = [{ offset: 0, length: 1 }, { offset: 1234, length: 2000 }, { offset: 4999, length: 1 }];
    const proofs = await s.client.challenge(s.node, id, nonce, ranges);
    expect(proofs).toEqual(ranges.map((r) => createHash('sha256').update(nonce).update(data.subarray(r.offset, r.offset + r.length)).digest()));
    await expect(s.client.challenge(s.node, id, nonce, [{ offset: 4990, length: 11 }])).rejects.toMatchObject({ status: 416 });
    await expect(s.client.challenge(s.node, newShardId(), nonce, ranges)).rejects.toBeInstanceOf(ShardNotFoundError);
  });

  it('removes temp files left by a crash and counts what is there on start', async () => {
    const dir = await tempDir();
    const id = newShardId();
    const sub = join(dir, id.slice(0, 2), id.slice(2, 4));
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, id), Buffer.alloc(10));
    await writeFile(join(sub, `${id}.tmp0123abcd`), Buffer.alloc(99));
    const store = await PieceStore.open({ dir });
    expect(store.pieces).toBe(1);
    expect(store.usedBytes).toBe(10);
    expect(await readdir(sub)).toEqual([id]);
  });
});

describe('shard-store: tokens', () => {
  it('refuses missing, malformed, expired, too long-lived and foreign tokens with 401', async () => {
    const s = await setup();
    const id = newShardId();
    const path = `/pieces/${id}`;
    const missing = await raw(s, 'GET', path);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(missing.data.toString())).toMatchObject({ error: 'ERR_TOKEN_INVALID' });
    expect((await raw(s, 'GET', path, { authorization: 'Bearer not.a.jwt' })).status).toBe(401);
    expect((await raw(s, 'GET', path, { authorization: 'Basic Zm9vOmJhcg==' })).status).toBe(401);
    // Expired well beyond the clock tolerance.
    const expired = await bearer(s, 'get', [id], { issuedAt: Math.floor(Date.now() / 1000) - 700, ttlSeconds: 60 });
    expect((await raw(s, 'GET', path, expired)).status).toBe(401);
    // One hour: over the 10-minute limit.
    const tooLong = await bearer(s, 'get', [id], { ttlSeconds: 3600 });
    expect((await raw(s, 'GET', path, tooLong)).status).toBe(401);
    // Signed by a gateway this store does not trust.
    const other = new TokenMinter(await loadOrCreateGatewayKey(join(s.dir, 'other-gateway')));
    const foreign = { authorization: `Bearer ${await other.mint(STORE_ID, 'get', [id])}` };
    expect((await raw(s, 'GET', path, foreign)).status).toBe(401);
  });

  it('refuses valid tokens for another op, store or shard with 403', async () => {
    const s = await setup();
    const id = newShardId();
    await putShard(s, id, Buffer.from('hello'));
    const path = `/pieces/${id}`;
    expect((await raw(s, 'GET', path, await bearer(s, 'get', [id]))).status).toBe(200);
    expect((await raw(s, 'GET', path, await bearer(s, 'put', [id]))).status).toBe(403);
    expect((await raw(s, 'DELETE', path, await bearer(s, 'get', [id]))).status).toBe(403);
    expect((await raw(s, 'GET', path, await bearer(s, 'get', [id], { aud: 'ss-other' }))).status).toBe(403);
    expect((await raw(s, 'GET', path, await bearer(s, 'get', [newShardId()]))).status).toBe(403);
    expect((await raw(s, 'GET', '/status', await bearer(s, 'get', []))).status).toBe(403);
    // A PUT refused before its body is read: nothing written, and the client sees the refusal.
    const wrongStore = { ...s.node, id: 'ss-other' };
    const w = s.client.openShardWriter(wrongStore, id, { stallTimeoutMs: 2_000 });
    await w.write([randomBytes(1000)]);
    await expect(w.end()).rejects.toBeInstanceOf(ShardRefusedError);
    expect((await raw(s, 'GET', path, await bearer(s, 'get', [id]))).data.toString()).toBe('hello');
  });

  it('reuses minted tokens per (node, op, shard) and caches verified ones', async () => {
    const s = await setup();
    const a = newShardId();
    const t1 = await s.minter.token('n1', 'get', a);
    expect(await s.minter.token('n1', 'get', a)).toBe(t1);
    expect(await s.minter.token('n1', 'put', a)).not.toBe(t1);
    expect(await s.minter.token('n2', 'get', a)).not.toBe(t1);
    expect(await s.minter.token('n1', 'get', newShardId())).not.toBe(t1);

    const verifier = new TokenVerifier(await loadTrustedKeys([s.key.publicKeyFile]));
    const v1 = await verifier.authenticate(`Bearer ${t1}`);
    expect(await verifier.authenticate(`Bearer ${t1}`)).toBe(v1);
    expect(v1).toMatchObject({ op: 'get', audience: ['n1'] });
  });

  it('loads trusted keys as JWK, SPKI PEM or env JSON, and refuses a private key', async () => {
    const s = await setup();
    const pem = createPublicKey({ key: s.key.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const pemPath = join(s.dir, 'gw.pem');
    await writeFile(pemPath, pem);
    const token = await s.minter.token(STORE_ID, 'status');
    for (const keys of [await loadTrustedKeys([pemPath]), await loadTrustedKeys([], JSON.stringify([s.key.publicJwk]))]) {
      expect((await new TokenVerifier(keys).authenticate(`Bearer ${token}`)).op).toBe('status');
    }
    await expect(loadTrustedKeys([join(s.dir, 'gateway', 'gateway-key.jwk')])).rejects.toThrow(/private key/);
    expect(() => new TokenVerifier([])).toThrow(/no trusted/);
  });

  it('creates the gateway key once, private file mode 0600', async () => {
    const dir = await tempDir();
    const a = await loadOrCreateGatewayKey(dir);
    const b = await loadOrCreateGatewayKey(dir);
    expect(b.kid).toBe(a.kid);
    expect((await stat(join(dir, 'gateway-key.jwk'))).mode & 0o777).toBe(0o600);
    expect(a.publicJwk.d).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['gateway-key.jwk', 'gateway-key.pub.jwk']);
  });
});

describe('shard-store: failures', () => {
  it('a client abort mid-PUT leaves nothing under the name and no temp file', async () => {
    const s = await setup();
    const id = newShardId();
    const w = s.client.openShardWriter(s.node, id, { stallTimeoutMs: 5_000 });
    const chunk = randomBytes(256 * 1024);
    for (let i = 0; i < 8; i++) await w.write([chunk]);
    await until(async () => (await listFiles(s.dataDir)).some((f) => f.includes('.tmp')), 'the temp file');
    w.abort(new Error('test abort'));
    await expect(w.end()).rejects.toThrow('test abort');
    await until(async () => (await listFiles(s.dataDir)).length === 0, 'the temp file to go');
    expect(await s.client.head(s.node, id)).toBeNull();
    expect(s.server.store.pieces).toBe(0);
  });

  it('a frozen store (accepts, never reads) makes the writer time out', async () => {
    const sockets: Socket[] = [];
    const frozen = createServer((sock) => {
      sockets.push(sock);
      sock.pause();
    });
    frozen.listen(0, '127.0.0.1');
    await once(frozen, 'listening');
    onClose(() => {
      for (const sock of sockets) sock.destroy();
      return new Promise<void>((r) => frozen.close(() => r()));
    });
    const { port } = frozen.address() as import('node:net').AddressInfo;
    const dir = await tempDir();
    const client = new ShardClient({ minter: new TokenMinter(await loadOrCreateGatewayKey(dir)) });
    onClose(() => client.close());
    const w = client.openShardWriter({ id: 'frozen', url: `http://127.0.0.1:${port}`, zone: 'z' }, newShardId(), { stallTimeoutMs: 300 });
    const chunk = Buffer.alloc(1024 * 1024);
    const started = Date.now();
    let err: unknown;
    // Socket buffers on loopback take a few MiB before the writes block.
    for (let i = 0; i < 256 && !err; i++) await w.write([chunk]).catch((e: unknown) => { err = e; });
    expect(err).toBeInstanceOf(ShardTimeoutError);
    expect((err as ShardTimeoutError).nodeId).toBe('frozen');
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(w.end()).rejects.toBe(err);
  });

  it('reports a store that is down as unavailable', async () => {
    const s = await setup();
    await s.server.close(0);
    await expect(s.client.readRange(s.node, newShardId(), 0, 10)).rejects.toBeInstanceOf(ShardUnavailableError);
    const w = s.client.openShardWriter(s.node, newShardId());
    await expect(w.write([Buffer.alloc(2 * 1024 * 1024)]).then(() => w.end())).rejects.toBeInstanceOf(ShardUnavailableError);
  });

  it('read deadline and caller abort', async () => {
    const s = await setup();
    const id = newShardId();
    await putShard(s, id, Buffer.alloc(100));
    const ac = new AbortController();
    ac.abort(new Error('hedged elsewhere'));
    await expect(s.client.readRange(s.node, id, 0, 10, { signal: ac.signal })).rejects.toThrow('hedged elsewhere');
    await expect(s.client.readRange(s.node, id, 0, 10, { timeoutMs: 0 })).rejects.toBeInstanceOf(ShardTimeoutError);
  });

  it('answers 507 when the configured capacity is full, and keeps nothing', async () => {
    const s = await setup({ capacityBytes: 100_000 });
    const ok = newShardId();
    await putShard(s, ok, randomBytes(60_000));
    // Chunked: the store finds out mid-stream.
    const tooBig = newShardId();
    await expect(putShard(s, tooBig, randomBytes(60_000), 16 * 1024)).rejects.toBeInstanceOf(ShardFullError);
    // With Content-Length: refused before any byte is written.
    const w = s.client.openShardWriter(s.node, tooBig, { contentLength: 60_000 });
    await w.write([randomBytes(60_000)]);
    await expect(w.end()).rejects.toBeInstanceOf(ShardFullError);
    expect(await listFiles(s.dataDir)).toEqual([join(ok.slice(0, 2), ok.slice(2, 4), ok)]);
    expect(s.server.store.usedBytes).toBe(60_000);
  });

  it.skipIf(!existsSync('/dev/full'))('maps ENOSPC to 507 and removes the temp file', async () => {
    // A disk that is full: every write to /dev/full fails with ENOSPC.
    class FullDiskStore extends PieceStore {
      protected override openTemp(path: string): Promise<FileHandle> {
        return writeFile(path, '').then(() => open('/dev/full', 'w'));
      }
    }
    const dir = await tempDir();
    const store = await FullDiskStore.open({ dir: join(dir, 'data') });
    const s = await setup({ store });
    const id = newShardId();
    await expect(putShard(s, id, randomBytes(100_000))).rejects.toBeInstanceOf(ShardFullError);
    expect(await listFiles(store.dir)).toEqual([]);
  });

  it('close() lets an in-flight upload finish, then refuses new connections', async () => {
    const s = await setup();
    const id = newShardId();
    const w = s.client.openShardWriter(s.node, id);
    await w.write([randomBytes(100_000)]);
    await until(async () => (await listFiles(s.dataDir)).some((f) => f.includes('.tmp')), 'the upload to start');
    const closing = s.server.close(5_000);
    await w.write([randomBytes(100_000)]);
    await w.end();
    await closing;
    expect((await stat(s.server.store.pathOf(id))).size).toBe(200_000);
    await expect(s.client.status(s.node)).rejects.toBeInstanceOf(ShardUnavailableError);
  });

  it('streams a 200 MiB PUT in bounded memory', async () => {
    const s = await setup();
    const id = newShardId();
    const chunk = randomBytes(1024 * 1024);
    const mem = () => process.memoryUsage().arrayBuffers;
    const base = mem();
    let peak = base;
    const w = s.client.openShardWriter(s.node, id, { stallTimeoutMs: 10_000 });
    const started = Date.now();
    for (let i = 0; i < 200; i++) {
      await w.write([chunk]);
      peak = Math.max(peak, mem());
    }
    await w.end();
    const ms = Date.now() - started;
    expect((await stat(s.server.store.pathOf(id))).size).toBe(200 * 1024 * 1024);
    // Whatever the size, client and store together hold a few MiB; 200 MiB if anything buffered it whole.
    expect(peak - base).toBeLessThan(64 * 1024 * 1024);
    console.log(`200 MiB PUT in ${ms} ms (${(200_000 / ms).toFixed(0)} MiB/s), peak buffer growth ${((peak - base) / 2 ** 20).toFixed(1)} MiB`);
  });
});

describe('shard-store: parsing', () => {
  it('parses Range headers', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
    expect(() => parseRange('bytes=0-0', 0)).toThrow(/outside/);
    expect(() => parseRange('bytes=-', 10)).toThrow();
    expect(() => parseRange('items=0-1', 10)).toThrow();
  });

  it('parses sizes and flags with env fallbacks', () => {
    expect(parseSize('100G')).toBe(100 * 2 ** 30);
    expect(parseSize('1.5T')).toBe(1.5 * 2 ** 40);
    expect(parseSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('lots')).toThrow(/--capacity/);
    expect(() => parseSize('0')).toThrow(/positive/);
    const cfg = parseShardStoreArgs(['--capacity', '2G', '--trusted-key', 'a', '--trusted-key', 'b'], {
      SHARDGATE_SHARD_ID: 'ss07', SHARDGATE_DATA: '/d', SHARDGATE_PORT: '7407', SHARDGATE_ZONE: 'z2',
    });
    expect(cfg).toMatchObject({ id: 'ss07', dir: '/d', port: 7407, zone: 'z2', host: '127.0.0.1', capacityBytes: 2 * 2 ** 30, trustedKeyPaths: ['a', 'b'] });
    expect(() => parseShardStoreArgs(['--data', '/d'], {})).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => parseShardStoreArgs(['--id', 'x'], {})).toThrow(/--data/);
    expect(() => parseShardStoreArgs(['--id', 'x', '--data', 'd', '--port', '70000'], {})).toThrow(/--port/);
    expect(() => parseShardStoreArgs(['--nope'], {})).toThrow(expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }));
  });
});
