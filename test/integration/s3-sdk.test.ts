/**
 * The gateway as the AWS SDK for JavaScript v3 sees it: every operation of the foundation
 * issue against a real cluster (16 shard-store processes and a gateway process on loopback),
 * with the exact error codes and statuses AWS S3 answers.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand,
  DeleteBucketCommand, DeleteObjectCommand, GetBucketLocationCommand, GetObjectCommand, HeadBucketCommand,
  DeleteBucketEncryptionCommand, GetBucketEncryptionCommand, PutBucketEncryptionCommand, GetBucketRequestPaymentCommand, GetObjectAttributesCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand,
  S3Client, UploadPartCommand, type ChecksumAlgorithm, type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import aws4 from 'aws4';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { ChecksumSet } from '../../gateway/checksums.js';
import { bucketFactory, bytes, crc32B64, md5B64, md5Hex, s3Error } from '../helpers/s3.js';

const MiB = 1024 * 1024;
/** The gateway's default plaintext segment size (codec/layout.ts DEFAULT_SEGMENT_SIZE). */
const SEGMENT = 4 * MiB;
/** The smallest part AWS accepts before the last one. */
const MIN_PART = 5 * MiB;

let cluster: Cluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  s3 = cluster.client();
});




const newBucket = bucketFactory(() => s3, 'sdk');

async function bodyOf(res: GetObjectCommandOutput): Promise<Buffer> {
  return Buffer.from(await res.Body!.transformToByteArray());
}

async function getBytes(bucket: string, key: string, extra: { Range?: string; PartNumber?: number } = {}): Promise<Buffer> {
  return bodyOf(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra })));
}

async function listAllV2(bucket: string, extra: { Prefix?: string; Delimiter?: string; MaxKeys?: number } = {}): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...extra, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((c) => c.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

describe('buckets', () => {
  // compat: ListBuckets
  // compat: CreateBucket
  // compat: HeadBucket
  // compat: DeleteBucket
  // compat: GetBucketLocation
  // compat: GetBucketRequestPayment
  test('CreateBucket, ListBuckets, HeadBucket, GetBucketLocation, DeleteBucket', async () => {
    const name = await newBucket('life');
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toContain(name);
    expect(list.Owner?.ID).toBeTruthy();
    const head = await s3.send(new HeadBucketCommand({ Bucket: name }));
    expect(head.$metadata.httpStatusCode).toBe(200);
    expect(head.BucketRegion).toBe('us-east-1');
    // us-east-1 answers an empty LocationConstraint, as AWS does.
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: name }));
    expect(loc.LocationConstraint ?? '').toBe('');
    expect((await s3.send(new GetBucketRequestPaymentCommand({ Bucket: name }))).Payer).toBe('BucketOwner');
    const del = await s3.send(new DeleteBucketCommand({ Bucket: name }));
    expect(del.$metadata.httpStatusCode).toBe(204);
    expect(await s3Error(s3.send(new HeadBucketCommand({ Bucket: name })))).toEqual({ code: 'NotFound', status: 404 });
    expect(await s3Error(s3.send(new DeleteBucketCommand({ Bucket: name })))).toEqual({ code: 'NoSuchBucket', status: 404 });
    expect(await s3Error(s3.send(new ListObjectsV2Command({ Bucket: name })))).toEqual({ code: 'NoSuchBucket', status: 404 });
  });

  // compat: CreateBucket
  test('bucket name rules: InvalidBucketName', async () => {
    const bad = ['ab', 'a'.repeat(64), 'Upper-Case', 'under_score', 'a..b', '192.168.5.4', '-lead', 'trail-', 'xn--idn', 'name-s3alias'];
    for (const name of bad) {
      expect(await s3Error(s3.send(new CreateBucketCommand({ Bucket: name }))), name).toEqual({ code: 'InvalidBucketName', status: 400 });
    }
    // The limits themselves are valid.
    for (const name of ['abc', 'a'.repeat(63), 'dots.and-dashes.1']) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      await s3.send(new DeleteBucketCommand({ Bucket: name }));
    }
  });

  // compat: CreateBucket LocationConstraint
  test('a location constraint other than the gateway region is refused', async () => {
    const err = await s3Error(s3.send(new CreateBucketCommand({ Bucket: 'sdk-elsewhere', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })));
    expect(err).toEqual({ code: 'IllegalLocationConstraintException', status: 400 });
  });

  // compat: GetBucketEncryption
  // compat: PutBucketEncryption
  // compat: DeleteBucketEncryption
  test('bucket encryption: every bucket reports AES256, accepts it again, refuses KMS', async () => {
    const b = await newBucket('enc');
    const rules = async () => (await s3.send(new GetBucketEncryptionCommand({ Bucket: b }))).ServerSideEncryptionConfiguration?.Rules
      ?.map((r) => r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm);
    expect(await rules()).toEqual(['AES256']);
    await s3.send(new PutBucketEncryptionCommand({ Bucket: b, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } }));
    expect(await s3Error(s3.send(new PutBucketEncryptionCommand({
      Bucket: b, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'k' } }] },
    })))).toEqual({ code: 'NotImplemented', status: 501 });
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: b }));
    expect(await rules()).toEqual(['AES256']);
  });

  test('DeleteBucket on a bucket with objects: BucketNotEmpty', async () => {
    const name = await newBucket('notempty');
    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'x', Body: 'x' }));
    expect(await s3Error(s3.send(new DeleteBucketCommand({ Bucket: name })))).toEqual({ code: 'BucketNotEmpty', status: 409 });
    await s3.send(new DeleteObjectCommand({ Bucket: name, Key: 'x' }));
    await s3.send(new DeleteBucketCommand({ Bucket: name }));
  });
});

