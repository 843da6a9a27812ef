/**
 * Issue 9 item 6, repair side: a source that forges pieces with valid checksums is left
 * out and reported, and no piece it forged reaches a rebuilt shard file, SSE-C blobs
 * (which repair cannot decrypt) included.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveCustomerKek, newCustomerSalt, unwrapKeyForCustomer, wrapKeyForCustomer } from '../../codec/keys.js';
import { auditStoreFor } from '../../gateway/meta/audit-store.js';
import { putBlob } from '../../gateway/pipeline/put-blob.js';
import { readBlob } from '../../gateway/pipeline/read-blob.js';
import { shardId } from '../../gateway/pipeline/shard-io.js';
import { RateLimiter } from '../../gateway/repair/limiter.js';
import { rebuildPieces } from '../../gateway/repair/rebuild.js';
import { startFixture, type Fixture } from './admin-fixture.js';

// The fixture cuts segments at 16 KiB.
const ONE_SEGMENT = 10_000;
const SIX_SEGMENTS = 5 * 16 * 1024 + 333;

async function putSsec(fx: Fixture, key: string, size: number): Promise<{ body: Buffer; blobId: string; kek: Buffer }> {
  const kek = deriveCustomerKek(randomBytes(32), newCustomerSalt());
  const body = randomBytes(size);
  const w = await putBlob(fx.ctx, (async function* () { yield body; })(), (master, dataKey) => wrapKeyForCustomer(master, kek, dataKey));
  await fx.meta.commitObject({ bucket: 'bucket', key, size, etag: w.md5.toString('hex'), contentType: null, headers: {}, userMeta: {},
    checksums: {}, partsCount: null, parts: [{ partNumber: 1, blobId: w.blobId, size, etag: 'e', checksums: {} }] }, w.missed);
  return { body, blobId: w.blobId!, kek };
}

async function read(fx: Fixture, blobId: string, kek?: Buffer): Promise<Buffer> {
  const blob = (await fx.meta.getBlob(blobId))!;
  const out: Buffer[] = [];
  const unwrap = kek ? (master: Buffer, wrapped: Buffer) => unwrapKeyForCustomer(master, kek, wrapped) : undefined;
  for await (const chunk of readBlob(fx.ctx, blob, 0, blob.size - 1, unwrap)) out.push(chunk);
  return Buffer.concat(out);
}

/** Every shard file of a blob, by piece, as first written. */
async function files(fx: Fixture, blobId: string): Promise<Buffer[]> {
  const placement = (await fx.meta.getBlob(blobId))!.placement;
  return placement.map((node, piece) => Buffer.from(fx.stores.files.get(node)!.get(shardId(blobId, piece))!));
}

describe('repair with a lying source', () => {
  const cases = [
    { name: 'one segment', size: ONE_SEGMENT, ssec: false },
    { name: 'six segments', size: SIX_SEGMENTS, ssec: false },
    { name: 'SSE-C, one segment', size: ONE_SEGMENT, ssec: true },
    { name: 'SSE-C, six segments', size: SIX_SEGMENTS, ssec: true },
  ];
  it.each(cases)('$name: rebuilds byte-exact pieces, leaves the liar out and moves its piece', async ({ size, ssec }) => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const { body, blobId, kek } = ssec ? await putSsec(fx, 'k', size) : { ...(await fx.put('k', size)), kek: undefined };
    const original = await files(fx, blobId);
    const placement = (await fx.meta.getBlob(blobId))!.placement;
    // Piece 3's store and its disk are gone; piece 0's store (a source repair asks first) lies on reads and proofs.
    const victim = placement[3]!;
    const liar = placement[0]!;
    fx.stores.down.add(victim);
    fx.stores.files.delete(victim);
    fx.stores.lieOnRead.add(liar);
    fx.stores.lieOnProof.add(liar);
    const job = await fx.worker.request('admin', { full: true });
    await fx.worker.idle();
    const done = (await fx.worker.job(job.id))!;
    expect(done.state, done.message ?? '').toBe('complete');
    const after = (await fx.meta.getBlob(blobId))!.placement;
    // Both the lost piece and the liar's were rebuilt elsewhere, and are the pieces first written.
    expect(after[3]).not.toBe(victim);
    expect(after[0]).not.toBe(liar);
    for (const piece of [0, 3]) expect(fx.stores.files.get(after[piece]!)!.get(shardId(blobId, piece))!.equals(original[piece]!), `piece ${piece}`).toBe(true);
    expect(fx.ctx.health.liesSeen().get(liar)).toBeGreaterThanOrEqual(1);
    expect((await auditStoreFor(fx.meta.db).counts(liar, 0, Date.now() + 1)).wrong).toBeGreaterThanOrEqual(1);
    // Six holders of original pieces gone, the liar among them: the rebuilt pieces must serve.
    const originals = placement.filter((n, i) => i !== 0 && i !== 3 && after[i] === n).slice(0, 5);
    for (const n of [liar, ...originals]) fx.stores.down.add(n);
    expect((await read(fx, blobId, kek)).equals(body)).toBe(true);
  });

  it('drops a rebuilt file whose root is not the one kept at write time, before it is made durable', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const { blobId } = await fx.put('k', SIX_SEGMENTS);
    const blob = (await fx.meta.getBlob(blobId))!;
    const store = auditStoreFor(fx.meta.db);
    const roots = (await store.getRoots(blobId))!.map((r) => Buffer.from(r));
    roots[3]![0]! ^= 1;
    await store.setRoots(blobId, roots);
    const spare = [...fx.zones.keys()].filter((n) => !blob.placement.includes(n));
    const targets = new Map([[3, spare[0]!], [12, spare[1]!]]);
    const sources = [...Array(16).keys()].filter((i) => !targets.has(i));
    const result = await rebuildPieces(fx.ctx, { blob, targets, sources }, new RateLimiter(0), new AbortController().signal);
    expect(result.written).toEqual([12]);
    expect(result.failed.get(3)?.message).toMatch(/does not match the root kept at write time/);
    expect(fx.stores.has(spare[0]!, shardId(blobId, 3))).toBe(false);
    expect(fx.stores.has(spare[1]!, shardId(blobId, 12))).toBe(true);
  });

  it('writes nothing from a lying source of a blob whose roots are unknown: AES-GCM refuses the segment', async () => {
    const fx = await startFixture({ nodes: 20, zones: 4 });
    const { blobId } = await fx.put('k', SIX_SEGMENTS);
    fx.meta.db.prepare('DELETE FROM blob_roots WHERE blob_id = ?').run(blobId);
    const blob = (await fx.meta.getBlob(blobId))!;
    fx.stores.lieOnRead.add(blob.placement[0]!);
    const spare = [...fx.zones.keys()].filter((n) => !blob.placement.includes(n));
    const targets = new Map([[3, spare[0]!]]);
    const sources = [...Array(16).keys()].filter((i) => i !== 3);
    await expect(rebuildPieces(fx.ctx, { blob, targets, sources }, new RateLimiter(0), new AbortController().signal)).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
    expect(fx.stores.has(spare[0]!, shardId(blobId, 3))).toBe(false);
  });
});
