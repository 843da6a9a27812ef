/**
 * HEAD or GET of a missing key by a caller whose s3:ListBucket is limited by s3:prefix: 404
 * NoSuchKey where the caller may list the key's place, 403 AccessDenied elsewhere, as S3 answers.
 * The JS SDK, signing as the bucket owner (root) and as a second user made with `shardgate admin`.
 */
import { GetObjectCommand, HeadObjectCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let root: S3Client;
let alice: S3Client;
let newBucket: (tag: string) => Promise<string>;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  root = cluster.client();
  const r = await runAdmin(cluster, ['user', 'create', 'alice', '--json']);
  if (r.code !== 0) throw new Error(`shardgate admin user create failed: ${r.all}`);
  const key = JSON.parse(r.out) as { accessKeyId: string; secretAccessKey: string };
  alice = cluster.client({ credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } });
  newBucket = bucketFactory(() => root, 'prefix404');
});

// compat: HeadObject missing key
// compat: GetObject missing key
test('s3:prefix "home/alice/*": a missing key under it is 404 NoSuchKey, elsewhere 403', async () => {
  const b = await newBucket('home');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'home/alice/there', Body: 'x' }));
  await root.send(new PutBucketPolicyCommand({
    Bucket: b, Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'alice' }, Action: 's3:ListBucket', Resource: `arn:aws:s3:::${b}`, Condition: { StringLike: { 's3:prefix': 'home/alice/*' } } },
        { Effect: 'Allow', Principal: { AWS: 'alice' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/home/alice/there` },
      ],
    }),
  }));
  expect(await s3Error(alice.send(new HeadObjectCommand({ Bucket: b, Key: 'home/alice/missing' })))).toEqual({ code: 'NotFound', status: 404 });
  expect(await s3Error(alice.send(new GetObjectCommand({ Bucket: b, Key: 'home/alice/missing' })))).toEqual({ code: 'NoSuchKey', status: 404 });
  expect(await s3Error(alice.send(new GetObjectCommand({ Bucket: b, Key: 'home/alice/deeper/missing' })))).toEqual({ code: 'NoSuchKey', status: 404 });
  expect(await s3Error(alice.send(new HeadObjectCommand({ Bucket: b, Key: 'home/bob/missing' })))).toMatchObject({ status: 403 }); // a HEAD answer has no body to name its code
  expect(await s3Error(alice.send(new GetObjectCommand({ Bucket: b, Key: 'home/bob/missing' })))).toEqual({ code: 'AccessDenied', status: 403 });
  // An object that exists is read by its own grant, never by the listing one.
  expect((await alice.send(new GetObjectCommand({ Bucket: b, Key: 'home/alice/there' }))).$metadata.httpStatusCode).toBe(200);
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'home/alice/other', Body: 'y' }));
  expect(await s3Error(alice.send(new GetObjectCommand({ Bucket: b, Key: 'home/alice/other' })))).toEqual({ code: 'AccessDenied', status: 403 });
  // Anonymous callers may list nothing: 403.
  expect((await fetch(`${cluster.endpoint}/${b}/home/alice/missing`)).status).toBe(403);
});