// compat: ListObjectsV2
// compat: ListObjects
describe('ListObjectsV2 and ListObjects', () => {
  test('30 keys in pages of 7: every truncated page carries NextContinuationToken', async () => {
    const b = await newBucket('page');
    const keys = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((k) => s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: k }))));
    const seen: string[] = [];
    const sizes: number[] = [];
    let token: string | undefined;
    for (;;) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: b, MaxKeys: 7, ContinuationToken: token }));
      expect(page.MaxKeys).toBe(7);
      expect(page.KeyCount).toBe(page.Contents?.length ?? 0);
      expect(page.ContinuationToken).toBe(token);
      sizes.push(page.Contents?.length ?? 0);
      seen.push(...(page.Contents ?? []).map((c) => c.Key!));
      if (!page.IsTruncated) {
        expect(page.NextContinuationToken).toBeUndefined();
        break;
      }
      expect(page.NextContinuationToken).toBeTruthy();
      token = page.NextContinuationToken;
    }
    expect(sizes).toEqual([7, 7, 7, 7, 2]);
    expect(seen).toEqual(keys);
    const first = await s3.send(new ListObjectsV2Command({ Bucket: b, MaxKeys: 1 }));
    expect(first.Contents?.[0]).toMatchObject({ Key: 'k000', Size: 4, ETag: `"${md5Hex(Buffer.from('k000'))}"`, StorageClass: 'STANDARD' });
    expect(first.Contents?.[0]?.Owner).toBeUndefined();
    // start-after skips up to and including the given key; fetch-owner adds Owner.
    const after = await s3.send(new ListObjectsV2Command({ Bucket: b, StartAfter: 'k025', FetchOwner: true }));
    expect(after.StartAfter).toBe('k025');
    expect(after.Contents?.map((c) => c.Key)).toEqual(['k026', 'k027', 'k028', 'k029']);
    expect(after.Contents?.[0]?.Owner?.ID).toBeTruthy();
    // max-keys=0: an empty, untruncated page, as AWS answers.
    const zero = await s3.send(new ListObjectsV2Command({ Bucket: b, MaxKeys: 0 }));
    expect(zero.KeyCount).toBe(0);
    expect(zero.IsTruncated).toBe(false);
    expect(await s3Error(s3.send(new ListObjectsV2Command({ Bucket: b, ContinuationToken: 'not-a-token' })))).toEqual({ code: 'InvalidArgument', status: 400 });
  });

  test('prefix and delimiter: CommonPrefixes end with the delimiter and page too', async () => {
    const b = await newBucket('delim');
    const keys = ['a/1', 'a/2', 'b/x/1', 'b/y', 'c', 'd/', 'e'];
    await Promise.all(keys.map((k) => s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: '', ContentLength: 0 }))));
    const root = await s3.send(new ListObjectsV2Command({ Bucket: b, Delimiter: '/' }));
    expect(root.Delimiter).toBe('/');
    expect(root.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/', 'd/']);
    expect(root.Contents?.map((c) => c.Key)).toEqual(['c', 'e']);
    expect(root.KeyCount).toBe(5);
    const sub = await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'b/', Delimiter: '/' }));
    expect(sub.Prefix).toBe('b/');
    expect(sub.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['b/x/']);
    expect(sub.Contents?.map((c) => c.Key)).toEqual(['b/y']);
    // One entry per page, prefixes and keys alike, with no entry repeated or lost.
    const entries: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: b, Delimiter: '/', MaxKeys: 1, ContinuationToken: token }));
      entries.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!), ...(page.Contents ?? []).map((c) => c.Key!));
      if (page.IsTruncated) expect(page.NextContinuationToken).toBeTruthy();
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(entries).toEqual(['a/', 'b/', 'c', 'd/', 'e']);
    expect(await listAllV2(b, { Prefix: 'a' })).toEqual(['a/1', 'a/2']);
    expect(await listAllV2(b, { Prefix: 'zzz' })).toEqual([]);
  });

  test('ListObjects v1 pages with marker and NextMarker', async () => {
    const b = await newBucket('v1');
    const keys = Array.from({ length: 30 }, (_, i) => `m/${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((k) => s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: 'v' }))));
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await s3.send(new ListObjectsCommand({ Bucket: b, MaxKeys: 7, Marker: marker }));
      expect(page.Marker ?? '').toBe(marker ?? '');
      const got = (page.Contents ?? []).map((c) => c.Key!);
      seen.push(...got);
      if (!page.IsTruncated) break;
      marker = page.NextMarker ?? got[got.length - 1];
    }
    expect(seen).toEqual(keys);
    const withDelim = await s3.send(new ListObjectsCommand({ Bucket: b, Delimiter: '/' }));
    expect(withDelim.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['m/']);
    const afterMarker = await s3.send(new ListObjectsCommand({ Bucket: b, Marker: 'm/27' }));
    expect(afterMarker.Contents?.map((c) => c.Key)).toEqual(['m/28', 'm/29']);
    expect(afterMarker.Contents?.[0]?.Owner?.ID).toBeTruthy();
  });

  test('an empty continuation token lists from the start; v1 echoes its Prefix as given', async () => {
    const b = await newBucket('tok');
    for (const k of ['bar', 'baz', 'foo']) await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: '' }));
    const res = await s3.send(new ListObjectsV2Command({ Bucket: b, ContinuationToken: '' }));
    expect(res.Contents?.map((c) => c.Key)).toEqual(['bar', 'baz', 'foo']);
    expect(res.ContinuationToken).toBe('');
    expect(res.IsTruncated).toBe(false);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: b, Prefix: 'no such/é', EncodingType: 'url' }));
    expect(v1.Prefix).toBe('no such/é');
    expect(v1.Contents ?? []).toEqual([]);
  });

  test('encoding-type=url encodes keys and prefixes in the answer', async () => {
    const b = await newBucket('enc');
    const keys = ['sp ace/x', 'é/ü', 'plain', 'a+b&c'];
    for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: '', ContentLength: 0 }));
    const res = await s3.send(new ListObjectsV2Command({ Bucket: b, EncodingType: 'url' }));
    expect(res.EncodingType).toBe('url');
    // The SDK leaves decoding to the caller. AWS form-encodes (space as +), which is what
    // botocore's unquote_plus undoes.
    const listed = (res.Contents ?? []).map((c) => c.Key!);
    expect(listed).toEqual(['a%2Bb%26c', 'plain', 'sp+ace/x', '%C3%A9/%C3%BC']);
    expect(listed.map((k) => decodeURIComponent(k.replace(/\+/g, ' ')))).toEqual(['a+b&c', 'plain', 'sp ace/x', 'é/ü']);
    const delim = await s3.send(new ListObjectsV2Command({ Bucket: b, EncodingType: 'url', Delimiter: '/' }));
    expect(delim.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['sp+ace/', '%C3%A9/']);
    expect(await s3Error(s3.send(new ListObjectsV2Command({ Bucket: b, EncodingType: 'gzip' as 'url' })))).toEqual({ code: 'InvalidArgument', status: 400 });
  });
});

describe('objects', () => {
  // Sizes on the segment thresholds: empty, one byte, one byte short of a segment, exactly
  // one segment, one segment and one byte (a second, 1-byte segment), several segments.
  test.each([
    ['empty', 0], ['one byte', 1], ['segment - 1', SEGMENT - 1], ['one segment', SEGMENT],
    ['segment + 1', SEGMENT + 1], ['2.5 segments', 2.5 * SEGMENT],
  ])('PutObject/GetObject round trip: %s (%i bytes)', async (_name, size) => {
    const b = await newBucket('size');
    const data = bytes(size, `size-${size}`);
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'obj', Body: data }));
    // The ETag is the MD5 of the plaintext the client sent, never of what is stored.
    expect(put.ETag).toBe(`"${md5Hex(data)}"`);
    const res = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'obj' }));
    expect(res.ContentLength).toBe(size);
    expect(res.ETag).toBe(put.ETag);
    const got = await bodyOf(res);
    expect(got.length).toBe(size);
    expect(got.equals(data)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'obj' }));
    expect(head.ContentLength).toBe(size);
    expect(head.ContentType).toBe('application/octet-stream');
    expect(head.AcceptRanges).toBe('bytes');
  });

  // compat: SigV4 aws-chunked
  test('a streamed body (aws-chunked with a CRC32 or CRC64NVME trailer): the trailer never ends up in the object', async () => {
    const b = await newBucket('stream');
    const data = bytes(SEGMENT + 12345, 'stream');
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 's', Body: Readable.from([data.subarray(0, 1000), data.subarray(1000)]), ContentLength: data.length }));
    expect(put.ETag).toBe(`"${md5Hex(data)}"`);
    expect(put.ChecksumCRC32).toBe(crc32B64(data));
    const res = await s3.send(new GetObjectCommand({ Bucket: b, Key: 's', ChecksumMode: 'ENABLED' }));
    expect(res.ContentLength).toBe(data.length);
    expect(res.ChecksumCRC32).toBe(crc32B64(data));
    expect((await bodyOf(res)).equals(data)).toBe(true);
    // The CRC64NVME trailer that aws-cli v2 sends by default.
    const nvme = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'n', Body: Readable.from([data]), ContentLength: data.length, ChecksumAlgorithm: 'CRC64NVME' }));
    expect(nvme.ChecksumCRC64NVME).toBeTruthy();
    const back = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'n', ChecksumMode: 'ENABLED' }));
    expect(back.ChecksumCRC64NVME).toBe(nvme.ChecksumCRC64NVME);
    expect((await bodyOf(back)).equals(data)).toBe(true);
  });

  // compat: GetObject
  // compat: HeadObject
  test('GetObject/HeadObject of a missing key: NoSuchKey / 404', async () => {
    const b = await newBucket('missing');
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'nope' })))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'nope' })))).toEqual({ code: 'NotFound', status: 404 });
    // Deleting what does not exist succeeds, as on AWS.
    expect((await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'nope' }))).$metadata.httpStatusCode).toBe(204);
  });

  // compat: PutObject
  // compat: DeleteObject
  test('overwrite replaces the object, delete removes it', async () => {
    const b = await newBucket('overwrite');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'first' }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'second!' }));
    expect((await getBytes(b, 'k')).toString()).toBe('second!');
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k' }));
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'k' })))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(await listAllV2(b)).toEqual([]);
  });

  // compat: PutObject system metadata
  test('Content-Type, Content-Encoding, Cache-Control, Content-Disposition, Expires and x-amz-meta-* round-trip', async () => {
    const b = await newBucket('meta');
    const expires = new Date('2031-05-06T07:08:09Z');
    await s3.send(new PutObjectCommand({
      Bucket: b, Key: 'm', Body: 'payload',
      ContentType: 'text/x-shardgate; charset=utf-8', ContentEncoding: 'gzip', CacheControl: 'max-age=3600, private',
      ContentDisposition: 'attachment; filename="report.txt"', ContentLanguage: 'fr-CA', Expires: expires,
      Metadata: { color: 'blue', 'with-dash': 'two words', empty: '' },
    }));
    for (const res of [
      await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'm' })),
      await s3.send(new GetObjectCommand({ Bucket: b, Key: 'm' })),
    ]) {
      expect(res.ContentType).toBe('text/x-shardgate; charset=utf-8');
      expect(res.ContentEncoding).toBe('gzip');
      expect(res.CacheControl).toBe('max-age=3600, private');
      expect(res.ContentDisposition).toBe('attachment; filename="report.txt"');
      expect(res.ContentLanguage).toBe('fr-CA');
      expect(res.Expires?.getTime()).toBe(expires.getTime());
      expect(res.Metadata).toEqual({ color: 'blue', 'with-dash': 'two words', empty: '' });
      expect(res.LastModified).toBeInstanceOf(Date);
    }
    // response-* query parameters override what GET answers.
    const over = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'm', ResponseContentType: 'application/json', ResponseCacheControl: 'no-store' }));
    expect(over.ContentType).toBe('application/json');
    expect(over.CacheControl).toBe('no-store');
    await bodyOf(over);
  });

  // compat: PutObject Content-MD5
  test('Content-MD5 is verified: good, mismatched (BadDigest), malformed (InvalidDigest)', async () => {
    const b = await newBucket('md5');
    const data = Buffer.from('checked bytes');
    const ok = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'ok', Body: data, ContentMD5: md5B64(data) }));
    expect(ok.ETag).toBe(`"${md5Hex(data)}"`);
    const wrong = md5B64(Buffer.from('other bytes'));
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'bad', Body: data, ContentMD5: wrong })))).toEqual({ code: 'BadDigest', status: 400 });
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'bad', Body: data, ContentMD5: 'bm90LW1kNQ==' })))).toEqual({ code: 'InvalidDigest', status: 400 });
    // A failed upload leaves nothing behind.
    expect(await listAllV2(b)).toEqual(['ok']);
  });

  test.each(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as ChecksumAlgorithm[])(
    // compat: PutObject x-amz-checksum
    // compat: GetObject x-amz-checksum-mode
    'x-amz-checksum-%s is verified, stored and returned with ChecksumMode ENABLED', async (alg) => {
      const b = await newBucket(`ck-${alg.toLowerCase()}`);
      const data = bytes(100_000, alg);
      const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'c', Body: data, ChecksumAlgorithm: alg }));
      const field = `Checksum${alg}` as const;
      expect(put[field]).toBeTruthy();
      // The SDK verifies the returned checksum against the body it reads.
      const res = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'c', ChecksumMode: 'ENABLED' }));
      expect(res[field]).toBe(put[field]);
      expect(res.ChecksumType).toBe('FULL_OBJECT');
      expect((await bodyOf(res)).equals(data)).toBe(true);
      const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'c', ChecksumMode: 'ENABLED' }));
      expect(head[field]).toBe(put[field]);
    });

  // compat: PutObject x-amz-checksum
  test('a wrong x-amz-checksum value: BadDigest, nothing stored', async () => {
    const b = await newBucket('ck-bad');
    const data = Buffer.from('some bytes');
    expect(crc32B64(data)).not.toBe('AAAAAA==');
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'c', Body: data, ChecksumCRC32: 'AAAAAA==' })))).toEqual({ code: 'BadDigest', status: 400 });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'c' })))).toEqual({ code: 'NotFound', status: 404 });
    const ok = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'c', Body: data, ChecksumCRC32: crc32B64(data) }));
    expect(ok.ChecksumCRC32).toBe(crc32B64(data));
  });

  test('PutObject into a missing bucket: NoSuchBucket; a 1025-byte key: KeyTooLongError', async () => {
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: 'sdk-no-such-bucket', Key: 'k', Body: 'x' })))).toEqual({ code: 'NoSuchBucket', status: 404 });
    const b = await newBucket('keylen');
    // 1024 bytes of UTF-8 is the limit.
    const longest = 'é'.repeat(512);
    await s3.send(new PutObjectCommand({ Bucket: b, Key: longest, Body: 'x' }));
    expect((await getBytes(b, longest)).toString()).toBe('x');
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: `${longest}a`, Body: 'x' })))).toEqual({ code: 'KeyTooLongError', status: 400 });
  });

  // compat: PutObject x-amz-storage-class
  test('x-amz-storage-class: any class S3 knows is taken (and stored as STANDARD); an unknown one is InvalidStorageClass', async () => {
    const b = await newBucket('class');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'ia', Body: 'x', StorageClass: 'STANDARD_IA' }));
    expect((await getBytes(b, 'ia')).toString()).toBe('x');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: b }));
    expect(listed.Contents?.map((c) => c.StorageClass)).toEqual(['STANDARD']);
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'bad', Body: 'x', StorageClass: 'PLATINUM' as 'STANDARD' }))))
      .toEqual({ code: 'InvalidStorageClass', status: 400 });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'bad' })))).toEqual({ code: 'NotFound', status: 404 });
  });

  // compat: PutObject x-amz-server-side-encryption
  test('every object reports AES256 server-side encryption; asking for AES256 works, for KMS is refused', async () => {
    const b = await newBucket('sse');
    expect((await s3.send(new PutObjectCommand({ Bucket: b, Key: 'plain', Body: 'x' }))).ServerSideEncryption).toBe('AES256');
    expect((await s3.send(new PutObjectCommand({ Bucket: b, Key: 'asked', Body: 'y', ServerSideEncryption: 'AES256' }))).ServerSideEncryption).toBe('AES256');
    expect((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'plain' }))).ServerSideEncryption).toBe('AES256');
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'kms', Body: 'z', ServerSideEncryption: 'aws:kms' }))))
      .toEqual({ code: 'NotImplemented', status: 501 });
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'odd', Body: 'z', ServerSideEncryption: 'rot13' as 'AES256' }))))
      .toEqual({ code: 'InvalidArgument', status: 400 });
  });

  // compat: GetObject conditional headers
  test('conditional GET/HEAD: If-None-Match → 304, If-Match mismatch → 412 PreconditionFailed', async () => {
    const b = await newBucket('cond');
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'c', Body: 'conditional' }));
    const etag = put.ETag!;
    expect((await bodyOf(await s3.send(new GetObjectCommand({ Bucket: b, Key: 'c', IfMatch: etag })))).toString()).toBe('conditional');
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'c', IfNoneMatch: etag })))).toMatchObject({ status: 304 });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'c', IfNoneMatch: etag })))).toMatchObject({ status: 304 });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'c', IfMatch: '"0123"' })))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'c', IfModifiedSince: new Date(Date.now() + 3600_000) })))).toMatchObject({ status: 304 });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'c', IfUnmodifiedSince: new Date(Date.now() - 3600_000) })))).toEqual({ code: 'PreconditionFailed', status: 412 });
  });

  // compat: Expect 100-continue
  test('Expect: 100-continue: the gateway asks for the body and stores it', async () => {
    const b = await newBucket('expect');
    const data = bytes(300_000, 'expect');
    const { host, port } = new URL(cluster.endpoint);
    const signed = aws4.sign({
      host, method: 'PUT', path: `/${b}/continued`, service: 's3', region: 'us-east-1',
      headers: { 'content-length': String(data.length), expect: '100-continue', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
    const req = request({ host: '127.0.0.1', port: Number(port), method: 'PUT', path: signed.path, headers: signed.headers as Record<string, string> });
    const asked = once(req, 'continue');
    const answered = once(req, 'response') as Promise<[IncomingMessage]>;
    req.flushHeaders();
    await asked;
    req.end(data);
    const [res] = await answered;
    res.resume();
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe(`"${md5Hex(data)}"`);
    expect((await getBytes(b, 'continued')).equals(data)).toBe(true);
  });

  test('Expect: 100-continue: a request that will be refused is answered without asking for the body', async () => {
    const b = await newBucket('expect-refused');
    const { port } = new URL(cluster.endpoint);
    const req = request({
      host: '127.0.0.1', port: Number(port), method: 'PUT', path: `/${b}/nope`,
      headers: { 'content-length': '1000000', expect: '100-continue' },
    });
    let continued = false;
    req.on('continue', () => { continued = true; });
    const answered = once(req, 'response') as Promise<[IncomingMessage]>;
    req.flushHeaders();
    const [res] = await answered;
    res.resume();
    req.destroy();
    expect(res.statusCode).toBe(403);
    expect(continued).toBe(false);
  });

  // compat: Expect 100-continue
  test('an Expect other than 100-continue is 417 ExpectationFailed, an S3 error document, and nothing is stored', async () => {
    const b = await newBucket('expect-unknown');
    const { host, port } = new URL(cluster.endpoint);
    const signed = aws4.sign({
      host, method: 'PUT', path: `/${b}/odd`, service: 's3', region: 'us-east-1',
      headers: { 'content-length': '1', expect: '200-ok', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
    const req = request({ host: '127.0.0.1', port: Number(port), method: 'PUT', path: signed.path, headers: signed.headers as Record<string, string> });
    const answered = once(req, 'response') as Promise<[IncomingMessage]>;
    req.end('x');
    const [res] = await answered;
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    expect(res.statusCode).toBe(417);
    expect(res.headers['content-type']).toBe('application/xml');
    expect(body).toContain('<Code>ExpectationFailed</Code>');
    expect(body).toContain(`<RequestId>${String(res.headers['x-amz-request-id'])}</RequestId>`);
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'odd' })))).toEqual({ code: 'NotFound', status: 404 });
  });

  // compat: Transfer-Encoding chunked
  test('a body sent with Transfer-Encoding: chunked and no length (curl -T - from a pipe) is stored', async () => {
    const b = await newBucket('chunked');
    const { host, port } = new URL(cluster.endpoint);
    const signed = aws4.sign({
      host, method: 'PUT', path: `/${b}/piped`, service: 's3', region: 'us-east-1',
      headers: { 'transfer-encoding': 'chunked', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
    const req = request({ host: '127.0.0.1', port: Number(port), method: 'PUT', path: signed.path, headers: signed.headers as Record<string, string> });
    const answered = once(req, 'response') as Promise<[IncomingMessage]>;
    const parts = [bytes(70_000, 'c1'), bytes(5, 'c2'), bytes(300_000, 'c3')];
    for (const p of parts) req.write(p);
    req.end();
    const [res] = await answered;
    res.resume();
    expect(res.statusCode).toBe(200);
    expect((await getBytes(b, 'piped')).equals(Buffer.concat(parts))).toBe(true);
  });

  test('keys with spaces, unicode, XML-special characters and dir/ markers round-trip', async () => {
    const b = await newBucket('keys');
    const keys = [
      'with space.txt', 'unicodé/日本語/ключ', `&+-é"<>'`, 'per%cent', 'q?uery#frag', 'a//double', 'tab\there', 'dir/', 'dir/file', 'dir/sub/',
      '~tilde=eq;semi,comma:colon@at$dollar!bang*star(paren)[br]',
    ];
    for (const k of keys) {
      const body = k.endsWith('/') ? '' : `body of ${k}`;
      await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: body, ContentLength: Buffer.byteLength(body) }));
    }
    for (const k of keys) {
      expect((await getBytes(b, k)).toString(), k).toBe(k.endsWith('/') ? '' : `body of ${k}`);
    }
    const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(await listAllV2(b)).toEqual(sorted);
    expect(await listAllV2(b, { MaxKeys: 3 })).toEqual(sorted);
    // A zero-byte dir/ marker rolls up into its prefix, and lists as a key under it.
    const root = await s3.send(new ListObjectsV2Command({ Bucket: b, Delimiter: '/' }));
    expect(root.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'dir/', 'unicodé/']);
    const dir = await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'dir/', Delimiter: '/' }));
    expect(dir.Contents?.map((c) => [c.Key, c.Size])).toEqual([['dir/', 0], ['dir/file', 16]]);
    expect(dir.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['dir/sub/']);
    for (const k of keys) await s3.send(new DeleteObjectCommand({ Bucket: b, Key: k }));
    expect(await listAllV2(b)).toEqual([]);
    await s3.send(new DeleteBucketCommand({ Bucket: b }));
  });
});

