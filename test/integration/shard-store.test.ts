import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { ShardClient, type ShardNode } from '../../gateway/shards/client.js';
import { ShardTimeoutError } from '../../gateway/shards/errors.js';
import { loadOrCreateGatewayKey, type GatewayKey } from '../../gateway/shards/keys.js';
import { MemoryPins } from '../../gateway/shards/pins.js';
import { onClose } from '../helpers/registry.js';

const ROOT = resolve(import.meta.dirname, '../..');
// SHARDGATE_TEST_CLI points at another build of the CLI (e.g. compiled elsewhere).
const CLI = process.env.SHARDGATE_TEST_CLI ?? join(ROOT, 'dist/cli/main.js');
const LISTENING = /^shard-store (\S+) listening on (https:\/\/127\.0\.0\.1:\d+) key (sha256:[\w-]{43})$/;

interface StoreProcess {
  child: ChildProcess;
  node: ShardNode;
  stdout: string[];
  stderr: string[];
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-ssi-'));
  onClose(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Run `shardgate shard-store ...` and wait for its one listening line. */
async function spawnStore(args: string[]): Promise<StoreProcess> {
  const child = spawn(process.execPath, [CLI, 'shard-store', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  onClose(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => stderr.push(l));
  const lines = createInterface({ input: child.stdout });
  const match = await new Promise<RegExpExecArray>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`no listening line: ${stderr.join('\n')}`)), 20_000);
    lines.on('line', (l) => {
      stdout.push(l);
      const m = LISTENING.exec(l);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    });
    void exited.then(([code, sig]) => {
      clearTimeout(timer);
      rej(new Error(`shard-store exited (${sig ?? code}): ${stderr.join('\n')}`));
    });
  });
  return { child, node: { id: match[1]!, url: match[2]!, zone: 'zone-1' }, stdout, stderr, exited };
}

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function newShardId(): string {
  return `${randomBytes(16).toString('hex')}.${Math.floor(Math.random() * 16)}`;
}

async function setup(link: { stallTimeoutMs?: number } = {}): Promise<{ dir: string; key: GatewayKey; client: ShardClient; dataDir: string; args: string[] }> {
  const dir = await tempDir();
  const key = await loadOrCreateGatewayKey(join(dir, 'gateway'));
  const client = new ShardClient({ identity: key.tls, pins: new MemoryPins(), link });
  onClose(() => client.close());
  const dataDir = join(dir, 'data');
  const args = ['--id', 'ss-int', '--port', '0', '--data', dataDir, '--zone', 'zone-7', '--trusted-key', key.publicKeyFile];
  return { dir, key, client, dataDir, args };
}

