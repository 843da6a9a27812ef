import fc from 'fast-check';
import { expect, it } from 'vitest';
import { compareKeys, prefixUpperBound } from '../../../gateway/meta/key-order.js';
import type { MetaStore } from '../../../gateway/meta/meta-store.js';
import { object, upload, type MetaCaseContext } from './fixtures.js';

/** Every key from `after` on, `limit` a page, as the listing walk pages through listObjects. */
async function walkKeys(meta: MetaStore, bucket: string, prefix: string, limit: number): Promise<string[][]> {
  const below = prefix === '' ? undefined : prefixUpperBound(prefix) ?? undefined;
  const pages: string[][] = [];
  let bound: { after: string } | { from: string } = { from: prefix };
  for (;;) {
    const rows = await meta.listObjects(bucket, bound, limit, below);
    pages.push(rows.map((r) => r.key));
    if (rows.length < limit) return pages;
    bound = { after: rows.at(-1)!.key };
  }
}

/** Every version under `prefix`, paged from the last version of each page, as ListObjectVersions pages. */
async function walkVersions(meta: MetaStore, bucket: string, prefix: string, limit: number): Promise<string[]> {
  const below = prefix === '' ? undefined : prefixUpperBound(prefix) ?? undefined;
  const out: string[] = [];
  let bound: Parameters<MetaStore['listVersions']>[1] = { fromKey: prefix };
  for (;;) {
    const rows = await meta.listVersions(bucket, bound, limit, below);
    out.push(...rows.map((v) => `${v.key}@${v.versionId}`));
    if (rows.length < limit) return out;
    bound = { key: rows.at(-1)!.key, beforeId: rows.at(-1)!.id };
  }
}

