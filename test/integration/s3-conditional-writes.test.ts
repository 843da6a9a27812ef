/**
 * Issue 13: conditional writes with an ETag (If-Match) and If-None-Match on PutObject and
 * CompleteMultipartUpload, racing writers included, and Content-Encoding kept as sent,
 * through the AWS SDK v3 and boto3.
 */
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, HeadObjectCommand, PutObjectCommand,
  UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { exec, onPath, run } from '../helpers/clients.js';
import { onClose } from '../helpers/registry.js';
import { bucketFactory, bytes, md5Hex, objectBytes, outcomes, s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let s3: S3Client;
let work: string;
let newBucket: (tag: string) => Promise<string>;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  s3 = cluster.client();
  newBucket = bucketFactory(() => s3, 'cw');
  work = mkdtempSync(join(tmpdir(), 'shardgate-cw-'));
  onClose(() => rmSync(work, { recursive: true, force: true }), 'file');
});

const put = (Bucket: string, Key: string, Body: string | Buffer, extra: { IfMatch?: string; IfNoneMatch?: string } = {}) =>
  s3.send(new PutObjectCommand({ Bucket, Key, Body, ...extra }));

/** A one-part upload of `body` under `key`, ready to complete; returns how to complete it. */
async function uploadOf(Bucket: string, Key: string, body: string): Promise<(extra?: { IfMatch?: string; IfNoneMatch?: string }) => Promise<{ ETag?: string }>> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const part = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: body }));
  return (extra = {}) => s3.send(new CompleteMultipartUploadCommand({
    Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] }, ...extra,
  }));
}


const LOST = /^(412 PreconditionFailed|409 ConditionalRequestConflict)$/;

describe('PutObject (JS SDK)', () => {
  // compat: PutObject If-Match
  // compat: PutObject If-None-Match
  test('If-Match: 412 on another ETag, 404 NoSuchKey on a missing key, written on a match', async () => {
    const b = await newBucket('put');
    const first = await put(b, 'k', 'one');
    expect(await s3Error(put(b, 'k', 'two', { IfMatch: `"${md5Hex('other')}"` }))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(await s3Error(put(b, 'absent', 'two', { IfMatch: first.ETag }))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect((await objectBytes(s3, b, 'k')).toString()).toBe('one');
    const second = await put(b, 'k', 'two', { IfMatch: first.ETag });
    expect(second.ETag).toBe(`"${md5Hex('two')}"`);
    expect((await objectBytes(s3, b, 'k')).toString()).toBe('two');
    // The old ETag no longer matches.
    expect(await s3Error(put(b, 'k', 'three', { IfMatch: first.ETag }))).toEqual({ code: 'PreconditionFailed', status: 412 });
  });

  test('racing writers with the same If-Match or If-None-Match: exactly one wins, the others 412 or 409', async () => {
    const b = await newBucket('race');
    const { ETag } = await put(b, 'k', 'base');
    // 1 MiB bodies, so that several are in flight past the arrival check at once.
    const bodies = Array.from({ length: 6 }, (_, i) => bytes(1 << 20, `race-${i}`));
    const ifMatch = await outcomes(bodies.map((body) => put(b, 'k', body, { IfMatch: ETag! })));
    expect(ifMatch.won).toBe(1);
    for (const l of ifMatch.lost) expect(l).toMatch(LOST);
    const stored = await objectBytes(s3, b, 'k');
    expect(bodies.some((body) => body.equals(stored))).toBe(true);

    const create = await outcomes(bodies.map((body) => put(b, 'fresh', body, { IfNoneMatch: '*' })));
    expect(create.won).toBe(1);
    for (const l of create.lost) expect(l).toMatch(LOST);
  });
});

describe('CompleteMultipartUpload (JS SDK)', () => {
  // compat: CompleteMultipartUpload If-Match
  // compat: CompleteMultipartUpload If-None-Match
  test('If-Match and If-None-Match decide the completion; a failed condition leaves the upload to retry', async () => {
    const b = await newBucket('mpu');
    const complete = await uploadOf(b, 'k', 'multipart body');
    expect(await s3Error(complete({ IfMatch: `"${md5Hex('x')}"` }))).toEqual({ code: 'NoSuchKey', status: 404 });
    const { ETag } = await put(b, 'k', 'single');
    expect(await s3Error(complete({ IfMatch: `"${md5Hex('x')}"` }))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(await s3Error(complete({ IfNoneMatch: '*' }))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect((await objectBytes(s3, b, 'k')).toString()).toBe('single');
    const done = await complete({ IfMatch: ETag! });
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect((await objectBytes(s3, b, 'k')).toString()).toBe('multipart body');
    // The multipart ETag is what the next conditional write names.
    const next = await uploadOf(b, 'k', 'again');
    await next({ IfMatch: done.ETag! });
    expect((await objectBytes(s3, b, 'k')).toString()).toBe('again');
  });

  test('racing completions of two uploads with If-None-Match: * create the key once', async () => {
    const b = await newBucket('mpu-race');
    const completes = await Promise.all(['a', 'b', 'c'].map((body) => uploadOf(b, 'k', body)));
    const race = await outcomes(completes.map((c) => c({ IfNoneMatch: '*' })));
    expect(race.won).toBe(1);
    for (const l of race.lost) expect(l).toMatch(LOST);
  });
});

describe('CopyObject (JS SDK)', () => {
  // compat: CopyObject
  test('If-Match and If-None-Match name the destination', async () => {
    const b = await newBucket('copy');
    const dst = await put(b, 'dst', 'old');
    await put(b, 'src', 'new');
    const copy = (extra: { IfMatch?: string; IfNoneMatch?: string }) => s3.send(new CopyObjectCommand({ Bucket: b, Key: 'dst', CopySource: `${b}/src`, ...extra }));
    expect(await s3Error(copy({ IfMatch: `"${md5Hex('x')}"` }))).toEqual({ code: 'PreconditionFailed', status: 412 });
    expect(await s3Error(copy({ IfNoneMatch: '*' }))).toEqual({ code: 'PreconditionFailed', status: 412 });
    await copy({ IfMatch: dst.ETag! });
    expect((await objectBytes(s3, b, 'dst')).toString()).toBe('new');
  });
});

describe('Content-Encoding (JS SDK)', () => {
  // compat: PutObject system metadata
  test('kept as sent, on PutObject (plain and aws-chunked bodies) and on multipart uploads', async () => {
    const b = await newBucket('enc');
    const encoding = async (Key: string) => (await s3.send(new HeadObjectCommand({ Bucket: b, Key }))).ContentEncoding;
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'plain', Body: 'x', ContentEncoding: 'deflate, gzip' }));
    expect(await encoding('plain')).toBe('deflate, gzip');
    // A stream body goes out aws-chunked with a checksum trailer: the SDK adds aws-chunked
    // to Content-Encoding, and only that coding is left out of what is stored.
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'chunked', Body: Readable.from([Buffer.from('chunk')]), ContentLength: 5, ContentEncoding: 'deflate, gzip' }));
    expect(await encoding('chunked')).toBe('deflate, gzip');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mpu', ContentEncoding: 'br,  gzip' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'mpu', UploadId, PartNumber: 1, Body: 'p' }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'mpu', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    expect(await encoding('mpu')).toBe('br,  gzip');
  });
});

