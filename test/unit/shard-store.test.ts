import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { ShardClient, type ShardNode } from '../../gateway/shards/client.js';
import { ShardFullError, ShardNotFoundError, ShardRefusedError, ShardTimeoutError, ShardUnavailableError } from '../../gateway/shards/errors.js';
import { loadOrCreateGatewayKey, loadOrCreateSigningKey, type GatewayKey } from '../../gateway/shards/keys.js';
import { MemoryPins } from '../../gateway/shards/pins.js';
import { recoveryKey } from '../../gateway/snapshot/keys.js';
import { identityFromKey, newIdentityKey, type TlsIdentity } from '../../wire/identity.js';
import { parseShardStoreArgs, parseSize } from '../../shard-store/main.js';
import { parseRange } from '../../shard-store/routes.js';
import { startShardStoreServer, type ShardStoreServer } from '../../shard-store/server.js';
import { loadTrustedKeys, PeerTrust } from '../../shard-store/peers.js';
import {
  BatchOp, decodeRequestHeader, encodeResultHeader, FLAG_LEAF, FrameError, FrameParser, PIECE_PROTOCOL, REQUEST_HEADER_BYTES, requestPayload,
} from '../../shard-store/batch-frames.js';
import { splitLeaf } from '../../shard-store/batch.js';
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

/** Every file under `dir` but the store's own key, relative. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name !== 'store-key.pem') out.push(join(e.parentPath, e.name).slice(dir.length + 1));
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
  client: ShardClient;
  node: ShardNode;
}

async function setup(opts: { capacityBytes?: number; link?: { stallTimeoutMs?: number } } = {}): Promise<Setup> {
  return setupIn(await tempDir(), opts);
}

/** A store serving `dir`/data, and a gateway key and client for it. */
async function setupIn(dir: string, opts: { capacityBytes?: number; link?: { stallTimeoutMs?: number } } = {}): Promise<Setup> {
  const key = await loadOrCreateGatewayKey(join(dir, 'gateway'));
  const dataDir = join(dir, 'data');
  const server = await startShardStoreServer({
    id: STORE_ID, dir: dataDir, trustedKeys: await loadTrustedKeys([key.publicKeyFile]), ...(opts.capacityBytes && { capacityBytes: opts.capacityBytes }),
  });
  onClose(() => server.close(200));
  const client = new ShardClient({ identity: key.tls, pins: new MemoryPins([[STORE_ID, server.fingerprint]]), connections: 4, ...(opts.link && { link: opts.link }) });
  onClose(() => client.close());
  return { dir, dataDir, key, server, client, node: { id: STORE_ID, url: server.url, zone: 'zone-1' } };
}

/** A raw request over TLS as `identity` (default: the gateway's key; null: no client certificate). */
async function raw(
  s: Setup, method: 'GET' | 'PUT' | 'HEAD' | 'DELETE' | 'POST', path: string, headers: Record<string, string> = {}, body?: Buffer | string,
  identity: TlsIdentity | null = s.key.tls,
) {
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false, ...(identity && { key: identity.key, cert: identity.cert }) } });
  try {
    const res = await request(`${s.server.url}${path}`, { method, headers, body, dispatcher });
    const data = method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers, data };
  } finally {
    await dispatcher.close();
  }
}

