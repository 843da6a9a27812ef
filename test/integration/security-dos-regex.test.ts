/**
 * Issue 9, regex denial of service, through a real cluster: a bucket owner stores wildcard
 * patterns that a backtracking RegExp takes hours on (`*a*a*a*a*a*a*b`), then an anonymous
 * client sends a long key or header. The answer must come at once, and another client's
 * request sent at the same moment must be answered meanwhile (the old gateway froze for every
 * tenant: 36 s for `*a*a*a*b` and a 1,000-character key, far longer with more wildcards).
 * Stored patterns with more wildcards than the caps are refused with AWS S3's errors.
 */
import { ListBucketsCommand, PutBucketCorsCommand, PutBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { MAX_PATTERN_WILDCARDS } from '../../gateway/access/wildcard.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let root: S3Client;
let newBucket: (tag: string) => Promise<string>;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  root = cluster.client();
  newBucket = bucketFactory(() => root, 'redos');
});

const EVIL = '*a*a*a*a*a*a*b';

async function setPolicy(bucket: string, statement: object): Promise<void> {
  await root.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }) }));
}

/**
 * Send the attack and, at the same moment, an ordinary signed request from another client;
 * both must be answered well within the time the old gateway was frozen. The bound is loose
 * on purpose (a loaded machine): the old behaviour was minutes, not seconds.
 */
async function attackWhileServing(attack: () => Promise<Response>): Promise<Response> {
  const started = Date.now();
  const [res, listed] = await Promise.all([
    attack(),
    (async () => {
      await new Promise((r) => setTimeout(r, 20));
      const t = Date.now();
      await root.send(new ListBucketsCommand({}));
      return Date.now() - t;
    })(),
  ]);
  await res.arrayBuffer();
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(listed).toBeLessThan(5_000);
  return res;
}

test('a policy Resource pattern against a 1,000-character anonymous key', async () => {
  const b = await newBucket('resource');
  await setPolicy(b, { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/${EVIL}` });
  const res = await attackWhileServing(() => fetch(`${cluster.endpoint}/${b}/${'a'.repeat(1000)}`));
  expect(res.status).toBe(403);
});

test('a NotResource pattern in a Deny against a long key', async () => {
  const b = await newBucket('notresource');
  await setPolicy(b, { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', NotResource: `arn:aws:s3:::${b}/${EVIL}` });
  const res = await attackWhileServing(() => fetch(`${cluster.endpoint}/${b}/${'a'.repeat(1000)}`));
  expect(res.status).toBe(403);
});

test('a StringLike condition against an 8,000-character Referer', async () => {
  const b = await newBucket('stringlike');
  await setPolicy(b, {
    Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*`, Condition: { StringLike: { 'aws:Referer': EVIL } },
  });
  const res = await attackWhileServing(() => fetch(`${cluster.endpoint}/${b}/k`, { headers: { referer: 'a'.repeat(8000) } }));
  expect(res.status).toBe(403);
});

test('a CORS preflight with a long Origin and request headers', async () => {
  const b = await newBucket('cors');
  await root.send(new PutBucketCorsCommand({
    Bucket: b, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*a'], AllowedMethods: ['GET'], AllowedHeaders: ['x-amz-*', '*b'] }] },
  }));
  const res = await attackWhileServing(() => fetch(`${cluster.endpoint}/${b}/k`, {
    method: 'OPTIONS',
    headers: { origin: 'a'.repeat(4000), 'access-control-request-method': 'GET', 'access-control-request-headers': `${'a,'.repeat(1000)}x-amz-${'a'.repeat(2000)}` },
  }));
  expect(res.status).toBe(403);
});

test('a preflight is matched at once against a configuration of 1,500 AllowedHeaders, and may ask for at most 100', async () => {
  const b = await newBucket('preflight');
  const allowed = [...Array.from({ length: 1500 }, (_, i) => `x-h-${i}`), 'a*'];
  await root.send(new PutBucketCorsCommand({ Bucket: b, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['PUT'], AllowedHeaders: allowed }] } }));
  const preflight = (n: number) => fetch(`${cluster.endpoint}/${b}/k`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': Array.from({ length: n }, (_, i) => `a${i}`).join(',') },
  });
  expect((await attackWhileServing(() => preflight(100))).status).toBe(200);
  expect((await attackWhileServing(() => preflight(2000))).status).toBe(403);
});

test('patterns over the caps are refused when stored', async () => {
  const b = await newBucket('caps');
  const many = '*a'.repeat(MAX_PATTERN_WILDCARDS + 1);
  expect(await s3Error(setPolicy(b, { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/${many}` })))
    .toEqual({ code: 'MalformedPolicy', status: 400 });
  expect(await s3Error(setPolicy(b, {
    Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*`, Condition: { StringLike: { 'aws:Referer': many } },
  }))).toEqual({ code: 'MalformedPolicy', status: 400 });
  // AWS S3 allows one wildcard in an AllowedOrigin or AllowedHeader.
  const cors = (rule: { AllowedOrigins: string[]; AllowedHeaders?: string[] }) =>
    root.send(new PutBucketCorsCommand({ Bucket: b, CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], ...rule }] } }));
  expect(await s3Error(cors({ AllowedOrigins: ['*'], AllowedHeaders: ['*a*a*a*b'] }))).toEqual({ code: 'InvalidRequest', status: 400 });
  expect(await s3Error(cors({ AllowedOrigins: ['*a*b'] }))).toEqual({ code: 'InvalidRequest', status: 400 });
});
