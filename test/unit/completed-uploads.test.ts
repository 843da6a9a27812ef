import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { completedObjectChecksum, withoutObjectChecksumHeaders } from '../../gateway/checksums.js';
import { COMPLETED_UPLOAD_TTL_MS, completedUploadsFor, type CompletedUploadStore } from '../../gateway/meta/completed-uploads.js';
import { SqliteMetaStore } from '../../gateway/meta/store.js';
import { MetaPreconditionError } from '../../gateway/meta/errors.js';
import type { NewObject, ObjectRow, ObjectWriteOptions } from '../../gateway/meta/types.js';

describe('completed uploads store', () => {
  let dir: string;
  let meta: SqliteMetaStore;
  let done: CompletedUploadStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'completed-'));
    meta = new SqliteMetaStore(join(dir, 'meta.db'));
    await meta.createBucket('b', 'root', 'us-east-1');
    done = completedUploadsFor(meta.db);
  });
  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const object = (key: string, etag: string): NewObject => ({
    bucket: 'b', key, size: 1, etag, contentType: null, headers: {}, userMeta: {}, checksums: { sha256: 'x-1' }, partsCount: 1,
    parts: [{ partNumber: 1, blobId: null, size: 1, etag: 'p', checksums: {} }],
  });
  const put = (key: string, etag: string, now = Date.now()): Promise<ObjectRow> => meta.commitObject(object(key, etag), [], now);
  /** Upload `uploadId` of `key` completed into a version, its completion recorded in the same commit. */
  const complete = async (uploadId: string, key: string, etag: string, now = Date.now(), opts: ObjectWriteOptions = {}): Promise<ObjectRow> => {
    await meta.createUpload({
      id: uploadId, bucket: 'b', key, owner: 'root', createdAt: now, contentType: null, headers: {}, userMeta: {},
      checksumAlgorithm: null, checksumType: null, acl: null,
    });
    return meta.commitObjectWith(object(key, etag), { ...opts, recordCompletion: true }, [], now, uploadId);
  };
  const count = (): number => (meta.db.prepare('SELECT COUNT(*) AS n FROM completed_uploads').get() as { n: number }).n;

  it('answers a completion while its object version stands, for its bucket and key only', async () => {
    const row = await complete('up1', 'k', 'e-1');
    expect(await done.lookup('up1', 'b', 'k')).toMatchObject({
      uploadId: 'up1', bucket: 'b', key: 'k', objectId: row.id, versionId: 'null', etag: 'e-1', checksums: { sha256: 'x-1' },
    });
    expect(await done.lookup('up1', 'b', 'other')).toBeUndefined();
    expect(await done.lookup('up2', 'b', 'k')).toBeUndefined();
  });

  it('forgets the answer once the version is replaced or deleted', async () => {
    await complete('up1', 'k', 'e-1');
    await put('k', 'e-3');
    expect(await done.lookup('up1', 'b', 'k')).toBeUndefined();
    await complete('up2', 'j', 'e-2');
    await meta.deleteObject('b', 'j');
    expect(await done.lookup('up2', 'b', 'j')).toBeUndefined();
  });

  it('keeps a versioned completion while a newer version exists, not after its version is deleted', async () => {
    await meta.setBucketVersioning('b', 'Enabled');
    const row = await complete('up1', 'k', 'e-1');
    await put('k', 'e-9');
    expect((await done.lookup('up1', 'b', 'k'))?.versionId).toBe(row.versionId);
    await meta.deleteVersion('b', 'k', { versionId: row.versionId });
    expect(await done.lookup('up1', 'b', 'k')).toBeUndefined();
  });

  it('records nothing when the commit fails', async () => {
    await expect(complete('up1', 'k', 'e-1', Date.now(), { condition: { ifMatch: 'lost race' } })).rejects.toThrow(MetaPreconditionError);
    expect(count()).toBe(0);
    expect(await meta.getObject('b', 'k')).toBeUndefined();
  });

  it('forgets answers older than a day, and prunes them on the next insert', async () => {
    const t0 = Date.now();
    await complete('old', 'k', 'e-1', t0);
    expect(await done.lookup('old', 'b', 'k', t0 + COMPLETED_UPLOAD_TTL_MS)).toBeDefined();
    expect(await done.lookup('old', 'b', 'k', t0 + COMPLETED_UPLOAD_TTL_MS + 1)).toBeUndefined();
    await complete('new', 'j', 'e-2', t0 + COMPLETED_UPLOAD_TTL_MS + 1);
    expect(meta.db.prepare('SELECT upload_id FROM completed_uploads').all()).toEqual([{ upload_id: 'new' }]);
  });
});

describe('the object checksum a CompleteMultipartUpload states', () => {
  const sha = Buffer.alloc(32, 7).toString('base64');
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (err) {
      return (err as { code?: string }).code;
    }
    return undefined;
  };

  it('takes a composite "<digest>-<parts>" or a full-object digest of the right size', async () => {
    expect(completedObjectChecksum({ 'x-amz-checksum-sha256': `${sha}-3` })).toEqual({ algorithm: 'SHA256', header: 'x-amz-checksum-sha256', value: `${sha}-3` });
    expect(completedObjectChecksum({ 'x-amz-checksum-crc64nvme': ['AAAAAAAAAAA='] })?.value).toBe('AAAAAAAAAAA=');
    expect(completedObjectChecksum({ 'x-amz-checksum-type': 'COMPOSITE', host: 'h' })).toBeUndefined();
  });

  it('refuses a malformed value or a bad part count (BadDigest: it matches no object), two checksums (InvalidRequest)', async () => {
    for (const v of ['bad', 'AAAA-1', `${sha}-0`, `${sha}-x`, `${sha}-1-2`, `${sha}-`, `${sha}-100000`]) {
      expect(code(() => completedObjectChecksum({ 'x-amz-checksum-sha256': v }))).toBe('BadDigest');
    }
    expect(code(() => completedObjectChecksum({ 'x-amz-checksum-sha256': sha, 'x-amz-checksum-crc32': 'AAAAAA==' }))).toBe('InvalidRequest');
  });

  it('leaves those headers out of the document check, keeping the rest', async () => {
    expect(withoutObjectChecksumHeaders({ 'x-amz-checksum-sha256': sha, 'x-amz-sdk-checksum-algorithm': 'SHA256', 'content-md5': 'x', 'x-amz-checksum-type': 'COMPOSITE' }))
      .toEqual({ 'content-md5': 'x', 'x-amz-checksum-type': 'COMPOSITE' });
  });
});