/** The listing queries (listObjects, listVersions, listUploads, listBucketsPage): order, bounds, pages. */
export function listingCases(ctx: MetaCaseContext): void {
  it('lists keys in UTF-8 byte order, whatever the database\'s collation', async () => {
    const meta = ctx.meta();
    const keys = ['\u{1F600}x', '\uFFFDy', '\uE000', 'e\u0301', 'é', 'a', 'B', 'a/1', 'a b', 'Z', '_', '\u{10FFFF}', '\u{10000}/x'];
    for (const k of keys) await meta.commitObject(object('b', k));
    const listed = (await meta.listObjects('b', { from: '' }, 100)).map((r) => r.key);
    expect(listed).toEqual([...keys].sort(compareKeys));
    expect(listed).toEqual([...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
  });

  it('starts after or from a key, stops below a bound, and reads no more than its limit', async () => {
    const meta = ctx.meta();
    for (const k of ['a/1', 'a/2', 'a/b/3', 'b', 'z/', 'z/q', 'é']) await meta.commitObject(object('b', k, { checksums: { crc32: 'AAAAAA==', sha256: 'x' } }));
    const keys = async (...args: Parameters<MetaStore['listObjects']>): Promise<string[]> => (await meta.listObjects(...args)).map((r) => r.key);
    expect(await keys('b', { after: 'a/2' }, 100)).toEqual(['a/b/3', 'b', 'z/', 'z/q', 'é']);
    expect(await keys('b', { from: 'a/2' }, 2)).toEqual(['a/2', 'a/b/3']);
    expect(await keys('b', { from: 'a/' }, 100, prefixUpperBound('a/')!)).toEqual(['a/1', 'a/2', 'a/b/3']);
    expect(await keys('b', { after: 'a/1' }, 100, 'a/b')).toEqual(['a/2']);
    expect(await keys('other', { from: '' }, 100)).toEqual([]);
    const [first] = await meta.listObjects('b', { from: '' }, 1);
    expect(first).toEqual({ key: 'a/1', size: 1, etag: 'e', lastModified: first!.lastModified, checksumAlgorithm: 'crc32' });
  });

  it('skips keys whose current version is a delete marker, without ending the page early', async () => {
    const meta = ctx.meta();
    await meta.setBucketVersioning('b', 'Enabled');
    for (const k of ['a', 'b', 'c', 'd']) await meta.commitObject(object('b', k));
    await meta.deleteObject('b', 'b');
    await meta.deleteObject('b', 'c');
    expect((await meta.listObjects('b', { after: 'a' }, 1)).map((r) => r.key)).toEqual(['d']);
    expect(await walkKeys(meta, 'b', '', 1)).toEqual([['a'], ['d'], []]);
    expect(await meta.quotas.objectCount('b')).toBe(2);
  });

  it('lists versions by key, newest first, delete markers included, from each kind of bound', async () => {
    const meta = ctx.meta();
    await meta.setBucketVersioning('b', 'Enabled');
    for (const k of ['a/1', 'a/1', 'a/2', 'b', 'b', 'b', 'c']) await meta.commitObject(object('b', k));
    await meta.deleteObject('b', 'b');
    const all = await meta.listVersions('b', { fromKey: '' }, 100);
    expect(all.map((v) => v.key)).toEqual(['a/1', 'a/1', 'a/2', 'b', 'b', 'b', 'b', 'c']);
    const bs = all.filter((v) => v.key === 'b');
    expect(bs.map((v) => [v.deleteMarker, v.isLatest])).toEqual([[true, true], [false, false], [false, false], [false, false]]);
    expect(bs.map((v) => v.id)).toEqual(bs.map((v) => v.id).sort((x, y) => y - x));
    expect((await meta.listVersions('b', { afterKey: 'a/2' }, 100)).map((v) => v.key)).toEqual(['b', 'b', 'b', 'b', 'c']);
    expect((await meta.listVersions('b', { key: 'b', beforeId: bs[1]!.id }, 100)).map((v) => v.id)).toEqual([bs[2]!.id, bs[3]!.id, all.at(-1)!.id]);
    expect((await meta.listVersions('b', { fromKey: 'a/' }, 100, prefixUpperBound('a/')!)).map((v) => v.key)).toEqual(['a/1', 'a/1', 'a/2']);
    for (const m of [1, 2, 3]) expect(await walkVersions(meta, 'b', '', m)).toEqual(all.map((v) => `${v.key}@${v.versionId}`));
  });

  it('lists each version as reading it by id does: every field, locks and JSON columns included', async () => {
    const meta = ctx.meta();
    await meta.setBucketVersioning('b', 'Enabled');
    for (const k of ['a', 'a', 'b']) await meta.commitObject(object('b', k));
    const locked = await meta.commitObjectWith({ ...object('b', 'c'), headers: { 'cache-control': 'no' }, userMeta: { m: '1' }, checksums: { crc32: 'AAAAAA==' }, partsCount: 2 }, {});
    await meta.setObjectLock(locked.id, { mode: 'GOVERNANCE', retainUntil: Date.now() + 60_000, legalHold: true });
    await meta.deleteObject('b', 'b');
    const listed = await meta.listVersions('b', { fromKey: '' }, 100);
    expect(listed).toHaveLength(5);
    for (const v of listed) {
      // A version read by id also carries what a GET answers from (inline); a listing has no use for it.
      const { inline: _inline, ...byId } = (await meta.getVersion('b', v.key, v.versionId))!;
      expect(v).toEqual(byId);
    }
  });

  it('pages keys and versions as a model says, for random keys, prefixes and page sizes', async () => {
    const meta = ctx.meta();
    const alphabet = ['a', 'b', '/', 'é', '\uE000', '\uFFFF', '\u{10000}', '\u{10FFFF}'];
    const str = (max: number): fc.Arbitrary<string> => fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((cs) => cs.join(''));
    let n = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(str(4).filter((s) => s.length > 0), fc.boolean()), { maxLength: 10 }), str(2), fc.integer({ min: 1, max: 4 }),
      async (ops, prefix, m) => {
        const name = `r${n++}`;
        await meta.createBucket(name, 'root', 'us-east-1');
        await meta.setBucketVersioning(name, 'Enabled');
        const versions = new Map<string, string[]>();
        for (const [k, del] of ops) {
          const id = del ? (await meta.deleteVersion(name, k, {})).versionId! : (await meta.commitObject(object(name, k))).versionId;
          versions.set(k, [id, ...(versions.get(k) ?? [])]);
        }
        const current = [...versions.keys()].filter((k) => ops.filter(([x]) => x === k).at(-1)![1] === false);
        const want = current.filter((k) => k.startsWith(prefix)).sort(compareKeys);
        const pages = await walkKeys(meta, name, prefix, m);
        expect(pages.flat()).toEqual(want);
        for (const p of pages.slice(0, -1)) expect(p).toHaveLength(m);
        const wantVersions = [...versions.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys).flatMap((k) => versions.get(k)!.map((v) => `${k}@${v}`));
        expect(await walkVersions(meta, name, prefix, m)).toEqual(wantVersions);
      },
    ), { numRuns: 40 });
  });

  it('lists unfinished uploads by key, then initiation, then id', async () => {
    const meta = ctx.meta();
    await meta.createUpload(upload('u3', 'k', 'b', 20));
    await meta.createUpload(upload('u2', 'k', 'b', 10));
    await meta.createUpload(upload('U1', 'k', 'b', 10));
    await meta.createUpload(upload('u4', 'a/x', 'b', 30));
    await meta.createUpload(upload('u5', 'é', 'b', 1));
    const ids = async (...args: Parameters<MetaStore['listUploads']>): Promise<string[]> => (await meta.listUploads(...args)).map((u) => u.id);
    expect(await ids('b', { fromKey: '' }, 100)).toEqual(['u4', 'U1', 'u2', 'u3', 'u5']);
    expect(await ids('b', { key: 'k', createdAt: 10, id: 'U1' }, 100)).toEqual(['u2', 'u3', 'u5']);
    expect(await ids('b', { key: 'k', createdAt: 10, id: 'u2' }, 1)).toEqual(['u3']);
    expect(await ids('b', { fromKey: 'a/' }, 100, prefixUpperBound('a/')!)).toEqual(['u4']);
    expect((await meta.listUploads('b', { fromKey: 'k' }, 1))[0]).toEqual(upload('U1', 'k', 'b', 10));
  });

  it('pages an owner\'s buckets in the query: after a name, under a prefix, in a region', async () => {
    const meta = ctx.meta();
    for (const n of ['a1', 'a2', 'a3', 'ab', 'c', 'B']) await meta.createBucket(n, 'alice', 'us-east-1');
    await meta.createBucket('a0', 'bob', 'us-east-1');
    await meta.createBucket('a4', 'alice', 'eu-west-1');
    const names = async (q: Omit<Parameters<MetaStore['listBucketsPage']>[0], 'owner'>): Promise<string[]> =>
      (await meta.listBucketsPage({ owner: 'alice', ...q })).map((b) => b.name);
    expect(await names({ limit: 100 })).toEqual(['B', 'a1', 'a2', 'a3', 'a4', 'ab', 'c']);
    expect(await names({ limit: 2, after: 'a1' })).toEqual(['a2', 'a3']);
    expect(await names({ limit: 100, prefix: 'a', after: 'a3' })).toEqual(['a4', 'ab']);
    expect(await names({ limit: 100, region: 'us-east-1', prefix: 'a' })).toEqual(['a1', 'a2', 'a3', 'ab']);
    expect(await names({ limit: 100, region: 'eu-west-1' })).toEqual(['a4']);
    expect(await names({ limit: 100, region: 'ap-south-1' })).toEqual([]);
    expect((await meta.listBucketsPage({ owner: 'root', limit: 100 })).map((b) => b.name)).toEqual(['b']);
    expect((await meta.listBuckets()).map((b) => b.name)).toEqual(['B', 'a0', 'a1', 'a2', 'a3', 'a4', 'ab', 'b', 'c']);
    expect(await meta.getBucket('a4')).toEqual({ name: 'a4', owner: 'alice', region: 'eu-west-1', createdAt: expect.any(Number) });
  });
}
