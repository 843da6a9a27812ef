/**
 * DeleteObjects, ListMultipartUploads, conditional writes and tagging through the AWS SDK v3
 * against a real cluster, plus raw signed requests for what the SDK will not send.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand,
  DeleteBucketTaggingCommand, DeleteObjectsCommand, DeleteObjectTaggingCommand, GetBucketTaggingCommand, GetObjectCommand,
  GetObjectTaggingCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutBucketTaggingCommand,
  PutObjectCommand, PutObjectTaggingCommand, S3Client, S3ServiceException, UploadPartCommand, type Tag,
} from '@aws-sdk/client-s3';
import aws4 from 'aws4';
import { createHash } from 'node:crypto';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, bytes, md5Hex, s3Error } from '../helpers/s3.js';

const MiB = 1024 * 1024;

let cluster: Cluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  s3 = cluster.client();
});



const newBucket = bucketFactory(() => s3, 'batch');

async function keysOf(bucket: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((c) => c.Key!);
}

/** A request signed with aws4 (payload hash included), sent as is. */
async function rawSigned(method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const host = new URL(cluster.endpoint).host;
  const signed = aws4.sign(
    { host, method, path, service: 's3', region: 'us-east-1', body, headers: { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'), ...headers } },
    { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  );
  const res = await fetch(`${cluster.endpoint}${path}`, { method, headers: signed.headers as Record<string, string>, body });
  return { status: res.status, text: await res.text() };
}

const codeIn = (xml: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

// compat: DeleteObjects
describe('DeleteObjects', () => {
  test('deletes up to 1000 keys in one request; missing keys succeed; Quiet answers only errors', async () => {
    const b = await newBucket('del');
    const present = ['a', 'b/c', 'sp ace&+-é"', '007'];
    for (const k of present) await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: k }));
    // 1000 keys, the limit: the four that exist and 996 that never did.
    const keys = [...present, ...Array.from({ length: 996 }, (_, i) => `ghost/${i}`)];
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    expect(res.Errors ?? []).toEqual([]);
    expect(res.Deleted?.length).toBe(1000);
    expect(new Set(res.Deleted!.map((d) => d.Key))).toEqual(new Set(keys));
    expect(await keysOf(b)).toEqual([]);

    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'q', Body: 'q' }));
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Quiet: true, Objects: [{ Key: 'q' }, { Key: 'missing' }] } }));
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(quiet.Errors ?? []).toEqual([]);
    expect(await keysOf(b)).toEqual([]);
  });

  test('per-key errors do not stop the other deletes: KeyTooLongError, ETag conditions', async () => {
    const b = await newBucket('del-err');
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'kept', Body: 'kept' }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'gone', Body: 'gone' }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'matched', Body: 'matched' }));
    const matched = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'matched' }));
    const res = await s3.send(new DeleteObjectsCommand({
      Bucket: b, Delete: {
        Quiet: true,
        Objects: [
          { Key: 'x'.repeat(1025) },
          { Key: 'kept', ETag: '"00000000000000000000000000000000"' },
          { Key: 'gone' },
          { Key: 'matched', ETag: matched.ETag },
          { Key: 'never', ETag: put.ETag },
        ],
      },
    }));
    expect(res.Errors?.map((e) => [e.Key!.slice(0, 5), e.Code])).toEqual([
      ['xxxxx', 'KeyTooLongError'], ['kept', 'PreconditionFailed'], ['never', 'NoSuchKey'],
    ]);
    expect(await keysOf(b)).toEqual(['kept']);
  });

  test('more than 1000 keys, malformed XML, or no Content-MD5/checksum: refused as AWS refuses them', async () => {
    const b = await newBucket('del-bad');
    expect(await s3Error(s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: Array.from({ length: 1001 }, (_, i) => ({ Key: `k${i}` })) } }))))
      .toEqual({ code: 'MalformedXML', status: 400 });
    const body = '<Delete><Object><Key>k</Key></Object></Delete>';
    const md5 = createHash('md5').update(body).digest('base64');
    const noDigest = await rawSigned('POST', `/${b}?delete`, body);
    expect([noDigest.status, codeIn(noDigest.text)]).toEqual([400, 'InvalidRequest']);
    const wrongDigest = await rawSigned('POST', `/${b}?delete`, body, { 'content-md5': createHash('md5').update('other').digest('base64') });
    expect([wrongDigest.status, codeIn(wrongDigest.text)]).toEqual([400, 'BadDigest']);
    const malformed = '<Delete><Object><Key>k</Key></Delete>';
    const bad = await rawSigned('POST', `/${b}?delete`, malformed, { 'content-md5': createHash('md5').update(malformed).digest('base64') });
    expect([bad.status, codeIn(bad.text)]).toEqual([400, 'MalformedXML']);
    const ok = await rawSigned('POST', `/${b}?delete`, body, { 'content-md5': md5 });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('<Deleted><Key>k</Key></Deleted>');
  });
});

