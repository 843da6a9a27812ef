import { expect, it } from 'vitest';
import { COMPLETED_UPLOAD_TTL_MS } from '../../../gateway/meta/completed-uploads.js';
import { MetaNotFoundError, MetaPreconditionError } from '../../../gateway/meta/errors.js';
import type { MetaStore } from '../../../gateway/meta/meta-store.js';
import type { StoredSseC } from '../../../gateway/meta/sse-c.js';
import type { NewObject, ObjectRow } from '../../../gateway/meta/types.js';
import { blobId, object, part, rejection, upload, writingBlob, type MetaCaseContext } from './fixtures.js';

const sse: StoredSseC = { algorithm: 'AES256', salt: Buffer.alloc(16, 1), keyHmac: Buffer.alloc(32, 2) };

/** The object a CompleteMultipartUpload of `parts` commits. */
function completed(key: string, parts: Array<{ n: number; blob: string | null; size: number }>, etag = 'm-2'): NewObject {
  return {
    ...object('b', key), size: parts.reduce((a, p) => a + p.size, 0), etag, partsCount: parts.length, checksums: { sha256: 'x-2' },
    parts: parts.map((p) => ({ partNumber: p.n, blobId: p.blob, size: p.size, etag: `p${p.n}`, checksums: {} })),
  };
}

async function complete(meta: MetaStore, uploadId: string, key: string, now = Date.now(), etag = 'm-2'): Promise<ObjectRow> {
  return meta.commitObjectWith(completed(key, [{ n: 1, blob: null, size: 1 }], etag), { recordCompletion: true }, [], now, uploadId);
}

