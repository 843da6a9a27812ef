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
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'quota-'));
    meta = new SqliteMetaStore(join(dir, 'meta.db'));
    await meta.createBucket('b', 'root', 'us-east-1');
    await meta.createBucket('other', 'root', 'us-east-1');
    quotas = bucketQuotasFor(meta.db);
  });
  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = async (key: string, size: number, bucket = 'b'): Promise<void> => {
    await meta.commitObject({ bucket, key, size, etag: 'e', contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
      parts: [{ partNumber: 1, blobId: null, size, etag: 'e', checksums: {} }] });
  };
  const used = async (bucket = 'b'): Promise<number> => (await quotas.get(bucket))!.used;

  it('counts the bytes of every version as objects come and go', async () => {
    await put('a', 100);
    await put('b', 50);
    await put('x', 7, 'other');
    expect(await used()).toBe(150);
    await put('a', 10); // unversioned: replaces the "null" version
    expect(await used()).toBe(60);
    await meta.setBucketVersioning('b', 'Enabled');
    await put('a', 30); // a new version beside the old one
    expect(await used()).toBe(90);
    await meta.deleteObject('b', 'b'); // a delete marker keeps the versions
    expect(await used()).toBe(90);
    const v = (await meta.getVersion('b', 'b', 'null'))!;
    await meta.deleteVersion('b', 'b', { versionId: v.versionId });
    expect(await used()).toBe(40);
    expect(await used('other')).toBe(7);
  });

  it('refuses a commit past the quota and keeps the bucket as it was', async () => {
    expect(await quotas.set('b', 100)).toBe(true);
    expect(await quotas.set('nope', 100)).toBe(false);
    await put('a', 60);
    await expect(put('c', 41)).rejects.toThrow(MetaQuotaError);
    expect(await meta.getObject('b', 'c')).toBeUndefined();
    expect(await used()).toBe(60);
    await put('c', 40); // exactly at the quota
    // An overwrite counts net of the version it replaces.
    await put('a', 60);
    expect(await used()).toBe(100);
    await expect(async () => await quotas.assertRoom('b', 1)).rejects.toThrow(MetaQuotaError);
    // Before the body comes, a write of a key counts net of the version it would replace...
    expect(await quotas.limitFor('b', undefined, 'a')).toEqual({ quota: 100, used: 40 });
    // ...which a versioned bucket keeps.
    await meta.setBucketVersioning('b', 'Enabled');
    expect(await quotas.limitFor('b', undefined, 'a')).toEqual({ quota: 100, used: 100 });
    await quotas.set('b', null);
    await put('d', 1000);
    expect(await quotas.get('b')).toEqual({ quota: null, used: 1100 });
  });

  it("counts an upload's other parts against the room for its next part", async () => {
    await quotas.set('b', 100);
    await meta.createUpload({ id: 'u1', bucket: 'b', key: 'k', owner: 'root', createdAt: Date.now(), contentType: null, headers: {}, userMeta: {}, checksumAlgorithm: null, checksumType: null, acl: null });
    const part = (n: number, size: number): Promise<void> => meta.putPart('u1', { partNumber: n, blobId: null, size, etag: 'e', checksums: {}, lastModified: Date.now() });
    await part(1, 60);
    await expect(part(2, 41)).rejects.toThrow(MetaQuotaError);
    await part(1, 90); // sending part 1 again replaces its bytes
    await part(2, 10);
    expect(await quotas.limitFor('b', { id: 'u1', partNumber: 3 })).toEqual({ quota: 100, used: 100 });
  });

  it('counts again from the objects after a recovery', async () => {
    await put('a', 5);
    meta.db.exec('UPDATE bucket_usage SET bytes = 999');
    recountBucketUsage(meta.db);
    expect(await used()).toBe(5);
    expect(await used('other')).toBe(0);
  });
});
