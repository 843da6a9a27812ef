/**
 * `shardgate dev` keeps its secrets to itself: the data folder and every secret or metadata
 * file in it are owner-only, also when an older release left them readable by everyone (they
 * are tightened on start, and the log says so), and the shard-store processes it starts see
 * none of its secrets in their environment (/proc/PID/environ).
 */
import { GetObjectCommand, CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireBuild, spawnAndWait } from '../helpers/cluster.js';
import { onClose } from '../helpers/registry.js';

/** The one variable a store gets is the flag that it runs under dev's supervision: no secret. */
const secretish = (v: string): boolean => (v.startsWith('SHARDGATE_') || v.startsWith('AWS_')) && v !== 'SHARDGATE_STORE_SUPERVISED=1';

/** Live child processes of `pid`, with their command lines and environments. */
function childrenOf(pid: number): Array<{ pid: number; cmd: string; env: string[] }> {
  const out: Array<{ pid: number; cmd: string; env: string[] }> = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      out.push({ pid: Number(d), cmd, env: readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** Every file and folder under the data folder that another user could read, but the public key. */
function exposed(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if ((statSync(dir).mode & 0o077) !== 0) out.push(`${dir} ${mode(dir)}`);
    if (depth === 0) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path, depth - 1);
      else if (e.isFile() && dir.endsWith('gateway') && !e.name.endsWith('.pub.jwk') && (statSync(path).mode & 0o077) !== 0) out.push(`${path} ${mode(path)}`);
    }
  };
  walk(root, 2);
  return out;
}

describe('shardgate dev keeps its secrets to itself', () => {
  it('creates its data folder and secret files owner-only, tightens an older one, and gives the stores no secret', async () => {
    requireBuild();
    const dir = mkdtempSync(join(tmpdir(), 'shardgate-secrets-'));
    onClose(() => rmSync(dir, { recursive: true, force: true }));
    const data = join(dir, 'data');
    const gw = join(data, 'gateway');
    const base: NodeJS.ProcessEnv = { ...process.env, SHARDGATE_DATA_DIR: data, SHARDGATE_PORT: '0', AWS_SECRET_ACCESS_KEY: 'an-operator-cloud-secret-0123456789' };
    for (const k of ['SHARDGATE_ROOT_USER', 'SHARDGATE_ROOT_PASSWORD', 'SHARDGATE_MASTER_KEY', 'SHARDGATE_MASTER_KEY_FILE']) delete base[k];
    const start = async (env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; endpoint: string; log: string[] }> => {
      const { child, match, output } = await spawnAndWait(['dev'], env, /S3 endpoint:\s+(http:\/\/\S+)/);
      onClose(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
      return { child, endpoint: match[1]!, log: output };
    };
    const stop = async (child: ChildProcess): Promise<void> => {
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    };
    const storesOf = (child: ChildProcess): ReturnType<typeof childrenOf> => {
      // One process hosts the 16 stores (dev --store-processes, default 1).
      const stores = childrenOf(child.pid!).filter((p) => p.cmd.includes(' shard-store '));
      expect(stores).toHaveLength(1);
      return stores;
    };

    // First start: everything is created, owner-only.
    const first = await start(base);
    const creds = JSON.parse(readFileSync(join(gw, 'root-credentials.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    const s3 = new S3Client({ endpoint: first.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: 'keep' }));
    await s3.send(new PutObjectCommand({ Bucket: 'keep', Key: 'k', Body: 'kept' }));
    for (const f of ['meta.db', 'meta.db-wal', 'meta.db-shm', 'master.key', 'root-credentials.json', 'gateway-key.jwk']) expect(mode(join(gw, f)), f).toBe('600');
    expect(exposed(data)).toEqual([]);
    for (const s of storesOf(first.child)) expect(s.env.filter(secretish), `store ${s.pid}`).toEqual([]);
    await stop(first.child);

    // An older release left the folder and its files readable by everyone; the secrets now come from the environment.
    for (const d of [data, gw, join(data, 'shards'), ...readdirSync(join(data, 'shards')).map((s) => join(data, 'shards', s))]) chmodSync(d, 0o755);
    for (const f of readdirSync(gw)) chmodSync(join(gw, f), 0o644);
    const master = readFileSync(join(gw, 'master.key'), 'utf8').trim();
    const second = await start({ ...base, SHARDGATE_MASTER_KEY: master, SHARDGATE_ROOT_USER: creds.accessKeyId, SHARDGATE_ROOT_PASSWORD: creds.secretAccessKey });
    expect(second.log.join('\n')).toMatch(/tightened .*gateway from mode 755 to 700/);
    expect(second.log.join('\n')).toMatch(/tightened \d+ file\(s\) in .*gateway to owner-only \(600\): .*meta\.db \(was 644\)/);
    expect(exposed(data)).toEqual([]);
    expect(mode(join(gw, 'gateway-key.pub.jwk'))).toBe('644');
    for (const s of storesOf(second.child)) {
      const environ = s.env.join('\n');
      for (const secret of [master, creds.secretAccessKey, 'an-operator-cloud-secret']) expect(environ.includes(secret), `store ${s.pid}`).toBe(false);
      expect(s.env.filter(secretish), `store ${s.pid}`).toEqual([]);
    }
    const got = await new S3Client({ endpoint: second.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds, maxAttempts: 1 })
      .send(new GetObjectCommand({ Bucket: 'keep', Key: 'k' }));
    expect(await got.Body!.transformToString()).toBe('kept');
    await stop(second.child);
  });
});
