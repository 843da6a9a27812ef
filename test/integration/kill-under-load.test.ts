/**
 * No acknowledged object is lost when processes die under load. Many small and medium PUTs in
 * flight through the AWS JS SDK while four shard-stores get SIGKILL and come back, then the
 * gateway, then the gateway again with two stores down; an rclone sync and a restic backup of
 * many small files, each cut by a gateway SIGKILL and run again as a user would. Afterwards
 * every acknowledged object reads back byte-identical (see expectedOutcomes in
 * test/helpers/load-writer.ts for what a key may answer), nothing is half-visible, and the
 * restarted stores' pieces are read with six other stores down. Timing is never asserted:
 * kills wait for progress (acknowledgements, objects landed), not for the clock.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_KEY, SECRET_KEY, respawnStore, startCluster, type Cluster, type StoreProc } from '../helpers/cluster.js';
import { exec, onPath, run, treeDigest, writeTree, type RunResult } from '../helpers/clients.js';
import { LoadWriter, expectedOutcomes, readBack } from '../helpers/load-writer.js';
import { metaQuery, queuedRepairs } from '../helpers/meta-query.js';
import { onClose } from '../helpers/registry.js';

let c: Cluster;
let work: string;

beforeAll(async () => {
  c = await startCluster({ scope: 'file' });
  work = mkdtempSync(join(tmpdir(), 'shardgate-killload-'));
  onClose(() => rmSync(work, { recursive: true, force: true }), 'file');
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `p`, or a clear failure instead of a silent wait until the test's own timeout. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`no progress: ${what} within ${ms} ms`)), ms); });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** A fresh client: the one the load used may hold sockets to the gateway that died. */
const freshClient = (): S3Client => c.client();

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Per key of `bucket` (its current version): the stores holding a piece the gateway counts
 * as written, that is the blob's placement less the pieces queued for repair (those that
 * missed the write or failed a read since).
 */
async function piecesHeld(bucket: string): Promise<Map<string, string[]>> {
  const rows = await metaQuery<{ key: string; blob: string; placement: string }>(c, `SELECT o.key AS key, b.id AS blob, b.placement AS placement FROM objects o
    JOIN object_parts p ON p.object_id = o.id JOIN blobs b ON b.id = p.blob_id
    WHERE o.bucket = ? AND o.is_latest = 1`, [bucket]);
  const queued = await queuedRepairs(c);
  return new Map(rows.map((r) => [r.key, (JSON.parse(r.placement) as string[]).filter((_, i) => !queued.has(`${r.blob}.${i}`))]));
}

