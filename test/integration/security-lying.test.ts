/**
 * Issue 9 item 6: one lying shard-store made objects unreadable. A store that forges a
 * piece and recomputes its CRC-32 (SHARDGATE_TEST_LIE_ON_READ=1) made GETs answer 500 and
 * repair abort, with 15 good pieces left. Against real processes: GETs (whole, ranged,
 * SSE-C) answer the right bytes with one and with three liars, the liars are reported and
 * their pieces queued for repair, scrub flags them, and repair after a store loss with a
 * lying source writes exactly the pieces first written.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { respawnStore, runAdmin, startCluster, type Cluster, type StoreProc } from '../helpers/cluster.js';
import { metaQuery, queuedRepairs, snapshotBlobIds } from '../helpers/meta-query.js';
import { md5Hex } from '../helpers/s3.js';
import { readShardOnDisk } from '../helpers/shards-on-disk.js';

const SEGMENT = 64 * 1024;
const METRICS_TOKEN = 'lying-metrics-token';

interface Obj {
  key: string;
  body: Buffer;
  /** SSE-C customer key (base64), if any. */
  sseKey?: string;
  blobId: string;
  placement: string[];
}

/** The current blob and placement of an object (single-part PUTs have one blob). */
async function blobOf(c: Cluster, key: string): Promise<{ blobId: string; placement: string[] }> {
  const [row] = await metaQuery<{ id: string; placement: string }>(c, `SELECT b.id, b.placement FROM objects o
    JOIN object_parts p ON p.object_id = o.id JOIN blobs b ON b.id = p.blob_id WHERE o.key = ? ORDER BY o.id DESC LIMIT 1`, [key]);
  if (!row) throw new Error(`no blob for ${key}`);
  return { blobId: row.id, placement: JSON.parse(row.placement) as string[] };
}

/** Wrong audit answers per node, about the pieces of objects (not the gateway's own metadata snapshots). */
async function wrongAudits(c: Cluster): Promise<Map<string, number>> {
  const snapshots = await snapshotBlobIds(c);
  const rows = await metaQuery<{ node_id: string; shard_id: string }>(c, `SELECT node_id, shard_id FROM audits WHERE outcome = 'wrong'`);
  const out = new Map<string, number>();
  for (const r of rows) if (!snapshots.has(r.shard_id.slice(0, 32))) out.set(r.node_id, (out.get(r.node_id) ?? 0) + 1);
  return out;
}

