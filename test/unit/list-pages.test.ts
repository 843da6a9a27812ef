/**
 * Listing at scale (issue 10): every page of ListObjectsV2, ListObjects (v1) and
 * ListObjectVersions is an index range scan from its marker, bounded by the prefix, and a
 * delimiter listing jumps over whole common prefixes. The handlers run in-process on SQLite;
 * pages are checked against a model of S3's answer, entry by entry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Koa from 'koa';
import fc from 'fast-check';
import { XMLParser } from 'fast-xml-parser';
import { compareKeys, prefixUpperBound } from '../../gateway/meta/key-order.js';
import { listingStatements, PLAN_PARAMS } from '../../gateway/meta/listing.js';
import { fillSyntheticObjects } from '../../gateway/meta/synthetic.js';
import { SqliteMetaStore } from '../../gateway/meta/store.js';
import type { NewObject } from '../../gateway/meta/types.js';
import type { ReqCtx } from '../../gateway/request.js';
import { handleListObjects, handleListObjectsV2 } from '../../gateway/s3/list.js';
import { isCommonPrefix } from '../../gateway/s3/rollup.js';
import { parseEndpoint } from '../../gateway/s3/router.js';
import { handleListObjectVersions } from '../../gateway/s3/versioning.js';

const xml = new XMLParser({ isArray: (name) => ['Contents', 'CommonPrefixes', 'Version', 'DeleteMarker'].includes(name), parseTagValue: false });

type Doc = Record<string, unknown>;

let dir: string;
let meta: SqliteMetaStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'list-pages-'));
  meta = new SqliteMetaStore(join(dir, 'meta.db'));
  // No flush per commit: these tests commit thousands of rows and never crash.
  meta.enableGroupCommit();
});
afterEach(async () => {
  await meta.close();
  rmSync(dir, { recursive: true, force: true });
});

const obj = (bucket: string, key: string): NewObject => ({
  bucket, key, size: 1, etag: 'e', contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
  parts: [{ partNumber: 1, blobId: null, size: 1, etag: 'e', checksums: {} }],
});

async function bucket(name: string, keys: string[], versioned = false): Promise<void> {
  await meta.createBucket(name, 'root', 'us-east-1');
  if (versioned) await meta.setBucketVersioning(name, 'Enabled');
  for (const k of keys) await meta.commitObject(obj(name, k));
}

/** One S3 request through the router and the listing handler, its XML parsed. */
async function list(name: string, query: Record<string, string>): Promise<Doc> {
  const q = new URLSearchParams(query);
  const { endpoint } = parseEndpoint({ method: 'GET', rawPath: `/${name}?${q.toString()}`, query: q, headers: {} });
  const koa = {} as Koa.Context;
  const rc = { bucket: await meta.getBucket(name), pipeline: { meta }, endpoint } as unknown as ReqCtx;
  switch (endpoint.kind) {
    case 'ListObjectsV2': await handleListObjectsV2(koa, rc, endpoint); break;
    case 'ListObjects': await handleListObjects(koa, rc, endpoint); break;
    case 'ListObjectVersions': await handleListObjectVersions(koa, rc, endpoint); break;
    default: throw new Error(`not a listing: ${endpoint.kind}`);
  }
  const doc = xml.parse(String(koa.body)) as Doc;
  return (doc.ListBucketResult ?? doc.ListVersionsResult) as Doc;
}

const keysOf = (d: Doc): string[] => ((d.Contents as Doc[] | undefined) ?? []).map((c) => String(c.Key));
const prefixesOf = (d: Doc): string[] => ((d.CommonPrefixes as Doc[] | undefined) ?? []).map((c) => String(c.Prefix));
const versionsOf = (d: Doc): string[] => [...((d.Version as Doc[] | undefined) ?? []), ...((d.DeleteMarker as Doc[] | undefined) ?? [])]
  .map((v) => `${String(v.Key)}@${String(v.VersionId)}`);
/** A page's entries in listing order (keys and common prefixes never compare equal). */
const entriesOf = (d: Doc): string[] => [...keysOf(d), ...prefixesOf(d).map((p) => `P:${p}`)]
  .sort((a, b) => compareKeys(a.startsWith('P:') ? a.slice(2) : a, b.startsWith('P:') ? b.slice(2) : b));

