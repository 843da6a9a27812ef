import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCESS_KEY, requireBuild, SECRET_KEY, spawnAndWait } from '../helpers/cluster.js';
import { SERVER_NODE_FLAGS } from '../../cli/node-flags.js';
import { onClose } from '../helpers/registry.js';

/** Live child processes of `pid` with their command lines. */
function childrenOf(pid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

describe('shardgate dev (the embedded default)', () => {
  // Two starts of a gateway and 16 shard-stores and a clean stop: about 20 s on a quiet 2-core machine, more under load.
  it('hosts 16 shard-stores in one process, stops cleanly on SIGTERM, and serves old objects after a restart', { timeout: 150_000 }, async () => {
    requireBuild();
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-dev-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    const env = { ...process.env, SHARDGATE_ROOT_USER: ACCESS_KEY, SHARDGATE_ROOT_PASSWORD: SECRET_KEY, SHARDGATE_DATA_DIR: dir, SHARDGATE_PORT: '0' };
    const start = async (): Promise<{ child: import('node:child_process').ChildProcess; endpoint: string }> => {
      const { child, match } = await spawnAndWait(['dev'], env, /S3 endpoint:\s+(http:\/\/\S+)/);
      onClose(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
      return { child, endpoint: match[1]! };
    };
    const client = (endpoint: string): S3Client => new S3Client({
      endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1,
    });

    const first = await start();
    const stores = childrenOf(first.child.pid!).filter((p) => p.cmd.includes(' shard-store '));
    expect(stores).toHaveLength(1);
    for (let i = 0; i < 16; i++) expect(stores[0]!.cmd).toContain(`"id":"ss${String(i).padStart(2, '0')}"`);
    // With the V8 flags the gateway runs with (cli/node-flags.ts), before the script.
    for (const flag of SERVER_NODE_FLAGS) expect(stores[0]!.cmd.indexOf(` ${flag} `)).toBeGreaterThan(0);
    expect(stores[0]!.cmd.indexOf(` ${SERVER_NODE_FLAGS[0]!} `)).toBeLessThan(stores[0]!.cmd.indexOf('main.js'));
    const body = randomBytes(5 * 1024 * 1024 + 3);
    const s3 = client(first.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'keep' }));
    await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'a b/é.bin', Body: body }));

    first.child.kill('SIGTERM');
    const [code] = await once(first.child, 'exit');
    expect(code).toBe(0);
    for (const s of stores) expect(() => process.kill(s.pid, 0)).toThrow();

    const second = await start();
    const got = await client(second.endpoint).send(new GetObjectCommand({ Bucket: 'keep', Key: 'a b/é.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    second.child.kill('SIGINT');
    const [code2] = await once(second.child, 'exit');
    expect(code2).toBe(0);
  });

  it('starts its store process again when it dies, on the same addresses: objects written before read back', { timeout: 120_000 }, async () => {
    requireBuild();
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-dev-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    const env = { ...process.env, SHARDGATE_ROOT_USER: ACCESS_KEY, SHARDGATE_ROOT_PASSWORD: SECRET_KEY, SHARDGATE_DATA_DIR: dir, SHARDGATE_PORT: '0' };
    const { child, match, stderr } = await spawnAndWait(['dev'], env, /S3 endpoint:\s+(http:\/\/\S+)/);
    onClose(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    const s3 = new S3Client({
      endpoint: match[1]!, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'kept' }));
    const bodies = [randomBytes(10), randomBytes(300_000), randomBytes(5 * 1024 * 1024 + 1)];
    for (const [i, b] of bodies.entries()) await s3.send(new PutObjectCommand({ Bucket: 'kept', Key: `k${i}`, Body: b }));

    const [host] = childrenOf(child.pid!).filter((p) => p.cmd.includes(' shard-store '));
    process.kill(host!.pid, 'SIGKILL');
    const deadline = Date.now() + 60_000;
    while (!stderr.some((l) => /shard-stores ss00\.\.ss15 restarted/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(stderr.join('\n')).toMatch(/shard-stores ss00\.\.ss15 exited \(SIGKILL\); restarting in 1 s/);
    expect(stderr.join('\n')).toMatch(/shard-stores ss00\.\.ss15 restarted/);
    const [again] = childrenOf(child.pid!).filter((p) => p.cmd.includes(' shard-store '));
    expect(again!.pid).not.toBe(host!.pid);

    // The gateway reconnects to the same addresses by itself (a first attempt may meet a stale connection).
    const read = async (key: string): Promise<Buffer> => {
      for (let attempt = 0; ; attempt++) {
        try {
          const got = await s3.send(new GetObjectCommand({ Bucket: 'kept', Key: key }));
          return Buffer.from(await got.Body!.transformToByteArray());
        } catch (err) {
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    for (const [i, b] of bodies.entries()) expect((await read(`k${i}`)).equals(b), `k${i}`).toBe(true);
    const late = randomBytes(70_000);
    await s3.send(new PutObjectCommand({ Bucket: 'kept', Key: 'late', Body: late }));
    expect((await read('late')).equals(late)).toBe(true);
  });

  // --store-processes 16: each store in a process of its own (to kill one alone), as before.
  it('with --store-processes 16, leaves no shard-store running when it is killed with SIGKILL', { timeout: 120_000 }, async () => {
    requireBuild();
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-dev-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    const env = { ...process.env, SHARDGATE_ROOT_USER: ACCESS_KEY, SHARDGATE_ROOT_PASSWORD: SECRET_KEY, SHARDGATE_DATA_DIR: dir, SHARDGATE_PORT: '0' };
    const { child } = await spawnAndWait(['dev', '--store-processes', '16'], env, /S3 endpoint:\s+(http:\/\/\S+)/);
    onClose(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    const stores = childrenOf(child.pid!).filter((p) => p.cmd.includes(' shard-store '));
    expect(stores).toHaveLength(16);
    child.kill('SIGKILL');
    await once(child, 'exit');
    // Each store sees its stdin close and shuts down in its own time.
    const deadline = Date.now() + 20_000;
    const alive = (): number[] => stores.map((s) => s.pid).filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    while (alive().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toEqual([]);
  });
});