describe('SDK load: 16 PUTs in flight, shard-stores and the gateway SIGKILLed', () => {
  test('every acknowledged object reads back byte-identical, none half-visible', { timeout: 150_000 }, async () => {
    const bucket = 'kill-load';
    await freshClient().send(new CreateBucketCommand({ Bucket: bucket }));
    const load = new LoadWriter(c.client(), { bucket, concurrency: 16, minSize: 1024, maxSize: 1024 * 1024, timeoutMs: 30_000 });
    load.start();
    const events: string[] = [];
    let victims: StoreProc[] = [];
    try {
      await within(load.acks(16), 60_000, 'first acknowledgements');

      // Four stores die at random moments and stay down a random while, overlapping at times
      // (at most 4 down at once, within the 6 the 10+6 code tolerates); each comes back on its
      // data, as a restarted machine would.
      victims = [...c.stores].sort(() => Math.random() - 0.5).slice(0, 4);
      const killAndRespawn = async (s: StoreProc, i: number): Promise<void> => {
        await sleep(i * 700 + randomInt(1_500));
        s.child.kill('SIGKILL');
        events.push(`${s.id} killed at ack ${load.acked}`);
        // Down while the load goes on: at least a few more writes acknowledged without it.
        await within(load.acks(8), 60_000, `acknowledgements with ${s.id} down`);
        await sleep(randomInt(1_500));
        await respawnStore(c, s);
        events.push(`${s.id} back at ack ${load.acked}`);
      };
      await Promise.all(victims.map(killAndRespawn));
      await within(load.acks(16), 60_000, 'acknowledgements after the stores came back');

      // The gateway dies with PUTs in flight and comes back on the same data and port; the
      // writers keep going through the outage (refused connections count as failures).
      events.push(`gateway killed at ack ${load.acked}`);
      await c.restartGateway('SIGKILL');
      events.push(`gateway back at ack ${load.acked}`);
      await within(load.acks(24), 60_000, 'acknowledgements after the gateway restart');

      // Once more with two of the restarted stores still down: the gateway starts again
      // without them, writes without them, and takes them back when they return.
      const again = victims.slice(0, 2);
      for (const s of again) s.child.kill('SIGKILL');
      events.push(`${again.map((s) => s.id).join(' ')} killed at ack ${load.acked}`);
      await within(load.acks(8), 60_000, 'acknowledgements with two stores down');
      events.push(`gateway killed at ack ${load.acked}`);
      await c.restartGateway('SIGKILL');
      events.push(`gateway back at ack ${load.acked}`);
      await within(load.acks(16), 60_000, 'acknowledgements after the second gateway restart, two stores down');
      for (const s of again) await respawnStore(c, s);
      events.push(`${again.map((s) => s.id).join(' ')} back at ack ${load.acked}`);
      await within(load.acks(16), 60_000, 'acknowledgements after the last stores came back');
    } finally {
      await load.stop();
    }

    const records = load.records();
    const failures = records.filter((r) => r.outcome === 'failed');
    const byError = new Map<string, number>();
    for (const r of failures) {
      const kind = r.status ? `HTTP ${r.status}` : r.error!.split(':')[0]!;
      byError.set(kind, (byError.get(kind) ?? 0) + 1);
    }
    const summary = `${load.acked} acknowledged, ${failures.length} failed (${[...byError].map(([e, n]) => `${n} ${e}`).join(', ')}), ${load.history.size} keys; ${events.join('; ')}`;
    console.info(summary);
    // Failures are expected around the kills; a hang is not: every request ended in an answer
    // or a broken connection before the writer's 30 s limit.
    expect(failures.filter((r) => r.timedOut).map((r) => `${r.key} ${r.error}`), summary).toEqual([]);
    expect(records.some((r) => r.outcome === 'ok' && r.size > 512 * 1024), `no large PUT acknowledged: ${summary}`).toBe(true);
    expect([...load.history.values()].some((h) => h.filter((r) => r.outcome === 'ok').length > 1), `no key overwritten: ${summary}`).toBe(true);

    const result = await readBack(freshClient(), bucket, load.history);
    expect(result.problems, summary).toEqual([]);
    expect(result.checked).toBe(load.history.size);

    // The restarted stores' own pieces survived their SIGKILL: with 6 stores that were never
    // killed now down, only 10 remain, the 4 restarted among them, so an object whose 10
    // remaining pieces the gateway counts as written must read back from exactly those,
    // pieces on the restarted stores included. (Pieces that missed a write are queued for
    // repair and not counted; an object short of 10 is skipped.)
    const held = await piecesHeld(bucket);
    const down = c.stores.filter((s) => !victims.includes(s)).sort(() => Math.random() - 0.5).slice(0, 6);
    const downIds = new Set(down.map((s) => s.id));
    const readable = [...held].filter(([, ids]) => ids.filter((id) => !downIds.has(id)).length >= 10).map(([key]) => key);
    const sample = readable.sort(() => Math.random() - 0.5).slice(0, 48);
    const expected = expectedOutcomes(load.history);
    for (const s of down) s.child.kill('SIGKILL');
    await Promise.all(down.map((s) => s.exited));
    const s3 = freshClient();
    const wrong: string[] = [];
    try {
      for (const key of sample) {
        try {
          const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(30_000) });
          const got = await res.Body!.transformToByteArray();
          if (!expected.get(key)!.bodies.has(sha256(got))) wrong.push(`${key}: ${got.length} bytes matching no acknowledged body`);
        } catch (err) {
          wrong.push(`${key}: ${(err as Error).name}: ${(err as Error).message}`);
        }
      }
    } finally {
      for (const s of down) await respawnStore(c, s);
    }
    console.info(`with ${[...downIds].join(' ')} down: ${readable.length} of ${held.size} objects have 10 counted pieces left, ${sample.length} read`);
    expect(wrong, `with ${[...downIds].join(' ')} down, restarted: ${victims.map((s) => s.id).join(' ')}`).toEqual([]);
    expect(sample.length).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------
// rclone and restic, each cut by a gateway SIGKILL

/** `count` files of 1 B to 64 KiB of random bytes, spread over a few folders. */
function smallFiles(root: string, count: number): void {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < count; i++) files[`d${i % 7}/sub${i % 3}/f${i}.bin`] = randomBytes(1 + randomInt(64 * 1024));
  writeTree(root, files);
}

/** How many objects under `prefix` the bucket holds now (0 while the gateway is away). */
async function objectCount(s3: S3Client, bucket: string, prefix = ''): Promise<number> {
  let n = 0;
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      n += page.KeyCount ?? 0;
      token = page.NextContinuationToken;
    } while (token);
  } catch {
    return 0;
  }
  return n;
}

/**
 * Run a client and SIGKILL the gateway once `landed()` says it is part-way through; the
 * client's own retries may carry it over the restart, or it may fail: a user would run it again.
 * Returns how the interrupted run ended, and whether the kill came while it was still running.
 */
async function cutByGatewayKill(client: Promise<RunResult>, landed: () => Promise<boolean>): Promise<{ first: RunResult; interrupted: boolean }> {
  let exited = false;
  const first = client.finally(() => { exited = true; });
  while (!exited && !(await landed())) await sleep(50);
  const interrupted = !exited;
  if (interrupted) await c.restartGateway('SIGKILL');
  return { first: await first, interrupted };
}