/** S3's answer for the whole listing: keys under the prefix, rolled up at the first delimiter after it. */
function model(keys: Iterable<string>, prefix: string, delimiter: string): string[] {
  const out: string[] = [];
  for (const k of [...new Set(keys)].filter((k) => k.startsWith(prefix)).sort(compareKeys)) {
    const at = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
    const e = at >= 0 ? `P:${k.slice(0, at + delimiter.length)}` : k;
    if (out[out.length - 1] !== e) out.push(e);
  }
  return out;
}

/** Every page of a ListObjectsV2 listing, as a client pages it. */
async function pagesV2(name: string, q: Record<string, string>): Promise<string[][]> {
  const pages: string[][] = [];
  let token: string | undefined;
  for (;;) {
    const d = await list(name, { 'list-type': '2', ...q, ...(token !== undefined && { 'continuation-token': token }) });
    pages.push(entriesOf(d));
    if (d.IsTruncated !== 'true') return pages;
    token = String(d.NextContinuationToken);
    if (pages.length > 10_000) throw new Error('no end');
  }
}

/** Every page of a ListObjects (v1) listing: from NextMarker, else from the last key, as SDK paginators do. */
async function pagesV1(name: string, q: Record<string, string>): Promise<string[][]> {
  const pages: string[][] = [];
  let marker = '';
  for (;;) {
    const d = await list(name, { ...q, ...(marker && { marker }) });
    pages.push(entriesOf(d));
    if (d.IsTruncated !== 'true') return pages;
    marker = d.NextMarker !== undefined ? String(d.NextMarker) : keysOf(d).at(-1)!;
    if (pages.length > 10_000) throw new Error('no end');
  }
}

/** Page boundaries exactly where MaxKeys puts them: every page but the last full. */
function expectPaged(pages: string[][], all: string[], maxKeys: number): void {
  expect(pages.flat()).toEqual(all);
  for (const p of pages.slice(0, -1)) expect(p.length).toBe(maxKeys);
  expect(pages.at(-1)!.length).toBeLessThanOrEqual(maxKeys);
}

/** Every page of a ListObjectVersions listing, from NextKeyMarker and NextVersionIdMarker. */
async function pagesVersions(name: string, q: Record<string, string>): Promise<string[][]> {
  const pages: string[][] = [];
  let marker: Record<string, string> = {};
  for (;;) {
    const d = await list(name, { versions: '', ...q, ...marker });
    pages.push([...versionsOf(d), ...prefixesOf(d).map((p) => `P:${p}`)]);
    if (d.IsTruncated !== 'true') return pages;
    marker = { 'key-marker': String(d.NextKeyMarker), ...(d.NextVersionIdMarker !== undefined && { 'version-id-marker': String(d.NextVersionIdMarker) }) };
    if (pages.length > 10_000) throw new Error('no end');
  }
}

/** The model: every version under the prefix, by key then newest first, rolled up at the delimiter. */
async function versionModel(name: string, prefix: string, delimiter: string): Promise<string[]> {
  const out: string[] = [];
  for (const v of await meta.listVersions(name, { fromKey: '' }, 100_000)) {
    if (!v.key.startsWith(prefix)) continue;
    const at = delimiter ? v.key.indexOf(delimiter, prefix.length) : -1;
    const e = at >= 0 ? `P:${v.key.slice(0, at + delimiter.length)}` : `${v.key}@${v.versionId}`;
    if (out[out.length - 1] !== e) out.push(e);
  }
  return out;
}

/** Pages hold keys and prefixes in separate lists: compare each page as a set, in order of pages. */
function expectVersionPages(pages: string[][], all: string[], maxKeys: number): void {
  let at = 0;
  for (const [i, p] of pages.entries()) {
    const want = all.slice(at, at + maxKeys);
    expect(new Set(p), `page ${i}`).toEqual(new Set(want));
    at += p.length;
    if (i < pages.length - 1) expect(p.length).toBe(maxKeys);
  }
  expect(at).toBe(all.length);
}

