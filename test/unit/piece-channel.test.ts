import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { ShardClient, pieceChannelFromEnv, type ShardNode } from '../../gateway/shards/client.js';
import { ShardProtocolError } from '../../gateway/shards/errors.js';
import { loadOrCreateGatewayKey, type GatewayKey } from '../../gateway/shards/keys.js';
import { MemoryPins } from '../../gateway/shards/pins.js';
import {
  BatchOp, encodeRequestHeader, PIECE_PROTOCOL_LEAVES, REQUEST_HEADER_BYTES, RESULT_HEADER_BYTES,
} from '../../shard-store/batch-frames.js';
import { loadTrustedKeys } from '../../shard-store/peers.js';
import {
  CHANNEL_MAGIC, CHANNEL_MIN_BYTES, channelHello, channelSecrets, FrameTags, PIECE_PROTOCOL_CHANNEL, TAG_BYTES,
} from '../../shard-store/piece-channel.js';
import { startShardStoreServer, type ShardStoreServer } from '../../shard-store/server.js';
import { onClose } from '../helpers/registry.js';

const STORE_ID = 'ss-chan';

interface Setup {
  key: GatewayKey;
  server: ShardStoreServer;
  node: ShardNode;
  client(opts?: { pieceChannel?: boolean; url?: string }): ShardClient;
}

async function setup(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-chan-'));
  onClose(() => rm(dir, { recursive: true, force: true }));
  const key = await loadOrCreateGatewayKey(join(dir, 'gateway'));
  const server = await startShardStoreServer({ id: STORE_ID, dir: join(dir, 'data'), trustedKeys: await loadTrustedKeys([key.publicKeyFile]), log: () => undefined });
  onClose(() => server.close(200));
  const node = { id: STORE_ID, url: server.url, zone: 'zone-1' };
  return {
    key, server, node,
    client: (opts = {}) => {
      const c = new ShardClient({ identity: key.tls, pins: new MemoryPins([[STORE_ID, server.fingerprint]]), connections: 2, link: { pieceChannel: opts.pieceChannel ?? true } });
      onClose(() => c.close());
      return c;
    },
  };
}

/** A shard of one record, written over TLS. */
async function putRecord(c: ShardClient, node: ShardNode, data: Buffer): Promise<string> {
  const id = `${randomBytes(16).toString('hex')}.2`;
  const w = c.openShardWriter(node, id);
  await w.write([data]);
  await w.end();
  return id;
}

/** A store holding one record of CHANNEL_MIN_BYTES, written over TLS by client `c`. */
async function withRecord(): Promise<{ s: Setup; c: ShardClient; data: Buffer; id: string; blob: string; piece: number }> {
  const s = await setup();
  const c = s.client();
  const data = randomBytes(CHANNEL_MIN_BYTES);
  const id = await putRecord(c, s.node, data);
  const [blob, piece] = id.split('.') as [string, string];
  return { s, c, data, id, blob, piece: Number(piece) };
}

/** A piece connection as the gateway opens it, asking for `sgpiece/3`. */
async function pieceTls(s: Setup): Promise<TLSSocket> {
  const sock = tlsConnect({
    port: s.server.port, host: '127.0.0.1', rejectUnauthorized: false, key: s.key.tls.key, cert: s.key.tls.cert,
    ALPNProtocols: [PIECE_PROTOCOL_CHANNEL, PIECE_PROTOCOL_LEAVES],
  });
  onClose(() => void sock.destroy());
  await once(sock, 'secureConnect');
  expect(sock.alpnProtocol).toBe(PIECE_PROTOCOL_CHANNEL);
  return sock;
}

async function plain(s: Setup, first: Buffer): Promise<Socket> {
  const sock = netConnect({ port: s.server.port, host: '127.0.0.1' });
  onClose(() => void sock.destroy());
  await once(sock, 'connect');
  sock.write(first);
  return sock;
}

/** Everything the peer sends until it closes the connection (or `ms` pass: then 'open'). */
async function untilClosed(sock: Socket, ms = 2_000): Promise<Buffer | 'open'> {
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  const closed = once(sock, 'close').then(() => Buffer.concat(chunks));
  return Promise.race([closed, new Promise<'open'>((r) => setTimeout(() => r('open'), ms))]);
}

function getFrame(blobHex: string, piece: number, length: number, id = 1): Buffer {
  return encodeRequestHeader({ op: BatchOp.Get, flags: 0, id, blob: Buffer.from(blobHex, 'hex'), piece, seg: 0, offset: 0, length });
}

