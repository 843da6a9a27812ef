/**
 * Bucket policy Conditions and NotPrincipal end to end: a real cluster, the AWS SDK v3 signing
 * as the bucket owner (root) and as a second user made with `shardgate admin`, and raw fetch
 * for anonymous callers. Each test has its own bucket.
 */
import {
  DeleteBucketPolicyCommand, GetBucketPolicyStatusCommand, GetBucketVersioningCommand, GetObjectAclCommand, PutBucketVersioningCommand, GetObjectCommand, ListObjectsV2Command, PutObjectAclCommand, PutBucketPolicyCommand, PutObjectCommand, CopyObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let root: S3Client;
let bob: S3Client;
let newBucket: (tag: string) => Promise<string>;

beforeAll(async () => {
  // Loopback plays the TLS proxy in front: its X-Forwarded-Proto counts.
  cluster = await startCluster({ scope: 'file', env: { SHARDGATE_TRUSTED_PROXIES: '127.0.0.1' } });
  root = cluster.client();
  const r = await runAdmin(cluster, ['user', 'create', 'bob', '--json']);
  if (r.code !== 0) throw new Error(`shardgate admin user create failed: ${r.all}`);
  const key = JSON.parse(r.out) as { accessKeyId: string; secretAccessKey: string };
  bob = cluster.client({ credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } });
  newBucket = bucketFactory(() => root, 'cond');
});

async function setPolicy(bucket: string, ...statements: object[]): Promise<void> {
  await root.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }));
}

/** The same client, with extra headers on every request (signed, as a proxy's would not be; the gateway does not care). */
function withHeaders(client: S3Client, headers: Record<string, string>): S3Client {
  const c = cluster.client({ credentials: client.config.credentials });
  c.middlewareStack.add((next) => async (args) => {
    const req = args.request as { headers: Record<string, string> };
    Object.assign(req.headers, headers);
    return next(args);
  }, { step: 'build', name: 'extraHeaders' });
  return c;
}

const get = (client: S3Client, Bucket: string, Key: string) => client.send(new GetObjectCommand({ Bucket, Key }));

test('Deny unless aws:SecureTransport: plain HTTP is refused, the owner included, unless a TLS proxy says https', async () => {
  const b = await newBucket('tls');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
  await setPolicy(b, {
    Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  });
  expect(await s3Error(get(root, b, 'k'))).toEqual({ code: 'AccessDenied', status: 403 });
  expect((await get(withHeaders(root, { 'x-forwarded-proto': 'https' }), b, 'k')).$metadata.httpStatusCode).toBe(200);
  // The owner can always replace a policy that locks everyone out.
  await setPolicy(b, { Effect: 'Deny', Principal: '*', Action: 's3:DeleteBucket', Resource: `arn:aws:s3:::${b}` });
  expect((await get(root, b, 'k')).$metadata.httpStatusCode).toBe(200);
});

