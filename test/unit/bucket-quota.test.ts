import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetaQuotaError } from '../../gateway/meta/errors.js';
import { bucketQuotasFor, recountBucketUsage, type BucketQuotas } from '../../gateway/meta/quota.js';
import { SqliteMetaStore } from '../../gateway/meta/store.js';

describe('bucket quotas and bytes per bucket', () => {
  let dir: string;
  let meta: SqliteMetaStore;
  let quotas: BucketQuotas;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'quota-'));
    meta = new SqliteMetaStore(join(dir, 'meta.db'));
    meta.createBucket('b', 'root', 'us-east-1');
    meta.createBucket('other', 'root', 'us-east-1');
    quotas = bucketQuotasFor(meta.db);
  });
  afterEach(() => {
    meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = (key: string, size: number, bucket = 'b'): void => {
    meta.commitObject({ bucket, key, size, etag: 'e', contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
      parts: [{ partNumber: 1, blobId: null, size, etag: 'e', checksums: {} }] });
  };
  const used = (bucket = 'b'): number => quotas.get(bucket)!.used;

  it('counts the bytes of every version as objects come and go', () => {
    put('a', 100);
    put('b', 50);
    put('x', 7, 'other');
    expect(used()).toBe(150);
    put('a', 10); // unversioned: replaces the "null" version
    expect(used()).toBe(60);
    meta.setBucketVersioning('b', 'Enabled');
    put('a', 30); // a new version beside the old one
    expect(used()).toBe(90);
    meta.deleteObject('b', 'b'); // a delete marker keeps the versions
    expect(used()).toBe(90);
    const v = meta.getVersion('b', 'b', 'null')!;
    meta.deleteVersion('b', 'b', { versionId: v.versionId });
    expect(used()).toBe(40);
    expect(used('other')).toBe(7);
  });

  it('refuses a commit past the quota and keeps the bucket as it was', () => {
    expect(quotas.set('b', 100)).toBe(true);
    expect(quotas.set('nope', 100)).toBe(false);
    put('a', 60);
    expect(() => put('c', 41)).toThrow(MetaQuotaError);
    expect(meta.getObject('b', 'c')).toBeUndefined();
    expect(used()).toBe(60);
    put('c', 40); // exactly at the quota
    // An overwrite counts net of the version it replaces.
    put('a', 60);
    expect(used()).toBe(100);
    expect(() => quotas.assertRoom('b', 1)).toThrow(MetaQuotaError);
    // Before the body comes, a write of a key counts net of the version it would replace...
    expect(quotas.limitFor('b', undefined, 'a')).toEqual({ quota: 100, used: 40 });
    // ...which a versioned bucket keeps.
    meta.setBucketVersioning('b', 'Enabled');
    expect(quotas.limitFor('b', undefined, 'a')).toEqual({ quota: 100, used: 100 });
    quotas.set('b', null);
    put('d', 1000);
    expect(quotas.get('b')).toEqual({ quota: null, used: 1100 });
  });

  it("counts an upload's other parts against the room for its next part", () => {
    quotas.set('b', 100);
    meta.createUpload({ id: 'u1', bucket: 'b', key: 'k', owner: 'root', createdAt: Date.now(), contentType: null, headers: {}, userMeta: {}, checksumAlgorithm: null, checksumType: null, acl: null });
    const part = (n: number, size: number): void => meta.putPart('u1', { partNumber: n, blobId: null, size, etag: 'e', checksums: {}, lastModified: Date.now() });
    part(1, 60);
    expect(() => part(2, 41)).toThrow(MetaQuotaError);
    part(1, 90); // sending part 1 again replaces its bytes
    part(2, 10);
    expect(quotas.limitFor('b', { id: 'u1', partNumber: 3 })).toEqual({ quota: 100, used: 100 });
  });

  it('counts again from the objects after a recovery', () => {
    put('a', 5);
    meta.db.exec('UPDATE bucket_usage SET bytes = 999');
    recountBucketUsage(meta.db);
    expect(used()).toBe(5);
    expect(used('other')).toBe(0);
  });
});
