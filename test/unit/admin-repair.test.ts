import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveCustomerKek, newCustomerSalt, unwrapKeyForCustomer, wrapKeyForCustomer } from '../../codec/keys.js';
import { putBlob } from '../../gateway/pipeline/put-blob.js';
import { readBlob } from '../../gateway/pipeline/read-blob.js';
import { M, N } from '../../codec/erasure.js';
import { RateLimiter } from '../../gateway/repair/limiter.js';
import { shardId } from '../../gateway/pipeline/shard-io.js';
import { startFixture, type Fixture } from './admin-fixture.js';

/** Every piece of every live blob sits on an active node that holds its file, ≤ M per zone. */
async function expectFullyHealthy(fx: Fixture): Promise<void> {
  const states = new Map((await fx.nodes.list()).map((n) => [n.id, n.state]));
  for (const ref of await fx.repairs.liveBlobsAfter('', 1_000)) {
    expect(new Set(ref.placement).size).toBe(N);
    const perZone = new Map<string, number>();
    ref.placement.forEach((node, i) => {
      expect(states.get(node), `${ref.id}.${i} on ${node}`).toBe('active');
      expect(fx.stores.has(node, shardId(ref.id, i)), `${ref.id}.${i} file on ${node}`).toBe(true);
      const z = fx.zones.get(node)!;
      perZone.set(z, (perZone.get(z) ?? 0) + 1);
    });
    expect(Math.max(...perZone.values())).toBeLessThanOrEqual(M);
  }
}

// Sizes: empty-ish (one short segment), exactly one 16 KiB segment, one segment + 1 byte, several.
const SIZES = [1, 16 * 1024, 16 * 1024 + 1, 70_000];