async function lyingMetric(c: Cluster): Promise<Map<string, number>> {
  const res = await fetch(`${c.endpoint}/_shardgate/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  const out = new Map<string, number>();
  for (const m of (await res.text()).matchAll(/^shardgate_lying_pieces_total\{node="([^"]+)"\} (\d+)$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}



/** A cluster with 64 KiB segments and four objects (one segment, nine, and the same under SSE-C). */
class LyingCluster {
  c!: Cluster;
  s3!: S3Client;
  readonly objects: Obj[] = [];

  async start(stores: number): Promise<void> {
    this.c = await startCluster({
      stores,
      env: {
        SHARDGATE_SEGMENT_SIZE: String(SEGMENT), SHARDGATE_METRICS_TOKEN: METRICS_TOKEN, SHARDGATE_REPAIR_RATE: '0',
        // No hedging in practice: the liars must be asked, not raced (the faults tests cover hedging).
        SHARDGATE_HEDGE_MS: '3000', SHARDGATE_READ_TIMEOUT_MS: '10000',
        // Scrub, audits and snapshots run when the test asks, so what they find is the liars'.
        SHARDGATE_SCRUB_INTERVAL_MS: '0', SHARDGATE_AUDIT_INTERVAL_MS: '0', SHARDGATE_SNAPSHOT_INTERVAL_MS: '0',
      },
    });
    this.s3 = this.c.client();
    await this.s3.send(new CreateBucketCommand({ Bucket: 'lies' }));
    const sseKey = randomBytes(32).toString('base64');
    // One segment; eight segments and a short one; the same two under SSE-C.
    const specs: Array<{ key: string; size: number; sse?: string }> = [
      { key: 'one', size: 1_000 }, { key: 'multi é&+', size: 8 * SEGMENT + 123 },
      { key: 'ssec-one', size: 5_000, sse: sseKey }, { key: 'ssec-multi', size: 6 * SEGMENT + 7, sse: sseKey },
    ];
    for (const s of specs) {
      const body = randomBytes(s.size);
      const sse = s.sse ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: s.sse } : {};
      await this.s3.send(new PutObjectCommand({ Bucket: 'lies', Key: s.key, Body: body, ...sse }));
      this.objects.push({ key: s.key, body, sseKey: s.sse, ...(await blobOf(this.c, s.key)) });
    }
  }

  store(id: string): StoreProc {
    return this.c.stores.find((s) => s.id === id)!;
  }

  /** Restart the gateway: a fresh process has caught no liar yet, and holds no stale connection to a respawned store. */
  async restartGateway(): Promise<void> {
    await this.c.restartGateway();
    this.s3 = this.c.client();
  }

  async get(o: Obj, range?: string): Promise<Buffer> {
    const sse = o.sseKey ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: o.sseKey } : {};
    const res = await this.s3.send(new GetObjectCommand({ Bucket: 'lies', Key: o.key, Range: range, ...sse }));
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  /** Every object (or `only`) whole, and a few ranges across segment edges, byte-exact. */
  async readAll(when: string, only?: Obj[]): Promise<void> {
    for (const o of only ?? this.objects) {
      expect(md5Hex(await this.get(o)), `${o.key} ${when}`).toBe(md5Hex(o.body));
      if (o.body.length <= SEGMENT) continue;
      for (const [a, b] of [[SEGMENT - 5, SEGMENT + 5], [3 * SEGMENT + 1, 5 * SEGMENT - 1], [o.body.length - 10, o.body.length - 1]] as const) {
        expect((await this.get(o, `bytes=${a}-${b}`)).equals(o.body.subarray(a, b + 1)), `${o.key} ${a}-${b} ${when}`).toBe(true);
      }
    }
  }

  /** Node ids, those holding a piece of the most objects first: liars that matter. */
  mostPlaced(): string[] {
    const n = (id: string): number => this.objects.filter((o) => o.placement.includes(id)).length;
    return this.c.stores.map((s) => s.id).sort((a, b) => n(b) - n(a) || a.localeCompare(b));
  }
}

describe('security: lying shard-stores on the read path (20 stores)', () => {
  const t = new LyingCluster();
  let c: Cluster;
  let objects: Obj[];
  const store = (id: string): StoreProc => t.store(id);
  const readAll = (when: string, only?: Obj[]): Promise<void> => t.readAll(when, only);

  beforeAll(async () => {
    await t.start(20);
    c = t.c;
    objects = t.objects;
  });
  // The repair tests below start their own cluster: this one need not outlive its tests.
  afterAll(() => c.stop());

  it('one store lying on reads: whole, ranged and SSE-C GETs answer the right bytes; the liar is reported, its piece queued', async () => {
    await readAll('before any lie');
    for (const o of objects) {
      // The holder of data piece 0, which the fast path always asks, lies; a fresh gateway
      // has not caught it yet (a caught liar is asked last, so later reads never meet it).
      const liar = o.placement[0]!;
      await respawnStore(c, store(liar), { env: { SHARDGATE_TEST_LIE_ON_READ: '1' } });
      await t.restartGateway();
      await readAll(`with ${liar} lying on reads`, [o]);
      expect((await queuedRepairs(c)).get(`${o.blobId}.0`), o.key).toMatch(/^read: /);
      expect((await wrongAudits(c)).get(liar), o.key).toBeGreaterThanOrEqual(1);
      expect([...(await lyingMetric(c)).keys()], o.key).toEqual([liar]);
      await respawnStore(c, store(liar));
    }
    // Only the liars' pieces are queued: no honest store is accused.
    const liars = new Set(objects.map((o) => o.placement[0]!));
    for (const shard of (await queuedRepairs(c)).keys()) {
      const o = objects.find((x) => shard.startsWith(`${x.blobId}.`))!;
      expect(liars.has(o.placement[Number(shard.split('.')[1])]!), shard).toBe(true);
    }
    expect([...(await wrongAudits(c)).keys()].every((id) => liars.has(id))).toBe(true);
  });

  it('scrub flags a store that lies on reads only, and one that lies on reads and audit answers', async () => {
    const [liar, both] = t.mostPlaced() as [string, string];
    await respawnStore(c, store(liar), { env: { SHARDGATE_TEST_LIE_ON_READ: '1' } });
    await respawnStore(c, store(both), { env: { SHARDGATE_TEST_LIE_ON_READ: '1', SHARDGATE_TEST_LIE_ON_CHALLENGE: '1' } });
    await t.restartGateway();
    const before = await wrongAudits(c);
    const run = await runAdmin(c, ['scrub']);
    expect(run.code, run.all).toBe(0);
    const queue = await queuedRepairs(c);
    const after = await wrongAudits(c);
    for (const id of [liar, both]) {
      const held = objects.filter((o) => o.placement.includes(id));
      expect(held.length).toBeGreaterThan(0);
      // Queued (some already by the reads of the previous test), and one wrong answer per piece.
      for (const o of held) expect(queue.get(`${o.blobId}.${o.placement.indexOf(id)}`), `${o.key} on ${id}`).toBeDefined();
      expect(after.get(id)! - (before.get(id) ?? 0), id).toBe(held.length);
    }
    // Honest stores: nothing new found.
    for (const [id, n] of after) if (id !== liar && id !== both) expect(n, id).toBe(before.get(id));
    await readAll('with two liars');
  });

  it('three stores lying on reads and audit answers: the right bytes', async () => {
    const liars = t.mostPlaced().slice(0, 3);
    // The first two lie since the previous test; the first on reads only, until now.
    for (const id of [liars[0]!, liars[2]!]) await respawnStore(c, store(id), { env: { SHARDGATE_TEST_LIE_ON_READ: '1', SHARDGATE_TEST_LIE_ON_CHALLENGE: '1' } });
    await t.restartGateway();
    const queued = new Set((await queuedRepairs(c)).keys());
    await readAll('with three liars');
    // What the reads queued is theirs alone.
    for (const shard of (await queuedRepairs(c)).keys()) {
      if (queued.has(shard)) continue;
      const o = objects.find((x) => shard.startsWith(`${x.blobId}.`))!;
      expect(liars, shard).toContain(o.placement[Number(shard.split('.')[1])]);
    }
  });

});

describe('security: repair with lying sources (20 stores)', () => {
  const t = new LyingCluster();
  beforeAll(() => t.start(20));

  it('after a store loss, writes exactly the pieces first written, leaving out sources that lie', async () => {
    const { c, objects } = t;
    // Every shard file as first written (a liar's disk holds the true bytes: it lies on the wire).
    const original = new Map<string, Buffer>();
    for (const o of objects) {
      o.placement.forEach((id, piece) => {
        const shard = `${o.blobId}.${piece}`;
        original.set(shard, readShardOnDisk(t.store(id).dataDir, shard)!);
      });
    }
    // The victim holds a piece of every multi-segment object; a liar (on reads and proofs) holds the
    // first source piece of each multi-segment object, normal and SSE-C (which repair cannot
    // decrypt); another lies on reads only.
    const multi = objects.filter((o) => o.body.length > SEGMENT);
    const victim = t.mostPlaced().find((id) => multi.every((o) => o.placement.includes(id)))!;
    const liars = [...new Set(multi.map((o) => o.placement.find((id) => id !== victim)!))];
    const readLiar = t.mostPlaced().find((id) => id !== victim && !liars.includes(id))!;
    for (const id of liars) await respawnStore(c, t.store(id), { env: { SHARDGATE_TEST_LIE_ON_READ: '1', SHARDGATE_TEST_LIE_ON_CHALLENGE: '1' } });
    await respawnStore(c, t.store(readLiar), { env: { SHARDGATE_TEST_LIE_ON_READ: '1' } });
    await t.restartGateway();
    t.store(victim).child.kill('SIGKILL');
    await t.store(victim).exited;
    rmSync(t.store(victim).dataDir, { recursive: true, force: true });

    const run = await runAdmin(c, ['repair', '--wait']);
    expect(run.code, run.all).toBe(0);
    const caughtAll = await metaQuery<{ node_id: string; shard_id: string }>(c,
      `SELECT node_id, shard_id FROM audits WHERE outcome = 'wrong' AND detail LIKE 'repair read: %'`);
    // Pieces of objects only: repair also rebuilds the gateway's metadata snapshots, whose
    // pieces a liar may hold too (those are checked by the recover tests).
    const snapshots = await snapshotBlobIds(c);
    const caught = caughtAll.filter((r) => !snapshots.has(r.shard_id.slice(0, 32)));
    // The liars holding the first source pieces at least; the read liar if a source was its.
    // Once caught, a liar is asked last, so it may be caught on one blob only, and that blob
    // may be a snapshot's if repair reached it first (the order repair takes blobs in).
    for (const id of liars) expect(caughtAll.map((r) => r.node_id)).toContain(id);
    for (const r of caughtAll) expect([...liars, readLiar]).toContain(r.node_id);
    const rebuilt = new Map<Obj, Set<number>>();
    for (const o of objects) {
      const now = (await blobOf(c, o.key)).placement;
      expect(now, o.key).not.toContain(victim);
      now.forEach((id, piece) => {
        const shard = `${o.blobId}.${piece}`;
        const now = readShardOnDisk(t.store(id).dataDir, shard);
        expect(now, `${shard} on ${id}`).not.toBeNull();
        expect(sha256(now!), `${shard} on ${id}`).toBe(sha256(original.get(shard)!));
      });
      rebuilt.set(o, new Set(now.flatMap((id, piece) => (id === o.placement[piece] ? [] : [piece]))));
      o.placement = now;
    }
    // Every piece a liar was caught on has moved (nothing is left queued); a piece of a
    // liar that was not needed as a source may still sit on it, and is true on its disk.
    expect([...(await queuedRepairs(c)).keys()]).toEqual([]);
    for (const r of caught) {
      const o = objects.find((x) => r.shard_id.startsWith(`${x.blobId}.`))!;
      expect(o.placement[Number(r.shard_id.split('.')[1])], r.shard_id).not.toBe(r.node_id);
    }
    // With the liars stopped and holders of first-written pieces killed until 10 pieces
    // are left, a multi-segment object must be read from its rebuilt pieces.
    const stopped = [...liars, readLiar];
    for (const id of stopped) t.store(id).child.kill('SIGKILL');
    await Promise.all(stopped.map((id) => t.store(id).exited));
    for (const o of multi) {
      // The victim's piece at least, and the liar's when it was caught on this blob.
      expect(rebuilt.get(o)!.size, o.key).toBeGreaterThanOrEqual(1);
      const up = o.placement.filter((id) => !stopped.includes(id));
      expect(up.length, o.key).toBeGreaterThanOrEqual(10);
      const kill = up.filter((id) => !rebuilt.get(o)!.has(o.placement.indexOf(id))).slice(0, up.length - 10);
      for (const id of kill) t.store(id).child.kill('SIGKILL');
      await Promise.all(kill.map((id) => t.store(id).exited));
      await t.readAll('from rebuilt pieces', [o]);
      for (const id of kill) await respawnStore(c, t.store(id));
    }
  });
});

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
