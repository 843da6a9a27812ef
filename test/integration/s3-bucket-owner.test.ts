/**
 * Issue 13: ListBuckets pages (max-buckets, continuation-token, prefix, bucket-region) and the
 * bucket owner condition (x-amz-expected-bucket-owner, x-amz-source-expected-bucket-owner),
 * with two real users made by `shardgate admin`, through the AWS SDK v3 and boto3.
 */
import {
  CopyObjectCommand, CreateBucketCommand, GetObjectCommand, HeadBucketCommand, ListBucketsCommand, ListObjectsV2Command,
  paginateListBuckets, PutBucketPolicyCommand, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { exec, onPath, run } from '../helpers/clients.js';
import { onClose } from '../helpers/registry.js';
import { s3Error } from '../helpers/s3.js';

interface Key {
  accessKeyId: string;
  secretAccessKey: string;
}

let cluster: Cluster;
let work: string;
let alice: { key: Key; s3: S3Client };
let bob: { key: Key; s3: S3Client };

async function newUser(user: string): Promise<{ key: Key; s3: S3Client }> {
  const r = await runAdmin(cluster, ['user', 'create', user, '--json']);
  if (r.code !== 0) throw new Error(`shardgate admin user create ${user} failed (${r.code}): ${r.all}`);
  const key = JSON.parse(r.out) as Key;
  return { key, s3: cluster.client({ credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } }) };
}

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  work = mkdtempSync(join(tmpdir(), 'shardgate-owner-'));
  onClose(() => rmSync(work, { recursive: true, force: true }), 'file');
  alice = await newUser('alice');
  bob = await newUser('bob');
  // Alice's buckets, made out of order; bob has one that sorts among them.
  for (const b of ['pg-c', 'pg-a', 'pg-e', 'pg-b', 'pg-d', 'other-1']) await alice.s3.send(new CreateBucketCommand({ Bucket: b }));
  await bob.s3.send(new CreateBucketCommand({ Bucket: 'pg-bb' }));
});

const names = (buckets: Array<{ Name?: string }> | undefined): string[] => (buckets ?? []).map((b) => b.Name!);

describe('ListBuckets pagination (JS SDK)', () => {
  // compat: ListBuckets max-buckets
  // compat: ListBuckets continuation-token
  // compat: ListBuckets prefix
  // compat: ListBuckets bucket-region
  test('max-buckets cuts pages in name order; the continuation token resumes after the last one', async () => {
    const first = await alice.s3.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: 'pg-' }));
    expect(names(first.Buckets)).toEqual(['pg-a', 'pg-b']);
    expect(first.Prefix).toBe('pg-');
    expect(first.Owner?.ID).toBe('alice');
    expect(first.ContinuationToken).toBeTruthy();
    const second = await alice.s3.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: 'pg-', ContinuationToken: first.ContinuationToken }));
    expect(names(second.Buckets)).toEqual(['pg-c', 'pg-d']);
    const last = await alice.s3.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: 'pg-', ContinuationToken: second.ContinuationToken }));
    expect(names(last.Buckets)).toEqual(['pg-e']);
    expect(last.ContinuationToken).toBeUndefined();

    // Without parameters: every bucket of the caller's, in one page, without a token or prefix.
    const all = await alice.s3.send(new ListBucketsCommand({}));
    expect(names(all.Buckets)).toEqual(['other-1', 'pg-a', 'pg-b', 'pg-c', 'pg-d', 'pg-e']);
    expect(all.ContinuationToken).toBeUndefined();
    expect(all.Prefix).toBeUndefined();
    expect(all.Buckets![0]!.BucketRegion).toBe('us-east-1');

    // An exact page leaves nothing to continue.
    expect((await alice.s3.send(new ListBucketsCommand({ MaxBuckets: 6 }))).ContinuationToken).toBeUndefined();
  });

  test('the paginator walks every page; bucket-region filters by the one region served', async () => {
    const pages: string[][] = [];
    for await (const page of paginateListBuckets({ client: alice.s3, pageSize: 4 }, {})) pages.push(names(page.Buckets));
    expect(pages).toEqual([['other-1', 'pg-a', 'pg-b', 'pg-c'], ['pg-d', 'pg-e']]);
    expect(names((await alice.s3.send(new ListBucketsCommand({ BucketRegion: 'us-east-1', Prefix: 'other' }))).Buckets)).toEqual(['other-1']);
    expect(names((await alice.s3.send(new ListBucketsCommand({ BucketRegion: 'eu-west-1' }))).Buckets)).toEqual([]);
    expect(names((await bob.s3.send(new ListBucketsCommand({ MaxBuckets: 10 }))).Buckets)).toEqual(['pg-bb']);
  });

  test('max-buckets outside 1..10000 and a forged token are InvalidArgument', async () => {
    for (const MaxBuckets of [0, 10_001]) {
      expect(await s3Error(alice.s3.send(new ListBucketsCommand({ MaxBuckets })))).toEqual({ code: 'InvalidArgument', status: 400 });
    }
    expect(await s3Error(alice.s3.send(new ListBucketsCommand({ ContinuationToken: 'not a token!' })))).toEqual({ code: 'InvalidArgument', status: 400 });
  });
});