describe('repair worker', () => {
  it('rebuilds the pieces of a lost node elsewhere, byte-exact, within the zone rules', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const objs = await Promise.all(SIZES.map((s, i) => fx.put(`k${i}`, s)));
    const victim = (await fx.repairs.liveBlobsAfter('', 10))[0]!.placement[3]!;
    fx.stores.down.add(victim);
    fx.stores.files.delete(victim); // its disk is gone too
    const job = await fx.worker.request('admin', { full: true });
    await fx.worker.idle();
    const done = (await fx.worker.job(job.id))!;
    expect(done.state, done.message ?? '').toBe('complete');
    expect(done.piecesRebuilt).toBeGreaterThan(0);
    expect((await fx.nodes.get(victim))!.state).toBe('offline');
    await expectFullyHealthy(fx);
    // Six more nodes gone: the rebuilt pieces must be real ones.
    const others = [...fx.zones.keys()].filter((n) => n !== victim).slice(0, 6);
    for (const n of others) fx.stores.down.add(n);
    for (const o of objs) expect((await fx.read(o.blobId)).equals(o.body)).toBe(true);
  });

  // The gateway never holds an SSE-C customer's key, so it cannot decrypt those blobs to check
  // a rebuild: their pieces must still be rebuilt, on their checksums, byte-exact.
  it('rebuilds the pieces of an SSE-C blob, whose key the gateway cannot unwrap alone', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const kek = deriveCustomerKek(randomBytes(32), newCustomerSalt());
    const body = randomBytes(70_000);
    const w = await putBlob(fx.ctx, (async function* () { yield body; })(), (master, dataKey) => wrapKeyForCustomer(master, kek, dataKey));
    await fx.meta.commitObject({ bucket: 'bucket', key: 'ssec', size: body.length, etag: w.md5.toString('hex'), contentType: null, headers: {}, userMeta: {},
      checksums: {}, partsCount: null, parts: [{ partNumber: 1, blobId: w.blobId, size: body.length, etag: 'e', checksums: {} }] }, w.missed);
    const victim = (await fx.meta.getBlob(w.blobId!))!.placement[0]!;
    fx.stores.down.add(victim);
    fx.stores.files.delete(victim);
    const job = await fx.worker.request('admin', { full: true });
    await fx.worker.idle();
    const done = (await fx.worker.job(job.id))!;
    expect(done.state, done.message ?? '').toBe('complete');
    expect(done.piecesRebuilt).toBe(1);
    for (const n of [...fx.zones.keys()].filter((n) => n !== victim).slice(0, 6)) fx.stores.down.add(n);
    const blob = (await fx.meta.getBlob(w.blobId!))!;
    const out: Buffer[] = [];
    for await (const chunk of readBlob(fx.ctx, blob, 0, blob.size - 1, (master, wrapped) => unwrapKeyForCustomer(master, kek, wrapped))) out.push(chunk);
    expect(Buffer.concat(out).equals(body)).toBe(true);
  });

  it('a scheduled pass leaves blobs at or above the threshold alone; a full pass does not', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const { blobId } = await fx.put('k', 5_000);
    const placement = (await fx.meta.getBlob(blobId))!.placement;
    // Two pieces lost: 14 healthy = the default threshold, not below it.
    await fx.nodes.setState(placement[0]!, 'offline', 'test');
    await fx.nodes.setState(placement[1]!, 'offline', 'test');
    const sched = await fx.worker.request('schedule');
    await fx.worker.idle();
    expect((await fx.worker.job(sched.id))!.state).toBe('complete');
    expect((await fx.worker.job(sched.id))!.piecesRebuilt).toBe(0);
    expect((await fx.worker.assess(true)).degraded).toBe(1);
    // A third one: 13 < 14, the next scheduled pass repairs all three.
    await fx.nodes.setState(placement[2]!, 'offline', 'test');
    const again = await fx.worker.request('schedule');
    await fx.worker.idle();
    expect((await fx.worker.job(again.id))!.piecesRebuilt).toBe(3);
    expect((await fx.worker.assess(true)).degraded).toBe(0);
  });

  it('rebuilds pieces queued as missing, and moves pieces that crowd one zone', async () => {
    // 7 nodes per zone: a blob can be made to put 7 pieces in one zone, one over the cap.
    const fx = await startFixture({ nodes: 28, zones: 4 });
    const { blobId, body } = await fx.put('k', 40_000);
    const blob = (await fx.meta.getBlob(blobId))!;
    // The damaged piece is outside zone-1, so zone-1 keeps all of its healthy pieces.
    const q = blob.placement.findIndex((n) => fx.zones.get(n) !== 'zone-1');
    fx.stores.files.get(blob.placement[q]!)!.delete(shardId(blobId, q));
    await fx.meta.queueRepair([{ blobId, piece: q, reason: 'test' }]);
    // Rewrite the placement so that zone-1 holds 7 pieces (over the cap of 6): move copies there.
    const zone1 = [...fx.zones].filter(([, z]) => z === 'zone-1').map(([n]) => n).filter((n) => !blob.placement.includes(n));
    const crowded = [...blob.placement];
    let moved = 0;
    for (let i = 0; i < N && moved < zone1.length; i++) {
      if (i === q || fx.zones.get(crowded[i]!) === 'zone-1') continue;
      if (!fx.stores.files.has(zone1[moved]!)) fx.stores.files.set(zone1[moved]!, new Map());
      fx.stores.files.get(zone1[moved]!)!.set(shardId(blobId, i), fx.stores.files.get(crowded[i]!)!.get(shardId(blobId, i))!);
      crowded[i] = zone1[moved++]!;
    }
    fx.meta.db.prepare('UPDATE blobs SET placement = ? WHERE id = ?').run(JSON.stringify(crowded), blobId);
    const perZone1 = crowded.filter((n) => fx.zones.get(n) === 'zone-1').length;
    expect(perZone1).toBeGreaterThan(M);
    expect((await fx.worker.assess(true)).piecesMisplaced).toBe(perZone1 - M);
    await fx.worker.request('admin', { full: true });
    await fx.worker.idle();
    await expectFullyHealthy(fx);
    expect(await fx.repairs.queueLength()).toBe(0);
    expect((await fx.read(blobId)).equals(body)).toBe(true);
  });

  it('rebuilds a blob with more than 6 pieces queued, reading the queued pieces that still read', async () => {
    const fx = await startFixture({ nodes: 24, zones: 4 });
    const { blobId, body } = await fx.put('k', 70_000);
    const blob = (await fx.meta.getBlob(blobId))!;
    // Eight pieces queued (say, after a store restart), six of them intact, two really gone:
    // 14 pieces still read, though only 8 are outside the queue.
    const queued = [0, 2, 4, 6, 8, 10, 12, 14];
    await fx.meta.queueRepair(queued.map((piece) => ({ blobId, piece, reason: 'test: transient' })));
    for (const piece of [2, 10]) fx.stores.files.get(blob.placement[piece]!)!.delete(shardId(blobId, piece));
    const before = await fx.worker.assess(true);
    expect(before.unreadable).toBe(0);
    expect(before.piecesUnhealthy).toBe(queued.length);
    const job = await fx.worker.request('admin', { full: true });
    await fx.worker.idle();
    const done = (await fx.worker.job(job.id))!;
    expect(done.state, done.message ?? '').toBe('complete');
    expect(done.piecesRebuilt).toBe(queued.length);
    await expectFullyHealthy(fx);
    expect(await fx.repairs.queueLength()).toBe(0);
    // The rebuilt pieces are real ones: with the six untouched holders of the old placement down, the blob still reads.
    const now = (await fx.meta.getBlob(blobId))!.placement;
    for (const piece of [1, 3, 5, 7, 9, 11]) fx.stores.down.add(now[piece]!);
    expect((await fx.read(blobId)).equals(body)).toBe(true);
  });

  it('with exactly 16 nodes, rebuilds pieces queued on nodes that are up where they are', async () => {
    // Every node holds a piece of every blob: there is no other node to rebuild onto.
    const fx = await startFixture({ nodes: 16, zones: 4 });
    const { blobId, body } = await fx.put('k', 40_000);
    const placement = (await fx.meta.getBlob(blobId))!.placement;
    // Three writes that never arrived (their holders stayed up), and one piece still readable.
    const missed = [1, 6, 11];
    for (const piece of missed) fx.stores.files.get(placement[piece]!)!.delete(shardId(blobId, piece));
    await fx.meta.queueRepair([...missed, 14].map((piece) => ({ blobId, piece, reason: 'test: missed write' })));
    const job = await fx.worker.request('admin', { full: true });
    await fx.worker.idle();
    const done = (await fx.worker.job(job.id))!;
    expect(done.state, done.message ?? '').toBe('complete');
    expect(done.piecesRebuilt).toBe(4);
    expect((await fx.meta.getBlob(blobId))!.placement).toEqual(placement);
    expect(await fx.repairs.queueLength()).toBe(0);
    // No old copy is scheduled for deletion: the rebuilt file is the holder's only one (grace is 0 here).
    expect(await fx.repairs.orphanNodesOf(blobId)).toEqual(new Set());
    await fx.worker.request('admin', { full: true });
    await fx.worker.idle();
    await expectFullyHealthy(fx);
    // The rebuilt pieces are real: with six of the others down, the blob reads from ten that include them.
    for (const piece of [0, 2, 3, 4, 5, 7]) fx.stores.down.add(placement[piece]!);
    expect((await fx.read(blobId)).equals(body)).toBe(true);
  });

  it('reports what it cannot do instead of claiming success', async () => {
    // 16 nodes exactly: a lost one has no replacement.
    const fx = await startFixture({ nodes: 16, zones: 4 });
    await fx.put('k', 1_000);
    fx.stores.down.add('n03');
    await fx.nodes.setState('n03', 'offline', 'test');
    const job = await fx.worker.request('admin', { full: true });
    await fx.worker.idle();
    const done = (await fx.worker.job(job.id))!;
    expect(done.state).toBe('incomplete');
    expect(done.message).toMatch(/no eligible node/);
  });

  it('drains a node: its pieces move away, old files are deleted, then it is removed', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const objs = await Promise.all([fx.put('a', 30_000), fx.put('b', 100)]);
    const node = 'n07';
    const held = (await fx.worker.assess(true)).held.get(node) ?? 0;
    await fx.nodes.setState(node, 'draining', 'test');
    await fx.worker.request('drain');
    await fx.worker.idle();
    expect((await fx.worker.assess(true)).held.get(node) ?? 0).toBe(0);
    expect((await fx.nodes.get(node))!.state).toBe('removed');
    // Old copies go after the grace period (0 here).
    expect(fx.stores.files.get(node)?.size ?? 0).toBe(0);
    expect(held).toBeGreaterThanOrEqual(0);
    for (const o of objs) expect((await fx.read(o.blobId)).equals(o.body)).toBe(true);
  });

  it('resumes a job from its cursor after a restart', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4, repair: { batch: 2 } });
    for (let i = 0; i < 6; i++) await fx.put(`k${i}`, 2_000);
    const ids = (await fx.repairs.liveBlobsAfter('', 10)).map((b) => b.id);
    // A job a killed gateway left at the third blob.
    await fx.nodes.setState('n00', 'offline', 'test');
    await fx.nodes.setState('n01', 'offline', 'test');
    await fx.nodes.setState('n02', 'offline', 'test');
    const job = await fx.repairs.createJob('admin', N);
    await fx.repairs.startPass(job.id, 1, ids.length);
    await fx.repairs.setCursor(job.id, ids[2]!);
    fx.stores.down.add('n00').add('n01').add('n02');
    const w = fx.restart();
    w.start();
    await w.idle();
    const done = (await fx.repairs.getJob(job.id))!;
    expect(done.state).toBe('complete');
    await expectFullyHealthy(fx);
  });

  it('marks a node offline after repeated failed probes and active again when it answers', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    fx.stores.down.add('n04');
    await fx.monitor.probe('n04');
    expect((await fx.nodes.get('n04'))!.state).toBe('active');
    await fx.monitor.probe('n04');
    expect((await fx.nodes.get('n04'))!.state).toBe('offline');
    fx.stores.down.delete('n04');
    await fx.monitor.probe('n04');
    expect((await fx.nodes.get('n04'))!.state).toBe('active');
  });

  it('finds the pieces a restarted node lost', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const { blobId, body } = await fx.put('k', 9_000);
    const node = (await fx.meta.getBlob(blobId))!.placement[0]!;
    fx.stores.files.delete(node);
    await fx.monitor.probe(node); // first answer: 0 pieces, 1 expected
    await fx.monitor.checkPieces(node);
    expect((await fx.repairs.queuedPieces()).get(blobId)).toEqual(new Set([0]));
    await fx.worker.request('admin', { full: true });
    await fx.worker.idle();
    await expectFullyHealthy(fx);
    expect((await fx.read(blobId)).equals(body)).toBe(true);
  });

  it('limits repair traffic to the configured rate', async () => {
    const limiter = new RateLimiter(1_000_000, 0);
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) await limiter.take(50_000);
    // 250 kB at 1 MB/s: about 250 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    const unlimited = new RateLimiter(0);
    const t1 = Date.now();
    await unlimited.take(1e12);
    expect(Date.now() - t1).toBeLessThan(50);
  });
});
