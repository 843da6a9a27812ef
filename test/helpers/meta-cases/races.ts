import { expect, it } from 'vitest';
import { MetaConflictError, MetaNotFoundError, MetaPreconditionError } from '../../../gateway/meta/errors.js';
import type { MetaStore } from '../../../gateway/meta/meta-store.js';
import { object, part, upload } from './fixtures.js';

/** Two stores on one database, as two gateways see it; bucket `b` (owner root) in it. */
export interface MetaPairContext {
  pair(): [MetaStore, MetaStore];
}

/** `n` calls spread over both stores and started together; how each ended. */
export async function race<T>(stores: [MetaStore, MetaStore], n: number, fn: (meta: MetaStore, i: number) => Promise<T>): Promise<Array<PromiseSettledResult<T>>> {
  return Promise.allSettled(Array.from({ length: n }, (_, i) => fn(stores[i % 2]!, i)));
}

export const won = <T>(r: Array<PromiseSettledResult<T>>): T[] => r.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
export const lost = (r: Array<PromiseSettledResult<unknown>>): unknown[] => r.flatMap((x) => (x.status === 'rejected' ? [x.reason] : []));

/** What must hold when several gateways write one key, one upload or one bucket name at once. */
export function raceCases(ctx: MetaPairContext): void {
  it('If-None-Match: * from several gateways at once: exactly one write wins', async () => {
    const out = await race(ctx.pair(), 8, (meta, i) => meta.commitObjectWith(object('b', 'k', { etag: `e${i}` }), { condition: { ifNoneMatch: true } }));
    const winners = won(out);
    expect(winners).toHaveLength(1);
    for (const err of lost(out)) {
      expect(err).toBeInstanceOf(MetaPreconditionError);
      expect((err as MetaPreconditionError).reason).toBe('exists');
    }
    const [a, b] = ctx.pair();
    expect((await b.getObject('b', 'k'))!.etag).toBe(winners[0]!.etag);
    expect(await a.listVersions('b', { fromKey: '' }, 100)).toHaveLength(1);
  });

  it('racing PUTs of one key in a versioned bucket: every version kept, exactly one current, the newest', async () => {
    const [a] = ctx.pair();
    await a.setBucketVersioning('b', 'Enabled');
    const out = await race(ctx.pair(), 10, (meta, i) => meta.commitObject(object('b', 'k', { etag: `e${i}` })));
    expect(lost(out)).toEqual([]);
    const versions = await a.listVersions('b', { fromKey: '' }, 100);
    expect(versions.map((v) => v.versionId).sort()).toEqual(won(out).map((r) => r.versionId).sort());
    expect(versions.filter((v) => v.isLatest)).toHaveLength(1);
    expect(versions[0]!.isLatest).toBe(true);
    expect((await a.getObject('b', 'k'))!.id).toBe(Math.max(...versions.map((v) => v.id)));
  });

  it('racing PUTs and deletes of one key, unversioned: one version left, and the bucket counts its bytes alone', async () => {
    const out = await race<unknown>(ctx.pair(), 12, (meta, i) => (i % 3 === 2 ? meta.deleteObject('b', 'k') : meta.commitObject(object('b', 'k', { size: 10 + i }))));
    expect(lost(out)).toEqual([]);
    const [a, b] = ctx.pair();
    const left = await a.listVersions('b', { fromKey: '' }, 100);
    expect(left.length).toBeLessThanOrEqual(1);
    expect((await b.quotas.get('b'))!.used).toBe(left[0]?.size ?? 0);
  });

  it('racing completions of one multipart upload: one completes it, the others find it gone, all see one answer', async () => {
    const [a] = ctx.pair();
    await a.createUpload(upload('up1', 'k'));
    await a.putPart('up1', part(1, 5));
    const out = await race(ctx.pair(), 6, (meta, i) => meta.commitObjectWith({
      ...object('b', 'k', { size: 5, etag: `m${i}` }), partsCount: 1,
    }, { recordCompletion: true }, [], Date.now(), 'up1'));
    const winners = won(out);
    expect(winners).toHaveLength(1);
    for (const err of lost(out)) {
      expect(err).toBeInstanceOf(MetaNotFoundError);
      expect((err as MetaNotFoundError).what).toBe('upload');
    }
    for (const meta of ctx.pair()) {
      expect(await meta.completedUploads.lookup('up1', 'b', 'k')).toMatchObject({ objectId: winners[0]!.id, etag: winners[0]!.etag });
    }
    expect(await a.listVersions('b', { fromKey: '' }, 100)).toHaveLength(1);
  });

  it('parts of one upload through several gateways at once are all kept', async () => {
    const [a, b] = ctx.pair();
    await a.createUpload(upload('up1', 'k'));
    const out = await race(ctx.pair(), 10, (meta, i) => meta.putPart('up1', part(i + 1, i + 1)));
    expect(lost(out)).toEqual([]);
    expect((await b.allParts('up1')).map((p) => p.partNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('racing CreateBucket of one name: one creates it, the others are told who owns it', async () => {
    const out = await race(ctx.pair(), 6, (meta, i) => meta.createBucket('new', `user${i}`, 'us-east-1'));
    expect(won(out)).toHaveLength(1);
    const owner = (await ctx.pair()[1].getBucket('new'))!.owner;
    for (const err of lost(out)) {
      expect(err).toBeInstanceOf(MetaConflictError);
      expect((err as MetaConflictError).owner).toBe(owner);
    }
  });
}
