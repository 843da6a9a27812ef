/**
 * S3 conformance through real SDKs: non-ASCII user metadata (signed and read back by boto3 and
 * the JS SDK), checksum mismatches (BadDigest, nothing committed) and ChecksumType, and the
 * answers to malformed SigV2 authorization and bad dates. boto3 cases follow s3-tests
 * (s3tests/functional/test_s3.py and test_headers.py): headers added before signing.
 */
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand,
  UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { exec, onPath, run } from '../helpers/clients.js';
import { onClose } from '../helpers/registry.js';
import { bucketFactory, bytes, crc32B64, s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let s3: S3Client;
let work: string;
let newBucket: (tag: string) => Promise<string>;
let hasBoto3 = false;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  s3 = cluster.client();
  newBucket = bucketFactory(() => s3, 'conf');
  work = mkdtempSync(join(tmpdir(), 'shardgate-conf-'));
  onClose(() => rmSync(work, { recursive: true, force: true }), 'file');
  writeFileSync(join(work, 'client.py'), CLIENT_PY);
  hasBoto3 = onPath('python3') && (await exec('python3', ['-c', 'import boto3'], pyEnv())).code === 0;
});

/**
 * Each item of argv[1] is one boto3 call: `put` (put_object, with `headers` added before
 * signing as s3-tests adds them), `create` (create_bucket, likewise), `get`/`head` (answers the
 * user metadata and checksum fields), `upload_file` (s3transfer's multipart upload with its
 * default CRC32). `sig` is `s3v4` or `s3` (SigV2). Errors come back as [status, code].
 */
const CLIENT_PY = String.raw`
import json, os, sys
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
def client(sig):
    return boto3.client('s3', endpoint_url=os.environ['SG_ENDPOINT'], region_name='us-east-1',
                        aws_access_key_id=os.environ['SG_ACCESS_KEY'], aws_secret_access_key=os.environ['SG_SECRET_KEY'],
                        config=Config(signature_version=sig, s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
def fields(r):
    out = {k: v for k, v in r.items() if k.startswith('Checksum')}
    if 'Metadata' in r: out['Metadata'] = r['Metadata']
    return out
out = []
for item in json.loads(sys.argv[1]):
    c = client(item.get('sig', 's3v4'))
    headers = item.get('headers', {})
    def add(**kw):
        kw['params']['headers'].update(headers)
    c.meta.events.register('before-call.s3.PutObject', add)
    c.meta.events.register('before-call.s3.CreateBucket', add)
    try:
        kind = item['kind']
        if kind == 'put':
            out.append(fields(c.put_object(Bucket=item['bucket'], Key=item['key'], Body=item.get('body', 'bar').encode(), **item.get('params', {}))))
        elif kind == 'create':
            c.create_bucket(Bucket=item['bucket'])
            out.append({})
        elif kind == 'get':
            r = c.get_object(Bucket=item['bucket'], Key=item['key'], **item.get('params', {}))
            r['Body'].read()
            out.append(fields(r))
        elif kind == 'head':
            out.append(fields(c.head_object(Bucket=item['bucket'], Key=item['key'], **item.get('params', {}))))
        elif kind == 'attributes':
            out.append(c.get_object_attributes(Bucket=item['bucket'], Key=item['key'], ObjectAttributes=['Checksum'])['Checksum'])
        elif kind == 'upload_file':
            got = {}
            c.meta.events.register('after-call.s3.CompleteMultipartUpload', lambda **kw: got.update(fields(kw['parsed'])))
            path = os.path.join(os.environ['SG_WORK'], 'upload.bin')
            with open(path, 'wb') as f:
                f.write(os.urandom(item['size']))
            c.upload_file(path, item['bucket'], item['key'], Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
            out.append(got)
    except ClientError as e:
        out.append([e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Code']])
print(json.dumps(out))
`;

function pyEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env, SG_ENDPOINT: cluster.endpoint, SG_ACCESS_KEY: ACCESS_KEY, SG_SECRET_KEY: SECRET_KEY, SG_WORK: work,
    AWS_CONFIG_FILE: join(work, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'), AWS_EC2_METADATA_DISABLED: 'true',
  };
}

type Answer = Record<string, unknown> | [number, string];
async function boto3(items: object[]): Promise<Answer[]> {
  return JSON.parse(await run('python3', [join(work, 'client.py'), JSON.stringify(items)], pyEnv())) as Answer[];
}

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/** A raw PUT with the headers given, for what no SDK sends (an Authorization it did not make). */
function rawPut(path: string, headers: Record<string, string>): Promise<{ status: number; code: string | undefined }> {
  const url = new URL(path, cluster.endpoint);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': '3', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1] }));
    });
    req.on('error', reject);
    req.end('bar');
  });
}

// compat: SigV4 non-ASCII metadata
// compat: SigV2
describe('non-ASCII user metadata', () => {
  test('boto3 (SigV4 and SigV2) puts a unicode x-amz-meta-* and reads back the same text', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const b = await newBucket('meta');
    // As s3-tests test_object_set_get_unicode_metadata sets it: botocore sends its UTF-8 bytes.
    const latin = 'Hello World\u00e9';
    const wide = 'caf\u00e9 \u2603';
    const answers = await boto3([
      { kind: 'put', sig: 's3v4', bucket: b, key: 'v4', headers: { 'x-amz-meta-meta1': latin } },
      { kind: 'get', bucket: b, key: 'v4' },
      { kind: 'put', sig: 's3', bucket: b, key: 'v2', headers: { 'x-amz-meta-meta1': latin } },
      { kind: 'head', sig: 's3', bucket: b, key: 'v2' },
      { kind: 'put', sig: 's3v4', bucket: b, key: 'wide', headers: { 'x-amz-meta-meta1': wide } },
      { kind: 'head', bucket: b, key: 'wide' },
    ]);
    expect(answers[1]).toMatchObject({ Metadata: { meta1: latin } });
    expect(answers[3]).toMatchObject({ Metadata: { meta1: latin } });
    // Beyond Latin-1, the value comes back as S3 documents it: an RFC 2047 encoded-word.
    expect(answers[5]).toMatchObject({ Metadata: { meta1: `=?UTF-8?B?${Buffer.from(wide).toString('base64')}?=` } });
    // The JS SDK reads the same stored value back the same way.
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'v4' }));
    expect(head.Metadata).toEqual({ meta1: latin });
  });

  test('the JS SDK puts Latin-1 metadata (one byte a character on the wire) and reads it back', async () => {
    const b = await newBucket('metajs');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', Metadata: { city: 'Z\u00fcrich', e: 'caf\u00e9' } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }));
    expect(head.Metadata).toEqual({ city: 'Z\u00fcrich', e: 'caf\u00e9' });
  });
});

const WRONG: Record<string, string> = {
  CRC32: 'AAAAAA==', CRC32C: 'AAAAAA==', CRC64NVME: 'AAAAAAAAAAA=', SHA1: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=', SHA256: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
};

