/**
 * S3 Object Ownership end to end: BucketOwnerEnforced (the default) refuses ACLs and reads them
 * back as the owner's FULL_CONTROL; ObjectWriter and BucketOwnerPreferred keep ACL grants and
 * give ownership of what another user writes. The JS SDK signing as the bucket owner (root) and
 * as a second user made with `shardgate admin`.
 */
import {
  CreateBucketCommand, DeleteBucketOwnershipControlsCommand, GetBucketAclCommand, GetBucketOwnershipControlsCommand, GetObjectAclCommand,
  GetObjectCommand, PutBucketAclCommand, PutBucketOwnershipControlsCommand, PutBucketPolicyCommand, PutObjectAclCommand, PutObjectCommand,
  CreateMultipartUploadCommand, CopyObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let root: S3Client;
let bob: S3Client;
let seq = 0;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  root = cluster.client();
  const r = await runAdmin(cluster, ['user', 'create', 'bob', '--json']);
  if (r.code !== 0) throw new Error(`shardgate admin user create failed: ${r.all}`);
  const key = JSON.parse(r.out) as { accessKeyId: string; secretAccessKey: string };
  bob = cluster.client({ credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } });
});

async function bucket(tag: string, ObjectOwnership?: 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter'): Promise<string> {
  const name = `own-${tag}-${++seq}`;
  await root.send(new CreateBucketCommand({ Bucket: name, ...(ObjectOwnership && { ObjectOwnership }) }));
  return name;
}

async function letBobWrite(b: string): Promise<void> {
  await root.send(new PutBucketPolicyCommand({
    Bucket: b, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:PutObject', Resource: `arn:aws:s3:::${b}/*` }] }),
  }));
}

const NOT_SUPPORTED = { code: 'AccessControlListNotSupported', status: 400 };
const read = (c: S3Client, Bucket: string, Key: string) => c.send(new GetObjectCommand({ Bucket, Key }));

// compat: GetBucketOwnershipControls
// compat: PutObject x-amz-acl
// compat: PutObjectAcl
// compat: PutBucketAcl
// compat: GetObjectAcl
// compat: PutObject x-amz-acl
test('a new bucket is BucketOwnerEnforced: ACLs other than the owner\'s full control are refused, and read back as it', async () => {
  const b = await bucket('enforced');
  expect((await root.send(new GetBucketOwnershipControlsCommand({ Bucket: b }))).OwnershipControls?.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
  expect(await s3Error(root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'public-read' })))).toEqual(NOT_SUPPORTED);
  // The owner's own `private` (rclone sends it on every upload) is its full control: taken.
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'own-private', Body: 'x', ACL: 'private' }));
  expect(await s3Error(root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', GrantRead: 'id="bob"' })))).toEqual(NOT_SUPPORTED);
  expect(await s3Error(root.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'm', ACL: 'authenticated-read' })))).toEqual(NOT_SUPPORTED);
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'bucket-owner-full-control' }));
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'plain', Body: 'y' }));
  expect(await s3Error(root.send(new CopyObjectCommand({ Bucket: b, Key: 'c', CopySource: `${b}/k`, ACL: 'public-read' })))).toEqual(NOT_SUPPORTED);
  expect(await s3Error(root.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', GrantRead: 'id="bob"' })))).toEqual(NOT_SUPPORTED);
  expect(await s3Error(root.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })))).toEqual(NOT_SUPPORTED);
  await root.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
  await root.send(new PutObjectAclCommand({ Bucket: b, Key: 'k', ACL: 'bucket-owner-full-control' }));
  const acl = await root.send(new GetObjectAclCommand({ Bucket: b, Key: 'k' }));
  expect(acl.Owner?.ID).toBe('root');
  expect(acl.Grants?.map((g) => [g.Grantee?.ID, g.Permission])).toEqual([['root', 'FULL_CONTROL']]);
  expect((await root.send(new GetBucketAclCommand({ Bucket: b }))).Grants?.map((g) => [g.Grantee?.ID, g.Permission])).toEqual([['root', 'FULL_CONTROL']]);
  // Bob writes through a policy; the bucket owner owns what he wrote.
  await letBobWrite(b);
  await bob.send(new PutObjectCommand({ Bucket: b, Key: 'bobs', Body: 'z' }));
  // Another writer's `private` would make the object his: refused.
  expect(await s3Error(bob.send(new PutObjectCommand({ Bucket: b, Key: 'bobs-private', Body: 'z', ACL: 'private' })))).toEqual(NOT_SUPPORTED);
  expect((await root.send(new GetObjectAclCommand({ Bucket: b, Key: 'bobs' }))).Owner?.ID).toBe('root');
  expect(await s3Error(read(bob, b, 'bobs'))).toEqual({ code: 'AccessDenied', status: 403 });
});