describe('x-amz-expected-bucket-owner (JS SDK)', () => {
  // compat: x-amz-expected-bucket-owner
  test('a bucket of another owner than the one named is 403, for the owner and for a granted user alike', async () => {
    await alice.s3.send(new PutObjectCommand({ Bucket: 'pg-a', Key: 'k', Body: 'hello', ExpectedBucketOwner: 'alice' }));
    expect(await s3Error(alice.s3.send(new PutObjectCommand({ Bucket: 'pg-a', Key: 'k', Body: 'x', ExpectedBucketOwner: 'bob' })))).toEqual({ code: 'AccessDenied', status: 403 });
    // HEAD answers carry no body, so no code.
    expect((await s3Error(alice.s3.send(new HeadBucketCommand({ Bucket: 'pg-a', ExpectedBucketOwner: '111122223333' })))).status).toBe(403);
    await alice.s3.send(new HeadBucketCommand({ Bucket: 'pg-a', ExpectedBucketOwner: 'alice' }));
    // A missing bucket stays 404 whatever owner is named.
    expect(await s3Error(alice.s3.send(new ListObjectsV2Command({ Bucket: 'pg-none', ExpectedBucketOwner: 'alice' })))).toEqual({ code: 'NoSuchBucket', status: 404 });

    // Bob may read pg-a by policy: naming alice passes, naming himself does not.
    const policy = { Statement: [{ Effect: 'Allow', Principal: { AWS: ['bob'] }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::pg-a/*' }] };
    await alice.s3.send(new PutBucketPolicyCommand({ Bucket: 'pg-a', Policy: JSON.stringify(policy) }));
    const got = await bob.s3.send(new GetObjectCommand({ Bucket: 'pg-a', Key: 'k', ExpectedBucketOwner: 'alice' }));
    expect(await got.Body!.transformToString()).toBe('hello');
    expect(await s3Error(bob.s3.send(new GetObjectCommand({ Bucket: 'pg-a', Key: 'k', ExpectedBucketOwner: 'bob' })))).toEqual({ code: 'AccessDenied', status: 403 });

    // A copy checks the destination and the source each against its own header.
    const copy = (extra: { ExpectedBucketOwner?: string; ExpectedSourceBucketOwner?: string }): Promise<unknown> =>
      bob.s3.send(new CopyObjectCommand({ Bucket: 'pg-bb', Key: 'copied', CopySource: 'pg-a/k', ...extra }));
    await copy({ ExpectedBucketOwner: 'bob', ExpectedSourceBucketOwner: 'alice' });
    expect(await s3Error(copy({ ExpectedSourceBucketOwner: 'bob' }))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(copy({ ExpectedBucketOwner: 'alice' }))).toEqual({ code: 'AccessDenied', status: 403 });
  });
});

// ---------------------------------------------------------------------------------------
// boto3

const BOTO3_SCRIPT = String.raw`
import json, os
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

def client(prefix):
    return boto3.client('s3', endpoint_url=os.environ['SG_ENDPOINT'], region_name='us-east-1',
                        aws_access_key_id=os.environ[prefix + '_ACCESS_KEY'], aws_secret_access_key=os.environ[prefix + '_SECRET_KEY'],
                        config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
alice, bob = client('ALICE'), client('BOB')

def err(f):
    try:
        f()
        return 'ok'
    except ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]

out = {}
r = alice.list_buckets(MaxBuckets=3, Prefix='pg-')
out['page1'] = [[b['Name'] for b in r['Buckets']], r.get('Prefix'), 'ContinuationToken' in r]
r = alice.list_buckets(MaxBuckets=3, Prefix='pg-', ContinuationToken=r['ContinuationToken'])
out['page2'] = [[b['Name'] for b in r['Buckets']], 'ContinuationToken' in r]
out['paginated'] = [[b['Name'] for b in p['Buckets']] for p in alice.get_paginator('list_buckets').paginate(PaginationConfig={'PageSize': 5})]
out['region'] = [b['Name'] for b in alice.list_buckets(BucketRegion='us-east-1', Prefix='other')['Buckets']]
out['bad_max'] = err(lambda: alice.list_buckets(MaxBuckets=10001))

alice.put_object(Bucket='pg-c', Key='src', Body=b'boto', ExpectedBucketOwner='alice')
out['put_wrong_owner'] = err(lambda: alice.put_object(Bucket='pg-c', Key='x', Body=b'x', ExpectedBucketOwner='bob'))
out['list_wrong_owner'] = err(lambda: alice.list_objects_v2(Bucket='pg-c', ExpectedBucketOwner='bob'))
out['delete_wrong_owner'] = err(lambda: alice.delete_object(Bucket='pg-c', Key='src', ExpectedBucketOwner='111122223333'))
out['get_right_owner'] = alice.get_object(Bucket='pg-c', Key='src', ExpectedBucketOwner='alice')['Body'].read().decode()
out['bob_on_alice'] = err(lambda: bob.get_object(Bucket='pg-c', Key='src', ExpectedBucketOwner='alice'))
up = alice.create_multipart_upload(Bucket='pg-d', Key='mp', ExpectedBucketOwner='alice')['UploadId']
out['part_copy_wrong_source'] = err(lambda: alice.upload_part_copy(Bucket='pg-d', Key='mp', UploadId=up, PartNumber=1,
    CopySource={'Bucket': 'pg-c', 'Key': 'src'}, ExpectedSourceBucketOwner='bob'))
p = alice.upload_part_copy(Bucket='pg-d', Key='mp', UploadId=up, PartNumber=1, CopySource={'Bucket': 'pg-c', 'Key': 'src'},
    ExpectedBucketOwner='alice', ExpectedSourceBucketOwner='alice')
alice.complete_multipart_upload(Bucket='pg-d', Key='mp', UploadId=up, ExpectedBucketOwner='alice',
    MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': p['CopyPartResult']['ETag']}]})
out['part_copied'] = alice.get_object(Bucket='pg-d', Key='mp')['Body'].read().decode()
print(json.dumps(out))
`;

describe('boto3', () => {
  // compat: ListBuckets max-buckets
  // compat: ListBuckets continuation-token
  // compat: x-amz-expected-bucket-owner
  test('list_buckets pages and the paginator; ExpectedBucketOwner and ExpectedSourceBucketOwner', async (ctx) => {
    if (!onPath('python3')) return ctx.skip('python3 is not installed');
    const env = {
      ...process.env, SG_ENDPOINT: cluster.endpoint,
      ALICE_ACCESS_KEY: alice.key.accessKeyId, ALICE_SECRET_KEY: alice.key.secretAccessKey,
      BOB_ACCESS_KEY: bob.key.accessKeyId, BOB_SECRET_KEY: bob.key.secretAccessKey,
      AWS_CONFIG_FILE: join(work, 'boto-no-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'boto-no-credentials'), AWS_EC2_METADATA_DISABLED: 'true',
    };
    if ((await exec('python3', ['-c', 'import boto3'], env)).code !== 0) return ctx.skip('boto3 is not installed for python3');
    const script = join(work, 'boto3-owner.py');
    writeFileSync(script, BOTO3_SCRIPT);
    const out = JSON.parse(await run('python3', [script], env)) as Record<string, unknown>;
    expect(out).toEqual({
      page1: [['pg-a', 'pg-b', 'pg-c'], 'pg-', true],
      page2: [['pg-d', 'pg-e'], false],
      paginated: [['other-1', 'pg-a', 'pg-b', 'pg-c', 'pg-d'], ['pg-e']],
      region: ['other-1'],
      bad_max: ['InvalidArgument', 400],
      put_wrong_owner: ['AccessDenied', 403],
      list_wrong_owner: ['AccessDenied', 403],
      delete_wrong_owner: ['AccessDenied', 403],
      get_right_owner: 'boto',
      // Bob has no grant on pg-c: naming its real owner does not open it.
      bob_on_alice: ['AccessDenied', 403],
      part_copy_wrong_source: ['AccessDenied', 403],
      part_copied: 'boto',
    });
  });
});