// compat: PutObject x-amz-checksum
describe('checksum mismatches: 400 BadDigest, nothing committed', () => {
  test.each(Object.keys(WRONG))('JS SDK, a wrong Checksum%s', async (alg) => {
    const b = await newBucket(`bad-${alg.toLowerCase()}`);
    expect(await s3Error(s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'hello', [`Checksum${alg}`]: WRONG[alg] })))).toEqual({ code: 'BadDigest', status: 400 });
    expect(await exists(b, 'k')).toBe(false);
  });

  test('boto3, as s3-tests sends them: ChecksumSHA256 and ChecksumCRC64NVME "bad", a wrong CRC32', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const b = await newBucket('badpy');
    const answers = await boto3([
      { kind: 'put', bucket: b, key: 'sha', params: { ChecksumAlgorithm: 'SHA256', ChecksumSHA256: 'bad' } },
      { kind: 'put', bucket: b, key: 'crc64', params: { ChecksumAlgorithm: 'CRC64NVME', ChecksumCRC64NVME: 'bad' } },
      { kind: 'put', bucket: b, key: 'crc32', params: { ChecksumCRC32: WRONG.CRC32 } },
      // The body shorter than the checksum boto3 computed over "bar" (s3-tests' Content-Length mismatch, in part).
      { kind: 'put', sig: 's3', bucket: b, key: 'v2', params: { ChecksumCRC32: crc32B64(Buffer.from('bars')) } },
    ]);
    expect(answers).toEqual([[400, 'BadDigest'], [400, 'BadDigest'], [400, 'BadDigest'], [400, 'BadDigest']]);
    for (const key of ['sha', 'crc64', 'crc32', 'v2']) expect(await exists(b, key)).toBe(false);
  });
});

// compat: PutObject x-amz-checksum
// compat: GetObject x-amz-checksum-mode
// compat: GetObject partNumber
// compat: HeadObject
// compat: CreateMultipartUpload
// compat: CompleteMultipartUpload
// compat: GetObjectAttributes
describe('ChecksumType', () => {
  test('JS SDK: PutObject answers it, and GET/HEAD with checksum mode', async () => {
    const b = await newBucket('type');
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'hello', ChecksumAlgorithm: 'CRC64NVME' }));
    expect([put.ChecksumCRC64NVME, put.ChecksumType]).toEqual(['M3eFcAZSQlc=', 'FULL_OBJECT']);
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k', ChecksumMode: 'ENABLED' }));
    expect([head.ChecksumCRC64NVME, head.ChecksumType]).toEqual(['M3eFcAZSQlc=', 'FULL_OBJECT']);
    const get = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', ChecksumMode: 'ENABLED' }));
    await get.Body!.transformToByteArray();
    expect([get.ChecksumCRC64NVME, get.ChecksumType]).toEqual(['M3eFcAZSQlc=', 'FULL_OBJECT']);
  });

  test.each([['CRC32', 'FULL_OBJECT'], ['SHA256', 'COMPOSITE']] as const)('JS SDK multipart %s %s: every answer names the type; a part GET gets its own checksum', async (alg, type) => {
    const b = await newBucket(`mp-${alg.toLowerCase()}`);
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'k', ChecksumAlgorithm: alg, ChecksumType: type }));
    expect([created.ChecksumAlgorithm, created.ChecksumType]).toEqual([alg, type]);
    // 5 MiB, the smallest part but the last, then one byte.
    const bodies = [bytes(5 * 1024 * 1024, 'p1'), bytes(1, 'p2')];
    const parts = [];
    for (const [i, body] of bodies.entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'k', UploadId: created.UploadId, PartNumber: i + 1, Body: body, ChecksumAlgorithm: alg }));
      parts.push({ PartNumber: i + 1, ETag: r.ETag, [`Checksum${alg}`]: r[`Checksum${alg}`] });
    }
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'k', UploadId: created.UploadId, MultipartUpload: { Parts: parts } }));
    expect(done.ChecksumType).toBe(type);
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k', ChecksumMode: 'ENABLED' }));
    expect([head[`Checksum${alg}`], head.ChecksumType]).toEqual([done[`Checksum${alg}`], type]);
    const part1 = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', PartNumber: 1, ChecksumMode: 'ENABLED' }));
    await part1.Body!.transformToByteArray();
    const want = alg === 'CRC32' ? crc32B64(bodies[0]!) : createHash('sha256').update(bodies[0]!).digest('base64');
    expect([part1[`Checksum${alg}`], part1.ChecksumType]).toEqual([want, type]);
  });

  test('boto3 upload_file (s3transfer multipart, CRC32 by default): Complete, HEAD, part GET and GetObjectAttributes name the type', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const b = await newBucket('mppy');
    const [done, head, part, attributes] = await boto3([
      { kind: 'upload_file', bucket: b, key: 'big', size: 6 * 1024 * 1024 },
      { kind: 'head', bucket: b, key: 'big', params: { ChecksumMode: 'ENABLED' } },
      // boto3 turns checksum mode on by itself and checks the part's bytes against the answer.
      { kind: 'get', bucket: b, key: 'big', params: { PartNumber: 1 } },
      { kind: 'attributes', bucket: b, key: 'big' },
    ]) as Array<Record<string, string>>;
    expect(done).toMatchObject({ ChecksumType: 'COMPOSITE', ChecksumCRC32: expect.stringMatching(/-2$/) });
    expect(head).toMatchObject({ ChecksumType: 'COMPOSITE', ChecksumCRC32: done!.ChecksumCRC32 });
    expect(part).toMatchObject({ ChecksumType: 'COMPOSITE', ChecksumCRC32: expect.stringMatching(/^[A-Za-z0-9+/]{6}==$/) });
    expect(attributes).toEqual({ ChecksumType: 'COMPOSITE', ChecksumCRC32: done!.ChecksumCRC32 });
  });
});

