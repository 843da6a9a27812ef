import { expect, it } from 'vitest';
import { MetaQuotaError } from '../../../gateway/meta/errors.js';
import { object, part, rejection, upload, type MetaCaseContext } from './fixtures.js';

/** Bytes per bucket, kept with every objects row, and the hard quota checked in the commit. */
export function quotaCases(ctx: MetaCaseContext): void {
  const used = async (bucket = 'b'): Promise<number> => (await ctx.meta().quotas.get(bucket))!.used;

  it('counts the bytes of every version as objects come and go', async () => {
    const meta = ctx.meta();
    await meta.createBucket('other', 'root', 'us-east-1');
    const put = (key: string, size: number, bucket = 'b'): Promise<unknown> => meta.commitObject(object(bucket, key, { size }));
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
    await meta.deleteVersion('b', 'b', { versionId: 'null' });
    expect(await used()).toBe(40);
    await meta.deleteObjectsBatch('b', [{ key: 'a', versionId: 'null' }]);
    expect(await used()).toBe(30);
    expect(await used('other')).toBe(7);
    expect(await meta.quotas.get('nope')).toBeUndefined();
  });

  it('refuses a commit past the quota and keeps the bucket as it was', async () => {
    const meta = ctx.meta();
    const put = (key: string, size: number): Promise<unknown> => meta.commitObject(object('b', key, { size }));
    expect(await meta.quotas.set('b', 100)).toBe(true);
    expect(await meta.quotas.set('nope', 100)).toBe(false);
    await put('a', 60);
    expect(await rejection(put('c', 41))).toBeInstanceOf(MetaQuotaError);
    expect(await meta.getObject('b', 'c')).toBeUndefined();
    expect(await used()).toBe(60);
    await put('c', 40); // exactly at the quota
    await put('a', 60); // an overwrite counts net of the version it replaces
    expect(await used()).toBe(100);
    await expect(meta.quotas.assertRoom('b', 1)).rejects.toBeInstanceOf(MetaQuotaError);
    expect(await meta.quotas.limitFor('b', undefined, 'a')).toEqual({ quota: 100, used: 40 });
    await meta.setBucketVersioning('b', 'Enabled');
    expect(await meta.quotas.limitFor('b', undefined, 'a')).toEqual({ quota: 100, used: 100 });
    await meta.quotas.set('b', null);
    await put('d', 1000);
    expect(await meta.quotas.get('b')).toEqual({ quota: null, used: 1100 });
  });

  it("counts an upload's other parts against the room for its next part", async () => {
    const meta = ctx.meta();
    await meta.quotas.set('b', 100);
    await meta.createUpload(upload('u1', 'k'));
    await meta.putPart('u1', part(1, 60));
    expect(await rejection(meta.putPart('u1', part(2, 41)))).toBeInstanceOf(MetaQuotaError);
    await meta.putPart('u1', part(1, 90)); // sending part 1 again replaces its bytes
    await meta.putPart('u1', part(2, 10));
    expect(await meta.quotas.limitFor('b', { id: 'u1', partNumber: 3 })).toEqual({ quota: 100, used: 100 });
  });
}
