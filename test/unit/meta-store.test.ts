import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteMetaStore, prefixUpperBound } from '../../gateway/meta/store.js';
import { walk } from '../../gateway/s3/list.js';

describe('metadata store', () => {
  let dir: string;
  let meta: SqliteMetaStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'meta-'));
    meta = new SqliteMetaStore(join(dir, 'meta.db'));
    meta.createBucket('b', 'root', 'us-east-1');
  });
  afterEach(() => {
    meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const blob = (id: string): void => meta.insertWritingBlob({ id, size: 1, segmentSize: 4096, wrappedKey: Buffer.alloc(61), placement: [], createdAt: Date.now() - 10 });
  const put = (key: string, blobId: string | null = null): void => {
    meta.commitObject({ bucket: 'b', key, size: 1, etag: 'e', contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
      parts: [{ partNumber: 1, blobId, size: 1, etag: 'e', checksums: {} }] });
  };

  it('makes a blob live only with its object, and garbage when the object is overwritten', () => {
    blob('a'.repeat(32));
    expect(meta.getBlob('a'.repeat(32))!.state).toBe('writing');
    put('k', 'a'.repeat(32));
    expect(meta.getBlob('a'.repeat(32))!.state).toBe('live');
    blob('b'.repeat(32));
    put('k', 'b'.repeat(32));
    expect(meta.getBlob('a'.repeat(32))!.state).toBe('garbage');
    expect(meta.garbageBlobs(Date.now() + 1, 10).map((b) => b.id)).toEqual(['a'.repeat(32)]);
  });

  it('sweeps writes a crashed gateway left unfinished', () => {
    blob('c'.repeat(32));
    expect(meta.sweepStaleWrites(Date.now())).toBe(1);
    expect(meta.getBlob('c'.repeat(32))!.state).toBe('garbage');
  });

  it('refuses to delete a bucket that holds objects', () => {
    put('x');
    expect(meta.deleteBucket('b')).toBe(false);
    meta.deleteObject('b', 'x');
    expect(meta.deleteBucket('b')).toBe(true);
  });

  it('lists keys in UTF-8 byte order and rolls common prefixes up', () => {
    for (const k of ['a/1', 'a/2', 'a/b/3', 'b', 'é', 'z/', 'z/q']) put(k);
    const all = [...walk(meta, 'b', '', '', { after: '' })].map((e) => (e.kind === 'object' ? e.obj.key : e.prefix));
    expect(all).toEqual(['a/1', 'a/2', 'a/b/3', 'b', 'z/', 'z/q', 'é']);
    const top = [...walk(meta, 'b', '', '/', { after: '' })].map((e) => (e.kind === 'object' ? e.obj.key : `P:${e.prefix}`));
    expect(top).toEqual(['P:a/', 'b', 'P:z/', 'é']);
    const underA = [...walk(meta, 'b', 'a/', '/', { after: '' })].map((e) => (e.kind === 'object' ? e.obj.key : `P:${e.prefix}`));
    expect(underA).toEqual(['a/1', 'a/2', 'P:a/b/']);
  });

  it('pages an owner\'s buckets in the query: after a name, under a prefix, in a region', () => {
    for (const n of ['a1', 'a2', 'a3', 'ab', 'c']) meta.createBucket(n, 'alice', 'us-east-1');
    meta.createBucket('a0', 'bob', 'us-east-1');
    meta.createBucket('a4', 'alice', 'eu-west-1');
    const names = (q: Omit<Parameters<SqliteMetaStore['listBucketsPage']>[0], 'owner'>): string[] => meta.listBucketsPage({ owner: 'alice', ...q }).map((b) => b.name);
    expect(names({ limit: 100 })).toEqual(['a1', 'a2', 'a3', 'a4', 'ab', 'c']);
    expect(names({ limit: 2 })).toEqual(['a1', 'a2']);
    expect(names({ limit: 2, after: 'a2' })).toEqual(['a3', 'a4']);
    expect(names({ limit: 100, prefix: 'a', after: 'a3' })).toEqual(['a4', 'ab']);
    expect(names({ limit: 100, region: 'us-east-1', prefix: 'a' })).toEqual(['a1', 'a2', 'a3', 'ab']);
    expect(names({ limit: 100, region: 'eu-west-1' })).toEqual(['a4']);
    expect(names({ limit: 100, region: 'ap-south-1' })).toEqual([]);
    expect(meta.listBucketsPage({ owner: 'root', limit: 100 }).map((b) => b.name)).toEqual(['b']);
  });

  it('computes prefix upper bounds', () => {
    expect(prefixUpperBound('a/')).toBe('a0');
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b');
    expect(prefixUpperBound('\uD7FF')).toBe('\uE000');
  });
});