// compat: SigV2
describe('SigV2: malformed authorization and bad dates (s3-tests auth_aws2)', () => {
  test('boto3 V2 client, x-amz-date set before signing: PutObject and CreateBucket', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const b = await newBucket('v2date');
    const cases: Array<[string, string]> = [
      ['Bad Date', 'AccessDenied'], ['', 'AccessDenied'], ['Tue, 07 Jul 1950 21:53:04 GMT', 'AccessDenied'],
      ['Tue, 07 Jul 2010 21:53:04 GMT', 'RequestTimeTooSkewed'], ['Tue, 07 Jul 9999 21:53:04 GMT', 'RequestTimeTooSkewed'],
    ];
    const items = cases.flatMap(([date], i) => [
      { kind: 'put', sig: 's3', bucket: b, key: 'foo', headers: { 'x-amz-date': date } },
      { kind: 'create', sig: 's3', bucket: `conf-v2date-new-${i}`, headers: { 'x-amz-date': date } },
    ]);
    const answers = await boto3(items);
    expect(answers).toEqual(cases.flatMap(([, code]) => [[403, code], [403, code]]));
    // An empty User-Agent changes nothing.
    expect(await boto3([{ kind: 'put', sig: 's3', bucket: b, key: 'ua', headers: { 'User-Agent': '' } }])).toEqual([expect.objectContaining({ ChecksumType: 'FULL_OBJECT' })]);
  });

  test('raw Authorization headers no SDK sends: InvalidArgument, InvalidAccessKeyId, or anonymous', async () => {
    const b = await newBucket('v2auth');
    const date = new Date().toUTCString();
    expect(await rawPut(`/${b}/foo`, { date, authorization: 'AWS HAHAHA' })).toEqual({ status: 400, code: 'InvalidArgument' });
    expect(await rawPut(`/${b}/foo`, { date, authorization: 'AWS' })).toEqual({ status: 400, code: 'InvalidArgument' });
    expect(await rawPut(`/${b}/foo`, { date, authorization: 'AWS AKIAIGR7ZNNBHC5BKSUB:FWeDfwojDSdS2Ztmpfeubhd9isU=' })).toEqual({ status: 403, code: 'InvalidAccessKeyId' });
    expect(await rawPut(`/${b}/foo`, { date, authorization: '' })).toEqual({ status: 403, code: 'AccessDenied' });
    expect(await rawPut('/conf-v2auth-new', { date, authorization: '' })).toEqual({ status: 403, code: 'AccessDenied' });
    expect(await exists(b, 'foo')).toBe(false);
  });
});