test('aws:SourceIp: an Allow for loopback lets bob in, one for 10.0.0.0/8 does not; NotIpAddress denies', async () => {
  const b = await newBucket('ip');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
  const allowFrom = (cidr: string | string[]) => ({
    Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*`, Condition: { IpAddress: { 'aws:SourceIp': cidr } },
  });
  await setPolicy(b, allowFrom(['127.0.0.0/8', '::1/128']));
  expect((await get(bob, b, 'k')).$metadata.httpStatusCode).toBe(200);
  await setPolicy(b, allowFrom('10.0.0.0/8'));
  expect(await s3Error(get(bob, b, 'k'))).toEqual({ code: 'AccessDenied', status: 403 });
  await setPolicy(b, allowFrom('0.0.0.0/0'), {
    Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*`, Condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
  });
  expect(await s3Error(get(bob, b, 'k'))).toEqual({ code: 'AccessDenied', status: 403 });
  // A "*" Allow limited to a narrow block is not public (GetBucketPolicyStatus).
  await setPolicy(b, { ...allowFrom('10.0.0.0/32'), Principal: '*' });
  expect((await root.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic).toBe(false);
  await setPolicy(b, { ...allowFrom('0.0.0.0/0'), Principal: '*' });
  expect((await root.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic).toBe(true);
});

test('s3:ExistingObjectTag decides GetObject by the object\'s own tags', async () => {
  const b = await newBucket('tag');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'pub', Body: 'p', Tagging: 'security=public&team=a' }));
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'priv', Body: 'q', Tagging: 'security=private' }));
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'none', Body: 'r' }));
  await setPolicy(b, {
    Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*`,
    Condition: { StringEquals: { 's3:ExistingObjectTag/security': 'public' } },
  });
  expect((await get(bob, b, 'pub')).$metadata.httpStatusCode).toBe(200);
  expect(await s3Error(get(bob, b, 'priv'))).toEqual({ code: 'AccessDenied', status: 403 });
  expect(await s3Error(get(bob, b, 'none'))).toEqual({ code: 'AccessDenied', status: 403 });
});

test('s3:x-amz-acl: PutObject only with bucket-owner-full-control; s3:x-amz-copy-source limits copies', async () => {
  const b = await newBucket('acl');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'public/src', Body: 'x' }));
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'private/src', Body: 'y' }));
  await setPolicy(b,
    { Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:PutObject', Resource: `arn:aws:s3:::${b}/*`, Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } },
    { Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:PutObject', Resource: `arn:aws:s3:::${b}/copies/*`, Condition: { StringLike: { 's3:x-amz-copy-source': `${b}/public/*` } } },
    { Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` },
  );
  expect(await s3Error(bob.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' })))).toEqual({ code: 'AccessDenied', status: 403 });
  const ok = await bob.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'bucket-owner-full-control' }));
  expect(ok.$metadata.httpStatusCode).toBe(200);
  expect((await bob.send(new CopyObjectCommand({ Bucket: b, Key: 'copies/a', CopySource: `${b}/public/src` }))).$metadata.httpStatusCode).toBe(200);
  expect(await s3Error(bob.send(new CopyObjectCommand({ Bucket: b, Key: 'copies/b', CopySource: `${b}/private/src` })))).toEqual({ code: 'AccessDenied', status: 403 });
});

test('s3:prefix: bob may list home/ and nothing else', async () => {
  const b = await newBucket('prefix');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'home/a', Body: 'x' }));
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'other/b', Body: 'y' }));
  await setPolicy(b, {
    Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:ListBucket', Resource: `arn:aws:s3:::${b}`,
    Condition: { StringEquals: { 's3:prefix': ['home/', 'home/${aws:username}/'] } },
  });
  const listed = await bob.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'home/' }));
  expect(listed.Contents?.map((o) => o.Key)).toEqual(['home/a']);
  expect(await s3Error(bob.send(new ListObjectsV2Command({ Bucket: b })))).toEqual({ code: 'AccessDenied', status: 403 });
  expect(await s3Error(bob.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'other/' })))).toEqual({ code: 'AccessDenied', status: 403 });
  expect((await bob.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'home/bob/' }))).$metadata.httpStatusCode).toBe(200);
});

test('NotPrincipal: a Deny for everyone but bob and the owner shuts out anonymous readers a public Allow let in', async () => {
  const b = await newBucket('notprincipal');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
  const allowAll = { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` };
  await setPolicy(b, allowAll);
  expect((await fetch(`${cluster.endpoint}/${b}/k`)).status).toBe(200);
  await setPolicy(b, allowAll, {
    Effect: 'Deny', NotPrincipal: { AWS: ['arn:aws:iam::000000000000:user/bob', 'arn:aws:iam::000000000000:root'] }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*`,
  });
  expect((await fetch(`${cluster.endpoint}/${b}/k`)).status).toBe(403);
  expect((await get(bob, b, 'k')).$metadata.httpStatusCode).toBe(200);
  expect((await get(root, b, 'k')).$metadata.httpStatusCode).toBe(200);
  // NotPrincipal with Allow is not supported (IAM): refused at PutBucketPolicy.
  expect(await s3Error(setPolicy(b, { ...allowAll, Principal: undefined, NotPrincipal: { AWS: 'bob' } }))).toEqual({ code: 'MalformedPolicy', status: 400 });
});

test('a policy may grant s3:GetObjectAcl to another user; without it the ACL is the owner\'s alone', async () => {
  const b = await newBucket('acl');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
  expect(await s3Error(bob.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' })))).toEqual({ code: 'AccessDenied', status: 403 });
  await setPolicy(b, { Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:GetObjectAcl', Resource: `arn:aws:s3:::${b}/*` });
  expect((await bob.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' }))).Grants).toHaveLength(1);
  // Reading the ACL is not reading the object, nor changing its ACL.
  expect(await s3Error(get(bob, b, 'k'))).toEqual({ code: 'AccessDenied', status: 403 });
  expect(await s3Error(bob.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', ACL: 'public-read' })))).toEqual({ code: 'AccessDenied', status: 403 });
});

test('a Deny of s3:PutBucketVersioning holds for the owner; the owner can still remove the policy', async () => {
  const b = await newBucket('guard');
  await root.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
  await setPolicy(b, { Effect: 'Deny', Principal: '*', Action: ['s3:PutBucketVersioning', 's3:PutLifecycleConfiguration'], Resource: `arn:aws:s3:::${b}` });
  expect(await s3Error(root.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } }))))
    .toEqual({ code: 'AccessDenied', status: 403 });
  expect((await root.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBe('Enabled');
  await root.send(new DeleteBucketPolicyCommand({ Bucket: b }));
  await root.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } }));
  expect((await root.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBe('Suspended');
});
