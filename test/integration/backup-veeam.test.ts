/**
 * What Veeam Backup & Replication relies on beyond plain S3: the Smart Object Storage API
 * documents (system.xml, capacity.xml) it reads from each bucket, and a bucket quota that
 * capacity.xml reports and writes cannot pass, set with `shardgate admin bucket quota`.
 * Driven with the AWS JS SDK v3 and the CLI against a real cluster.
 */
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { XMLParser } from 'fast-xml-parser';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, bytes, md5Hex, s3Error } from '../helpers/s3.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const PREFIX = '.system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/';
const SYSTEM = PREFIX + 'system.xml';
const CAPACITY = PREFIX + 'capacity.xml';

let cluster: Cluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  s3 = cluster.client();
});

const newBucket = bucketFactory(() => s3, 'veeam');
const parser = new XMLParser({ parseTagValue: false });

async function getText(bucket: string, key: string, range?: string): Promise<{ text: string; status?: number; etag?: string; type?: string; length?: number; range?: string; modified?: Date }> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(range && { Range: range }) }));
  return {
    text: await res.Body!.transformToString(), status: res.$metadata.httpStatusCode, etag: res.ETag, type: res.ContentType,
    length: res.ContentLength, range: res.ContentRange, modified: res.LastModified,
  };
}

async function capacity(bucket: string): Promise<{ Capacity: number; Available: number; Used: number }> {
  const doc = parser.parse((await getText(bucket, CAPACITY)).text) as { CapacityInfo: Record<'Capacity' | 'Available' | 'Used', string> };
  const c = doc.CapacityInfo;
  return { Capacity: Number(c.Capacity), Available: Number(c.Available), Used: Number(c.Used) };
}

async function quota(bucket: string, ...size: string[]): Promise<string> {
  const r = await runAdmin(cluster, ['bucket', 'quota', bucket, ...size]);
  expect(r.code, r.all).toBe(0);
  return r.out;
}

describe('Veeam: Smart Object Storage API', () => {
  // compat: Veeam SOSAPI system.xml and capacity.xml
  it('serves system.xml on GET, HEAD and Range, with capacity reporting and 4 MiB blocks', async () => {
    const bucket = await newBucket('system');
    const full = await getText(bucket, SYSTEM);
    expect(full.status).toBe(200);
    expect(full.type).toBe('application/xml');
    expect(full.length).toBe(Buffer.byteLength(full.text));
    expect(full.etag).toBe(`"${md5Hex(full.text)}"`);
    expect(full.modified).toBeInstanceOf(Date);
    const info = (parser.parse(full.text) as { SystemInfo: Record<string, unknown> }).SystemInfo;
    expect(info.ProtocolVersion).toBe('"1.0"');
    expect(info.ModelName).toMatch(/^"shardgate /);
    expect(info.ProtocolCapabilities).toEqual({ CapacityInfo: 'true', UploadSessions: 'false', IAMSTS: 'false' });
    expect(info.SystemRecommendations).toMatchObject({ KbBlockSize: '4096', S3MultiObjectDeleteLimit: '1000' });

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: SYSTEM }));
    expect([head.ETag, head.ContentLength, head.ContentType]).toEqual([full.etag, full.length, 'application/xml']);
    const part = await getText(bucket, SYSTEM, 'bytes=0-4');
    expect([part.status, part.text, part.range]).toEqual([206, '<?xml', `bytes 0-4/${full.length}`]);
    // Not stored, not listed, and not the caller's to change.
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(0);
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: SYSTEM, Body: 'x' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: CAPACITY })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: PREFIX + 'other.xml' })))).toMatchObject({ code: 'NoSuchKey' });
    // Only for callers who may read the bucket.
    expect((await fetch(`${cluster.endpoint}/${bucket}/${SYSTEM}`)).status).toBe(403);
  });

  it("reports the stores' usable space in capacity.xml and the bucket's own bytes as used", async () => {
    const bucket = await newBucket('capacity');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'blocks/1', Body: bytes(300 * KiB, 'c1') }));
    const c = await capacity(bucket);
    expect(c.Used).toBe(300 * KiB);
    expect(c.Capacity).toBeGreaterThan(0);
    expect(c.Available).toBeGreaterThan(0);
    expect(c.Available).toBeLessThanOrEqual(c.Capacity);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: CAPACITY }));
    expect(head.ContentType).toBe('application/xml');
  });
});

describe('Veeam: bucket quota', () => {
  // compat: Bucket quota (QuotaExceeded)
  it('refuses a PUT past the quota set with the CLI, reports it in capacity.xml, and none lifts it', async () => {
    const bucket = await newBucket('quota');
    expect(await quota(bucket)).toMatch(/quota none; used 0 B/);
    expect(await quota(bucket, '1M')).toMatch(/quota 1\.0 MiB \(1048576 bytes\)/);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: bytes(600 * KiB, 'q1') }));
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b', Body: bytes(500 * KiB, 'q2') })))).toEqual({ code: 'QuotaExceeded', status: 403 });
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'b' })))).toMatchObject({ status: 404 });
    // Overwriting a key of an unversioned bucket counts net of what it replaces.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: bytes(1 * MiB, 'q3') }));
    expect(await capacity(bucket)).toEqual({ Capacity: MiB, Available: 0, Used: MiB });
    expect(await quota(bucket)).toMatch(/used 1\.0 MiB \(1048576 bytes\), 100\.0% of the quota/);
    await quota(bucket, 'none');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b', Body: bytes(500 * KiB, 'q2') }));
    expect((await capacity(bucket)).Capacity).toBeGreaterThan(MiB);

    const bad = await runAdmin(cluster, ['bucket', 'quota', bucket, 'lots']);
    expect([bad.code, bad.err]).toEqual([2, expect.stringMatching(/"lots" is not a size/)]);
    const missing = await runAdmin(cluster, ['bucket', 'quota', 'no-such-bucket-here', '1G']);
    expect([missing.code, missing.err]).toEqual([1, expect.stringMatching(/NoSuchBucket/)]);
  });

  it('refuses a multipart completion that would pass the quota, and completes once it is lifted', async () => {
    const bucket = await newBucket('mpu');
    await quota(bucket, '12M');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'big' }));
    // 5 MiB is the smallest part that may be followed by another.
    const parts = [bytes(5 * MiB, 'p1'), bytes(1 * MiB, 'p2')];
    const done: Array<{ PartNumber: number; ETag: string }> = [];
    for (const [i, body] of parts.entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'big', UploadId, PartNumber: i + 1, Body: body }));
      done.push({ PartNumber: i + 1, ETag: r.ETag! });
    }
    // A part past the room its upload's other parts leave is refused at once.
    expect(await s3Error(s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'big', UploadId, PartNumber: 3, Body: bytes(7 * MiB, 'p3') }))))
      .toEqual({ code: 'QuotaExceeded', status: 403 });
    // Meanwhile the bucket fills: 7 MiB stored + 6 MiB of parts > 12 MiB.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'other', Body: bytes(7 * MiB, 'o') }));
    const complete = (): Promise<unknown> => s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'big', UploadId, MultipartUpload: { Parts: done } }));
    expect(await s3Error(complete())).toEqual({ code: 'QuotaExceeded', status: 403 });
    expect((await capacity(bucket)).Used).toBe(7 * MiB);
    await quota(bucket, 'none');
    await complete();
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big' }))).ContentLength).toBe(6 * MiB);
    expect((await capacity(bucket)).Used).toBe(13 * MiB);
  });
});