describe.skipIf(!existsSync(CLI))('shard-store process (skipped without a built CLI: npm run build)', () => {
  it('serves pieces, reports status, and exits 0 on SIGTERM after one stdout line', async () => {
    const s = await setup();
    const store = await spawnStore(s.args);
    const id = newShardId();
    const data = randomBytes(700_000);
    const w = s.client.openShardWriter(store.node, id);
    await w.write([data.subarray(0, 400_000)]);
    await w.write([data.subarray(400_000)]);
    await w.end();
    expect((await s.client.readRange(store.node, id, 123, 456_789)).equals(data.subarray(123, 123 + 456_789))).toBe(true);
    expect((await s.client.readRecord(store.node, id, 1, 400_000, 300_000)).equals(data.subarray(400_000))).toBe(true);
    expect(await s.client.status(store.node)).toMatchObject({ id: 'ss-int', zone: 'zone-7', pieces: 1, usedBytes: data.length });
    store.child.kill('SIGTERM');
    expect(await store.exited).toEqual([0, null]);
    expect(store.stdout).toHaveLength(1);
  });

  it('a SIGSTOPped store fails its operations in time; after SIGCONT it serves again', async () => {
    const s = await setup({ stallTimeoutMs: 500 });
    const store = await spawnStore(s.args);
    const id = newShardId();
    const w = s.client.openShardWriter(store.node, id);
    await w.write([randomBytes(64 * 1024)]);
    store.child.kill('SIGSTOP');
    const err = await w.end().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ShardTimeoutError);
    store.child.kill('SIGCONT');
    // The gateway deletes what a failed write left (its blob becomes garbage); so do we.
    await until(async () => s.client.deleteShard(store.node, id).then(() => true, () => false), 'the store to answer again');
    expect(await s.client.head(store.node, id)).toBeNull();
    const again = s.client.openShardWriter(store.node, id);
    await again.write([Buffer.from('after')]);
    await again.end();
    expect((await s.client.readRange(store.node, id, 0, 5)).toString()).toBe('after');
  });

  it('kill -9 in the middle of writes loses no acknowledged piece; the restart checks the volume tail', async () => {
    const s = await setup();
    const store = await spawnStore(s.args);
    const acked = new Map<string, Buffer>();
    let stop = false;
    // Writers that keep going until the store dies under them.
    const writers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const id = newShardId();
        const body = randomBytes(20_000 + Math.floor(Math.random() * 200_000));
        const w = s.client.openShardWriter(store.node, id);
        try {
          await w.write([body.subarray(0, 10_000)]);
          await w.write([body.subarray(10_000)]);
          await w.end();
          acked.set(id, body);
        } catch {
          return;
        }
      }
    });
    await until(() => acked.size >= 20, 'some acknowledged writes');
    store.child.kill('SIGKILL');
    await store.exited;
    stop = true;
    await Promise.all(writers);

    const restarted = await spawnStore(s.args);
    for (const [id, body] of acked) expect((await s.client.readRange(restarted.node, id, 0, body.length)).equals(body), id).toBe(true);
    expect((await s.client.status(restarted.node)).pieces).toBeGreaterThanOrEqual(acked.size);
  });

  it('SIGTERM answers what it received', async () => {
    const s = await setup();
    const store = await spawnStore(s.args);
    const id = newShardId();
    const w = s.client.openShardWriter(store.node, id);
    await w.write([randomBytes(100_000)]);
    const ended = w.end();
    await until(async () => ((await s.client.status(store.node).catch(() => null))?.usedBytes ?? 0) >= 100_000, 'the record to arrive');
    store.child.kill('SIGTERM');
    await ended;
    expect(await store.exited).toEqual([0, null]);
  });

  it('speaks only mutual TLS: an untrusted client key is refused, a store with another key is not talked to', async () => {
    const s = await setup();
    const store = await spawnStore(s.args);
    const fingerprint = LISTENING.exec(store.stdout[0]!)![3]!;
    const id = newShardId();
    const w = s.client.openShardWriter(store.node, id);
    await w.write([Buffer.from('pinned')]);
    await w.end();

    // A client whose key the store does not trust (another gateway's) gets 401 on every operation.
    const stranger = await loadOrCreateGatewayKey(join(s.dir, 'stranger'));
    const other = new ShardClient({ identity: stranger.tls, pins: new MemoryPins([[store.node.id, fingerprint]]) });
    onClose(() => other.close());
    await expect(other.readRange(store.node, id, 0, 6)).rejects.toMatchObject({ code: 'ERR_SHARD_REFUSED', status: 401 });
    await expect(other.deleteShard(store.node, id)).rejects.toMatchObject({ code: 'ERR_SHARD_REFUSED' });
    expect((await s.client.readRange(store.node, id, 0, 6)).toString()).toBe('pinned');

    // Plain HTTP gets no answer at all.
    const plain = await fetch(store.node.url.replace('https:', 'http:') + '/status').then((r) => `status ${r.status}`, (e: Error) => e.name);
    expect(plain).not.toMatch(/^status 2/);

    // A process with another key at the store's address is refused by a client that pinned the first.
    const port = new URL(store.node.url).port;
    store.child.kill('SIGKILL');
    await store.exited;
    const impostor = await spawnStore(['--id', 'ss-int', '--port', port, '--data', join(s.dir, 'impostor'), '--trusted-key', s.key.publicKeyFile]);
    const pinned = new ShardClient({ identity: s.key.tls, pins: new MemoryPins([[store.node.id, fingerprint]]) });
    onClose(() => pinned.close());
    await expect(pinned.status(impostor.node)).rejects.toMatchObject({ code: 'ERR_SHARD_IDENTITY' });
    // The client that pinned on first contact refuses it too.
    await expect(s.client.status(impostor.node)).rejects.toMatchObject({ code: 'ERR_SHARD_IDENTITY' });
  });

  it('a missing trusted key is one line on stderr and a non-zero exit', async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, [CLI, 'shard-store', '--id', 'x', '--data', join(dir, 'd')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/--trusted-key/);
  });
});