describe('key order', () => {
  it('compares as SQLite does: UTF-8 bytes, so code points, not UTF-16 units', async () => {
    expect(compareKeys('\u{10000}', '\uFFFF')).toBeGreaterThan(0); // '\u{10000}' < '\uFFFF' in JavaScript
    expect(compareKeys('\uE000', '\uD7FF')).toBeGreaterThan(0);
    expect(compareKeys('a', 'ab')).toBeLessThan(0);
    expect(compareKeys('é', 'é')).toBe(0);
    const sample = ['a', '\uFFFF', '\u{10000}', '\u{10FFFF}', 'é', '\uE000', 'z', '', '/'];
    const byBytes = [...sample].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect([...sample].sort(compareKeys)).toEqual(byBytes);
  });

  it('bounds a prefix by the next string up, past U+FFFF and U+10FFFF', async () => {
    expect(prefixUpperBound('a/')).toBe('a0');
    expect(prefixUpperBound('a\uFFFF')).toBe('a\u{10000}');
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b');
    expect(prefixUpperBound('a\uD7FF')).toBe('a\uE000'); // surrogates are not characters
    expect(prefixUpperBound('\u{10FFFF}\u{10FFFF}')).toBeNull(); // nothing sorts above: no bound
  });

  it('tells a common prefix from a key that only ends with the delimiter', async () => {
    expect(isCommonPrefix('a/', '', '/')).toBe(true);
    expect(isCommonPrefix('a/', 'a/', '/')).toBe(false);
    expect(isCommonPrefix('a/b/', 'a/', '/')).toBe(true);
    expect(isCommonPrefix('a/b/c/', 'a/', '/')).toBe(false);
    expect(isCommonPrefix('x--', '', '--')).toBe(true);
    expect(isCommonPrefix('a/', '', '')).toBe(false);
  });
});