// ---------------------------------------------------------------------------------------
// boto3

const BOTO3_SCRIPT = String.raw`
import json, os
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

s3 = boto3.client('s3', endpoint_url=os.environ['SG_ENDPOINT'], region_name='us-east-1',
                  aws_access_key_id=os.environ['SG_ACCESS_KEY'], aws_secret_access_key=os.environ['SG_SECRET_KEY'],
                  config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))

def err(f):
    try:
        f()
        return 'ok'
    except ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]

out = {}
b = 'cw-boto3'
s3.create_bucket(Bucket=b)
first = s3.put_object(Bucket=b, Key='k', Body=b'one')['ETag']
out['put_mismatch'] = err(lambda: s3.put_object(Bucket=b, Key='k', Body=b'two', IfMatch='"0123456789abcdef0123456789abcdef"'))
out['put_absent'] = err(lambda: s3.put_object(Bucket=b, Key='absent', Body=b'two', IfMatch=first))
out['put_exists'] = err(lambda: s3.put_object(Bucket=b, Key='k', Body=b'two', IfNoneMatch='*'))
out['put_match'] = err(lambda: s3.put_object(Bucket=b, Key='k', Body=b'two', IfMatch=first))
out['body'] = s3.get_object(Bucket=b, Key='k')['Body'].read().decode()

current = s3.head_object(Bucket=b, Key='k')['ETag']
up = s3.create_multipart_upload(Bucket=b, Key='k', ContentEncoding='deflate, gzip')['UploadId']
part = s3.upload_part(Bucket=b, Key='k', UploadId=up, PartNumber=1, Body=b'parts')['ETag']
complete = lambda **kw: s3.complete_multipart_upload(Bucket=b, Key='k', UploadId=up,
    MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': part}]}, **kw)
out['mpu_mismatch'] = err(lambda: complete(IfMatch=first))
out['mpu_exists'] = err(lambda: complete(IfNoneMatch='*'))
out['mpu_match'] = err(lambda: complete(IfMatch=current))
h = s3.head_object(Bucket=b, Key='k')
out['mpu_result'] = [s3.get_object(Bucket=b, Key='k')['Body'].read().decode(), h['ContentEncoding']]

s3.put_object(Bucket=b, Key='enc', Body=b'x', ContentEncoding='deflate, gzip')
out['encoding'] = s3.head_object(Bucket=b, Key='enc')['ContentEncoding']
print(json.dumps(out))
`;

describe('boto3', () => {
  // compat: PutObject If-Match
  // compat: PutObject If-None-Match
  // compat: CompleteMultipartUpload If-Match
  // compat: CompleteMultipartUpload If-None-Match
  // compat: PutObject system metadata
  test('put_object and complete_multipart_upload with IfMatch / IfNoneMatch; ContentEncoding as sent', async (ctx) => {
    if (!onPath('python3')) return ctx.skip('python3 is not installed');
    const env = {
      ...process.env, SG_ENDPOINT: cluster.endpoint, SG_ACCESS_KEY: ACCESS_KEY, SG_SECRET_KEY: SECRET_KEY,
      AWS_CONFIG_FILE: join(work, 'boto-no-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'boto-no-credentials'), AWS_EC2_METADATA_DISABLED: 'true',
    };
    if ((await exec('python3', ['-c', 'import boto3'], env)).code !== 0) return ctx.skip('boto3 is not installed for python3');
    const script = join(work, 'boto3-conditional.py');
    writeFileSync(script, BOTO3_SCRIPT);
    const out = JSON.parse(await run('python3', [script], env)) as Record<string, unknown>;
    expect(out).toEqual({
      put_mismatch: ['PreconditionFailed', 412],
      put_absent: ['NoSuchKey', 404],
      put_exists: ['PreconditionFailed', 412],
      put_match: 'ok',
      body: 'two',
      mpu_mismatch: ['PreconditionFailed', 412],
      mpu_exists: ['PreconditionFailed', 412],
      mpu_match: 'ok',
      mpu_result: ['parts', 'deflate, gzip'],
      encoding: 'deflate, gzip',
    });
  });
});
