/**
 * `admin recover` against shard-stores that roll the metadata back. A user's key is deleted
 * between two snapshots; then the gateway's disk is lost, and stores replay the older
 * manifest (copied from their own disks before the revocation) or withhold the newer one.
 * Restoring the older snapshot silently would bring the revoked key back to life. Recovery
 * shows what each store offers and refuses; with --force it restores the newest snapshot any
 * store offers, never an older one.
 */
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { manifestShardId } from '../../gateway/snapshot/keys.js';
import { respawnStore, runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { readShardOnDisk, replaceShardOffline } from '../helpers/shards-on-disk.js';
import { objectBytes, s3Error } from '../helpers/s3.js';

/**
 * What the stores serve from now on for the manifest: these bytes, or nothing (null), per
 * store. Each store is stopped, its copy replaced on its disk, and started again.
 */
async function serve(c: Cluster, shard: string, copies: Array<Buffer | null>): Promise<void> {
  for (let i = 0; i < c.stores.length; i += 4) {
    await Promise.all(c.stores.slice(i, i + 4).map(async (s, j) => {
      s.child.kill('SIGKILL');
      await s.exited;
      await replaceShardOffline(s.dataDir, shard, copies[i + j]!);
      await respawnStore(c, s);
    }));
  }
}

// Recovery rebuilds a SQLite gateway from the snapshots and journal it ships to the stores; a
// PostgreSQL database keeps its own copies and ships neither (`admin snapshot` refuses).
describe.skipIf(process.env.SHARDGATE_TEST_META === 'postgres')('recover resists stores that roll the metadata back', () => {
  it('refuses an old snapshot offered by a minority, names stores that hold the newest back, and with --force restores the newest', { timeout: 240_000 }, async () => {
    const master = randomBytes(32).toString('hex');
    // Snapshot 1 is the one every gateway takes when it starts its metadata journal.
    const c = await startCluster({ stores: 16, env: { SHARDGATE_MASTER_KEY: master, SHARDGATE_SNAPSHOT_INTERVAL_MS: '0', SHARDGATE_AUDIT_INTERVAL_MS: '0' } });
    const admin = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> => {
      const r = await runAdmin(c, args, env);
      if (r.code !== 0) throw new Error(`admin ${args.join(' ')}: ${r.all}`);
      return r.out;
    };
    const root = c.client();
    const alice = JSON.parse(await admin(['user', 'create', 'alice', '--json'])) as { accessKeyId: string; secretAccessKey: string };
    await root.send(new CreateBucketCommand({ Bucket: 'keep' }));
    await root.send(new PutObjectCommand({ Bucket: 'keep', Key: 'before', Body: 'b' }));
    expect(await admin(['snapshot'])).toMatch(/snapshot 2: .* manifest on 16 stores/);
    const shard = manifestShardId(Buffer.from(master, 'hex'));
    const copies = (): Buffer[] => c.stores.map((s) => readShardOnDisk(s.dataDir, shard)!);
    const first = copies();

    // The key is revoked and more is written; the last snapshot knows it.
    await admin(['user', 'delete', 'alice']);
    await root.send(new PutObjectCommand({ Bucket: 'keep', Key: 'after', Body: 'a' }));
    expect(await admin(['snapshot'])).toMatch(/snapshot 3: .* manifest on 16 stores/);
    const second = copies();
    expect(second.some((b, i) => b.equals(first[i]!))).toBe(false);

    c.gateway.kill('SIGKILL');
    await once(c.gateway, 'exit');
    const gwDir = join(c.dir, 'gateway');
    rmSync(gwDir, { recursive: true, force: true });
    const env = { SHARDGATE_SHARD_STORES: c.stores.map((s) => `${s.id}=${s.url}`).join(','), SHARDGATE_MASTER_KEY: master };

    // Six stores replay the first manifest, the ten others withhold the second.
    await serve(c, shard, first.map((b, i) => (i < 6 ? b : null)));
    const rollback = await runAdmin(c, ['recover', '--data', gwDir], env);
    expect(rollback.code, rollback.all).not.toBe(0);
    expect(rollback.all).toMatch(/ss00: snapshot 2 of /);
    expect(rollback.all).toMatch(/ss15: no manifest/);
    expect(rollback.all).toMatch(/refusing to restore snapshot 2 of .*: only 6 of the 16 stores .* and 9 are needed/);
    expect(existsSync(join(gwDir, 'meta.db'))).toBe(false);

    // Most stores offer the second again; three still replay the first and two withhold it.
    await serve(c, shard, first.map((b, i) => (i < 3 ? b : i < 5 ? null : second[i]!)));
    const heldBack = await runAdmin(c, ['recover', '--data', gwDir], env);
    expect(heldBack.code, heldBack.all).not.toBe(0);
    expect(heldBack.all).toMatch(/snapshot 3 of .* was written to 16 stores: 11 offer it \(9 needed\)/);
    expect(heldBack.all).toMatch(/refusing to restore snapshot 3 of .*: 5 store\(s\) .* answer without it: ss00 \(snapshot 2 of .*\), .*ss04 \(no manifest\)/);
    expect(existsSync(join(gwDir, 'meta.db'))).toBe(false);

    const forced = await runAdmin(c, ['recover', '--data', gwDir, '--force'], env);
    expect(forced.code, forced.all).toBe(0);
    expect(forced.all).toMatch(/--force: going on although 5 store\(s\)/);
    expect(forced.all).toMatch(/restoring snapshot 3 of /);
    expect(forced.all).toMatch(/held back by: ss00 \(snapshot 2 of .*\), ss01/);

    await c.restartGateway();
    const s3 = c.client();
    expect((await objectBytes(s3, 'keep', 'after')).toString()).toBe('a');
    const revoked = c.client({ credentials: { accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey } });
    expect(await s3Error(revoked.send(new ListObjectsV2Command({ Bucket: 'keep' })))).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
  });
});