// compat: GetObject Range
describe('Range', () => {
  test('single, suffix and open ranges; 416 InvalidRange', async () => {
    const b = await newBucket('range');
    const data = bytes(1000, 'range');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'r', Body: data }));
    const cases: Array<[string, number, number]> = [
      ['bytes=0-9', 0, 9], ['bytes=100-199', 100, 199], ['bytes=-10', 990, 999], ['bytes=990-', 990, 999],
      ['bytes=500-5000', 500, 999], ['bytes=-5000', 0, 999], ['bytes=999-999', 999, 999],
    ];
    for (const [range, start, end] of cases) {
      const res = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'r', Range: range }));
      expect(res.$metadata.httpStatusCode, range).toBe(206);
      expect(res.ContentRange, range).toBe(`bytes ${start}-${end}/1000`);
      expect(res.ContentLength, range).toBe(end - start + 1);
      expect((await bodyOf(res)).equals(data.subarray(start, end + 1)), range).toBe(true);
    }
    for (const range of ['bytes=1000-', 'bytes=1000-2000', 'bytes=-0']) {
      expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'r', Range: range }))), range).toEqual({ code: 'InvalidRange', status: 416 });
    }
    // A malformed or multi-range header is ignored: the whole object, 200.
    const whole = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'r', Range: 'bytes=0-1,5-6' }));
    expect(whole.$metadata.httpStatusCode).toBe(200);
    expect((await bodyOf(whole)).equals(data)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'r', Range: 'bytes=10-19' }));
    expect(head.ContentLength).toBe(10);
    expect(head.ContentRange).toBe('bytes 10-19/1000');
    // Any range of an empty object is unsatisfiable.
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'empty', Body: '', ContentLength: 0 }));
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'empty', Range: 'bytes=0-' })))).toEqual({ code: 'InvalidRange', status: 416 });
  });

  test('ranges across segment boundaries', async () => {
    const b = await newBucket('range-seg');
    const data = bytes(2 * SEGMENT + 1, 'range-seg');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'r', Body: data }));
    for (const [start, end] of [[SEGMENT - 10, SEGMENT + 9], [SEGMENT, SEGMENT], [2 * SEGMENT, 2 * SEGMENT], [1, 2 * SEGMENT - 1]] as const) {
      const got = await getBytes(b, 'r', { Range: `bytes=${start}-${end}` });
      expect(got.equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });
});

