/**
 * The pieces of CopyObject, DeleteObjects, ListMultipartUploads, conditional writes and
 * tagging that need no network: metadata methods, documents, header parsing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaPreconditionError } from '../../gateway/meta/errors.js';
import { writeConditionFailure } from '../../gateway/meta/rules.js';
import { SqliteMetaStore } from '../../gateway/meta/store.js';
import type { NewObject } from '../../gateway/meta/types.js';
import { buildTagging, parseTagging } from '../../gateway/s3/documents.js';
import { checkCopySourceConditions, parseWriteCondition } from '../../gateway/s3/preconditions.js';
import { checkTagSet, parseTaggingHeader } from '../../gateway/s3/tagging.js';
import { walkUploads } from '../../gateway/s3/uploads.js';
import { S3_XMLNS } from '../../gateway/s3/xml.js';
import { codeOf } from '../helpers/errors.js';


describe('metadata: conditional commits, tags, batch deletes, upload listing', () => {
  let dir: string;
  let meta: SqliteMetaStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meta-breadth-'));
    meta = new SqliteMetaStore(join(dir, 'meta.db'));
    await meta.createBucket('b', 'root', 'us-east-1');
  });
  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const obj = (key: string, etag = 'e'): NewObject => ({
    bucket: 'b', key, size: 1, etag, contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
    parts: [{ partNumber: 1, blobId: null, size: 1, etag, checksums: {} }],
  });

  it('checks the write condition inside the commit: the second If-None-Match commit fails', async () => {
    await meta.commitObjectWith(obj('k', 'first'), { condition: { ifNoneMatch: true } });
    await expect(async () => await meta.commitObjectWith(obj('k', 'second'), { condition: { ifNoneMatch: true } })).rejects.toThrow(MetaPreconditionError);
    expect((await meta.getObject('b', 'k'))!.etag).toBe('first');
    await expect(async () => await meta.commitObjectWith(obj('k', 'third'), { condition: { ifMatch: 'nope' } })).rejects.toThrow(MetaPreconditionError);
    await meta.commitObjectWith(obj('k', 'fourth'), { condition: { ifMatch: 'first' } });
    expect((await meta.getObject('b', 'k'))!.etag).toBe('fourth');
  });

  it('names why a condition fails', async () => {
    expect(writeConditionFailure({ etag: 'a' }, { ifNoneMatch: true })).toBe('exists');
    expect(writeConditionFailure(undefined, { ifMatch: 'a' })).toBe('absent');
    expect(writeConditionFailure({ etag: 'a' }, { ifMatch: 'b' })).toBe('etag-mismatch');
    expect(writeConditionFailure({ etag: 'a' }, { ifMatch: '*' })).toBeUndefined();
    expect(writeConditionFailure(undefined, { ifNoneMatch: true })).toBeUndefined();
  });

  it('keeps tags with the version they were written with; an upload hands its tags to the object', async () => {
    const row = await meta.commitObjectWith(obj('t'), { tags: [{ key: 'a', value: '1' }] });
    expect(await meta.objectTags(row.id)).toEqual([{ key: 'a', value: '1' }]);
    await meta.setObjectTags('b', 't', [{ key: 'b', value: '2' }]);
    expect(await meta.objectTags(row.id)).toEqual([{ key: 'b', value: '2' }]);
    const over = await meta.commitObject(obj('t'));
    expect(await meta.objectTags(over.id)).toEqual([]);
    expect(await meta.setObjectTags('b', 'missing', [])).toBeUndefined();

    await meta.createUploadWith({
      id: 'u1', bucket: 'b', key: 'm', owner: 'root', createdAt: 1, contentType: null, headers: {}, userMeta: {}, checksumAlgorithm: null, checksumType: null, acl: null,
    }, [{ key: 'from', value: 'upload' }]);
    const done = await meta.commitObjectWith(obj('m'), {}, [], Date.now(), 'u1');
    expect(await meta.objectTags(done.id)).toEqual([{ key: 'from', value: 'upload' }]);
    expect(await meta.getUpload('u1')).toBeUndefined();
  });

  it('bucket tags: none until set, removed with null', async () => {
    expect(await meta.bucketTags('b')).toBeNull();
    expect(await meta.setBucketTags('b', [{ key: 'k', value: 'v' }])).toBe(true);
    expect(await meta.bucketTags('b')).toEqual([{ key: 'k', value: 'v' }]);
    await meta.setBucketTags('b', null);
    expect(await meta.bucketTags('b')).toBeNull();
    expect(await meta.setBucketTags('nope', [])).toBe(false);
  });

  it('deletes a batch in one transaction, each key decided on its own', async () => {
    for (const k of ['a', 'b', 'c']) await meta.commitObject(obj(k, `etag-${k}`));
    expect(await meta.deleteObjectsBatch('b', [
      { key: 'a' }, { key: 'zz' }, { key: 'b', etag: 'wrong' }, { key: 'c', etag: 'etag-c' }, { key: 'yy', etag: 'x' }, { key: 'b', versionId: 'other' },
    ])).toEqual(['deleted', 'absent', 'precondition-failed', 'deleted', 'no-such-key', 'deleted']);
    expect(await meta.getObject('b', 'b')).toBeDefined();
    expect(await meta.getObject('b', 'a')).toBeUndefined();
  });

  it('lists uploads by key, then initiation time, and rolls common prefixes up', async () => {
    const up = (id: string, key: string, createdAt: number): Promise<void> => meta.createUpload({
      id, bucket: 'b', key, owner: 'root', createdAt, contentType: null, headers: {}, userMeta: {}, checksumAlgorithm: null, checksumType: null, acl: null,
    });
    await up('z1', 'x', 5);
    await up('a1', 'x', 9);
    await up('m1', 'a/1', 1);
    await up('m2', 'a/b/2', 1);
    await up('m3', 'é', 1);
    const ids = async (e: ReturnType<typeof walkUploads>): Promise<string[]> => (await collect(e)).map((x) => (x.kind === 'upload' ? x.upload.id : `P:${x.prefix}`));
    expect(await ids(walkUploads(meta, 'b', '', '', { fromKey: '' }))).toEqual(['m1', 'm2', 'z1', 'a1', 'm3']);
    expect(await ids(walkUploads(meta, 'b', '', '/', { fromKey: '' }))).toEqual(['P:a/', 'z1', 'a1', 'm3']);
    expect(await ids(walkUploads(meta, 'b', 'a/', '/', { fromKey: '' }))).toEqual(['m1', 'P:a/b/']);
    // Resuming after the first upload of "x" gives the second one next.
    expect(await ids(walkUploads(meta, 'b', '', '', { key: 'x', createdAt: 5, id: 'z1' }))).toEqual(['a1', 'm3']);
  });
});

describe('Tagging document', () => {
  test('golden string, tags in key order', async () => {
    expect(buildTagging({ tagSet: [{ key: 'a&b', value: '' }, { key: '007', value: 'v' }] })).toBe(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Tagging xmlns="${S3_XMLNS}"><TagSet><Tag><Key>007</Key><Value>v</Value></Tag>`
      + '<Tag><Key>a&amp;b</Key><Value></Value></Tag></TagSet></Tagging>',
    );
  });
  test('parses a tag set, one tag or none, keeping values as strings', async () => {
    expect(parseTagging('<Tagging><TagSet><Tag><Key>007</Key><Value> x </Value></Tag></TagSet></Tagging>').tagSet).toEqual([{ key: '007', value: ' x ' }]);
    expect(parseTagging('<Tagging><TagSet/></Tagging>').tagSet).toEqual([]);
    expect(parseTagging('<Tagging><TagSet><Tag><Key>k</Key><Value/></Tag></TagSet></Tagging>').tagSet).toEqual([{ key: 'k', value: '' }]);
  });
  test.each([
    ['no TagSet', '<Tagging></Tagging>'],
    ['a Tag without Value', '<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>'],
    ['another root', '<Tags><TagSet/></Tags>'],
  ])('MalformedXML: %s', (_why, body) => {
    expect(codeOf(() => parseTagging(body))).toBe('MalformedXML');
  });
});

describe('tag limits and x-amz-tagging', () => {
  test('limits count characters, not bytes, and sit exactly on the AWS thresholds', async () => {
    checkTagSet([{ key: 'é'.repeat(128), value: 'é'.repeat(256) }], 'object');
    expect(codeOf(() => checkTagSet([{ key: 'é'.repeat(129), value: '' }], 'object'))).toBe('InvalidTag');
    expect(codeOf(() => checkTagSet([{ key: 'k', value: 'é'.repeat(257) }], 'object'))).toBe('InvalidTag');
    expect(codeOf(() => checkTagSet([{ key: '', value: 'v' }], 'object'))).toBe('InvalidTag');
    expect(codeOf(() => checkTagSet([{ key: 'aws:x', value: 'v' }], 'bucket'))).toBe('InvalidTag');
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: '' }));
    checkTagSet(many(10), 'object');
    checkTagSet(many(50), 'bucket');
    expect(codeOf(() => checkTagSet(many(11), 'object'))).toBe('InvalidTag');
    expect(codeOf(() => checkTagSet(many(51), 'bucket'))).toBe('InvalidTag');
  });
  test('x-amz-tagging is a URL query string', async () => {
    expect(parseTaggingHeader({ 'x-amz-tagging': 'a=1&b%20c=d+e&empty=&bare' })).toEqual([
      { key: 'a', value: '1' }, { key: 'b c', value: 'd e' }, { key: 'empty', value: '' }, { key: 'bare', value: '' },
    ]);
    expect(parseTaggingHeader({})).toBeUndefined();
    expect(codeOf(() => parseTaggingHeader({ 'x-amz-tagging': 'a=1&a=2' }))).toBe('InvalidTag');
    expect(codeOf(() => parseTaggingHeader({ 'x-amz-tagging': 'a=%E0' }))).toBe('InvalidArgument');
  });
});

describe('conditions', () => {
  test('write conditions: If-None-Match only *, If-Match one ETag', async () => {
    expect(parseWriteCondition({})).toBeUndefined();
    expect(parseWriteCondition({ 'if-none-match': '*' })).toEqual({ ifNoneMatch: true });
    expect(parseWriteCondition({ 'if-match': '"abc"' })).toEqual({ ifMatch: 'abc' });
    expect(codeOf(() => parseWriteCondition({ 'if-none-match': '"abc"' }))).toBe('NotImplemented');
    expect(codeOf(() => parseWriteCondition({ 'if-match': '"a", "b"' }))).toBe('NotImplemented');
  });
  test('copy-source conditions combine as AWS documents', async () => {
    const lastModified = Date.UTC(2026, 0, 1, 12, 0, 0, 500);
    const src = { etag: 'abc', lastModified };
    const before = new Date(lastModified - 60_000).toUTCString();
    const at = new Date(lastModified).toUTCString(); // whole seconds: not modified since
    const check = (h: Record<string, string>) => () => checkCopySourceConditions(h, src);
    check({ 'x-amz-copy-source-if-match': '"abc"' })();
    expect(codeOf(check({ 'x-amz-copy-source-if-match': '"abd"' }))).toBe('PreconditionFailed');
    expect(codeOf(check({ 'x-amz-copy-source-if-none-match': '"abc"' }))).toBe('PreconditionFailed');
    expect(codeOf(check({ 'x-amz-copy-source-if-unmodified-since': before }))).toBe('PreconditionFailed');
    expect(codeOf(check({ 'x-amz-copy-source-if-modified-since': at }))).toBe('PreconditionFailed');
    check({ 'x-amz-copy-source-if-modified-since': before, 'x-amz-copy-source-if-unmodified-since': at })();
    // If-Match true excuses If-Unmodified-Since false; If-None-Match false is not excused by If-Modified-Since true.
    check({ 'x-amz-copy-source-if-match': '"abc"', 'x-amz-copy-source-if-unmodified-since': before })();
    expect(codeOf(check({ 'x-amz-copy-source-if-none-match': '"abc"', 'x-amz-copy-source-if-modified-since': before }))).toBe('PreconditionFailed');
  });
});

/** Every entry of an asynchronous walk. */
async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of gen) out.push(e);
  return out;
}
