/**
 * Explicit ACL grants end to end: a real cluster, the AWS SDK v3 signing as the bucket owner
 * (root) and as two users made with `shardgate admin` (bob, carol), and raw fetch for anonymous
 * callers. Each test has its own bucket.
 */
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, UploadPartCommand, GetBucketAclCommand, GetBucketPolicyStatusCommand, GetObjectAclCommand, GetObjectCommand, ListObjectsV2Command,
  PutBucketAclCommand, PutBucketPolicyCommand, PutObjectAclCommand, PutObjectCommand, PutPublicAccessBlockCommand, type Grant, type S3Client,
} from '@aws-sdk/client-s3';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, s3Error } from '../helpers/s3.js';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

let cluster: Cluster;
let root: S3Client;
let bob: S3Client;
let carol: S3Client;
let newBucket: (tag: string) => Promise<string>;

async function userClient(name: string): Promise<S3Client> {
  const r = await runAdmin(cluster, ['user', 'create', name, '--json']);
  if (r.code !== 0) throw new Error(`shardgate admin user create failed: ${r.all}`);
  const key = JSON.parse(r.out) as { accessKeyId: string; secretAccessKey: string };
  return cluster.client({ credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } });
}

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  root = cluster.client();
  bob = await userClient('bob');
  carol = await userClient('carol');
  newBucket = bucketFactory(() => root, 'grants');
});