// compat: CreateBucket x-amz-object-ownership
// compat: PutBucketOwnershipControls
// compat: DeleteBucketOwnershipControls
test('CreateBucket x-amz-object-ownership, PutBucketOwnershipControls and DeleteBucketOwnershipControls', async () => {
  expect(await s3Error(root.send(new CreateBucketCommand({ Bucket: `own-acl-${++seq}`, ACL: 'public-read' }))))
    .toEqual({ code: 'InvalidBucketAclWithObjectOwnership', status: 400 });
  const b = `own-writer-acl-${++seq}`;
  await root.send(new CreateBucketCommand({ Bucket: b, ACL: 'public-read', ObjectOwnership: 'ObjectWriter' }));
  expect((await root.send(new GetBucketOwnershipControlsCommand({ Bucket: b }))).OwnershipControls?.Rules).toEqual([{ ObjectOwnership: 'ObjectWriter' }]);
  // A bucket whose ACL grants others cannot have ACLs disabled.
  const enforce = { Bucket: b, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' as const }] } };
  expect(await s3Error(root.send(new PutBucketOwnershipControlsCommand(enforce)))).toEqual({ code: 'InvalidBucketAclWithObjectOwnership', status: 400 });
  await root.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
  await root.send(new PutBucketOwnershipControlsCommand(enforce));
  expect((await root.send(new GetBucketOwnershipControlsCommand({ Bucket: b }))).OwnershipControls?.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
  expect(await s3Error(bob.send(new GetBucketOwnershipControlsCommand({ Bucket: b })))).toEqual({ code: 'AccessDenied', status: 403 });
  await root.send(new DeleteBucketOwnershipControlsCommand({ Bucket: b }));
  expect(await s3Error(root.send(new GetBucketOwnershipControlsCommand({ Bucket: b })))).toEqual({ code: 'OwnershipControlsNotFoundError', status: 404 });
  // Without controls a bucket behaves as ObjectWriter: ACLs count again.
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', GrantRead: 'id="bob"' }));
  expect((await read(bob, b, 'k')).$metadata.httpStatusCode).toBe(200);
});

// compat: PutObject x-amz-acl
// compat: GetObjectAcl
test('ObjectWriter: ACL grants open objects to the other user; the writer owns what it writes', async () => {
  const b = await bucket('writer', 'ObjectWriter');
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'shared', Body: 's', GrantRead: 'id="bob"' }));
  await root.send(new PutObjectCommand({ Bucket: b, Key: 'private', Body: 'p' }));
  expect(await (await read(bob, b, 'shared')).Body!.transformToString()).toBe('s');
  expect(await s3Error(read(bob, b, 'private'))).toEqual({ code: 'AccessDenied', status: 403 });
  await root.send(new PutObjectAclCommand({ Bucket: b, Key: 'private', ACL: 'authenticated-read' }));
  expect((await read(bob, b, 'private')).$metadata.httpStatusCode).toBe(200);
  // Bob's upload is his: he reads its ACL and changes it, as its owner.
  await letBobWrite(b);
  await bob.send(new PutObjectCommand({ Bucket: b, Key: 'bobs', Body: 'z' }));
  const acl = await bob.send(new GetObjectAclCommand({ Bucket: b, Key: 'bobs' }));
  expect(acl.Owner?.ID).toBe('bob');
  expect(acl.Grants?.map((g) => [g.Grantee?.ID, g.Permission])).toEqual([['bob', 'FULL_CONTROL']]);
  await bob.send(new PutObjectAclCommand({ Bucket: b, Key: 'bobs', ACL: 'public-read' }));
  expect((await fetch(`${cluster.endpoint}/${b}/bobs`)).status).toBe(200);
  expect((await bob.send(new GetObjectAclCommand({ Bucket: b, Key: 'bobs' }))).Owner?.ID).toBe('bob');
  // bucket-owner-full-control gives the bucket owner its grant; the object stays bob's.
  await bob.send(new PutObjectCommand({ Bucket: b, Key: 'bfc', Body: 'w', ACL: 'bucket-owner-full-control' }));
  const bfc = await root.send(new GetObjectAclCommand({ Bucket: b, Key: 'bfc' }));
  expect(bfc.Owner?.ID).toBe('bob');
  expect(bfc.Grants?.map((g) => [g.Grantee?.ID, g.Permission])).toEqual([['bob', 'FULL_CONTROL'], ['root', 'FULL_CONTROL']]);
});

// compat: PutBucketOwnershipControls
test('BucketOwnerPreferred: bucket-owner-full-control hands the object to the bucket owner; without it the writer keeps it', async () => {
  const b = await bucket('preferred', 'BucketOwnerPreferred');
  await letBobWrite(b);
  await bob.send(new PutObjectCommand({ Bucket: b, Key: 'given', Body: 'g', ACL: 'bucket-owner-full-control' }));
  await bob.send(new PutObjectCommand({ Bucket: b, Key: 'kept', Body: 'k' }));
  expect((await root.send(new GetObjectAclCommand({ Bucket: b, Key: 'given' }))).Owner?.ID).toBe('root');
  expect((await root.send(new GetObjectAclCommand({ Bucket: b, Key: 'kept' }))).Owner?.ID).toBe('bob');
  expect((await read(bob, b, 'kept')).$metadata.httpStatusCode).toBe(200);
  expect(await s3Error(read(bob, b, 'given'))).toEqual({ code: 'AccessDenied', status: 403 });
});