describe('listing queries', () => {
  it('each one is an index search, never a scan of the table or a sort of the page', async () => {
    for (const [name, sql] of Object.entries(listingStatements())) {
      const params = Object.fromEntries(Object.entries(PLAN_PARAMS).filter(([k]) => sql.includes(`@${k}`)));
      const plan = (meta.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((r) => r.detail);
      expect(plan[0], name).toMatch(/^SEARCH (objects|uploads) USING (COVERING )?INDEX \w+ \(bucket=\? AND key>\?( AND key<\?)?\)$/);
      expect(plan.join(' | '), name).not.toMatch(/\bSCAN\b/);
      // Uploads break ties of one key and initiation time by id in a small sort; objects never sort.
      if (name.startsWith('objects') || name.startsWith('versions')) expect(plan, name).toHaveLength(1);
      // Keys whose current version is a delete marker are not in the index ListObjects reads.
      if (name.startsWith('objects')) expect(plan[0], name).toContain('INDEX objects_listed ');
    }
  });

  it('a delimiter listing seeks once per common prefix instead of reading the keys under it', async () => {
    await meta.createBucket('big', 'root', 'us-east-1');
    // 20 folders of 500 keys, and 3 keys at the top.
    fillSyntheticObjects(meta.db, { bucket: 'big', keyFormat: 'd%02d/k%03d', perFolder: 500, versioned: false, size: 1 }, 0, 10_000);
    for (const k of ['d05', 'top-1', 'top-2']) await meta.commitObject(obj('big', k));
    const calls: number[] = [];
    const real = meta.listObjects.bind(meta);
    meta.listObjects = async (...args) => {
      const rows = await real(...args);
      calls.push(rows.length);
      return rows;
    };
    const d = await list('big', { 'list-type': '2', delimiter: '/' });
    expect(prefixesOf(d)).toHaveLength(20);
    expect(keysOf(d)).toEqual(['d05', 'top-1', 'top-2']);
    // One query per folder (and a few for the keys around them), each reading a row or two.
    expect(calls.length).toBeLessThanOrEqual(30);
    expect(calls.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(60);
  });

  it('a page reads no more rows than MaxKeys + 1', async () => {
    await meta.createBucket('big', 'root', 'us-east-1');
    fillSyntheticObjects(meta.db, { bucket: 'big', keyFormat: 'd%02d/k%03d', perFolder: 500, versioned: false, size: 1 }, 0, 5_000);
    const limits: number[] = [];
    const real = meta.listObjects.bind(meta);
    meta.listObjects = (bucket, bound, limit, below) => {
      limits.push(limit);
      return real(bucket, bound, limit, below);
    };
    expect(keysOf(await list('big', { 'list-type': '2', 'max-keys': '7', prefix: 'd03/' }))).toHaveLength(7);
    expect(limits).toEqual([8]);
  });
});

describe('ListObjectsV2 and ListObjects pages', () => {
  const keys = ['a', 'a/1', 'a/2', 'a/b/3', 'a/b/4', 'b', 'c|1', 'c|2', 'c||3', 'd/', 'd/x', 'é', 'é/1', '\uFFFF', '\u{10000}/x', '\u{10FFFF}'];

  it('pages keys and common prefixes together under MaxKeys, for any page size', async () => {
    await bucket('b', keys);
    for (const [prefix, delimiter] of [['', ''], ['', '/'], ['a/', '/'], ['', '|'], ['c', '||'], ['', '\u{10000}'], ['d/', '/']] as const) {
      const all = model(keys, prefix, delimiter);
      for (const m of [1, 2, 3, 1000]) {
        const q = { prefix, ...(delimiter && { delimiter }), 'max-keys': String(m) };
        expectPaged(await pagesV2('b', q), all, m);
        expectPaged(await pagesV1('b', q), all, m);
      }
    }
  });

  it('MaxKeys=1 with common prefixes: one entry a page, each prefix once', async () => {
    await bucket('b', ['p/1', 'p/2', 'q', 'r/1', 'r/2/3']);
    const pages = await pagesV2('b', { delimiter: '/', 'max-keys': '1' });
    expect(pages).toEqual([['P:p/'], ['q'], ['P:r/']]);
    const v1 = await list('b', { delimiter: '/', 'max-keys': '1' });
    expect([v1.NextMarker, v1.IsTruncated]).toEqual(['p/', 'true']);
    // From a common prefix as marker, v1 goes on past everything under it.
    expect(entriesOf(await list('b', { delimiter: '/', 'max-keys': '1', marker: 'p/' }))).toEqual(['q']);
    // Without a delimiter v1 has no NextMarker: clients go on from the last key, as AWS documents.
    const flat = await list('b', { 'max-keys': '1' });
    expect([keysOf(flat), flat.NextMarker, flat.IsTruncated]).toEqual([['p/1'], undefined, 'true']);
  });

  it('a key that ends with the delimiter is a key under its own prefix, and paging on from it skips nothing', async () => {
    await bucket('b', ['photos/', 'photos/a', 'photos/b/c']);
    expectPaged(await pagesV1('b', { prefix: 'photos/', delimiter: '/', 'max-keys': '1' }), ['photos/', 'photos/a', 'P:photos/b/'], 1);
    expect(entriesOf(await list('b', { prefix: 'photos/', delimiter: '/', marker: 'photos/' }))).toEqual(['photos/a', 'P:photos/b/']);
  });

  it('StartAfter inside a common prefix lists that prefix (its later keys roll into it); a token past it does not', async () => {
    await bucket('b', ['a/1', 'a/2', 'a/3', 'b/1', 'c']);
    expect(entriesOf(await list('b', { 'list-type': '2', delimiter: '/', 'start-after': 'a/1' }))).toEqual(['P:a/', 'P:b/', 'c']);
    expect(entriesOf(await list('b', { 'list-type': '2', delimiter: '/', 'start-after': 'a/3' }))).toEqual(['P:b/', 'c']);
    const first = await list('b', { 'list-type': '2', delimiter: '/', 'max-keys': '1', 'start-after': 'a/1' });
    expect(entriesOf(first)).toEqual(['P:a/']);
    const next = await list('b', { 'list-type': '2', delimiter: '/', 'continuation-token': String(first.NextContinuationToken), 'start-after': 'a/1' });
    expect(entriesOf(next)).toEqual(['P:b/', 'c']);
    expect(next.StartAfter).toBe('a/1');
  });

  it('continuation tokens across common prefixes: each prefix once, never a key under one', async () => {
    const ks = Array.from({ length: 30 }, (_, i) => `f${i % 3}/k${String(i).padStart(2, '0')}`).concat(['f1', 'g', 'f1/']);
    await bucket('b', ks);
    for (const m of [1, 2, 4]) expectPaged(await pagesV2('b', { delimiter: '/', 'max-keys': String(m) }), model(ks, '', '/'), m);
    expectPaged(await pagesV2('b', { prefix: 'f1', delimiter: '/', 'max-keys': '1' }), ['f1', 'P:f1/'], 1);
  });

  it('a prefix that sorts above every key, or is the last possible string, lists nothing and ends', async () => {
    await bucket('b', ['\u{10FFFF}', '\u{10FFFF}\u{10FFFF}', '\u{10FFFF}\u{10FFFF}a', 'z']);
    expect(keysOf(await list('b', { 'list-type': '2', prefix: '\u{10FFFF}\u{10FFFF}' }))).toEqual(['\u{10FFFF}\u{10FFFF}', '\u{10FFFF}\u{10FFFF}a']);
    expect(keysOf(await list('b', { 'list-type': '2', prefix: '\u{10FFFF}\u{10FFFF}\u{10FFFF}' }))).toEqual([]);
    expectPaged(await pagesV2('b', { prefix: '\u{10FFFF}', 'max-keys': '1' }), ['\u{10FFFF}', '\u{10FFFF}\u{10FFFF}', '\u{10FFFF}\u{10FFFF}a'], 1);
    // The last common prefix is the last possible string: nothing can follow it.
    expectPaged(await pagesV2('b', { delimiter: '\u{10FFFF}', 'max-keys': '1' }), ['z', 'P:\u{10FFFF}'], 1);
  });

  it('keys above U+FFFF sort after U+E000-U+FFFF, as their UTF-8 bytes do', async () => {
    const ks = ['\u{1F600}x', '\uFFFDy', '\uE000', 'e\u0301', 'é', 'a'];
    await bucket('b', ks);
    expect((await pagesV2('b', { 'max-keys': '2' })).flat()).toEqual(['a', 'e\u0301', 'é', '\uE000', '\uFFFDy', '\u{1F600}x']);
    expect((await pagesV2('b', { prefix: '\uFFFD', 'max-keys': '1' })).flat()).toEqual(['\uFFFDy']);
  });

  it('EncodingType=url encodes keys, prefixes, the delimiter and the markers, not the token', async () => {
    await bucket('b', ['a b/1', 'a b/2', 'c+d', 'é&<']);
    const d = await list('b', { 'list-type': '2', delimiter: '/', 'encoding-type': 'url', 'max-keys': '2' });
    expect([keysOf(d), prefixesOf(d), d.Delimiter, d.EncodingType]).toEqual([['c%2Bd'], ['a+b/'], '/', 'url']);
    const next = await list('b', { 'list-type': '2', delimiter: '/', 'encoding-type': 'url', 'continuation-token': String(d.NextContinuationToken) });
    expect(keysOf(next)).toEqual(['%C3%A9%26%3C']);
    const v1 = await list('b', { delimiter: '/', 'encoding-type': 'url', 'max-keys': '1', marker: 'a b/' });
    expect([keysOf(v1), v1.Marker, v1.NextMarker]).toEqual([['c%2Bd'], 'a+b/', 'c%2Bd']);
  });

  it('skips keys whose current version is a delete marker, without ending the page early', async () => {
    await bucket('b', ['a', 'b', 'c', 'd'], true);
    await meta.deleteObject('b', 'b');
    await meta.deleteObject('b', 'c');
    expectPaged(await pagesV2('b', { 'max-keys': '1' }), ['a', 'd'], 1);
  });
});

describe('ListObjectVersions pages', () => {
  it('pages versions newest first within a key, delete markers included, across common prefixes', async () => {
    await bucket('v', ['a/1', 'a/1', 'a/2', 'b', 'b', 'b', 'c|x', 'c|y', 'd'], true);
    await meta.deleteObject('v', 'b');
    await meta.deleteObject('v', 'a/2');
    const byKey = (await meta.listVersions('v', { fromKey: 'b' }, 100)).filter((v) => v.key === 'b');
    expect(byKey.map((v) => [v.deleteMarker, v.isLatest])).toEqual([[true, true], [false, false], [false, false], [false, false]]);
    expect(byKey.map((v) => v.id)).toEqual(byKey.map((v) => v.id).sort((x, y) => y - x));
    for (const [prefix, delimiter] of [['', ''], ['', '/'], ['', '|'], ['a/', '/'], ['b', '/']] as const) {
      for (const m of [1, 2, 3, 1000]) {
        expectVersionPages(await pagesVersions('v', { prefix, ...(delimiter && { delimiter }), 'max-keys': String(m) }), await versionModel('v', prefix, delimiter), m);
      }
    }
  });

  it('lists each version as reading it by id does: every field, locks and JSON columns included', async () => {
    await bucket('v', ['a', 'a', 'b'], true);
    await meta.setBucketObjectLock('v', {});
    const locked = await meta.commitObjectWith({ ...obj('v', 'c'), headers: { 'cache-control': 'no' }, userMeta: { m: '1' }, checksums: { crc32: 'AAAAAA==' }, partsCount: 2 }, {});
    await meta.setObjectLock(locked.id, { mode: 'GOVERNANCE', retainUntil: Date.now() + 60_000, legalHold: true });
    await meta.deleteObject('v', 'b');
    const listed = await meta.listVersions('v', { fromKey: '' }, 100);
    expect(listed).toHaveLength(5);
    for (const v of listed) {
      // A version read by id also carries what a GET answers from (inline); a listing has no use for it.
      const { inline: _inline, ...byId } = (await meta.getVersion('v', v.key, v.versionId))!;
      expect(v).toEqual(byId);
    }
  });

  it('a page ending on a common prefix names it as NextKeyMarker, with no version id', async () => {
    await bucket('v', ['p/1', 'p/2', 'q'], true);
    const d = await list('v', { versions: '', delimiter: '/', 'max-keys': '1' });
    expect([prefixesOf(d), d.NextKeyMarker, d.NextVersionIdMarker, d.IsTruncated]).toEqual([['p/'], 'p/', undefined, 'true']);
    const next = await list('v', { versions: '', delimiter: '/', 'key-marker': 'p/' });
    expect(versionsOf(next).map((v) => v.split('@')[0])).toEqual(['q']);
    expect(prefixesOf(next)).toEqual([]);
  });

  it('EncodingType=url encodes keys, prefixes and key markers of versions', async () => {
    await bucket('v', ['a b/1', 'c+d', 'c+d'], true);
    const d = await list('v', { versions: '', delimiter: '/', 'encoding-type': 'url', 'max-keys': '2' });
    expect([prefixesOf(d), versionsOf(d).map((v) => v.split('@')[0]), d.NextKeyMarker]).toEqual([['a+b/'], ['c%2Bd'], 'c%2Bd']);
    const next = await list('v', {
      versions: '', delimiter: '/', 'encoding-type': 'url', 'key-marker': 'c+d', 'version-id-marker': String(d.NextVersionIdMarker),
    });
    expect([versionsOf(next).map((v) => v.split('@')[0]), next.KeyMarker, next.IsTruncated]).toEqual([['c%2Bd'], 'c%2Bd', 'false']);
  });
});

describe('listing against a model, for random keys', () => {
  const alphabet = ['a', 'b', '/', '|', 'é', '\uE000', '\uFFFF', '\u{10000}', '\u{10FFFF}'];
  const str = (max: number): fc.Arbitrary<string> => fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((cs) => cs.join(''));

  it('v1, v2 and versions pages equal the model for any keys, prefix, delimiter and MaxKeys', async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(str(4).filter((s) => s.length > 0), fc.boolean()), { maxLength: 14 }),
      str(2), fc.constantFrom('', '/', '|/', 'b', '\u{10000}', '//'), fc.integer({ min: 1, max: 4 }),
      async (ops, prefix, delimiter, m) => {
        const name = `r${n++}`;
        await bucket(name, [], true);
        for (const [k, del] of ops) {
          if (del) await meta.deleteObject(name, k);
          else await meta.commitObject(obj(name, k));
        }
        const current = new Set<string>();
        for (const [k] of ops) if (await meta.getObject(name, k)) current.add(k);
        const q = { ...(prefix && { prefix }), ...(delimiter && { delimiter }), 'max-keys': String(m) };
        const all = model(current, prefix, delimiter);
        expectPaged(await pagesV2(name, q), all, m);
        expectPaged(await pagesV1(name, q), all, m);
        expectVersionPages(await pagesVersions(name, q), await versionModel(name, prefix, delimiter), m);
      },
    ), { numRuns: 150 });
  });
});