const anon = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${cluster.endpoint}${path}`, init);
const get = (client: S3Client, Bucket: string, Key: string) => client.send(new GetObjectCommand({ Bucket, Key }));
const denied = { code: 'AccessDenied', status: 403 };
const summary = (grants: Grant[] | undefined) => grants?.map((g) => [g.Grantee?.Type, g.Grantee?.ID ?? g.Grantee?.URI, g.Permission]);

// compat: GetObjectAcl
// compat: PutObject x-amz-acl
test('GrantRead by header: bob reads the object, carol and anonymous callers do not; GetObjectAcl lists exactly the grant', async () => {
  const b = await newBucket('read');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'for bob', GrantRead: 'id="bob"' }));
  expect(await (await get(bob, b, 'k')).Body!.transformToString()).toBe('for bob');
  expect(await s3Error(get(carol, b, 'k'))).toEqual(denied);
  expect((await anon(`/${b}/k`)).status).toBe(403);
  // READ is not READ_ACP, and an object grant does not list the bucket.
  expect(await s3Error(bob.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' })))).toEqual(denied);
  expect(await s3Error(bob.send(new ListObjectsV2Command({ Bucket: b })))).toEqual(denied);
  const acl = await root.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' }));
  expect(acl.Owner?.ID).toBe('root');
  expect(summary(acl.Grants)).toEqual([['CanonicalUser', 'bob', 'READ']]);
  expect(acl.Grants?.[0]?.Grantee?.DisplayName).toBe('bob');
});

test('grant headers on CreateMultipartUpload are given to the completed object; a copy takes its own', async () => {
  const b = await newBucket('mpu');
  const { UploadId } = await root.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mp', GrantRead: 'id="bob"' }));
  const { ETag } = await root.send(new UploadPartCommand({ Bucket: b, Key: 'mp', UploadId, PartNumber: 1, Body: 'one part' }));
  await root.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
  expect(await (await get(bob, b, 'mp')).Body!.transformToString()).toBe('one part');
  await root.send(new CopyObjectCommand({ Bucket: b, Key: 'copy', CopySource: `${b}/mp`, GrantRead: 'id="carol"' }));
  expect(await s3Error(get(bob, b, 'copy'))).toEqual(denied);
  expect((await get(carol, b, 'copy')).$metadata.httpStatusCode).toBe(200);
});

// compat: PutObjectAcl
// compat: GetObjectAcl
test('an AccessControlPolicy body with any grants: stored, listed, and READ_ACP / WRITE_ACP enforced', async () => {
  const b = await newBucket('body');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
  const owner = { ID: 'root', DisplayName: 'root' };
  await root.send(new PutObjectAclCommand({
    Bucket: b, Key: 'k',
    AccessControlPolicy: {
      Owner: owner,
      Grants: [
        { Grantee: { Type: 'CanonicalUser', ID: 'root' }, Permission: 'FULL_CONTROL' },
        { Grantee: { Type: 'CanonicalUser', ID: 'bob' }, Permission: 'READ_ACP' },
        { Grantee: { Type: 'CanonicalUser', ID: 'carol' }, Permission: 'WRITE_ACP' },
      ],
    },
  }));
  expect(summary((await root.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' }))).Grants)).toEqual([
    ['CanonicalUser', 'root', 'FULL_CONTROL'], ['CanonicalUser', 'bob', 'READ_ACP'], ['CanonicalUser', 'carol', 'WRITE_ACP'],
  ]);
  // bob reads the ACL, not the object, and may not change the ACL.
  expect((await bob.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' }))).Grants).toHaveLength(3);
  expect(await s3Error(get(bob, b, 'k'))).toEqual(denied);
  expect(await s3Error(bob.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', ACL: 'private' })))).toEqual(denied);
  // carol may not read the ACL, but may rewrite it: she gives herself READ.
  expect(await s3Error(carol.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' })))).toEqual(denied);
  await carol.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', GrantRead: 'id="carol"' }));
  expect(await (await get(carol, b, 'k')).Body!.transformToString()).toBe('x');
  expect(await s3Error(bob.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' })))).toEqual(denied);
  // The owner always keeps its rights, whether the ACL lists it or not.
  expect((await get(root, b, 'k')).$metadata.httpStatusCode).toBe(200);
});

// compat: GetBucketAcl
// compat: PutBucketAcl
test('bucket grants: WRITE lets bob put and delete, READ lets carol list, READ_ACP / WRITE_ACP the bucket ACL', async () => {
  const b = await newBucket('bucket');
  await root.send(new PutBucketAclCommand({ Bucket: b, GrantWrite: 'id="bob"', GrantRead: 'id=carol', GrantReadACP: 'id="bob"' }));
  await bob.send(new PutObjectCommand({ Bucket: b, Key: 'from-bob', Body: 'b' }));
  expect(await s3Error(carol.send(new PutObjectCommand({ Bucket: b, Key: 'from-carol', Body: 'c' })))).toEqual(denied);
  expect((await carol.send(new ListObjectsV2Command({ Bucket: b }))).Contents?.map((o) => o.Key)).toEqual(['from-bob']);
  expect(await s3Error(bob.send(new ListObjectsV2Command({ Bucket: b })))).toEqual(denied);
  // The object belongs to the bucket owner; bob's WRITE on the bucket does not let him read it.
  expect(await s3Error(get(bob, b, 'from-bob'))).toEqual(denied);
  await bob.send(new DeleteObjectCommand({ Bucket: b, Key: 'from-bob' }));
  expect((await carol.send(new ListObjectsV2Command({ Bucket: b }))).KeyCount).toBe(0);
  expect(summary((await bob.send(new GetBucketAclCommand({ Bucket: b }))).Grants)).toEqual([
    ['CanonicalUser', 'carol', 'READ'], ['CanonicalUser', 'bob', 'WRITE'], ['CanonicalUser', 'bob', 'READ_ACP'],
  ]);
  expect(await s3Error(carol.send(new GetBucketAclCommand({ Bucket: b })))).toEqual(denied);
  expect(await s3Error(bob.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' })))).toEqual(denied);
  await root.send(new PutBucketAclCommand({ Bucket: b, GrantWriteACP: 'id="bob"' }));
  await bob.send(new PutBucketAclCommand({ Bucket: b, GrantFullControl: 'id="bob"' }));
  expect(summary((await bob.send(new GetBucketAclCommand({ Bucket: b }))).Grants)).toEqual([['CanonicalUser', 'bob', 'FULL_CONTROL']]);
  // A policy Deny beats a grant, but never locks the owner out of the bucket ACL.
  await root.send(new PutBucketPolicyCommand({
    Bucket: b, Policy: JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`] }] }),
  }));
  expect(await s3Error(bob.send(new GetBucketAclCommand({ Bucket: b })))).toEqual(denied);
  await root.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
  expect((await root.send(new GetBucketAclCommand({ Bucket: b }))).Grants).toHaveLength(1);
});