describe('buffer reuse', () => {
  test('concurrent whole and ranged GETs of objects of several sizes read back exact while the gateway reuses piece and body buffers', async () => {
    const b = await newBucket('reuse');
    // Streamed bodies (several segments) give each whole segment back once the socket wrote it.
    const sizes = [MiB, MiB + 12_345, 300_000, 70_000, SEGMENT + 1, 3 * SEGMENT + 777];
    const data = sizes.map((n, i) => bytes(n, `reuse-${i}`));
    await Promise.all(data.map((d, i) => s3.send(new PutObjectCommand({ Bucket: b, Key: `k${i}`, Body: d }))));
    const wrong: string[] = [];
    for (let round = 0; round < 6; round++) {
      await Promise.all(Array.from({ length: 24 }, async (_, j) => {
        const i = (round + j) % data.length;
        // A small range, and one across segment boundaries where the object has them.
        const [from, to] = j % 5 === 0 ? [100, 65_636] : j % 7 === 0 && sizes[i]! > 2 * SEGMENT ? [SEGMENT - 100, 2 * SEGMENT + 100] : [0, -1];
        const ranged = to >= 0;
        const got = await getBytes(b, `k${i}`, ranged ? { Range: `bytes=${from}-${to}` } : {});
        if (!got.equals(ranged ? data[i]!.subarray(from, to + 1) : data[i]!)) wrong.push(`k${i}${ranged ? ` bytes=${from}-${to}` : ''}`);
      }));
    }
    expect(wrong).toEqual([]);
  });
});