describe('piece channel: frame tags', () => {
  it('checks each frame once, in order, under its own key', () => {
    const key = randomBytes(32);
    const a = new FrameTags(key);
    const b = new FrameTags(key);
    const f1 = [randomBytes(12), randomBytes(100_000)];
    const f2 = [randomBytes(12), randomBytes(10)];
    const t1 = a.seal(f1);
    const t2 = a.seal(f2);
    // Out of order: the counter makes the first tag the only one that fits the first frame.
    expect(new FrameTags(key).check(f2, t2)).toBe(false);
    expect(b.check(f1, t1)).toBe(true);
    expect(b.check(f2, t2)).toBe(true);
    // Replayed: the counter has moved on.
    expect(b.check(f2, t2)).toBe(false);
    // Altered, or under another key.
    const c = new FrameTags(key);
    const altered = Buffer.from(f1[1]!);
    altered[500]! ^= 1;
    expect(c.check([f1[0]!, altered], t1)).toBe(false);
    expect(new FrameTags(randomBytes(32)).check(f1, t1)).toBe(false);
    // The split of a frame into parts does not matter, its bytes do.
    expect(new FrameTags(key).check([Buffer.concat(f1)], t1)).toBe(true);
  });

  it('reads SHARDGATE_PIECE_CHANNEL as on or off, and refuses anything else', () => {
    expect(pieceChannelFromEnv({})).toBe(true);
    expect(pieceChannelFromEnv({ SHARDGATE_PIECE_CHANNEL: 'OFF' })).toBe(false);
    expect(() => pieceChannelFromEnv({ SHARDGATE_PIECE_CHANNEL: 'no' })).toThrow(/must be "on" or "off"/);
  });
});

describe('piece channel: store and gateway', () => {
  it('carries large reads and writes, keeps small ones on TLS, and stores and reads the same bytes either way', async () => {
    const s = await setup();
    const c = s.client();
    const big = randomBytes(3 * CHANNEL_MIN_BYTES + 17);
    const small = randomBytes(4096);
    const bigId = await putRecord(c, s.node, big);
    const smallId = await putRecord(c, s.node, small);
    expect(c.pieceStats().channelOps).toBe(1);
    expect((await c.readRecord(s.node, bigId, 0, 0, big.length)).equals(big)).toBe(true);
    expect((await c.readRecord(s.node, smallId, 0, 0, small.length)).equals(small)).toBe(true);
    expect(c.pieceStats().channelOps).toBe(2);
    // Many at once, in both sizes, interleaved on the two connections.
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => c.readRecord(s.node, i % 2 ? bigId : smallId, 0, 0, i % 2 ? big.length : small.length)));
    all.forEach((b, i) => expect(b.equals(i % 2 ? big : small)).toBe(true));
    expect(c.pieceStats().channelOps).toBe(12);
    // A shard of large records and a short last one: both connections, in order, durable.
    const shard = randomBytes(2 * CHANNEL_MIN_BYTES + 100);
    const sid = `${randomBytes(16).toString('hex')}.5`;
    const w = c.openShardWriter(s.node, sid);
    await w.write([shard.subarray(0, CHANNEL_MIN_BYTES)]);
    await w.write([shard.subarray(CHANNEL_MIN_BYTES, 2 * CHANNEL_MIN_BYTES)]);
    await w.write([shard.subarray(2 * CHANNEL_MIN_BYTES)]);
    await w.end();
    expect((await c.readRange(s.node, sid, 0, shard.length)).equals(shard)).toBe(true);

    const off = s.client({ pieceChannel: false });
    expect((await off.readRecord(s.node, bigId, 0, 0, big.length)).equals(big)).toBe(true);
    expect(await putRecord(off, s.node, big)).toMatch(/\.2$/);
    expect(off.pieceStats().channelOps).toBe(0);
  });

  it('binds a channel once, to the TLS connection that opened it, and closes both together', async () => {
    const { s, data, blob, piece } = await withRecord();
    const tls = await pieceTls(s);
    const secrets = channelSecrets(tls);

    // A stranger's id: closed at once, nothing said.
    expect(await untilClosed(await plain(s, channelHello(randomBytes(16))))).toEqual(Buffer.alloc(0));
    // Garbage that is neither TLS nor a channel: closed.
    expect(await untilClosed(await plain(s, Buffer.from('SGPX0123456789abcdef')))).not.toBe('open');

    // The real id: served, tagged both ways.
    const ch = await plain(s, channelHello(secrets.id));
    const requests = new FrameTags(secrets.requestKey);
    const answers = new FrameTags(secrets.answerKey);
    const req = getFrame(blob, piece, data.length, 7);
    const got: Buffer[] = [];
    ch.on('data', (b: Buffer) => got.push(b));
    ch.write(Buffer.concat([req, requests.seal([req])]));
    await new Promise<void>((resolve) => {
      const check = (): void => void (Buffer.concat(got).length >= 2 * TAG_BYTES + RESULT_HEADER_BYTES + data.length ? resolve() : setTimeout(check, 5));
      check();
    });
    // First the store's greeting, a tag over the magic; then the answer.
    const all = Buffer.concat(got);
    expect(answers.check([CHANNEL_MAGIC], all.subarray(0, TAG_BYTES))).toBe(true);
    const answer = all.subarray(TAG_BYTES);
    const header = answer.subarray(0, RESULT_HEADER_BYTES);
    expect(header.readUInt32LE(0)).toBe(7);
    const payload = answer.subarray(RESULT_HEADER_BYTES + TAG_BYTES);
    expect(payload.equals(data)).toBe(true);
    expect(answers.check([header, payload], answer.subarray(RESULT_HEADER_BYTES, RESULT_HEADER_BYTES + TAG_BYTES))).toBe(true);

    // Used up: the same id again (a replay) is refused.
    expect(await untilClosed(await plain(s, channelHello(secrets.id)))).toEqual(Buffer.alloc(0));
    // The channel closes with its TLS connection.
    tls.destroy();
    expect(await untilClosed(ch)).not.toBe('open');
  });

  it('closes a channel on a request with a wrong tag, and on a delete or head, running none of it', async () => {
    const { s, c, data, id, blob, piece } = await withRecord();
    for (const bad of ['tag', 'data', 'delete', 'head'] as const) {
      const tls = await pieceTls(s);
      const secrets = channelSecrets(tls);
      const ch = await plain(s, channelHello(secrets.id));
      const requests = new FrameTags(secrets.requestKey);
      let frame: Buffer;
      if (bad === 'tag') {
        const req = getFrame(blob, piece, data.length);
        frame = Buffer.concat([req, randomBytes(TAG_BYTES)]);
      } else if (bad === 'data') {
        // An overwrite of the record whose bytes changed after they were tagged.
        const req = encodeRequestHeader({ op: BatchOp.Put, flags: 0, id: 1, blob: Buffer.from(blob, 'hex'), piece, seg: 0, offset: 0, length: 8 });
        frame = Buffer.concat([req, requests.seal([req, Buffer.from('original')]), Buffer.from('replaced')]);
      } else {
        const op = bad === 'delete' ? BatchOp.Delete : BatchOp.Head;
        const req = encodeRequestHeader({ op, flags: 0, id: 1, blob: Buffer.from(blob, 'hex'), piece, seg: 0, offset: 0, length: 0 });
        frame = Buffer.concat([req, requests.seal([req])]);
      }
      expect(frame.length).toBeGreaterThanOrEqual(REQUEST_HEADER_BYTES + TAG_BYTES);
      ch.write(frame);
      // The greeting, and no answer.
      expect((await untilClosed(ch) as Buffer).length).toBe(TAG_BYTES);
    }
    // The shard is still there, whole.
    expect((await c.readRecord(s.node, id, 0, 0, data.length)).equals(data)).toBe(true);
  });

  it('fails a read whose answer was altered on the way, instead of returning the bytes', async () => {
    const s = await setup();
    const c = s.client();
    const data = randomBytes(2 * CHANNEL_MIN_BYTES);
    const id = await putRecord(c, s.node, data);
    // Between gateway and store: TLS passes untouched; on a channel, one bit of the first answer is flipped.
    const via = await proxied(s, (b, seen) => {
      const at = TAG_BYTES + RESULT_HEADER_BYTES + TAG_BYTES + 1000;
      if (seen <= at && seen + b.length > at) b[at - seen]! ^= 0x10;
      return b;
    });
    await expect(c.readRecord(via, id, 0, 0, data.length)).rejects.toBeInstanceOf(ShardProtocolError);
    // Off the tampering path, the same read is whole.
    expect((await s.client().readRecord(s.node, id, 0, 0, data.length)).equals(data)).toBe(true);
  });

  it('reads over TLS where only TLS gets through, without failing a read', async () => {
    const s = await setup();
    const data = randomBytes(2 * CHANNEL_MIN_BYTES);
    const id = await putRecord(s.client(), s.node, data);
    const via = await proxied(s, 'drop');
    const c = s.client();
    for (let i = 0; i < 3; i++) expect((await c.readRecord(via, id, 0, 0, data.length)).equals(data)).toBe(true);
    expect(c.pieceStats().channelOps).toBe(0);
  });
});

