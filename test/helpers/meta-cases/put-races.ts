import { expect, it } from 'vitest';
import { MetaNotFoundError, MetaQuotaError } from '../../../gateway/meta/errors.js';
import type { MetaStore } from '../../../gateway/meta/meta-store.js';
import type { ObjectRow } from '../../../gateway/meta/types.js';
import { object, part, upload, writingBlob } from './fixtures.js';
import { lost, race, won, type MetaPairContext } from './races.js';

/** A blob id of 32 characters, unique per (tag, i). */
export const blobOf = (tag: string, i: number): string => `${tag}-${i}-`.padEnd(32, '.');

/** A PUT as the gateway makes it: its blob recorded 'writing' first, then the commit that makes it live. */
export async function putWithBlob(meta: MetaStore, bucket: string, key: string, blob: string, size: number, etag = 'e'): Promise<ObjectRow> {
  await writingBlob(meta, blob, size);
  return meta.commitObject(object(bucket, key, { blob, size, etag }));
}

/** `n` calls of `fn`, one after another: what one client of a backup does. */
async function inTurn(n: number, fn: (j: number) => Promise<unknown>): Promise<void> {
  for (let j = 0; j < n; j++) await fn(j);
}

/** Every version of a bucket, through `meta`. */
export const versionsOf = (meta: MetaStore, bucket = 'b') => meta.listVersions(bucket, { fromKey: '' }, 1000);

/**
 * Many PUTs at once on a new database, as a new user's first backup makes them (every table
 * small, so any lock wider than a row would make them fail one another), through two
 * gateways: they all commit, and the counters stay exact.
 */