// compat: CreateMultipartUpload
// compat: UploadPart
// compat: CompleteMultipartUpload
// compat: ListParts
// compat: GetObject partNumber
describe('multipart', () => {
  async function uploadParts(b: string, key: string, parts: Buffer[]): Promise<{ uploadId: string; etags: string[] }> {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: key, ContentType: 'application/x-parts', Metadata: { origin: 'multipart' } }));
    expect(created.Bucket).toBe(b);
    expect(created.Key).toBe(key);
    const uploadId = created.UploadId!;
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const res = await s3.send(new UploadPartCommand({ Bucket: b, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body }));
      expect(res.ETag).toBe(`"${md5Hex(body)}"`);
      etags.push(res.ETag!);
    }
    return { uploadId, etags };
  }

  test('upload, ListParts, complete with an md5-of-md5s-N ETag, read whole and by partNumber', async () => {
    const b = await newBucket('mpu');
    const parts = [bytes(MIN_PART, 'p1'), bytes(MIN_PART + 3, 'p2'), bytes(1, 'p3')];
    const { uploadId, etags } = await uploadParts(b, 'big', parts);
    const listed = await s3.send(new ListPartsCommand({ Bucket: b, Key: 'big', UploadId: uploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual(parts.map((p, i) => [i + 1, etags[i], p.length]));
    expect(listed.IsTruncated).toBe(false);
    const page = await s3.send(new ListPartsCommand({ Bucket: b, Key: 'big', UploadId: uploadId, MaxParts: 2 }));
    expect(page.Parts?.map((p) => p.PartNumber)).toEqual([1, 2]);
    expect(page.IsTruncated).toBe(true);
    expect(page.NextPartNumberMarker).toBe('2');
    const rest = await s3.send(new ListPartsCommand({ Bucket: b, Key: 'big', UploadId: uploadId, PartNumberMarker: '2' }));
    expect(rest.Parts?.map((p) => p.PartNumber)).toEqual([3]);
    // Not visible before completion.
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'big' })))).toEqual({ code: 'NotFound', status: 404 });

    const done = await s3.send(new CompleteMultipartUploadCommand({
      Bucket: b, Key: 'big', UploadId: uploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    const expected = `"${createHash('md5').update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()))).digest('hex')}-3"`;
    expect(done.ETag).toBe(expected);
    expect(done.Key).toBe('big');
    const whole = Buffer.concat(parts);
    const res = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'big' }));
    expect(res.ETag).toBe(expected);
    expect(res.ContentType).toBe('application/x-parts');
    expect(res.Metadata).toEqual({ origin: 'multipart' });
    expect((await bodyOf(res)).equals(whole)).toBe(true);
    // partNumber on GET and HEAD: the part's bytes, 206, with the part count.
    const p2 = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'big', PartNumber: 2 }));
    expect(p2.$metadata.httpStatusCode).toBe(206);
    expect(p2.PartsCount).toBe(3);
    expect(p2.ContentRange).toBe(`bytes ${MIN_PART}-${2 * MIN_PART + 2}/${whole.length}`);
    expect((await bodyOf(p2)).equals(parts[1]!)).toBe(true);
    const h3 = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'big', PartNumber: 3 }));
    expect(h3.ContentLength).toBe(1);
    expect(h3.PartsCount).toBe(3);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'big', PartNumber: 4 })))).toEqual({ code: 'InvalidPartNumber', status: 416 });
    // A range across the part boundary.
    const across = await getBytes(b, 'big', { Range: `bytes=${MIN_PART - 5}-${MIN_PART + 4}` });
    expect(across.equals(whole.subarray(MIN_PART - 5, MIN_PART + 5))).toBe(true);
    // The upload is gone once completed.
    expect(await s3Error(s3.send(new ListPartsCommand({ Bucket: b, Key: 'big', UploadId: uploadId })))).toEqual({ code: 'NoSuchUpload', status: 404 });
    // A single-part object is its own part 1.
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'single', Body: 'one part' }));
    const single = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'single', PartNumber: 1 }));
    expect((await bodyOf(single)).toString()).toBe('one part');
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'single', PartNumber: 2 })))).toEqual({ code: 'InvalidPartNumber', status: 416 });
  });

  test('InvalidPart, InvalidPartOrder and EntityTooSmall', async () => {
    const b = await newBucket('mpu-err');
    const small = [bytes(1024, 's1'), bytes(1024, 's2')];
    const { uploadId, etags } = await uploadParts(b, 'k', small);
    const complete = (Parts: Array<{ ETag: string; PartNumber: number }>) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'k', UploadId: uploadId, MultipartUpload: { Parts } }));
    expect(await s3Error(complete([{ ETag: etags[0]!, PartNumber: 1 }, { ETag: `"${'0'.repeat(32)}"`, PartNumber: 2 }]))).toEqual({ code: 'InvalidPart', status: 400 });
    expect(await s3Error(complete([{ ETag: etags[0]!, PartNumber: 1 }, { ETag: etags[1]!, PartNumber: 7 }]))).toEqual({ code: 'InvalidPart', status: 400 });
    expect(await s3Error(complete([{ ETag: etags[1]!, PartNumber: 2 }, { ETag: etags[0]!, PartNumber: 1 }]))).toEqual({ code: 'InvalidPartOrder', status: 400 });
    // Every part but the last must be at least 5 MiB.
    expect(await s3Error(complete([{ ETag: etags[0]!, PartNumber: 1 }, { ETag: etags[1]!, PartNumber: 2 }]))).toEqual({ code: 'EntityTooSmall', status: 400 });
    // The upload survives failed completions; a single small part completes.
    const one = await complete([{ ETag: etags[0]!, PartNumber: 1 }]);
    expect(one.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect((await getBytes(b, 'k')).equals(small[0]!)).toBe(true);
  });

  test('with ChecksumAlgorithm CRC32 (what SDKs and aws-cli send by default): part checksums verified, GET checks out', async () => {
    const b = await newBucket('mpu-crc');
    const parts = [bytes(MIN_PART, 'c1'), bytes(1000, 'c2')];
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'k', ChecksumAlgorithm: 'CRC32' }));
    expect(created.ChecksumAlgorithm).toBe('CRC32');
    const done: Array<{ ETag: string; PartNumber: number; ChecksumCRC32: string }> = [];
    for (const [i, body] of parts.entries()) {
      const res = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'k', UploadId: created.UploadId, PartNumber: i + 1, Body: body, ChecksumAlgorithm: 'CRC32' }));
      expect(res.ChecksumCRC32).toBe(crc32B64(body));
      done.push({ ETag: res.ETag!, PartNumber: i + 1, ChecksumCRC32: res.ChecksumCRC32! });
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: b, Key: 'k', UploadId: created.UploadId }));
    expect(listed.Parts?.map((p) => p.ChecksumCRC32)).toEqual(done.map((p) => p.ChecksumCRC32));
    // A wrong part checksum on upload is refused like a wrong Content-MD5.
    expect(await s3Error(s3.send(new UploadPartCommand({ Bucket: b, Key: 'k', UploadId: created.UploadId, PartNumber: 3, Body: 'x', ChecksumCRC32: 'AAAAAA==' })))).toEqual({ code: 'BadDigest', status: 400 });
    // A part checksum listed in the Complete document must be the part's, like its ETag.
    const misquoted = done.map((p, i) => (i === 1 ? { ...p, ChecksumCRC32: crc32B64(Buffer.from('other')) } : p));
    expect(await s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'k', UploadId: created.UploadId, MultipartUpload: { Parts: misquoted } }))))
      .toEqual({ code: 'InvalidPart', status: 400 });
    const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'k', UploadId: created.UploadId, MultipartUpload: { Parts: done } }));
    // COMPOSITE, AWS's default type for CRC32: the CRC32 of the part CRC32s, then -<parts>.
    const composite = `${crc32B64(Buffer.concat(parts.map((p) => Buffer.from(crc32B64(p), 'base64'))))}-2`;
    expect(completed.ChecksumCRC32).toBe(composite);
    expect(completed.ChecksumType).toBe('COMPOSITE');
    const res = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', ChecksumMode: 'ENABLED' }));
    expect(res.ChecksumCRC32).toBe(composite);
    expect(res.ChecksumType).toBe('COMPOSITE');
    expect((await bodyOf(res)).equals(Buffer.concat(parts))).toBe(true);
  });

  // compat: GetObjectAttributes
  test('with CRC64NVME (FULL_OBJECT): the object checksum is the CRC of the whole object, combined from the parts', async () => {
    const b = await newBucket('mpu-crc64');
    const parts = [bytes(MIN_PART + 17, 'n1'), bytes(MIN_PART, 'n2'), bytes(1000, 'n3')];
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'k', ChecksumAlgorithm: 'CRC64NVME' }));
    const done: Array<{ ETag: string; PartNumber: number; ChecksumCRC64NVME: string }> = [];
    for (const [i, body] of parts.entries()) {
      const res = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'k', UploadId: created.UploadId, PartNumber: i + 1, Body: body, ChecksumAlgorithm: 'CRC64NVME' }));
      done.push({ ETag: res.ETag!, PartNumber: i + 1, ChecksumCRC64NVME: res.ChecksumCRC64NVME! });
    }
    const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'k', UploadId: created.UploadId, MultipartUpload: { Parts: done } }));
    const whole = new ChecksumSet(['CRC64NVME']);
    for (const p of parts) whole.update(p);
    const expected = whole.digest().CRC64NVME!;
    expect(completed.ChecksumCRC64NVME).toBe(expected);
    expect(completed.ChecksumType).toBe('FULL_OBJECT');
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumCRC64NVME).toBe(expected);
    expect(head.ChecksumType).toBe('FULL_OBJECT');
    // GetObjectAttributes tells the same without the bytes, parts included (paged).
    const attrs = await s3.send(new GetObjectAttributesCommand({
      Bucket: b, Key: 'k', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'], MaxParts: 2,
    }));
    expect(attrs.ETag).toBe(completed.ETag!.replace(/"/g, ''));
    expect(attrs.Checksum?.ChecksumCRC64NVME).toBe(expected);
    expect(attrs.ObjectSize).toBe(parts.reduce((n, p) => n + p.length, 0));
    expect(attrs.StorageClass).toBe('STANDARD');
    expect(attrs.ObjectParts?.TotalPartsCount).toBe(3);
    expect(attrs.ObjectParts?.IsTruncated).toBe(true);
    expect(attrs.ObjectParts?.Parts?.map((p) => p.Size)).toEqual([parts[0]!.length, parts[1]!.length]);
    expect(await s3Error(s3.send(new GetObjectAttributesCommand({ Bucket: b, Key: 'nope', ObjectAttributes: ['ETag'] })))).toEqual({ code: 'NoSuchKey', status: 404 });
    // SHA checksums cannot be combined into a whole-object value.
    expect(await s3Error(s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'sha', ChecksumAlgorithm: 'SHA256', ChecksumType: 'FULL_OBJECT' }))))
      .toEqual({ code: 'InvalidRequest', status: 400 });
  });

  // compat: AbortMultipartUpload
  test('AbortMultipartUpload discards the upload and its parts', async () => {
    const b = await newBucket('mpu-abort');
    const { uploadId } = await uploadParts(b, 'a', [bytes(2048, 'a1')]);
    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: b, Key: 'a', UploadId: uploadId }));
    expect(aborted.$metadata.httpStatusCode).toBe(204);
    expect(await s3Error(s3.send(new ListPartsCommand({ Bucket: b, Key: 'a', UploadId: uploadId })))).toEqual({ code: 'NoSuchUpload', status: 404 });
    expect(await s3Error(s3.send(new UploadPartCommand({ Bucket: b, Key: 'a', UploadId: uploadId, PartNumber: 2, Body: 'x' })))).toEqual({ code: 'NoSuchUpload', status: 404 });
    expect(await s3Error(s3.send(new CompleteMultipartUploadCommand({
      Bucket: b, Key: 'a', UploadId: uploadId, MultipartUpload: { Parts: [{ ETag: '"x"', PartNumber: 1 }] },
    })))).toEqual({ code: 'NoSuchUpload', status: 404 });
    expect(await s3Error(s3.send(new AbortMultipartUploadCommand({ Bucket: b, Key: 'a', UploadId: 'no-such-upload' })))).toEqual({ code: 'NoSuchUpload', status: 404 });
    expect(await listAllV2(b)).toEqual([]);
    // With no object and no upload left, the bucket deletes.
    await s3.send(new DeleteBucketCommand({ Bucket: b }));
  });
});