/** Send exact bytes over TLS as the gateway, return the whole answer as text. */
async function rawBytes(s: Setup, text: string): Promise<string> {
  const sock = tlsConnect({ port: s.server.port, host: '127.0.0.1', rejectUnauthorized: false, key: s.key.tls.key, cert: s.key.tls.cert });
  await once(sock, 'secureConnect');
  sock.end(text);
  const chunks: Buffer[] = [];
  for await (const c of sock) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

/** Write a shard as records of `record` bytes (the last shorter), as the gateway writes segments. */
async function putShard(s: Setup, shardId: string, data: Buffer, record = 64 * 1024): Promise<void> {
  const w = s.client.openShardWriter(s.node, shardId);
  for (let off = 0; off < data.length; off += record) await w.write([data.subarray(off, off + record)]);
  await w.end();
}

describe('shard-store: pieces', () => {
  it('stores a shard record by record in a volume, reads it whole, ranged and by record, heads and deletes it', async () => {
    const s = await setup();
    const id = newShardId(15);
    // Five 64 KiB records and a short one, as a blob's segments.
    const data = randomBytes(5 * 65_536 + 1001);
    await putShard(s, id, data);
    // No file per shard: the records are appended to a volume.
    expect((await listFiles(s.dataDir)).filter((f) => !f.startsWith('volumes/'))).toEqual([]);
    expect(await listFiles(join(s.dataDir, 'volumes'))).toContain('v000001.dat');

    expect(await s.client.head(s.node, id)).toEqual({ size: data.length });
    expect((await s.client.readRange(s.node, id, 0, data.length)).equals(data)).toBe(true);
    expect((await s.client.readRange(s.node, id, 65_530, 1000)).equals(data.subarray(65_530, 66_530))).toBe(true);
    expect((await s.client.readRange(s.node, id, data.length - 1, 1)).equals(data.subarray(-1))).toBe(true);
    for (const seg of [0, 3, 5]) {
      const len = seg === 5 ? 1001 : 65_536;
      expect((await s.client.readRecord(s.node, id, seg, seg * 65_536, len)).equals(data.subarray(seg * 65_536, seg * 65_536 + len))).toBe(true);
    }
    await expect(s.client.readRecord(s.node, id, 6, 6 * 65_536, 10)).rejects.toBeInstanceOf(ShardNotFoundError);
    await expect(s.client.readRecord(s.node, id, 0, 0, 10)).rejects.toMatchObject({ code: 'ERR_SHARD_PROTOCOL' });

    const whole = await raw(s, 'GET', `/pieces/${id}`);
    expect(whole.status).toBe(200);
    expect(whole.data.equals(data)).toBe(true);
    expect(await s.client.status(s.node)).toMatchObject({ id: STORE_ID, zone: 'zone-1', pieces: 1, usedBytes: data.length });

    await s.client.deleteShard(s.node, id);
    expect(await s.client.head(s.node, id)).toBeNull();
    await s.client.deleteShard(s.node, id); // idempotent
    await expect(s.client.readRange(s.node, id, 0, 10)).rejects.toBeInstanceOf(ShardNotFoundError);
    await expect(s.client.readRecord(s.node, id, 0, 0, 65_536)).rejects.toBeInstanceOf(ShardNotFoundError);
    expect(await s.client.status(s.node)).toMatchObject({ pieces: 0, usedBytes: 0 });
  });

  it('replaces a shard written again, and counts only the live copy', async () => {
    const s = await setup();
    const id = newShardId();
    const first = randomBytes(1024 * 1024 + 1);
    await putShard(s, id, first, 256 * 1024);
    expect((await s.client.readRange(s.node, id, 0, first.length)).equals(first)).toBe(true);
    const second = randomBytes(1000);
    await s.client.deleteShard(s.node, id);
    await putShard(s, id, second);
    expect((await s.client.readRange(s.node, id, 0, 1000)).equals(second)).toBe(true);
    const st = await s.client.status(s.node);
    expect(st).toMatchObject({ id: STORE_ID, zone: 'zone-1', pieces: 1, usedBytes: 1000 });
    expect(st.freeBytes).toBeGreaterThan(0);
    expect(st.capacityBytes).toBeGreaterThan(0);
    expect(typeof st.version).toBe('string');
  });

  it('keeps serving shards an older release wrote as one file each, and drops their temp files', async () => {
    const dir = await tempDir();
    const dataDir = join(dir, 'data');
    const id = newShardId();
    const sub = join(dataDir, id.slice(0, 2), id.slice(2, 4));
    await mkdir(sub, { recursive: true });
    const old = randomBytes(3 * 4100 + 77);
    await writeFile(join(sub, id), old);
    await writeFile(join(sub, `${id}.tmp0123abcd`), Buffer.alloc(99));
    const s = await setupIn(dir);
    expect(await readdir(sub)).toEqual([id]);
    expect(await s.client.status(s.node)).toMatchObject({ pieces: 1, usedBytes: old.length });
    expect(await s.client.head(s.node, id)).toEqual({ size: old.length });
    // By record (segment 2 at its offset in the old file) and by range.
    expect((await s.client.readRecord(s.node, id, 2, 8200, 4100)).equals(old.subarray(8200, 12_300))).toBe(true);
    expect((await s.client.readRange(s.node, id, 100, 5000)).equals(old.subarray(100, 5100))).toBe(true);
    expect(await s.client.listPieces(s.node)).toEqual([id]);
    await s.client.deleteShard(s.node, id);
    expect(await readdir(sub)).toEqual([]);
    expect(await s.client.head(s.node, id)).toBeNull();
  });

  it('answers Range forms and refuses bad ones', async () => {
    const s = await setup();
    const id = newShardId();
    const data = randomBytes(100);
    await putShard(s, id, data);
    const get = (range: string) => raw(s, 'GET', `/pieces/${id}`, { range });
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
    for (const bad of ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', `${'A'.repeat(32)}.1`, `${'a'.repeat(32)}.100`,
      `${'a'.repeat(31)}.1`, `${'a'.repeat(32)}`, `${'a'.repeat(32)}.1.tmp0a`, `${'a'.repeat(32)}.1%00`]) {
      // Raw bytes: an HTTP client would normalise the dot segments away before sending.
      const head = await rawBytes(s, `GET /pieces/${bad} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(head, bad).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect((await raw(s, 'GET', '/nothing')).status).toBe(404);
    expect((await raw(s, 'POST', `/pieces/${newShardId()}`)).status).toBe(405);
  });

});

describe('shard-store: who may talk to it (mutual TLS)', () => {
  it('refuses a client without a certificate, or with a key it does not trust, with 401', async () => {
    const s = await setup();
    const id = newShardId();
    await putShard(s, id, Buffer.from('hello'));
    const path = `/pieces/${id}`;
    const anonymous = await raw(s, 'GET', path, {}, undefined, null);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.data.toString())).toMatchObject({ error: 'ERR_UNAUTHENTICATED' });
    // Another gateway's key: a valid handshake, but not a key this store serves.
    const other = await loadOrCreateGatewayKey(join(s.dir, 'other-gateway'));
    expect((await raw(s, 'GET', path, {}, undefined, other.tls)).status).toBe(401);
    expect((await raw(s, 'DELETE', path, {}, undefined, other.tls)).status).toBe(401);
    // A bearer token from the old protocol opens nothing either.
    expect((await raw(s, 'GET', path, { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln' }, undefined, null)).status).toBe(401);
    expect((await raw(s, 'GET', path)).data.toString()).toBe('hello');
  });

  it('lets a registered recovery key read, and only read (403 for the rest)', async () => {
    const s = await setup();
    const id = newShardId();
    await putShard(s, id, Buffer.from('hello'));
    const rk = await recoveryKey(randomBytes(32));
    expect((await raw(s, 'GET', `/pieces/${id}`, {}, undefined, rk.tls)).status).toBe(401);
    // Only a trusted key may register one.
    expect((await raw(s, 'POST', '/trusted-keys', {}, JSON.stringify({ jwk: rk.publicJwk }), rk.tls)).status).toBe(401);
    await s.client.trustKey(s.node, rk.publicJwk);
    expect((await raw(s, 'GET', `/pieces/${id}`, {}, undefined, rk.tls)).data.toString()).toBe('hello');
    expect((await raw(s, 'GET', '/status', {}, undefined, rk.tls)).status).toBe(200);
    expect((await raw(s, 'GET', '/pieces', {}, undefined, rk.tls)).status).toBe(200);
    expect((await raw(s, 'DELETE', `/pieces/${id}`, {}, undefined, rk.tls)).status).toBe(403);
    // (Nothing is written over HTTP any more: the piece protocol below is the only way in.)
    expect((await raw(s, 'PUT', `/pieces/${newShardId()}`, {}, 'x', rk.tls)).status).toBe(405);
    expect((await raw(s, 'POST', '/trusted-keys', {}, JSON.stringify({ jwk: rk.publicJwk }), rk.tls)).status).toBe(403);
    expect((await raw(s, 'GET', `/pieces/${id}`)).data.toString()).toBe('hello');
    // The same over the piece protocol: reads yes, writes and deletes no.
    const rclient = new ShardClient({ identity: rk.tls, pins: new MemoryPins([[STORE_ID, s.server.fingerprint]]) });
    onClose(() => rclient.close());
    expect((await rclient.readRecord(s.node, id, 0, 0, 5)).toString()).toBe('hello');
    await expect(rclient.deleteShard(s.node, id)).rejects.toBeInstanceOf(ShardRefusedError);
    const w = rclient.openShardWriter(s.node, newShardId());
    await w.write([Buffer.from('x')]);
    await expect(w.end()).rejects.toBeInstanceOf(ShardRefusedError);
    expect((await s.client.readRecord(s.node, id, 0, 0, 5)).toString()).toBe('hello');
  });

  it('serves the monitor keys the gateway lists: challenges and status only, until a new list leaves one out', async () => {
    const s = await setup();
    const id = newShardId();
    await putShard(s, id, Buffer.from('hello'));
    const mk = await loadOrCreateSigningKey(join(s.dir, 'monitor'), 'monitor-key.jwk', 'monitor-key.pub.jwk', 'shardgate monitor');
    expect((await stat(join(s.dir, 'monitor', 'monitor-key.jwk'))).mode & 0o777).toBe(0o600);
    const challenge = JSON.stringify({ shardId: id, nonce: 'ab', recordSize: 64, indices: [0] });
    expect((await raw(s, 'GET', '/status', {}, undefined, mk.tls)).status).toBe(401);
    // Only a trusted key lists monitors; a monitor cannot list itself.
    expect((await raw(s, 'PUT', '/monitor-keys', {}, JSON.stringify({ keys: [mk.publicJwk] }), mk.tls)).status).toBe(401);
    expect((await raw(s, 'PUT', '/monitor-keys', {}, JSON.stringify({ keys: [{ ...mk.publicJwk, d: 'x' }] }))).status).toBe(400);
    await s.client.setMonitorKeys(s.node, [mk.publicJwk]);
    expect((await raw(s, 'POST', '/challenge', { 'content-type': 'application/json' }, challenge, mk.tls)).status).toBe(200);
    expect((await raw(s, 'GET', `/pieces/${id}`, {}, undefined, mk.tls)).status).toBe(403);
    expect((await raw(s, 'GET', '/pieces', {}, undefined, mk.tls)).status).toBe(403);
    expect((await raw(s, 'PUT', '/monitor-keys', {}, JSON.stringify({ keys: [] }), mk.tls)).status).toBe(403);
    // A connection kept open is refused from its next request once the monitor is left out.
    const mclient = new ShardClient({ identity: mk.tls, pins: new MemoryPins([[STORE_ID, s.server.fingerprint]]), connections: 1 });
    onClose(() => mclient.close());
    await expect(mclient.status(s.node)).resolves.toMatchObject({ id: STORE_ID });
    await s.client.setMonitorKeys(s.node, []);
    await expect(mclient.status(s.node)).rejects.toThrow(/401|not trusted/);
    // The list outlives a restart.
    await s.client.setMonitorKeys(s.node, [mk.publicJwk]);
    await s.server.close(100);
    const again = await startShardStoreServer({ id: STORE_ID, dir: s.dataDir, trustedKeys: await loadTrustedKeys([s.key.publicKeyFile]) });
    onClose(() => again.close(100));
    expect((await raw({ ...s, server: again }, 'GET', '/status', {}, undefined, mk.tls)).status).toBe(200);
  });

  it('loads trusted keys as JWK, SPKI PEM or env JSON, and refuses a private key', async () => {
    const s = await setup();
    const pem = createPublicKey({ key: s.key.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const pemPath = join(s.dir, 'gw.pem');
    await writeFile(pemPath, pem);
    for (const keys of [await loadTrustedKeys([pemPath]), await loadTrustedKeys([], JSON.stringify([s.key.publicJwk])), await loadTrustedKeys([s.key.publicKeyFile])]) {
      expect(keys.map((k) => k.fingerprint)).toEqual([s.key.tls.fingerprint]);
    }
    await expect(loadTrustedKeys([join(s.dir, 'gateway', 'gateway-key.jwk')])).rejects.toThrow(/private key/);
    expect(() => new PeerTrust([])).toThrow(/no trusted/);
  });

  it('keeps its own key for life, private, and prints it for pinning', async () => {
    const s = await setup();
    expect((await stat(join(s.dataDir, 'store-key.pem'))).mode & 0o777).toBe(0o600);
    // The data folder, its volumes and their index are the store's alone.
    expect((await stat(s.dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(s.dataDir, 'volumes'))).mode & 0o777).toBe(0o700);
    for (const f of await readdir(join(s.dataDir, 'volumes'))) expect((await stat(join(s.dataDir, 'volumes', f))).mode & 0o077).toBe(0);
    await s.server.close(100);
    const again = await startShardStoreServer({ id: STORE_ID, dir: s.dataDir, trustedKeys: await loadTrustedKeys([s.key.publicKeyFile]) });
    onClose(() => again.close(100));
    expect(again.fingerprint).toBe(s.server.fingerprint);
    expect(again.url).toMatch(/^https:\/\//);
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

describe('shard-store: batching', () => {
  it('sends at once on an idle link, and what queues while a batch is out goes in the next one', async () => {
    const s = await setup();
    // A disk whose fdatasync takes 50 ms, far longer than the 50 turns of the event loop below:
    // how many pieces share a batch then depends on the lane alone, not on this host's disk.
    const store = s.server.store;
    const sync = store.sync.bind(store);
    store.sync = async () => {
      await new Promise((r) => setTimeout(r, 50));
      return sync();
    };
    const data = randomBytes(4096);
    const before = s.client.pieceStats();
    const write = async (): Promise<void> => {
      const w = s.client.openShardWriter(s.node, newShardId());
      await w.write([data]);
      await w.end();
    };
    const first = write();
    // One piece per turn of the event loop, while the first waits for its fdatasync.
    const rest: Array<Promise<void>> = [];
    for (let i = 0; i < 50; i++) {
      rest.push(write());
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([first, ...rest]);
    const { ops, batches } = s.client.pieceStats();
    expect(ops - before.ops).toBe(51);
    // Each batch waits for the answer to the one before (an append and an fdatasync on the
    // store): the pieces queued while the connection opens go out together (in one or two
    // writes), and all those queued while they are out follow in one more.
    expect(batches - before.batches).toBeLessThanOrEqual(3);
    expect(s.server.store.pieces).toBe(51);
  });
  it('answers a batch of reads larger than one turn\'s share (1 MiB) over several turns, every byte', async () => {
    const s = await setup();
    // Six records of 600 KiB and two small ones: 3.6 MiB of answers to one batch.
    const sizes = [600 * 1024, 1000, 600 * 1024, 600 * 1024, 600 * 1024, 7, 600 * 1024, 600 * 1024];
    const pieces = sizes.map((n) => randomBytes(n));
    const ids = pieces.map(() => newShardId());
    for (const [i, p] of pieces.entries()) await putShard(s, ids[i]!, p, p.length);
    const before = s.client.pieceStats();
    const got = await Promise.all(ids.map((id, i) => s.client.readRecord(s.node, id, 0, 0, pieces[i]!.length)));
    const { ops, batches } = s.client.pieceStats();
    expect([ops - before.ops, batches - before.batches]).toEqual([pieces.length, 1]);
    for (const [i, p] of pieces.entries()) expect(got[i]!.equals(p)).toBe(true);
  });
});

describe('shard-store: audit leaves sent with the pieces', () => {
  const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
  /** A piece record as the gateway sends it: the piece, then its 4-byte CRC trailer. */
  const record = (piece: Buffer): Buffer[] => [piece, Buffer.from([1, 2, 3, 4])];

  it('keeps the leaf the gateway sent (sgpiece/2), and hashes records sent without one', async () => {
    const s = await setup();
    const pieces = [randomBytes(1000), randomBytes(70 * 1024), randomBytes(10)];
    // A leaf the store could not have computed: what it keeps must be the one sent.
    const sent = randomBytes(32);
    const leafed = newShardId();
    const w = s.client.openShardWriter(s.node, leafed);
    await w.write(record(pieces[0]!), undefined, sent);
    await w.write(record(pieces[1]!), undefined, sha256(pieces[1]!));
    await w.end();
    const plain = newShardId();
    const v = s.client.openShardWriter(s.node, plain);
    await v.write(record(pieces[2]!));
    await v.end();
    const a = await s.server.store.record(leafed, 1, 0);
    expect(a?.leaves).toEqual([sent, sha256(pieces[1]!)]);
    expect(a?.data).toEqual(Buffer.concat(record(pieces[1]!)));
    const b = await s.server.store.record(plain, 0, 0);
    expect(b?.leaves).toEqual([sha256(pieces[2]!)]);
  });

  it('sends no leaf to a store that speaks only sgpiece/1 (an older release)', async () => {
    const me = identityFromKey(newIdentityKey(), 'old');
    const seen: Array<{ flags: number; length: number }> = [];
    const old = createTlsServer({ key: me.key, cert: me.cert, requestCert: true, rejectUnauthorized: false, ALPNProtocols: [PIECE_PROTOCOL] }, (sock) => {
      const parser = new FrameParser(REQUEST_HEADER_BYTES, requestPayload, 1 << 20);
      sock.on('data', (chunk: Buffer) => {
        for (const f of parser.push(chunk)) {
          const req = decodeRequestHeader(f.header);
          if (req.op === BatchOp.Put) seen.push({ flags: req.flags, length: req.length });
          sock.write(encodeResultHeader(req.id, 0, 0));
        }
      });
    });
    old.listen(0, '127.0.0.1');
    await once(old, 'listening');
    onClose(() => new Promise<void>((r) => old.close(() => r())));
    const { port } = old.address() as import('node:net').AddressInfo;
    const client = new ShardClient({ identity: (await loadOrCreateGatewayKey(await tempDir())).tls, pins: new MemoryPins() });
    onClose(() => client.close());
    const w = client.openShardWriter({ id: 'old', url: `https://127.0.0.1:${port}`, zone: 'z' }, newShardId());
    await w.write(record(randomBytes(500)), undefined, randomBytes(32));
    await w.end();
    expect(seen).toEqual([{ flags: expect.any(Number), length: 504 }]);
    expect(seen[0]!.flags & FLAG_LEAF).toBe(0);
  });

  it('takes the leaf off the front of the data however the reads cut it, and refuses data shorter than a leaf', () => {
    const leaf = randomBytes(32);
    const rec = randomBytes(100);
    const whole = Buffer.concat([leaf, rec]);
    for (const cuts of [[132], [32, 100], [10, 22, 100], [5, 40, 87], [31, 1, 1, 99]]) {
      const chunks: Buffer[] = [];
      let at = 0;
      for (const n of cuts) chunks.push(whole.subarray(at, (at += n)));
      const out = splitLeaf(chunks);
      expect(out.leaf).toEqual(leaf);
      expect(Buffer.concat(out.data)).toEqual(rec);
    }
    expect(splitLeaf([leaf]).data).toEqual([]);
    expect(() => splitLeaf([leaf.subarray(0, 20), leaf.subarray(20, 31)])).toThrow(FrameError);
  });
});

describe('shard-store: failures', () => {
  it('a writer that gives up leaves no acknowledged shard, and its records are garbage the gateway deletes', async () => {
    const s = await setup();
    const id = newShardId();
    const w = s.client.openShardWriter(s.node, id);
    const chunk = randomBytes(256 * 1024);
    for (let i = 0; i < 8; i++) await w.write([chunk]);
    w.abort(new Error('test abort'));
    await expect(w.end()).rejects.toThrow('test abort');
    // Records already sent may have been appended; deleting the shard (what the gateway does
    // with a blob it discards) removes them.
    await s.client.deleteShard(s.node, id);
    expect(await s.client.head(s.node, id)).toBeNull();
    expect(s.server.store.pieces).toBe(0);
  });

  it('a frozen store (takes the connection, never answers) fails its own operations within the stall timeout', async () => {
    const sockets: Socket[] = [];
    const me = identityFromKey(newIdentityKey(), 'frozen');
    // Completes the TLS handshake with the piece protocol, then never reads a byte.
    const frozen = createTlsServer({ key: me.key, cert: me.cert, requestCert: true, rejectUnauthorized: false, ALPNProtocols: [PIECE_PROTOCOL] }, (sock) => {
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
    const client = new ShardClient({ identity: (await loadOrCreateGatewayKey(dir)).tls, pins: new MemoryPins(), link: { stallTimeoutMs: 300 } });
    onClose(() => client.close());
    const node = { id: 'frozen', url: `https://127.0.0.1:${port}`, zone: 'z' };
    const w = client.openShardWriter(node, newShardId());
    const started = Date.now();
    await w.write([Buffer.alloc(1024 * 1024)]);
    const err = await w.end().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ShardTimeoutError);
    expect((err as ShardTimeoutError).nodeId).toBe('frozen');
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(client.readRecord(node, newShardId(), 0, 0, 100)).rejects.toBeInstanceOf(ShardTimeoutError);
  });

  it('reports a store that is down as unavailable', async () => {
    const s = await setup();
    await s.server.close(0);
    await expect(s.client.readRange(s.node, newShardId(), 0, 10)).rejects.toBeInstanceOf(ShardUnavailableError);
    await expect(s.client.readRecord(s.node, newShardId(), 0, 0, 10)).rejects.toBeInstanceOf(ShardUnavailableError);
    const w = s.client.openShardWriter(s.node, newShardId());
    await expect(w.write([Buffer.alloc(2 * 1024 * 1024)]).then(() => w.end())).rejects.toBeInstanceOf(ShardUnavailableError);
  });

  it('read deadline and caller abort', async () => {
    const s = await setup();
    const id = newShardId();
    await putShard(s, id, Buffer.alloc(100));
    const ac = new AbortController();
    ac.abort(new Error('hedged elsewhere'));
    await expect(s.client.readRecord(s.node, id, 0, 0, 100, { signal: ac.signal })).rejects.toThrow('hedged elsewhere');
    await expect(s.client.readRange(s.node, id, 0, 10, { timeoutMs: 0 })).rejects.toBeInstanceOf(ShardTimeoutError);
    expect((await s.client.readRecord(s.node, id, 0, 0, 100)).length).toBe(100);
  });

  it('answers Full past the configured capacity, and keeps what fit', async () => {
    const s = await setup({ capacityBytes: 100_000 });
    const ok = newShardId();
    await putShard(s, ok, randomBytes(60_000));
    const tooBig = newShardId();
    await expect(putShard(s, tooBig, randomBytes(60_000), 16 * 1024)).rejects.toBeInstanceOf(ShardFullError);
    await s.client.deleteShard(s.node, tooBig);
    expect(s.server.store.usedBytes).toBe(60_000);
    expect(await s.client.listPieces(s.node)).toEqual([ok]);
  });

  it('close() answers the operations it received, then refuses new connections', async () => {
    const s = await setup();
    const id = newShardId();
    const w = s.client.openShardWriter(s.node, id);
    await w.write([randomBytes(100_000)]);
    // The record (flagged durable) is appended when the store is told to stop: its answer still comes.
    const ended = w.end();
    await until(() => s.server.store.usedBytes >= 100_000, 'the record to arrive');
    const closing = s.server.close(5_000);
    await ended;
    await closing;
    expect(s.server.store.usedBytes).toBe(100_000);
    await expect(s.client.status(s.node)).rejects.toBeInstanceOf(ShardUnavailableError);
  });

  it('streams a 200 MiB shard in bounded memory', async () => {
    const s = await setup();
    const id = newShardId();
    const chunk = randomBytes(1024 * 1024);
    const mem = () => process.memoryUsage().arrayBuffers;
    const base = mem();
    let peak = base;
    const w = s.client.openShardWriter(s.node, id);
    const started = Date.now();
    for (let i = 0; i < 200; i++) {
      await w.write([chunk]);
      peak = Math.max(peak, mem());
    }
    await w.end();
    const ms = Date.now() - started;
    expect(await s.client.head(s.node, id)).toEqual({ size: 200 * 1024 * 1024 });
    // Whatever the size, client and store together hold a few tens of MiB; 200 MiB if anything buffered it whole.
    expect(peak - base).toBeLessThan(96 * 1024 * 1024);
    console.log(`200 MiB shard in ${ms} ms (${(200_000 / ms).toFixed(0)} MiB/s), peak buffer growth ${((peak - base) / 2 ** 20).toFixed(1)} MiB`);
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

  it('hosts several stores in one process with --stores, each checked', () => {
    const stores = JSON.stringify([{ id: 'ss00', data: '/d/0', zone: 'z1' }, { id: 'ss01', data: '/d/1' }]);
    const cfg = parseShardStoreArgs(['--stores', stores, '--trusted-key', 'k'], {});
    expect(cfg).toMatchObject({ id: 'ss00', dir: '/d/0', zone: 'z1', port: 0, more: [{ id: 'ss01', dir: '/d/1', zone: 'zone-1' }] });
    expect(parseShardStoreArgs(['--id', 'a', '--data', '/a'], {})).toMatchObject({ more: [] });
    const bad = (json: string, re: RegExp) => expect(() => parseShardStoreArgs(['--stores', json], {})).toThrow(re);
    bad('nope', /not JSON/);
    bad('[]', /1 to 256/);
    bad('[{"id":"../x","data":"/d"}]', /\.id/);
    bad('[{"id":"a"}]', /\.data/);
    bad('[{"id":"a","data":"/d"},{"id":"a","data":"/e"}]', /unique/);
    bad('[{"id":"a","data":"/d"},{"id":"b","data":"/d"}]', /unique/);
    expect(() => parseShardStoreArgs(['--stores', stores, '--id', 'x'], {})).toThrow(/replaces/);
    expect(() => parseShardStoreArgs(['--stores', stores, '--port', '9000'], {})).toThrow(/own port/);
    // A restarted host keeps each store's address: ports per entry.
    expect(parseShardStoreArgs(['--stores', '[{"id":"a","data":"/a","port":7001},{"id":"b","data":"/b","port":7002}]'], {}))
      .toMatchObject({ id: 'a', port: 0, more: [{ id: 'b', port: 7002 }] });
    bad('[{"id":"a","data":"/d","port":70000}]', /\.port/);
  });
});