export function putRaceCases(ctx: MetaPairContext): void {
  it('a first backup: 32 writers at once, 256 PUTs of new keys into one bucket, each with its own blob: all commit, every blob live, usage exact', async () => {
    const out = await race(ctx.pair(), 32, (meta, w) => inTurn(8, (j) => putWithBlob(meta, 'b', `photos/${w}/${j}.jpg`, blobOf(`one${w}`, j), 100 + j)));
    expect(lost(out)).toEqual([]);
    const [a, b] = ctx.pair();
    expect(await b.listObjects('b', { from: '' }, 1000)).toHaveLength(256);
    const versions = await versionsOf(a);
    expect(versions.every((v) => v.isLatest)).toBe(true);
    for (let w = 0; w < 32; w += 5) for (let j = 0; j < 8; j++) expect((await a.getBlob(blobOf(`one${w}`, j)))!.state).toBe('live');
    expect((await b.quotas.get('b'))!.used).toBe(32 * (8 * 100 + (7 * 8) / 2));
  });

  it('32 writers at once, 256 PUTs spread over 8 buckets created at once: all commit, each bucket counts its own bytes', async () => {
    const created = await race(ctx.pair(), 8, (meta, i) => meta.createBucket(`bk${i}`, 'root', 'us-east-1'));
    expect(lost(created)).toEqual([]);
    const out = await race(ctx.pair(), 32, (meta, w) => inTurn(8, (j) => putWithBlob(meta, `bk${j}`, `k${w}`, blobOf(`many${w}`, j), 10 * j + 1)));
    expect(lost(out)).toEqual([]);
    const [a, b] = ctx.pair();
    for (let k = 0; k < 8; k++) {
      expect(await a.listObjects(`bk${k}`, { from: '' }, 100)).toHaveLength(32);
      expect((await b.quotas.get(`bk${k}`))!.used).toBe(32 * (10 * k + 1));
    }
  });

  it('32 PUTs of 4 keys at once, unversioned: one version per key, the replaced blobs garbage, usage that of the survivors', async () => {
    const out = await race(ctx.pair(), 32, (meta, i) => putWithBlob(meta, 'b', `k${i % 4}`, blobOf('same', i), 10 + i, `e${i}`));
    expect(lost(out)).toEqual([]);
    const [a, b] = ctx.pair();
    const versions = await versionsOf(b);
    expect(versions.map((v) => v.key)).toEqual(['k0', 'k1', 'k2', 'k3']);
    expect(versions.every((v) => v.isLatest && v.versionId === 'null')).toBe(true);
    const survivors = new Set(versions.map((v) => Number(v.etag.slice(1))));
    for (let i = 0; i < 32; i++) expect((await a.getBlob(blobOf('same', i)))!.state).toBe(survivors.has(i) ? 'live' : 'garbage');
    expect((await a.quotas.get('b'))!.used).toBe(versions.reduce((n, v) => n + v.size, 0));
  });

  it('32 PUTs of 4 keys at once, versioned: every version kept, one current per key, the newest by id', async () => {
    const [a, b] = ctx.pair();
    await a.setBucketVersioning('b', 'Enabled');
    const out = await race(ctx.pair(), 32, (meta, i) => putWithBlob(meta, 'b', `k${i % 4}`, blobOf('ver', i), 10 + i));
    expect(lost(out)).toEqual([]);
    const versions = await versionsOf(b);
    expect(versions).toHaveLength(32);
    for (let k = 0; k < 4; k++) {
      const mine = versions.filter((v) => v.key === `k${k}`);
      expect(mine.filter((v) => v.isLatest).map((v) => v.id)).toEqual([Math.max(...mine.map((v) => v.id))]);
    }
    for (let i = 0; i < 32; i++) expect((await a.getBlob(blobOf('ver', i)))!.state).toBe('live');
    expect((await a.quotas.get('b'))!.used).toBe(32 * 10 + (31 * 32) / 2);
  });

  it('a quota is never exceeded by PUTs at once: exactly those that fit commit', async () => {
    const [a, b] = ctx.pair();
    await a.quotas.set('b', 1000);
    const out = await race(ctx.pair(), 32, (meta, i) => putWithBlob(meta, 'b', `k${i}`, blobOf('quota', i), 100));
    expect(won(out)).toHaveLength(10);
    for (const err of lost(out)) expect(err).toBeInstanceOf(MetaQuotaError);
    expect(await b.quotas.get('b')).toEqual({ quota: 1000, used: 1000 });
    expect(await b.listObjects('b', { from: '' }, 100)).toHaveLength(10);
    // Overwrites count net of the version they replace: at the quota, of eight overwrites
    // at once only the one that keeps the size fits, whichever order they commit in.
    const winners = won(out);
    const again = await race(ctx.pair(), 8, (meta, i) => putWithBlob(meta, 'b', winners[i]!.key, blobOf('over', i), 100 + i));
    expect(won(again).map((o) => o.size)).toEqual([100]);
    expect((await a.quotas.get('b'))!.used).toBe(1000);
  });

  it('a quota is never exceeded by parts of an upload sent at once', async () => {
    const [a, b] = ctx.pair();
    await a.quotas.set('b', 500);
    await a.createUpload(upload('up1', 'k'));
    const out = await race(ctx.pair(), 12, (meta, i) => meta.putPart('up1', part(i + 1, 100)));
    expect(won(out)).toHaveLength(5);
    for (const err of lost(out)) expect(err).toBeInstanceOf(MetaQuotaError);
    expect(await b.allParts('up1')).toHaveLength(5);
  });

  it('DeleteBucket racing PUTs into the bucket: either the PUTs commit and the bucket stays, or it goes and they find it gone', async () => {
    const [a, b] = ctx.pair();
    for (let round = 0; round < 4; round++) {
      await a.createBucket('gone', 'root', 'us-east-1');
      const puts = race(ctx.pair(), 16, (meta, i) => putWithBlob(meta, 'gone', `k${i}`, blobOf(`del${round}`, i), 10));
      const deleted = await (round % 2 ? a : b).deleteBucket('gone');
      const out = await puts;
      for (const err of lost(out)) {
        expect(err).toBeInstanceOf(MetaNotFoundError);
        expect((err as MetaNotFoundError).what).toBe('bucket');
      }
      if (deleted) {
        expect(won(out)).toEqual([]);
        expect(await a.getBucket('gone')).toBeUndefined();
        continue;
      }
      // It held objects; it holds exactly the ones that committed, and counts them.
      expect(await a.getBucket('gone')).toBeDefined();
      expect((await b.listObjects('gone', { from: '' }, 100)).length).toBe(won(out).length);
      expect((await b.quotas.get('gone'))!.used).toBe(10 * won(out).length);
      for (const o of won(out)) await a.deleteObject('gone', o.key);
      expect(await b.deleteBucket('gone')).toBe(true);
    }
  });

  it('a bucket deleted and created again starts from zero bytes', async () => {
    const [a, b] = ctx.pair();
    await a.createBucket('again', 'root', 'us-east-1');
    await race(ctx.pair(), 8, (meta, i) => putWithBlob(meta, 'again', `k${i}`, blobOf('again', i), 1000));
    for (let i = 0; i < 8; i++) await b.deleteObject('again', `k${i}`);
    expect(await a.deleteBucket('again')).toBe(true);
    expect(await b.quotas.get('again')).toBeUndefined();
    await b.createBucket('again', 'root', 'us-east-1');
    expect(await a.quotas.get('again')).toEqual({ quota: null, used: 0 });
    await putWithBlob(a, 'again', 'k', blobOf('again', 99), 7);
    expect((await b.quotas.get('again'))!.used).toBe(7);
  });
}