test('CreateBucket with grant headers; the ACL stays the owner\'s to repair', async () => {
  const b = 'grants-created';
  await root.send(new CreateBucketCommand({ Bucket: b, GrantFullControl: 'id="bob"' }));
  await bob.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
  expect(summary((await root.send(new GetBucketAclCommand({ Bucket: b }))).Grants)).toEqual([['CanonicalUser', 'bob', 'FULL_CONTROL']]);
});

test('refused grants: x-amz-acl with a grant header, an unknown id, an e-mail address, a header that does not parse', async () => {
  const b = await newBucket('bad');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
  expect(await s3Error(root.send(new PutObjectCommand({ Bucket: b, Key: 'both', Body: 'x', ACL: 'private', GrantRead: 'id="bob"' }))))
    .toEqual({ code: 'InvalidRequest', status: 400 });
  expect(await s3Error(root.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', ACL: 'public-read', GrantRead: 'id="bob"' }))))
    .toEqual({ code: 'InvalidRequest', status: 400 });
  expect(await s3Error(root.send(new PutObjectCommand({ Bucket: b, Key: 'nobody', Body: 'x', GrantRead: 'id="_foo"' }))))
    .toEqual({ code: 'InvalidArgument', status: 400 });
  expect(await s3Error(root.send(new PutBucketAclCommand({
    Bucket: b, AccessControlPolicy: { Owner: { ID: 'root' }, Grants: [{ Grantee: { Type: 'CanonicalUser', ID: '_foo' }, Permission: 'FULL_CONTROL' }] },
  })))).toEqual({ code: 'InvalidArgument', status: 400 });
  expect(await s3Error(root.send(new PutBucketAclCommand({
    Bucket: b, AccessControlPolicy: { Owner: { ID: 'root' }, Grants: [{ Grantee: { Type: 'AmazonCustomerByEmail', EmailAddress: 'bob@example.com' }, Permission: 'READ' }] },
  })))).toEqual({ code: 'UnresolvableGrantByEmailAddress', status: 400 });
  expect(await s3Error(root.send(new PutObjectCommand({ Bucket: b, Key: 'mail', Body: 'x', GrantRead: 'emailAddress="bob@example.com"' }))))
    .toEqual({ code: 'UnresolvableGrantByEmailAddress', status: 400 });
  expect(await s3Error(root.send(new PutObjectCommand({ Bucket: b, Key: 'garbled', Body: 'x', GrantRead: 'bob' }))))
    .toEqual({ code: 'InvalidArgument', status: 400 });
  // Nothing was written by the refused writes.
  expect((await root.send(new ListObjectsV2Command({ Bucket: b }))).Contents?.map((o) => o.Key)).toEqual(['k']);
});

test('Block Public Access: a uri AllUsers grant is refused; a grant to a user is not; the policy status counts a public grant', async () => {
  const b = await newBucket('bpa');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
  await root.send(new PutBucketAclCommand({ Bucket: b, GrantReadACP: 'id="bob"' }));
  expect((await root.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic).toBe(false);
  await root.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', GrantRead: `uri="${ALL_USERS}"` }));
  expect((await anon(`/${b}/k`)).status).toBe(200);
  await root.send(new PutBucketAclCommand({ Bucket: b, GrantRead: `uri="${ALL_USERS}"` }));
  expect((await root.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic).toBe(true);
  await root.send(new PutPublicAccessBlockCommand({
    Bucket: b, PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false },
  }));
  expect(await s3Error(root.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', GrantRead: `uri="${ALL_USERS}"` })))).toEqual(denied);
  expect(await s3Error(root.send(new PutObjectCommand({ Bucket: b, Key: 'k2', Body: 'x', GrantRead: `id="bob", uri="${ALL_USERS}"` })))).toEqual(denied);
  // IgnorePublicAcls: the AllUsers grant already stored opens nothing; bob's own grant still counts.
  expect((await anon(`/${b}/k`)).status).toBe(403);
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k3', Body: 'x', GrantRead: 'id="bob"' }));
  expect((await get(bob, b, 'k3')).$metadata.httpStatusCode).toBe(200);
});