// compat: ListMultipartUploads
describe('ListMultipartUploads', () => {
  test('prefix, delimiter, CommonPrefixes, and paging with key and upload-id markers', async () => {
    const b = await newBucket('mpu');
    const keys = ['a/1', 'a/2', 'a/b/3', 'b', 'b', 'c é&', 'z/q'];
    const ids: Array<[string, string]> = [];
    for (const Key of keys) {
      const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key }));
      ids.push([Key, up.UploadId!]);
    }
    const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: b }));
    expect(all.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual(ids);
    expect(all.IsTruncated).toBe(false);
    expect(all.Uploads?.[0]?.Initiated).toBeInstanceOf(Date);
    expect(all.Uploads?.[0]?.Owner?.ID).toBeTruthy();

    const top = await s3.send(new ListMultipartUploadsCommand({ Bucket: b, Delimiter: '/' }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'z/']);
    expect(top.Uploads?.map((u) => u.Key)).toEqual(['b', 'b', 'c é&']);
    const underA = await s3.send(new ListMultipartUploadsCommand({ Bucket: b, Prefix: 'a/', Delimiter: '/' }));
    expect(underA.Uploads?.map((u) => u.Key)).toEqual(['a/1', 'a/2']);
    expect(underA.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/b/']);

    // Two per page: the markers walk every upload once, the two uploads of "b" included.
    const seen: Array<[string, string]> = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: b, MaxUploads: 2, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      seen.push(...(page.Uploads ?? []).map((u): [string, string] => [u.Key!, u.UploadId!]));
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    expect(seen).toEqual(ids);

    // Completed and aborted uploads are no longer listed.
    await s3.send(new AbortMultipartUploadCommand({ Bucket: b, Key: 'b', UploadId: ids[3]![1] }));
    const afterAbort = await s3.send(new ListMultipartUploadsCommand({ Bucket: b, Prefix: 'b' }));
    expect(afterAbort.Uploads?.map((u) => u.UploadId)).toEqual([ids[4]![1]]);
  });
});

describe('conditional writes', () => {
  // compat: PutObject If-None-Match
  // compat: PutObject If-Match
  test('If-None-Match: * and If-Match on PutObject: 412, 404 NoSuchKey, or success', async () => {
    const b = await newBucket('cw');
    const first = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'one', IfNoneMatch: '*' }));
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'two', IfNoneMatch: '*' })))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'two', IfMatch: '"ffffffffffffffffffffffffffffffff"' })))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'absent', Body: 'x', IfMatch: first.ETag })))).toEqual({ code: 'NoSuchKey', status: 404 });
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'three', IfMatch: first.ETag }));
    const got = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k' }));
    expect(await got.Body!.transformToString()).toBe('three');
  });

  test('parallel If-None-Match: * PUTs of one key: exactly one wins, the others get 412 or 409', async () => {
    const b = await newBucket('race');
    // Bodies of a few segments, so the writes overlap and most pass the check on arrival.
    const bodies = Array.from({ length: 6 }, (_, i) => bytes(2 * MiB + i, `race-${i}`));
    const results = await Promise.allSettled(bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: b, Key: 'once', Body, IfNoneMatch: '*' }))));
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners.length).toBe(1);
    for (const r of results) {
      if (r.status === 'rejected') {
        const e = r.reason as S3ServiceException;
        expect(['PreconditionFailed', 'ConditionalRequestConflict']).toContain(e.name);
        expect([412, 409]).toContain(e.$metadata.httpStatusCode);
      }
    }
    const got = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'once' }));
    expect(md5Hex(Buffer.from(await got.Body!.transformToByteArray()))).toBe(md5Hex(bodies[winners[0]!]!));
  });

  // compat: CompleteMultipartUpload If-None-Match
  test('CompleteMultipartUpload with If-None-Match: * : two racing uploads of a key, one wins', async () => {
    const b = await newBucket('cw-mpu');
    const complete = async (seed: string) => {
      const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'k' }));
      const body = bytes(1000, seed);
      const part = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'k', UploadId: up.UploadId, PartNumber: 1, Body: body }));
      return { up, part };
    };
    const [x, y] = [await complete('x'), await complete('y')];
    const send = (u: typeof x) => s3.send(new CompleteMultipartUploadCommand({
      Bucket: b, Key: 'k', UploadId: u.up.UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: u.part.ETag }] },
    }));
    const results = await Promise.allSettled([send(x), send(y)]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    // Once the key exists, a conditional completion is refused on arrival.
    const z = await complete('z');
    expect(await s3Error(send(z))).toEqual({ code: 'PreconditionFailed', status: 412 });
  });
});