// compat: SigV4 headers
// compat: Error documents
describe('authentication', () => {
  test('a wrong secret: SignatureDoesNotMatch; an unknown key: InvalidAccessKeyId', async () => {
    const b = await newBucket('auth');
    const wrong = cluster.client({ credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: 'not-the-secret' } });
    expect(await s3Error(wrong.send(new ListBucketsCommand({})))).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    expect(await s3Error(wrong.send(new PutObjectCommand({ Bucket: b, Key: 'x', Body: 'x' })))).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    expect(await s3Error(wrong.send(new GetObjectCommand({ Bucket: b, Key: 'x' })))).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    const unknown = cluster.client({ credentials: { accessKeyId: 'AKIANOSUCHKEY0000000', secretAccessKey: SECRET_KEY } });
    expect(await s3Error(unknown.send(new ListBucketsCommand({})))).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
    expect(await listAllV2(b)).toEqual([]);
  });

  test('a clock 20 minutes off: RequestTimeTooSkewed', async () => {
    for (const offset of [-20 * 60_000, 20 * 60_000]) {
      const skewed = cluster.client({ systemClockOffset: offset });
      expect(await s3Error(skewed.send(new ListBucketsCommand({})))).toEqual({ code: 'RequestTimeTooSkewed', status: 403 });
    }
    // 10 minutes is within AWS's 15-minute tolerance.
    const close = cluster.client({ systemClockOffset: -10 * 60_000 });
    expect((await close.send(new ListBucketsCommand({}))).$metadata.httpStatusCode).toBe(200);
  });

  /** A presigned URL (query-string SigV4, UNSIGNED-PAYLOAD), signed with aws4. */
  function presign(method: string, path: string, opts: { expires?: number; signedAt?: Date } = {}): string {
    const q = new URLSearchParams({ 'X-Amz-Expires': String(opts.expires ?? 300) });
    if (opts.signedAt) q.set('X-Amz-Date', opts.signedAt.toISOString().replace(/[:-]|\.\d{3}/g, ''));
    const signed = aws4.sign(
      { host: new URL(cluster.endpoint).host, method, path: `${path}?${q.toString()}`, service: 's3', region: 'us-east-1', signQuery: true },
      { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    );
    return `${cluster.endpoint}${signed.path!}`;
  }

  const codeOf = (xml: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

  // compat: SigV4 presigned URLs
  test('presigned PUT and GET; an expired presign: AccessDenied', async () => {
    const b = await newBucket('presign');
    const data = bytes(70_000, 'presign');
    const put = await fetch(presign('PUT', `/${b}/pre%20signed`), { method: 'PUT', body: data });
    expect(put.status).toBe(200);
    expect(put.headers.get('etag')).toBe(`"${md5Hex(data)}"`);
    const get = await fetch(presign('GET', `/${b}/pre%20signed`));
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    // Signed two hours ago, valid for one minute.
    const expired = await fetch(presign('GET', `/${b}/pre%20signed`, { expires: 60, signedAt: new Date(Date.now() - 2 * 3600_000) }));
    expect(expired.status).toBe(403);
    expect(codeOf(await expired.text())).toBe('AccessDenied');
    // The error document, as AWS writes it, with the request id of the answer.
    const missing = await fetch(presign('GET', `/${b}/no%20such`));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/xml');
    const xml = await missing.text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\s*<Error><Code>NoSuchKey<\/Code><Message>[^<]+<\/Message>/);
    expect(xml).toContain('<Key>no such</Key>');
    expect(xml).toContain(`<RequestId>${missing.headers.get('x-amz-request-id')!}</RequestId>`);
    // Tampering with the signed query breaks the signature.
    const tampered = await fetch(presign('GET', `/${b}/pre%20signed`, { expires: 300 }).replace('X-Amz-Expires=300', 'X-Amz-Expires=301'));
    expect(tampered.status).toBe(403);
    expect(codeOf(await tampered.text())).toBe('SignatureDoesNotMatch');
  });

  // compat: Virtual-hosted-style addressing
  test('virtual-hosted-style addressing (bucket.localhost)', async () => {
    const b = await newBucket('vhost');
    const port = new URL(cluster.endpoint).port;
    const vh = cluster.client({ forcePathStyle: false, endpoint: `http://localhost:${port}` });
    // *.localhost does not resolve on every machine: connect to loopback, keeping the signed
    // Host header (bucket.localhost:PORT) the SDK chose.
    vh.middlewareStack.add((next) => async (args) => {
      const req = args.request as { hostname?: string; headers?: Record<string, string> };
      expect(req.headers?.host).toBe(`${b}.localhost:${port}`);
      req.hostname = '127.0.0.1';
      return next(args);
    }, { step: 'deserialize', name: 'connectToLoopback' });
    const put = await vh.send(new PutObjectCommand({ Bucket: b, Key: 'v/h key', Body: 'virtual' }));
    expect(put.ETag).toBe(`"${md5Hex(Buffer.from('virtual'))}"`);
    expect((await bodyOf(await vh.send(new GetObjectCommand({ Bucket: b, Key: 'v/h key' })))).toString()).toBe('virtual');
    const list = await vh.send(new ListObjectsV2Command({ Bucket: b }));
    expect(list.Name).toBe(b);
    expect(list.Contents?.map((c) => c.Key)).toEqual(['v/h key']);
    await vh.send(new DeleteObjectCommand({ Bucket: b, Key: 'v/h key' }));
    expect(await listAllV2(b)).toEqual([]);
  });
});
