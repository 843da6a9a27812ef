import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteMetaStore, prefixUpperBound } from '../../gateway/meta/store.js';
import { walk } from '../../gateway/s3/list.js';

describe('metadata store', () => {
  let dir: string;
  let meta: SqliteMetaStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meta-'));
    meta = new SqliteMetaStore(join(dir, 'meta.db'));
    await meta.createBucket('b', 'root', 'us-east-1');
  });
  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const blob = (id: string): Promise<void> => meta.insertWritingBlob({ id, size: 1, segmentSize: 4096, wrappedKey: Buffer.alloc(61), placement: [], createdAt: Date.now() - 10 });
  const put = async (key: string, blobId: string | null = null): Promise<void> => {
    await meta.commitObject({ bucket: 'b', key, size: 1, etag: 'e', contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
      parts: [{ partNumber: 1, blobId, size: 1, etag: 'e', checksums: {} }] });
  };

  it('makes a blob live only with its object, and garbage when the object is overwritten', async () => {
    await blob('a'.repeat(32));
    expect((await meta.getBlob('a'.repeat(32)))!.state).toBe('writing');
    await put('k', 'a'.repeat(32));
    expect((await meta.getBlob('a'.repeat(32)))!.state).toBe('live');
    await blob('b'.repeat(32));
    await put('k', 'b'.repeat(32));
    expect((await meta.getBlob('a'.repeat(32)))!.state).toBe('garbage');
    expect((await meta.garbageBlobs(Date.now() + 1, 10)).map((b) => b.id)).toEqual(['a'.repeat(32)]);
  });

  it('sweeps writes a crashed gateway left unfinished', async () => {
    await blob('c'.repeat(32));
    expect(await meta.sweepStaleWrites(Date.now())).toBe(1);
    expect((await meta.getBlob('c'.repeat(32)))!.state).toBe('garbage');
  });

  it('refuses to delete a bucket that holds objects', async () => {
    await put('x');
    expect(await meta.deleteBucket('b')).toBe(false);
    await meta.deleteObject('b', 'x');
    expect(await meta.deleteBucket('b')).toBe(true);
  });

  it('lists keys in UTF-8 byte order and rolls common prefixes up', async () => {
    for (const k of ['a/1', 'a/2', 'a/b/3', 'b', 'é', 'z/', 'z/q']) await put(k);
    const all = (await collect(walk(meta, 'b', '', '', { after: '' }))).map((e) => (e.kind === 'object' ? e.obj.key : e.prefix));
    expect(all).toEqual(['a/1', 'a/2', 'a/b/3', 'b', 'z/', 'z/q', 'é']);
    const top = (await collect(walk(meta, 'b', '', '/', { after: '' }))).map((e) => (e.kind === 'object' ? e.obj.key : `P:${e.prefix}`));
    expect(top).toEqual(['P:a/', 'b', 'P:z/', 'é']);
    const underA = (await collect(walk(meta, 'b', 'a/', '/', { after: '' }))).map((e) => (e.kind === 'object' ? e.obj.key : `P:${e.prefix}`));
    expect(underA).toEqual(['a/1', 'a/2', 'P:a/b/']);
  });

  it('pages an owner\'s buckets in the query: after a name, under a prefix, in a region', async () => {
    for (const n of ['a1', 'a2', 'a3', 'ab', 'c']) await meta.createBucket(n, 'alice', 'us-east-1');
    await meta.createBucket('a0', 'bob', 'us-east-1');
    await meta.createBucket('a4', 'alice', 'eu-west-1');
    const names = async (q: Omit<Parameters<SqliteMetaStore['listBucketsPage']>[0], 'owner'>): Promise<string[]> => (await meta.listBucketsPage({ owner: 'alice', ...q })).map((b) => b.name);
    expect(await names({ limit: 100 })).toEqual(['a1', 'a2', 'a3', 'a4', 'ab', 'c']);
    expect(await names({ limit: 2 })).toEqual(['a1', 'a2']);
    expect(await names({ limit: 2, after: 'a2' })).toEqual(['a3', 'a4']);
    expect(await names({ limit: 100, prefix: 'a', after: 'a3' })).toEqual(['a4', 'ab']);
    expect(await names({ limit: 100, region: 'us-east-1', prefix: 'a' })).toEqual(['a1', 'a2', 'a3', 'ab']);
    expect(await names({ limit: 100, region: 'eu-west-1' })).toEqual(['a4']);
    expect(await names({ limit: 100, region: 'ap-south-1' })).toEqual([]);
    expect((await meta.listBucketsPage({ owner: 'root', limit: 100 })).map((b) => b.name)).toEqual(['b']);
  });

  it('answers bucket reads from its cache only while nothing wrote the bucket, and never keeps a row a rollback undid', async () => {
    expect((await meta.getBucket('b'))?.owner).toBe('root');
    expect(await meta.bucketVersioning('b')).toBeNull();
    expect((await meta.bucketAccess('b'))?.policy).toBeNull();
    // Writes through the store's own calls show at once.
    await meta.setBucketVersioning('b', 'Enabled');
    expect(await meta.bucketVersioning('b')).toBe('Enabled');
    await meta.setBucketAccess('b', 'policy', '{"Version":"2012-10-17","Statement":[]}');
    expect((await meta.bucketAccess('b'))?.policy).toContain('2012-10-17');
    // So do writes any other code makes on this connection (the trigger sees every statement).
    meta.db.prepare(`UPDATE buckets SET policy = NULL, owner = 'other' WHERE name = 'b'`).run();
    expect((await meta.bucketAccess('b'))?.policy).toBeNull();
    expect((await meta.getBucket('b'))?.owner).toBe('other');
    // A bucket created and read inside a transaction that then fails is gone afterwards.
    expect(() => meta.db.transaction(() => {
      meta.db.prepare(`INSERT INTO buckets(name, owner, region, created_at) VALUES ('ghost', 'root', 'us-east-1', 0)`).run();
      expect((meta as unknown as { getBucketTx(n: string): unknown }).getBucketTx('ghost')).toBeDefined();
      throw new Error('rolled back');
    })()).toThrow('rolled back');
    expect(await meta.getBucket('ghost')).toBeUndefined();
    await meta.createBucket('ghost', 'root', 'us-east-1');
    expect((await meta.getBucket('ghost'))?.name).toBe('ghost');
    expect(await meta.deleteBucket('ghost')).toBe(true);
    expect(await meta.getBucket('ghost')).toBeUndefined();
  });

  it('gives a version read whole its tags and SSE-C parameters, as their own queries read them', async () => {
    const sse = { algorithm: 'AES256' as const, salt: Buffer.alloc(16, 1), keyHmac: Buffer.alloc(32, 2) };
    await meta.commitObjectWith({ bucket: 'b', key: 'k', size: 1, etag: 'e', contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
      parts: [{ partNumber: 1, blobId: null, size: 1, etag: 'e', checksums: {} }] }, { sse });
    await meta.setObjectTags('b', 'k', [{ key: 't', value: 'v' }]);
    const v = (await meta.getLatestVersion('b', 'k'))!;
    const { part: _part, ...inline } = v.inline!;
    expect(inline).toEqual({ tags: await meta.objectTags(v.id), sseC: await meta.sseC.objectSseC(v.id) });
    expect(v.inline!.tags).toEqual([{ key: 't', value: 'v' }]);
    expect(v.inline!.sseC!.salt.equals(sse.salt)).toBe(true);
    expect((await meta.getVersion('b', 'k', v.versionId))!.inline).toEqual(inline);
    await put('plain');
    const { part: _plainPart, ...plain } = (await meta.getLatestVersion('b', 'plain'))!.inline!;
    expect(plain).toEqual({ tags: [], sseC: null });
  });

  it('computes prefix upper bounds', async () => {
    expect(prefixUpperBound('a/')).toBe('a0');
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b');
    expect(prefixUpperBound('\uD7FF')).toBe('\uE000');
  });
});

/** Every entry of an asynchronous walk. */
async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of gen) out.push(e);
  return out;
}
