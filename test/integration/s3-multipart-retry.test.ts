/**
 * CompleteMultipartUpload as clients use it through the AWS SDK v3 against a real cluster:
 * a retried Complete (its first answer lost) answers the same again, as AWS S3 does, until
 * the object it made is gone; a composite x-amz-checksum-* on Complete is the object's
 * checksum, checked against the one the gateway composes from the parts.
 */
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, HeadObjectCommand, PutBucketVersioningCommand,
  UploadPartCommand, type CompletedPart, type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, bytes, s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  s3 = cluster.client();
});

const newBucket = bucketFactory(() => s3, 'mpr');
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/** An upload of `sizes.length` parts with SHA256 checksums; the parts to complete it with and their bodies. */
async function upload(bucket: string, key: string, sizes: number[]): Promise<{ uploadId: string; parts: CompletedPart[]; bodies: Buffer[] }> {
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'SHA256' }));
  const uploadId = created.UploadId!;
  const bodies = sizes.map((n, i) => bytes(n, `${key}-${i}`));
  const parts: CompletedPart[] = [];
  for (const [i, body] of bodies.entries()) {
    const r = await s3.send(new UploadPartCommand({
      Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body, ChecksumSHA256: sha256(body).toString('base64'),
    }));
    parts.push({ PartNumber: i + 1, ETag: r.ETag!, ChecksumSHA256: r.ChecksumSHA256! });
  }
  return { uploadId, parts, bodies };
}

/** The composite SHA256 S3 gives a multipart object: SHA256 of the part digests, then "-<parts>". */
const compositeSha256 = (bodies: Buffer[]): string => `${sha256(Buffer.concat(bodies.map(sha256))).toString('base64')}-${bodies.length}`;

const complete = (bucket: string, key: string, uploadId: string, parts: CompletedPart[], extra: { ChecksumSHA256?: string } = {}) =>
  s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts }, ...extra }));

describe('retried CompleteMultipartUpload', () => {
  test('answers 200 again with the same ETag, VersionId, Location and checksum (versioned bucket)', async () => {
    const b = await newBucket('retry');
    await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
    const { uploadId, parts } = await upload(b, 'obj', [5 * 1024 * 1024, 1000]);
    const first = await complete(b, 'obj', uploadId, parts);
    expect(first.VersionId).toMatch(/\S/);
    expect(first.ETag).toMatch(/-2"$/);
    const again = await complete(b, 'obj', uploadId, parts);
    expect(again.$metadata.httpStatusCode).toBe(200);
    expect({ ETag: again.ETag, VersionId: again.VersionId, Location: again.Location, Bucket: again.Bucket, Key: again.Key, ChecksumSHA256: again.ChecksumSHA256 })
      .toEqual({ ETag: first.ETag, VersionId: first.VersionId, Location: first.Location, Bucket: first.Bucket, Key: first.Key, ChecksumSHA256: first.ChecksumSHA256 });
    // A newer version does not undo the completion being retried.
    const newer = await upload(b, 'obj', [10]);
    expect((await complete(b, 'obj', newer.uploadId, newer.parts)).VersionId).not.toBe(first.VersionId);
    expect((await complete(b, 'obj', uploadId, parts)).VersionId).toBe(first.VersionId);
    // Only for the key it completed.
    expect(await s3Error(complete(b, 'other', uploadId, parts))).toEqual({ code: 'NoSuchUpload', status: 404 });
  });

  test('answers NoSuchUpload once the object it made is deleted', async () => {
    const b = await newBucket('gone');
    const { uploadId, parts } = await upload(b, 'obj', [100]);
    await complete(b, 'obj', uploadId, parts);
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'obj' }));
    expect(await s3Error(complete(b, 'obj', uploadId, parts))).toEqual({ code: 'NoSuchUpload', status: 404 });
  });
});

describe('composite checksum on CompleteMultipartUpload', () => {
  test('a matching composite x-amz-checksum-sha256 completes the upload; the object answers it', async () => {
    const b = await newBucket('sum');
    const { uploadId, parts, bodies } = await upload(b, 'obj', [5 * 1024 * 1024, 5 * 1024 * 1024, 7]);
    const composite = compositeSha256(bodies);
    const done = await complete(b, 'obj', uploadId, parts, { ChecksumSHA256: composite });
    expect(done.ChecksumSHA256).toBe(composite);
    expect((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'obj', ChecksumMode: 'ENABLED' }))).ChecksumSHA256).toBe(composite);
    // A retry with the same header is answered the same.
    expect((await complete(b, 'obj', uploadId, parts, { ChecksumSHA256: composite })).ChecksumSHA256).toBe(composite);
  });

  test('a composite value that differs, or is malformed, is BadDigest and leaves the upload to complete', async () => {
    const b = await newBucket('bad');
    const { uploadId, parts, bodies } = await upload(b, 'obj', [100]);
    const wrong = `${sha256(Buffer.from('other')).toString('base64')}-1`;
    expect(await s3Error(complete(b, 'obj', uploadId, parts, { ChecksumSHA256: wrong }))).toEqual({ code: 'BadDigest', status: 400 });
    const wrongCount = `${compositeSha256(bodies).slice(0, -2)}-2`;
    expect(await s3Error(complete(b, 'obj', uploadId, parts, { ChecksumSHA256: wrongCount }))).toEqual({ code: 'BadDigest', status: 400 });
    // s3-tests test_multipart_checksum_sha256 sends "bad" and expects BadDigest.
    expect(await s3Error(complete(b, 'obj', uploadId, parts, { ChecksumSHA256: 'bad' }))).toEqual({ code: 'BadDigest', status: 400 });
    expect(await s3Error(complete(b, 'obj', uploadId, parts, { ChecksumSHA256: 'AAAA-1' }))).toEqual({ code: 'BadDigest', status: 400 });
    expect((await complete(b, 'obj', uploadId, parts, { ChecksumSHA256: compositeSha256(bodies) })).ETag).toMatch(/-1"$/);
  });
});