/** Multipart uploads, their completion records and SSE-C parameters. */
export function uploadCases(ctx: MetaCaseContext): void {
  it('keeps an upload\'s parts, replaces a part sent again, and completes into an object', async () => {
    const meta = ctx.meta();
    for (const c of ['1', '2', '3', '4']) await writingBlob(meta, blobId(c));
    const u = upload('up1', 'k');
    await meta.createUploadWith(u, [{ key: 't', value: 'v' }]);
    await meta.setUploadLock('up1', { mode: 'GOVERNANCE', retainUntil: 9, legalHold: null });
    expect(await meta.getUpload('up1')).toEqual(u);
    expect(await meta.uploadLock('up1')).toEqual({ mode: 'GOVERNANCE', retainUntil: 9, legalHold: null });
    expect(await meta.uploadLock('nope')).toBeUndefined();
    await meta.putPart('up1', part(1, 5, blobId('1')));
    await meta.putPart('up1', part(2, 6, blobId('2')), [{ blobId: blobId('2'), piece: 0, reason: 'missed' }]);
    await meta.putPart('up1', part(1, 7, blobId('3')));
    await meta.putPart('up1', part(3, 8, blobId('4')));
    expect((await meta.getBlob(blobId('1')))!.state).toBe('garbage');
    expect((await meta.getBlob(blobId('3')))!.state).toBe('live');
    expect(await meta.repairBacklog()).toBe(1);
    expect((await meta.allParts('up1')).map((p) => [p.partNumber, p.size, p.blobId])).toEqual([[1, 7, blobId('3')], [2, 6, blobId('2')], [3, 8, blobId('4')]]);
    expect((await meta.listParts('up1', 1, 1)).map((p) => p.partNumber)).toEqual([2]);
    // Parts 1 and 2 make the object; part 3 was not named and becomes garbage.
    const row = await meta.commitObjectWith(completed('k', [{ n: 1, blob: blobId('3'), size: 7 }, { n: 2, blob: blobId('2'), size: 6 }]), {}, [], Date.now(), 'up1');
    expect(row).toMatchObject({ size: 13, partsCount: 2 });
    expect(await meta.objectTags(row.id)).toEqual([{ key: 't', value: 'v' }]);
    expect((await meta.getBlob(blobId('4')))!.state).toBe('garbage');
    expect((await meta.getBlob(blobId('3')))!.state).toBe('live');
    expect(await meta.getUpload('up1')).toBeUndefined();
    expect(await meta.allParts('up1')).toEqual([]);
    const again = await rejection(meta.commitObjectWith(completed('k', []), {}, [], Date.now(), 'up1'));
    expect(again).toBeInstanceOf(MetaNotFoundError);
    expect((again as MetaNotFoundError).what).toBe('upload');
    expect((await rejection(meta.putPart('up1', part(4, 1))) as MetaNotFoundError).what).toBe('upload');
  });

  it('aborts an upload: its parts\' blobs become garbage, once', async () => {
    const meta = ctx.meta();
    await writingBlob(meta, blobId('a'));
    await meta.createUpload(upload('up1', 'k'));
    await meta.putPart('up1', part(1, 5, blobId('a')));
    expect(await meta.abortUpload('up1')).toBe(true);
    expect(await meta.abortUpload('up1')).toBe(false);
    expect((await meta.getBlob(blobId('a')))!.state).toBe('garbage');
  });

  it('deletes an empty bucket with its unfinished uploads, and refuses one that holds objects', async () => {
    const meta = ctx.meta();
    await meta.commitObject(object('b', 'x'));
    expect(await meta.deleteBucket('b')).toBe(false);
    await meta.deleteObject('b', 'x');
    await writingBlob(meta, blobId('a'));
    await meta.createUpload(upload('up1', 'k'));
    await meta.putPart('up1', part(1, 5, blobId('a')));
    expect(await meta.deleteBucket('b')).toBe(true);
    expect(await meta.getBucket('b')).toBeUndefined();
    expect(await meta.getUpload('up1')).toBeUndefined();
    expect((await meta.getBlob(blobId('a')))!.state).toBe('garbage');
    // The name is free again, with nothing of the old bucket.
    await meta.createBucket('b', 'other', 'eu-west-1');
    expect(await meta.quotas.get('b')).toEqual({ quota: null, used: 0 });
    expect(await meta.bucketVersioning('b')).toBeNull();
  });

  it('answers a completion while its object version stands, for its bucket and key only', async () => {
    const meta = ctx.meta();
    await meta.createUpload(upload('up1', 'k'));
    const row = await complete(meta, 'up1', 'k', Date.now(), 'e-1');
    expect(await meta.completedUploads.lookup('up1', 'b', 'k')).toMatchObject({
      uploadId: 'up1', bucket: 'b', key: 'k', objectId: row.id, versionId: 'null', etag: 'e-1', checksums: { sha256: 'x-2' },
    });
    expect(await meta.completedUploads.lookup('up1', 'b', 'other')).toBeUndefined();
    expect(await meta.completedUploads.lookup('up2', 'b', 'k')).toBeUndefined();
    // Replaced, the version no longer stands, nor does the answer.
    await meta.commitObject(object('b', 'k', { etag: 'e-3' }));
    expect(await meta.completedUploads.lookup('up1', 'b', 'k')).toBeUndefined();
  });

  it('keeps a versioned completion while a newer version exists, not after its version is deleted', async () => {
    const meta = ctx.meta();
    await meta.setBucketVersioning('b', 'Enabled');
    await meta.createUpload(upload('up1', 'k'));
    const row = await complete(meta, 'up1', 'k');
    await meta.commitObject(object('b', 'k', { etag: 'e-9' }));
    expect((await meta.completedUploads.lookup('up1', 'b', 'k'))?.versionId).toBe(row.versionId);
    await meta.deleteVersion('b', 'k', { versionId: row.versionId });
    expect(await meta.completedUploads.lookup('up1', 'b', 'k')).toBeUndefined();
  });

  it('records nothing when the completion fails, and keeps the upload', async () => {
    const meta = ctx.meta();
    await meta.commitObject(object('b', 'k'));
    await meta.createUpload(upload('up1', 'k'));
    const err = await rejection(meta.commitObjectWith(completed('k', []), { condition: { ifNoneMatch: true }, recordCompletion: true }, [], Date.now(), 'up1'));
    expect(err).toBeInstanceOf(MetaPreconditionError);
    expect(await meta.completedUploads.lookup('up1', 'b', 'k')).toBeUndefined();
    expect(await meta.getUpload('up1')).toBeDefined();
  });

  it('forgets answers older than a day, and prunes them on the next completion', async () => {
    const meta = ctx.meta();
    const t0 = Date.now();
    await meta.createUpload(upload('old', 'k'));
    await meta.createUpload(upload('new', 'j'));
    await complete(meta, 'old', 'k', t0);
    expect(await meta.completedUploads.lookup('old', 'b', 'k', t0 + COMPLETED_UPLOAD_TTL_MS)).toBeDefined();
    expect(await meta.completedUploads.lookup('old', 'b', 'k', t0 + COMPLETED_UPLOAD_TTL_MS + 1)).toBeUndefined();
    await complete(meta, 'new', 'j', t0 + COMPLETED_UPLOAD_TTL_MS + 1);
    expect(await meta.completedUploads.lookup('old', 'b', 'k', t0)).toBeUndefined();
    expect(await meta.completedUploads.lookup('new', 'b', 'j', t0 + COMPLETED_UPLOAD_TTL_MS + 1)).toBeDefined();
  });

  it('SSE-C parameters commit with their version and their upload, never without', async () => {
    const meta = ctx.meta();
    const plain = await meta.commitObjectWith(object('b', 'plain'), {});
    const sealed = await meta.commitObjectWith(object('b', 'sealed'), { sse });
    expect(await meta.sseC.objectSseC(plain.id)).toBeNull();
    expect(await meta.sseC.objectSseC(sealed.id)).toEqual(sse);
    await meta.createUploadWith(upload('up1', 'k'), undefined, sse);
    await meta.createUploadWith(upload('up2', 'k'), undefined, null);
    expect(await meta.sseC.uploadSseC('up1')).toEqual(sse);
    expect(await meta.sseC.uploadSseC('up2')).toBeNull();
    expect(await meta.sseC.uploadSseC('nope')).toBeNull();
    // A completion carries the upload's parameters to its object.
    const done = await meta.commitObjectWith(completed('k', []), { sse: (await meta.sseC.uploadSseC('up1'))! }, [], Date.now(), 'up1');
    expect(await meta.sseC.objectSseC(done.id)).toEqual(sse);
    // A write that fails leaves nothing behind.
    await rejection(meta.commitObjectWith(object('b', 'sealed'), { sse, condition: { ifNoneMatch: true } }));
    expect((await meta.getObject('b', 'sealed'))!.id).toBe(sealed.id);
  });
}