/** The environment without AWS_CA_BUNDLE: Go clients refuse to start with a bundle they cannot use on plain HTTP. */
function baseEnv(): NodeJS.ProcessEnv {
  const { AWS_CA_BUNDLE: _unused, ...inherited } = process.env;
  return { ...inherited, HOME: work, AWS_EC2_METADATA_DISABLED: 'true' };
}

describe('backup clients cut by a gateway SIGKILL, then run again', () => {
  test('rclone sync of 500 small files: rerun completes, rclone check finds no differences', { timeout: 120_000 }, async (ctx) => {
    ctx.skip(!onPath('rclone'), 'rclone is not installed (apt-get install -y --no-install-recommends rclone)');
    const env = {
      ...baseEnv(),
      RCLONE_CONFIG: join(work, 'rclone-none.conf'),
      RCLONE_CONFIG_SG_TYPE: 's3', RCLONE_CONFIG_SG_PROVIDER: 'Other', RCLONE_CONFIG_SG_ENDPOINT: c.endpoint,
      RCLONE_CONFIG_SG_ACCESS_KEY_ID: ACCESS_KEY, RCLONE_CONFIG_SG_SECRET_ACCESS_KEY: SECRET_KEY, RCLONE_CONFIG_SG_FORCE_PATH_STYLE: 'true',
    };
    const rclone = (args: string[]) => run('rclone', args, env, { timeout: 90_000, cwd: work });
    const src = join(work, 'rclone-src');
    smallFiles(src, 500);
    const bucket = 'kill-rclone';
    await rclone(['mkdir', `sg:${bucket}`]);
    const dst = `sg:${bucket}/tree`;
    const poll = freshClient();
    const sync = ['sync', src, dst, '--transfers', '16', '--checkers', '16'];

    // -vv on the interrupted run only: rclone logs its low-level retries (requests the kill cut) at debug level.
    const { first, interrupted } = await cutByGatewayKill(exec('rclone', [...sync, '-vv'], env, { timeout: 90_000, cwd: work }), async () => (await objectCount(poll, bucket)) >= 120);
    expect(interrupted, `rclone finished before the kill: ${first.stderr.slice(-2000)}`).toBe(true);
    console.info(`rclone sync cut by the gateway kill exited ${first.code} after ${first.stderr.split('\n').filter((l) => /low level retry/.test(l)).length} low-level retries`);
    // Run again as a user would after a failure (or to be sure): it must complete.
    await rclone(sync);
    // check compares sizes and MD5s (single-part ETags); --download compares the bytes.
    const check = await exec('rclone', ['check', src, dst], env, { timeout: 90_000, cwd: work });
    expect(check.code, check.stderr.slice(-3000)).toBe(0);
    expect(check.stderr).toMatch(/0 differences found/);
    expect(check.stderr).toMatch(/500 matching files/);
    const bytes = await exec('rclone', ['check', '--download', src, dst], env, { timeout: 90_000, cwd: work });
    expect(bytes.code, bytes.stderr.slice(-3000)).toBe(0);
    expect(bytes.stderr).toMatch(/500 matching files/);
  });

  test('restic backup of 300 small files: rerun completes, check --read-data passes, restore is byte-identical', { timeout: 150_000 }, async (ctx) => {
    ctx.skip(!onPath('restic'), 'restic is not installed (apt-get install -y --no-install-recommends restic)');
    const bucket = 'kill-restic';
    const env = {
      ...baseEnv(),
      RESTIC_REPOSITORY: `s3:${c.endpoint}/${bucket}`, RESTIC_PASSWORD: 'correct horse battery staple',
      AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, RESTIC_CACHE_DIR: join(work, 'restic-cache'),
    };
    const restic = (args: string[]) => run('restic', args, env, { timeout: 120_000, cwd: work });
    const src = join(work, 'restic-src');
    smallFiles(src, 300);
    await restic(['init']);
    // The smallest packs restic makes (4 MiB), so ~10 MB of files are a few packs, and the
    // gateway dies once the first has landed, with the rest still to come. The first run's
    // uploads are throttled so that the rest, the index and the snapshot take seconds, not
    // milliseconds, after the first pack: the kill lands in the middle on any machine.
    const poll = freshClient();
    const backup = ['backup', '--host', 'test', '--pack-size', '4', src];
    const throttled = [...backup, '--limit-upload', '4096'];
    const { first, interrupted } = await cutByGatewayKill(exec('restic', throttled, env, { timeout: 120_000, cwd: work }), async () => (await objectCount(poll, bucket, 'data/')) >= 1);
    expect(interrupted, `restic finished before the kill: ${first.stderr.slice(-2000)}`).toBe(true);
    console.info(`restic backup cut by the gateway kill exited ${first.code}`);
    await restic(backup);
    expect(await restic(['check', '--read-data'])).toMatch(/no errors were found/);
    const target = join(work, 'restic-restore');
    await restic(['restore', 'latest', '--target', target]);
    // restic restores a backup of an absolute path under that path inside the target.
    expect(treeDigest(join(target, src))).toEqual(treeDigest(src));
  });
});
