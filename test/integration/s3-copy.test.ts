/**
 * CopyObject and UploadPartCopy through the AWS SDK v3 against a real cluster (16
 * shard-store processes and a gateway process on loopback).
 */
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, GetObjectCommand,
  GetObjectTaggingCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client, UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, bytes, crc32B64, md5Hex, s3Error } from '../helpers/s3.js';

const MiB = 1024 * 1024;
/** The gateway's default plaintext segment size (codec/layout.ts DEFAULT_SEGMENT_SIZE). */
const SEGMENT = 4 * MiB;
const MIN_PART = 5 * MiB;

let cluster: Cluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  s3 = cluster.client();
});



const newBucket = bucketFactory(() => s3, 'copy');

async function getBytes(bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** x-amz-copy-source: bucket/key, each URL-encoded (keys keep their slashes). */
const source = (bucket: string, key: string): string => `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

/** Peak resident memory of a process, from /proc (Linux). */
function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

// Keys with the characters that trip encoders: & + - é " and spaces.
const NASTY = 'dir/a & b+c-é "q" x.bin';

// compat: CopyObject
describe('CopyObject', () => {
  test('COPY keeps content type, user metadata and tags; the ETag is the MD5 of the bytes', async () => {
    const b = await newBucket('meta');
    // Two segments and one byte: the copy crosses segment boundaries on both sides.
    const data = bytes(2 * SEGMENT + 1, 'meta');
    await s3.send(new PutObjectCommand({
      Bucket: b, Key: NASTY, Body: data, ContentType: 'text/x-test', Metadata: { colour: 'blue' }, Tagging: 'k1=v1&k%202=v%202',
      CacheControl: 'max-age=60',
    }));
    const res = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'copy of it', CopySource: source(b, NASTY) }));
    expect(res.CopyObjectResult?.ETag).toBe(`"${md5Hex(data)}"`);
    expect(res.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'copy of it' }));
    expect(head.ContentType).toBe('text/x-test');
    expect(head.CacheControl).toBe('max-age=60');
    expect(head.Metadata).toEqual({ colour: 'blue' });
    expect(head.ContentLength).toBe(data.length);
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'copy of it' }));
    expect(tags.TagSet).toEqual([{ Key: 'k 2', Value: 'v 2' }, { Key: 'k1', Value: 'v1' }]);
    expect((await getBytes(b, 'copy of it')).equals(data)).toBe(true);
    // Across buckets of the same owner too.
    const other = await newBucket('meta-dst');
    await s3.send(new CopyObjectCommand({ Bucket: other, Key: NASTY, CopySource: source(b, NASTY) }));
    expect(md5Hex(await getBytes(other, NASTY))).toBe(md5Hex(data));
  });

  test('REPLACE takes metadata from the request; the tagging directive REPLACE takes its tags', async () => {
    const b = await newBucket('replace');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'src', Body: 'hello', ContentType: 'text/plain', Metadata: { a: '1' }, Tagging: 'old=1' }));
    await s3.send(new CopyObjectCommand({
      Bucket: b, Key: 'dst', CopySource: source(b, 'src'), MetadataDirective: 'REPLACE', ContentType: 'application/json',
      Metadata: { b: '2' }, TaggingDirective: 'REPLACE', Tagging: 'new=2',
    }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'dst' }));
    expect(head.ContentType).toBe('application/json');
    expect(head.Metadata).toEqual({ b: '2' });
    expect(head.TagCount).toBe(1);
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'dst' }))).TagSet).toEqual([{ Key: 'new', Value: '2' }]);
    // Unknown directives are refused before anything is copied.
    expect(await s3Error(s3.send(new CopyObjectCommand({ Bucket: b, Key: 'x', CopySource: source(b, 'src'), MetadataDirective: 'MOVE' as 'COPY' }))))
      .toEqual({ code: 'InvalidArgument', status: 400 });
  });

  test('a copy onto itself must change the metadata: InvalidRequest without REPLACE', async () => {
    const b = await newBucket('self');
    const data = bytes(1000, 'self');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: data, Metadata: { v: '1' } }));
    expect(await s3Error(s3.send(new CopyObjectCommand({ Bucket: b, Key: 'k', CopySource: source(b, 'k') }))))
      .toEqual({ code: 'InvalidRequest', status: 400 });
    await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'k', CopySource: source(b, 'k'), MetadataDirective: 'REPLACE', Metadata: { v: '2' } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }));
    expect(head.Metadata).toEqual({ v: '2' });
    expect((await getBytes(b, 'k')).equals(data)).toBe(true);
  });

  test('an older version copied onto its own key restores it (no metadata change needed)', async () => {
    const b = await newBucket('restore');
    await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
    const old = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'old', Metadata: { v: '1' } }));
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'new' }));
    const restored = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'k', CopySource: `${source(b, 'k')}?versionId=${old.VersionId}` }));
    expect(restored.VersionId).toBeDefined();
    expect(restored.CopySourceVersionId).toBe(old.VersionId);
    expect((await getBytes(b, 'k')).toString()).toBe('old');
    expect((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }))).Metadata).toEqual({ v: '1' });
  });

  test('a missing source is NoSuchKey, a missing source bucket NoSuchBucket', async () => {
    const b = await newBucket('missing');
    expect(await s3Error(s3.send(new CopyObjectCommand({ Bucket: b, Key: 'd', CopySource: source(b, 'nope') }))))
      .toEqual({ code: 'NoSuchKey', status: 404 });
    expect(await s3Error(s3.send(new CopyObjectCommand({ Bucket: b, Key: 'd', CopySource: source('no-such-bucket-here', 'k') }))))
      .toEqual({ code: 'NoSuchBucket', status: 404 });
  });

  test('copy-source conditions: 412 PreconditionFailed as AWS combines them', async () => {
    const b = await newBucket('cond');
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 's', Body: 'conditional' }));
    const etag = put.ETag!;
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    const copy = (extra: Partial<ConstructorParameters<typeof CopyObjectCommand>[0]>) =>
      s3.send(new CopyObjectCommand({ Bucket: b, Key: 'd', CopySource: source(b, 's'), ...extra }));
    const failed = { code: 'PreconditionFailed', status: 412 };
    expect(await s3Error(copy({ CopySourceIfMatch: '"0123456789abcdef0123456789abcdef"' }))).toEqual(failed);
    expect(await s3Error(copy({ CopySourceIfNoneMatch: etag }))).toEqual(failed);
    expect(await s3Error(copy({ CopySourceIfUnmodifiedSince: past }))).toEqual(failed);
    // Not modified since its own Last-Modified.
    const { LastModified } = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 's' }));
    expect(await s3Error(copy({ CopySourceIfModifiedSince: LastModified }))).toEqual(failed);
    // A matching If-Match wins over a failing If-Unmodified-Since.
    await copy({ CopySourceIfMatch: etag, CopySourceIfUnmodifiedSince: past });
    await copy({ CopySourceIfNoneMatch: '"other"', CopySourceIfModifiedSince: past, CopySourceIfUnmodifiedSince: future });
    expect((await getBytes(b, 'd')).toString()).toBe('conditional');
    // Destination conditions (conditional writes) apply to copies too.
    expect(await s3Error(copy({ IfNoneMatch: '*' }))).toEqual(failed);
  });

  test('a multipart source becomes a single-part copy: MD5 ETag, the source checksum algorithm recomputed', async () => {
    const b = await newBucket('mp');
    const parts = [bytes(MIN_PART, 'mp1'), bytes(123_457, 'mp2')];
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'big', ChecksumAlgorithm: 'CRC32' }));
    const done = [];
    for (const [i, p] of parts.entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'big', UploadId: up.UploadId, PartNumber: i + 1, Body: p, ChecksumAlgorithm: 'CRC32' }));
      done.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'big', UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
    const all = Buffer.concat(parts);
    const res = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'flat', CopySource: source(b, 'big') }));
    expect(res.CopyObjectResult?.ETag).toBe(`"${md5Hex(all)}"`);
    expect(res.CopyObjectResult?.ChecksumCRC32).toBe(crc32B64(all));
    const got = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'flat', ChecksumMode: 'ENABLED' }));
    expect(got.PartsCount).toBeUndefined();
    expect(got.ChecksumCRC32).toBe(crc32B64(all));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(all)).toBe(true);
  });

  test('a large copy streams: the gateway peak memory grows less than the object', async () => {
    const b = await newBucket('large');
    // Large enough that a buffered copy could not pass: it would hold all 320 MiB, and the bound is 70% of that.
    const size = 320 * MiB;
    const data = bytes(size, 'large');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'src', Body: data }));
    const pid = cluster.gateway.pid!;
    const before = peakRssBytes(pid);
    const t0 = performance.now();
    const res = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'dst', CopySource: source(b, 'src') }));
    const ms = performance.now() - t0;
    const grew = peakRssBytes(pid) - before;
    console.log(`copy of ${size / MiB} MiB: ${ms.toFixed(0)} ms (${(size / MiB / (ms / 1000)).toFixed(0)} MiB/s), gateway peak RSS +${(grew / MiB).toFixed(1)} MiB`);
    expect(res.CopyObjectResult?.ETag).toBe(`"${md5Hex(data)}"`);
    // The PUT before set the peak for one pipeline; reading while writing adds a few segments
    // (read-ahead, pieces in flight) plus GC slack: measured +41..94 MiB whatever the size, never
    // the object. Servers start with --initial-old-space-size=128 (cli/node-flags.ts), which lets
    // V8 leave up to 128 MB of old garbage before its first full collection: +144..171 MiB since
    // (+79..87 MiB on the same machine without the flag).
    expect(grew).toBeLessThan(224 * MiB);
    expect(md5Hex(await getBytes(b, 'dst'))).toBe(md5Hex(data));
    // The claim is memory, not speed: 320 MiB written, copied and read back took 26 s alone on a
    // loaded 2-core machine, and passed 60 s beside other suites.
  }, 180_000);
});

// compat: UploadPartCopy
describe('UploadPartCopy', () => {
  test('copies ranges of a source into parts; the completed object is byte-identical', async () => {
    const b = await newBucket('upc');
    // Parts on the edges: exactly the 5 MiB minimum, then 5 MiB + 99 (two segments of the source, unaligned).
    const data = bytes(2 * MIN_PART + 99, 'upc');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: NASTY, Body: data }));
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'assembled' }));
    const p1 = await s3.send(new UploadPartCopyCommand({
      Bucket: b, Key: 'assembled', UploadId: up.UploadId, PartNumber: 1, CopySource: source(b, NASTY), CopySourceRange: `bytes=0-${MIN_PART - 1}`,
    }));
    expect(p1.CopyPartResult?.ETag).toBe(`"${md5Hex(data.subarray(0, MIN_PART))}"`);
    expect(p1.CopyPartResult?.LastModified).toBeInstanceOf(Date);
    const p2 = await s3.send(new UploadPartCopyCommand({
      Bucket: b, Key: 'assembled', UploadId: up.UploadId, PartNumber: 2, CopySource: source(b, NASTY), CopySourceRange: `bytes=${MIN_PART}-${data.length - 1}`,
    }));
    // A whole small object as the last part, without a range.
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'tail', Body: 'tail!' }));
    const p3 = await s3.send(new UploadPartCopyCommand({ Bucket: b, Key: 'assembled', UploadId: up.UploadId, PartNumber: 3, CopySource: source(b, 'tail') }));
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: b, Key: 'assembled', UploadId: up.UploadId,
      MultipartUpload: { Parts: [p1, p2, p3].map((p, i) => ({ PartNumber: i + 1, ETag: p.CopyPartResult!.ETag })) },
    }));
    const got = await getBytes(b, 'assembled');
    expect(got.equals(Buffer.concat([data, Buffer.from('tail!')]))).toBe(true);
  });

  test('a range outside the source is InvalidRange; a malformed one InvalidArgument; a wrong upload NoSuchUpload', async () => {
    const b = await newBucket('upc-err');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 's', Body: 'x'.repeat(10) }));
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'd' }));
    const copy = (range?: string, uploadId = up.UploadId) => s3.send(new UploadPartCopyCommand({
      Bucket: b, Key: 'd', UploadId: uploadId, PartNumber: 1, CopySource: source(b, 's'), ...(range !== undefined && { CopySourceRange: range }),
    }));
    expect(await s3Error(copy('bytes=0-10'))).toEqual({ code: 'InvalidRange', status: 416 });
    expect(await s3Error(copy('bytes=10-10'))).toEqual({ code: 'InvalidRange', status: 416 });
    for (const bad of ['bytes=5-2', 'bytes=-3', 'bytes=0-', 'items=0-1']) {
      expect(await s3Error(copy(bad)), bad).toEqual({ code: 'InvalidArgument', status: 400 });
    }
    expect(await s3Error(copy('bytes=0-1', 'no-such-upload'))).toEqual({ code: 'NoSuchUpload', status: 404 });
    const ok = await copy('bytes=9-9');
    expect(ok.CopyPartResult?.ETag).toBe(`"${md5Hex(Buffer.from('x'))}"`);
  });
});