/**
 * A TCP proxy in front of the store, as a node that reaches it through it: TLS passes
 * untouched; a piece channel's store-to-gateway bytes go through `channel` (a function of the
 * chunk and the bytes before it), or the channel is cut at once ('drop').
 */
async function proxied(s: Setup, channel: ((b: Buffer, seen: number) => Buffer) | 'drop'): Promise<ShardNode> {
  const piped = new Set<Socket>();
  const proxy: Server = createNetServer((down) => {
    const up = netConnect({ port: s.server.port, host: '127.0.0.1' });
    piped.add(down).add(up);
    let isChannel: boolean | undefined;
    let seen = 0;
    down.on('data', (b: Buffer) => {
      isChannel ??= b[0] === CHANNEL_MAGIC[0];
      // Reset, not closed: the gateway sees an error on the channel before any greeting.
      if (isChannel && channel === 'drop') return void down.resetAndDestroy();
      up.write(b);
    });
    up.on('data', (b: Buffer) => {
      const out = isChannel && channel !== 'drop' ? channel(Buffer.from(b), seen) : b;
      seen += b.length;
      down.write(out);
    });
    for (const [a, z] of [[down, up], [up, down]] as const) {
      a.on('error', () => z.destroy());
      a.on('close', () => z.destroy());
    }
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  onClose(() => new Promise<void>((r) => {
    proxy.close(() => r());
    for (const p of piped) p.destroy();
  }));
  return { ...s.node, url: `https://127.0.0.1:${(proxy.address() as { port: number }).port}` };
}