describe('tagging', () => {
  // compat: GetObjectTagging
  // compat: PutObjectTagging
  // compat: DeleteObjectTagging
  // compat: PutObject x-amz-tagging
  test('Put/Get/DeleteObjectTagging, x-amz-tagging on PutObject, x-amz-tagging-count on GET and HEAD', async () => {
    const b = await newBucket('tag');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', Tagging: 'a=1&b=two%20words' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'k' }))).TagSet).toEqual([{ Key: 'a', Value: '1' }, { Key: 'b', Value: 'two words' }]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }))).TagCount).toBe(2);
    const tagSet: Tag[] = [{ Key: 'é & <x>', Value: '' }, { Key: 'k'.repeat(128), Value: 'v'.repeat(256) }, { Key: 'c', Value: '3' }];
    await s3.send(new PutObjectTaggingCommand({ Bucket: b, Key: 'k', Tagging: { TagSet: tagSet } }));
    // Answered in key order, whatever order they were written in.
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'k' }))).TagSet).toEqual([tagSet[2], tagSet[1], tagSet[0]]);
    expect((await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k' }))).TagCount).toBe(3);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: b, Key: 'k' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'k' }))).TagSet ?? []).toEqual([]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }))).TagCount).toBeUndefined();
    // An overwrite starts without tags.
    await s3.send(new PutObjectTaggingCommand({ Bucket: b, Key: 'k', Tagging: { TagSet: [{ Key: 'a', Value: '1' }] } }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'y' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'k' }))).TagSet ?? []).toEqual([]);
    expect(await s3Error(s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'missing' })))).toEqual({ code: 'NoSuchKey', status: 404 });
  });

  test('AWS limits: 10 tags, keys of 128 and values of 256 characters, unique keys: InvalidTag', async () => {
    const b = await newBucket('tag-limits');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
    const ten = Array.from({ length: 10 }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: b, Key: 'k', Tagging: { TagSet: ten } }));
    const bad: Array<[string, Tag[]]> = [
      ['11 tags', [...ten, { Key: 'k10', Value: '' }]],
      ['key of 129', [{ Key: 'k'.repeat(129), Value: '' }]],
      ['value of 257', [{ Key: 'k', Value: 'v'.repeat(257) }]],
      ['duplicate key', [{ Key: 'k', Value: '1' }, { Key: 'k', Value: '2' }]],
    ];
    for (const [why, TagSet] of bad) {
      expect(await s3Error(s3.send(new PutObjectTaggingCommand({ Bucket: b, Key: 'k', Tagging: { TagSet } }))), why).toEqual({ code: 'InvalidTag', status: 400 });
    }
    const header = Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&');
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'h', Body: 'x', Tagging: header })))).toEqual({ code: 'InvalidTag', status: 400 });
    expect(await keysOf(b)).toEqual(['k']);
  });

  test('CreateMultipartUpload with x-amz-tagging: the completed object has the tags', async () => {
    const b = await newBucket('tag-mpu');
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'm', Tagging: 'from=upload' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'm', UploadId: up.UploadId, PartNumber: 1, Body: 'only part' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'm', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'm' }))).TagSet).toEqual([{ Key: 'from', Value: 'upload' }]);
  });

  // compat: GetBucketTagging
  // compat: PutBucketTagging
  // compat: DeleteBucketTagging
  test('Put/Get/DeleteBucketTagging; a bucket without tags answers NoSuchTagSet', async () => {
    const b = await newBucket('btag');
    expect(await s3Error(s3.send(new GetBucketTaggingCommand({ Bucket: b })))).toEqual({ code: 'NoSuchTagSet', status: 404 });
    const TagSet = [{ Key: 'team', Value: 'storage' }, { Key: 'cost centre', Value: '42' }];
    await s3.send(new PutBucketTaggingCommand({ Bucket: b, Tagging: { TagSet } }));
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: b }))).TagSet).toEqual([TagSet[1], TagSet[0]]);
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: '' }));
    expect(await s3Error(s3.send(new PutBucketTaggingCommand({ Bucket: b, Tagging: { TagSet: tooMany } })))).toEqual({ code: 'InvalidTag', status: 400 });
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: b }));
    expect(await s3Error(s3.send(new GetBucketTaggingCommand({ Bucket: b })))).toEqual({ code: 'NoSuchTagSet', status: 404 });
  });
});

// Group commit is SQLite's (one WAL flush for many commits); on PostgreSQL every COMMIT is
// the server's own flush, which it groups itself, and the gateway counts none.
describe.skipIf(process.env.SHARDGATE_TEST_META === 'postgres')('group commit', () => {
  test('concurrent writes are acknowledged after shared metadata flushes (shardgate_meta_flushes_total)', async () => {
    const flushes = async (): Promise<number> => {
      const signed = aws4.sign({ host: new URL(cluster.endpoint).host, method: 'GET', path: '/_shardgate/metrics', service: 's3', region: 'us-east-1' },
        { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
      const res = await fetch(`${cluster.endpoint}/_shardgate/metrics`, { headers: signed.headers as Record<string, string> });
      expect(res.status).toBe(200);
      return Number(/^shardgate_meta_flushes_total (\d+)$/m.exec(await res.text())?.[1]);
    };
    const b = await newBucket('group');
    const before = await flushes();
    await Promise.all(Array.from({ length: 16 }, (_, i) => s3.send(new PutObjectCommand({ Bucket: b, Key: `k${i}`, Body: `v${i}` }))));
    const used = (await flushes()) - before;
    console.log(`16 concurrent PUTs acknowledged after ${used} metadata flushes`);
    // Every acknowledged write was flushed (each answer waits for one), and writes share them.
    expect(used).toBeGreaterThanOrEqual(1);
    expect(used).toBeLessThanOrEqual(16 + 2);
    expect(await keysOf(b)).toHaveLength(16);
  });
});
