import { expect, it } from 'vitest';
import { MetaNotFoundError, MetaObjectLockedError, MetaPreconditionError } from '../../../gateway/meta/errors.js';
import { blobId, object, rejection, writingBlob, type MetaCaseContext } from './fixtures.js';

/** Blobs, versions, delete markers, Object Lock, conditional writes: store.ts's commit and delete paths. */
export function objectCases(ctx: MetaCaseContext): void {
  it('makes a blob live only with its object, and garbage when the object is overwritten', async () => {
    const meta = ctx.meta();
    const [a, b] = [blobId('a'), blobId('b')];
    await writingBlob(meta, a);
    expect((await meta.getBlob(a))!.state).toBe('writing');
    await meta.commitObject(object('b', 'k', { blob: a, size: 5 }));
    expect(await meta.getBlob(a)).toMatchObject({ state: 'live', size: 5, segmentSize: 4096, wrappedKey: Buffer.alloc(61, 3) });
    expect((await meta.getBlob(a))!.placement).toHaveLength(16);
    await writingBlob(meta, b);
    await meta.commitObject(object('b', 'k', { blob: b }));
    expect((await meta.getBlob(a))!.state).toBe('garbage');
    expect((await meta.garbageBlobs(Date.now() + 1, 10)).map((x) => x.id)).toEqual([a]);
    await meta.forgetBlob(a);
    expect(await meta.getBlob(a)).toBeUndefined();
  });

  it('sweeps writes a crashed gateway left unfinished, and discards a failed one', async () => {
    const meta = ctx.meta();
    await writingBlob(meta, blobId('c'));
    await writingBlob(meta, blobId('d'));
    expect(await meta.sweepStaleWrites(Date.now() - 1000)).toBe(0);
    expect(await meta.sweepStaleWrites(Date.now())).toBe(2);
    expect((await meta.getBlob(blobId('c')))!.state).toBe('garbage');
    await writingBlob(meta, blobId('e'));
    await meta.discardBlob(blobId('e'), 5);
    expect((await meta.garbageBlobs(6, 10)).map((x) => x.id)).toEqual([blobId('e')]);
  });

  it('keeps an object\'s fields, parts and missed pieces as committed', async () => {
    const meta = ctx.meta();
    await writingBlob(meta, blobId('p'));
    const row = await meta.commitObject({
      ...object('b', 'k &+-é"', { size: 3 }), contentType: 'text/plain', headers: { 'content-encoding': 'gzip' }, userMeta: { a: 'b' },
      checksums: { crc32: 'AAAAAA==' }, partsCount: 2,
      parts: [{ partNumber: 1, blobId: blobId('p'), size: 2, etag: 'x', checksums: { crc32: 'AQ==' } }, { partNumber: 2, blobId: null, size: 1, etag: 'y', checksums: {} }],
    }, [{ blobId: blobId('p'), piece: 3, reason: 'timeout' }, { blobId: blobId('p'), piece: 3, reason: 'again' }], 1_700_000_000_000);
    expect(row).toEqual({
      id: row.id, bucket: 'b', key: 'k &+-é"', versionId: 'null', size: 3, etag: 'e', lastModified: 1_700_000_000_000, contentType: 'text/plain',
      headers: { 'content-encoding': 'gzip' }, userMeta: { a: 'b' }, checksums: { crc32: 'AAAAAA==' }, partsCount: 2,
    });
    expect(await meta.getObject('b', 'k &+-é"')).toEqual(row);
    expect(await meta.objectParts(row.id)).toEqual([
      { partNumber: 1, blobId: blobId('p'), size: 2, etag: 'x', checksums: { crc32: 'AQ==' }, lastModified: 0 },
      { partNumber: 2, blobId: null, size: 1, etag: 'y', checksums: {}, lastModified: 0 },
    ]);
    expect(await meta.repairBacklog()).toBe(1);
    await meta.queueRepair([{ blobId: blobId('p'), piece: 4, reason: 'read' }]);
    expect(await meta.repairBacklog()).toBe(2);
  });

  it('reads the latest version of one part with that part and its blob, as objectParts and getBlob read them', async () => {
    const meta = ctx.meta();
    await writingBlob(meta, blobId('r'), 5);
    const row = await meta.commitObject({ ...object('b', 'one', { blob: blobId('r'), size: 5 }), checksums: { crc32: 'AQ==' } });
    const v = (await meta.getLatestVersion('b', 'one'))!;
    const [ref] = await meta.objectParts(row.id);
    expect(v.inline).toEqual({
      tags: await meta.objectTags(row.id), sseC: await meta.sseC.objectSseC(row.id),
      part: { ref: { partNumber: 1, blobId: blobId('r'), size: 5, etag: ref!.etag, checksums: ref!.checksums }, blob: await meta.getBlob(blobId('r')) },
    });
    // Without a blob (an empty object) there is none to give; several parts are read part by part.
    await meta.commitObject(object('b', 'empty', { size: 0 }));
    expect((await meta.getLatestVersion('b', 'empty'))!.inline!.part).toEqual({ ref: expect.objectContaining({ blobId: null }) as unknown, blob: undefined });
    await meta.commitObject({
      ...object('b', 'multi', { size: 2 }), partsCount: 2,
      parts: [{ partNumber: 1, blobId: null, size: 1, etag: 'x', checksums: {} }, { partNumber: 2, blobId: null, size: 1, etag: 'y', checksums: {} }],
    });
    expect((await meta.getLatestVersion('b', 'multi'))!.inline!.part).toBeUndefined();
  });

  it('refuses a commit into a bucket that is gone', async () => {
    const err = await rejection(ctx.meta().commitObject(object('nope', 'k')));
    expect(err).toBeInstanceOf(MetaNotFoundError);
    expect((err as MetaNotFoundError).what).toBe('bucket');
  });

  it('unversioned: a write replaces the "null" version and a delete removes it', async () => {
    const meta = ctx.meta();
    const first = await meta.commitObject(object('b', 'k', { etag: 'one' }));
    const second = await meta.commitObject(object('b', 'k', { etag: 'two' }));
    expect(second.id).not.toBe(first.id);
    expect(await meta.getVersion('b', 'k', 'null')).toMatchObject({ etag: 'two', isLatest: true, deleteMarker: false });
    expect(await meta.listVersions('b', { fromKey: '' }, 10)).toHaveLength(1);
    expect(await meta.deleteObject('b', 'k')).toBe(true);
    expect(await meta.deleteObject('b', 'k')).toBe(false);
    expect(await meta.getLatestVersion('b', 'k')).toBeUndefined();
  });

  it('versioned: new versions stack up, a delete adds a marker, deleting versions by id moves "latest" back', async () => {
    const meta = ctx.meta();
    await meta.setBucketVersioning('b', 'Enabled');
    expect(await meta.bucketVersioning('b')).toBe('Enabled');
    const v1 = await meta.commitObject(object('b', 'k', { etag: 'one' }));
    const v2 = await meta.commitObject(object('b', 'k', { etag: 'two' }));
    expect(v1.versionId).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(v2.versionId).not.toBe(v1.versionId);
    expect((await meta.getObject('b', 'k'))!.etag).toBe('two');
    const marker = await meta.deleteVersion('b', 'k', {});
    expect(marker).toMatchObject({ existed: true, deleteMarker: true });
    expect(await meta.getObject('b', 'k')).toBeUndefined();
    expect(await meta.getLatestVersion('b', 'k')).toMatchObject({ versionId: marker.versionId, deleteMarker: true, isLatest: true, size: 0 });
    const versions = await meta.listVersions('b', { fromKey: 'k' }, 10);
    expect(versions.map((v) => [v.versionId, v.isLatest])).toEqual([[marker.versionId, true], [v2.versionId, false], [v1.versionId, false]]);
    // Deleting the marker by id makes the newest version current again.
    expect(await meta.deleteVersion('b', 'k', { versionId: marker.versionId! })).toEqual({ existed: true, versionId: marker.versionId, deleteMarker: true });
    expect((await meta.getObject('b', 'k'))!.versionId).toBe(v2.versionId);
    // Deleting an older version leaves the current one current.
    expect(await meta.deleteVersion('b', 'k', { versionId: v1.versionId })).toEqual({ existed: true, versionId: v1.versionId, deleteMarker: false });
    expect((await meta.getLatestVersion('b', 'k'))!.versionId).toBe(v2.versionId);
    expect(await meta.deleteVersion('b', 'k', { versionId: 'gone' })).toEqual({ existed: false, versionId: 'gone', deleteMarker: false });
    expect(await meta.deleteVersion('b', 'k', { versionId: v2.versionId })).toMatchObject({ existed: true });
    expect(await meta.getLatestVersion('b', 'k')).toBeUndefined();
  });

  it('suspended: writes and deletes replace the "null" version, other versions stay', async () => {
    const meta = ctx.meta();
    await meta.commitObject(object('b', 'k', { etag: 'unversioned' }));
    await meta.setBucketVersioning('b', 'Enabled');
    const kept = await meta.commitObject(object('b', 'k', { etag: 'kept' }));
    await meta.setBucketVersioning('b', 'Suspended');
    const n1 = await meta.commitObject(object('b', 'k', { etag: 'n1' }));
    expect(n1.versionId).toBe('null');
    const all = async (): Promise<string[]> => (await meta.listVersions('b', { fromKey: '' }, 10)).map((v) => `${v.versionId === 'null' ? 'null' : 'v'}:${v.etag}:${v.isLatest ? 'L' : ''}`);
    // The first "null" version (written before versioning) was replaced by n1.
    expect(await all()).toEqual(['null:n1:L', 'v:kept:']);
    const marker = await meta.deleteVersion('b', 'k', {});
    expect(marker).toEqual({ existed: true, versionId: 'null', deleteMarker: true });
    expect(await all()).toEqual(['null::L', 'v:kept:']);
    expect((await meta.getVersion('b', 'k', kept.versionId))!.isLatest).toBe(false);
  });

  it('lifecycle deletes only if the version it saw is still current', async () => {
    const meta = ctx.meta();
    const row = await meta.commitObject(object('b', 'k'));
    await meta.commitObject(object('b', 'k', { etag: 'newer' }));
    expect(await meta.deleteVersion('b', 'k', { ifCurrentId: row.id })).toEqual({ existed: false, deleteMarker: false });
    expect((await meta.getObject('b', 'k'))!.etag).toBe('newer');
  });

  it('Object Lock: retention and legal hold refuse deletes; GOVERNANCE yields to a bypass', async () => {
    const meta = ctx.meta();
    await meta.createLockedBucket('locked', 'root', 'us-east-1');
    expect(await meta.bucketObjectLock('locked')).toEqual({});
    expect(await meta.bucketVersioning('locked')).toBe('Enabled');
    expect(await meta.bucketObjectLock('b')).toBeNull();
    const until = Date.now() + 60_000;
    const gov = await meta.commitObject({ ...object('locked', 'g'), lock: { mode: 'GOVERNANCE', retainUntil: until, legalHold: null } });
    const comp = await meta.commitObject({ ...object('locked', 'c'), lock: { mode: 'COMPLIANCE', retainUntil: until, legalHold: false } });
    const held = await meta.commitObject(object('locked', 'h'));
    await meta.setObjectLock(held.id, { mode: null, retainUntil: null, legalHold: true });
    expect((await meta.getVersion('locked', 'g', gov.versionId))!.lock).toEqual({ mode: 'GOVERNANCE', retainUntil: until, legalHold: null });
    expect((await meta.getVersion('locked', 'c', comp.versionId))!.lock).toEqual({ mode: 'COMPLIANCE', retainUntil: until, legalHold: false });
    const reason = async (key: string, versionId: string, bypassGovernance = false): Promise<string> =>
      ((await rejection(meta.deleteVersion('locked', key, { versionId, bypassGovernance }))) as MetaObjectLockedError).reason;
    expect(await reason('g', gov.versionId)).toBe('governance');
    expect(await reason('c', comp.versionId, true)).toBe('compliance');
    expect(await reason('h', held.versionId, true)).toBe('legal-hold');
    // A delete marker needs no lock check: the versions stay.
    expect(await meta.deleteVersion('locked', 'c', {})).toMatchObject({ existed: true, deleteMarker: true });
    expect(await meta.deleteVersion('locked', 'g', { versionId: gov.versionId, bypassGovernance: true })).toMatchObject({ existed: true });
    // Once the retention has passed, the version may go.
    expect(await meta.deleteVersion('locked', 'c', { versionId: comp.versionId, now: until + 1 })).toMatchObject({ existed: true });
  });

  it('a suspended bucket may not replace a locked "null" version with a delete marker', async () => {
    const meta = ctx.meta();
    const row = await meta.commitObject(object('b', 'k'));
    await meta.setObjectLock(row.id, { mode: null, retainUntil: null, legalHold: true });
    await meta.setBucketVersioning('b', 'Suspended');
    expect(await rejection(meta.deleteVersion('b', 'k', {}))).toBeInstanceOf(MetaObjectLockedError);
    expect((await meta.getObject('b', 'k'))!.id).toBe(row.id);
  });

  it('changeObjectLock reads and changes a version in one unit; its refusal changes nothing', async () => {
    const meta = ctx.meta();
    await meta.setBucketVersioning('b', 'Enabled');
    const v1 = await meta.commitObject(object('b', 'k'));
    const v2 = await meta.commitObject(object('b', 'k'));
    const seen: Array<string | undefined> = [];
    await meta.changeObjectLock('b', 'k', undefined, (row) => {
      seen.push(row?.versionId);
      return { ...row!.lock, legalHold: true };
    });
    await meta.changeObjectLock('b', 'k', v1.versionId, (row) => {
      seen.push(row?.versionId);
      return { mode: 'GOVERNANCE', retainUntil: 5, legalHold: null };
    });
    await meta.changeObjectLock('b', 'k', 'missing', (row) => {
      seen.push(row?.versionId);
      return { mode: null, retainUntil: null, legalHold: null };
    });
    expect(seen).toEqual([v2.versionId, v1.versionId, undefined]);
    expect((await meta.getVersion('b', 'k', v2.versionId))!.lock.legalHold).toBe(true);
    expect((await meta.getVersion('b', 'k', v1.versionId))!.lock).toEqual({ mode: 'GOVERNANCE', retainUntil: 5, legalHold: null });
    await expect(meta.changeObjectLock('b', 'k', v1.versionId, () => {
      throw new Error('refused');
    })).rejects.toThrow('refused');
    expect((await meta.getVersion('b', 'k', v1.versionId))!.lock.mode).toBe('GOVERNANCE');
  });

  it('conditional writes: If-None-Match and If-Match are checked against the current version at commit', async () => {
    const meta = ctx.meta();
    const failure = async (p: Promise<unknown>): Promise<string> => {
      const err = await rejection(p);
      expect(err).toBeInstanceOf(MetaPreconditionError);
      return (err as MetaPreconditionError).reason;
    };
    expect(await failure(meta.commitObjectWith(object('b', 'k'), { condition: { ifMatch: 'e' } }))).toBe('absent');
    await meta.commitObjectWith(object('b', 'k', { etag: 'one' }), { condition: { ifNoneMatch: true } });
    expect(await failure(meta.commitObjectWith(object('b', 'k'), { condition: { ifNoneMatch: true } }))).toBe('exists');
    expect(await failure(meta.commitObjectWith(object('b', 'k'), { condition: { ifMatch: 'two' } }))).toBe('etag-mismatch');
    await meta.commitObjectWith(object('b', 'k', { etag: 'two' }), { condition: { ifMatch: 'one' } });
    await meta.commitObjectWith(object('b', 'k', { etag: 'three' }), { condition: { ifMatch: '*' } });
    expect((await meta.getObject('b', 'k'))!.etag).toBe('three');
    // A delete marker is no current version: If-None-Match holds again.
    await meta.setBucketVersioning('b', 'Enabled');
    await meta.deleteObject('b', 'k');
    await meta.commitObjectWith(object('b', 'k', { etag: 'four' }), { condition: { ifNoneMatch: true } });
    expect((await meta.getObject('b', 'k'))!.etag).toBe('four');
  });

  it('tags and ACLs of versions, keys and buckets', async () => {
    const meta = ctx.meta();
    await meta.setBucketVersioning('b', 'Enabled');
    const tags = [{ key: 'b', value: '2' }, { key: 'a', value: '1' }];
    const v1 = await meta.commitObjectWith({ ...object('b', 'k'), acl: 'public-read' }, { tags });
    expect(await meta.objectTags(v1.id)).toEqual(tags);
    expect(await meta.objectAcl('b', 'k')).toBe('public-read');
    const v2 = await meta.commitObjectWith(object('b', 'k'), {});
    expect(await meta.objectTags(v2.id)).toEqual([]);
    expect(await meta.objectAcl('b', 'k')).toBeNull();
    expect(await meta.objectAcl('b', 'k', v1.versionId)).toBe('public-read');
    expect(await meta.objectAcl('b', 'nope')).toBeUndefined();
    expect(await meta.setObjectAcl(v2.id, 'authenticated-read')).toBe(true);
    expect(await meta.objectAcl('b', 'k')).toBe('authenticated-read');
    expect((await meta.setObjectTags('b', 'k', [{ key: 'x', value: 'y' }]))!.id).toBe(v2.id);
    expect(await meta.objectTags(v2.id)).toEqual([{ key: 'x', value: 'y' }]);
    expect(await meta.setVersionTags(v1.id, null)).toBe(true);
    expect(await meta.objectTags(v1.id)).toEqual([]);
    expect(await meta.setObjectTags('b', 'nope', [])).toBeUndefined();
    const marker = await meta.deleteVersion('b', 'k', {});
    expect(await meta.setObjectTags('b', 'k', [])).toBeUndefined();
    const markerRow = await meta.getVersion('b', 'k', marker.versionId!);
    expect(await meta.setVersionTags(markerRow!.id, tags)).toBe(false);
    expect(await meta.setObjectAcl(markerRow!.id, 'public-read')).toBe(false);
    expect(await meta.bucketTags('b')).toBeNull();
    expect(await meta.setBucketTags('b', tags)).toBe(true);
    expect(await meta.bucketTags('b')).toEqual(tags);
    expect(await meta.setBucketTags('b', null)).toBe(true);
    expect(await meta.bucketTags('b')).toBeNull();
    expect(await meta.setBucketTags('nope', tags)).toBe(false);
  });

  it('DeleteObjects decides each key on its own, in one unit', async () => {
    const meta = ctx.meta();
    for (const k of ['a', 'b', 'c']) await meta.commitObject(object('b', k, { etag: `e-${k}` }));
    expect(await meta.deleteObjectsBatch('b', [
      { key: 'a' }, { key: 'b', etag: 'wrong' }, { key: 'c', etag: 'e-c' }, { key: 'd' }, { key: 'e', etag: '*' }, { key: 'b', versionId: 'other' },
    ])).toEqual(['deleted', 'precondition-failed', 'deleted', 'absent', 'no-such-key', 'deleted']);
    expect(await meta.getObject('b', 'a')).toBeUndefined();
    expect((await meta.getObject('b', 'b'))!.etag).toBe('e-b');
  });

  it('DeleteObjects with versions: a locked version is refused on its own, the others go', async () => {
    const meta = ctx.meta();
    await meta.setBucketVersioning('b', 'Enabled');
    const held = await meta.commitObject(object('b', 'held'));
    await meta.setObjectLock(held.id, { mode: null, retainUntil: null, legalHold: true });
    const free = await meta.commitObject(object('b', 'free', { etag: 'f' }));
    const out = await meta.deleteVersionsBatch('b', [
      { key: 'held', versionId: held.versionId }, { key: 'free', versionId: free.versionId }, { key: 'x' }, { key: 'y', etag: 'e' },
      { key: 'held', etag: 'nope' },
    ], { bypassGovernance: true });
    expect(out[0]).toEqual({ kind: 'locked', reason: 'legal-hold' });
    expect(out[1]).toEqual({ kind: 'deleted', existed: true, versionId: free.versionId, deleteMarker: false });
    expect(out[2]).toMatchObject({ kind: 'deleted', existed: true, deleteMarker: true });
    expect(out.slice(3)).toEqual([{ kind: 'no-such-key' }, { kind: 'precondition-failed' }]);
    expect((await meta.getVersion('b', 'held', held.versionId))!.isLatest).toBe(true);
    expect(await meta.getVersion('b', 'free', free.versionId)).toBeUndefined();
  });
}
