/**
 * Several users and access control through a real cluster: keys made with `shardgate admin`,
 * bucket ownership, bucket policies, canned ACLs with anonymous reads, CORS preflights, and
 * disabled or deleted keys. The AWS SDK v3 signs as each user; raw fetch sends what browsers
 * and anonymous clients send.
 */
import {
  CreateBucketCommand, DeleteBucketCorsCommand, DeleteBucketPolicyCommand, GetBucketAclCommand, GetBucketCorsCommand,
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand,
  DeletePublicAccessBlockCommand, GetPublicAccessBlockCommand, PutPublicAccessBlockCommand, GetBucketPolicyCommand, GetBucketPolicyStatusCommand, PutBucketAclCommand, GetObjectAclCommand, GetObjectTaggingCommand, HeadObjectCommand, ListBucketsCommand, ListObjectVersionsCommand, ListObjectsV2Command, PutBucketCorsCommand,
  PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectAclCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { hmac, signingKey } from '../../gateway/auth/signing.js';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { metaQuery } from '../helpers/meta-query.js';
import { objectBytes, s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let root: S3Client;

interface Key {
  accessKeyId: string;
  secretAccessKey: string;
  user: string;
}

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  root = cluster.client();
});

async function admin(args: string[]): Promise<string> {
  const r = await runAdmin(cluster, args);
  if (r.code !== 0) throw new Error(`shardgate admin ${args.join(' ')} failed (${r.code}): ${r.all}`);
  return r.out;
}

async function newUser(user: string): Promise<{ key: Key; s3: S3Client }> {
  const key = JSON.parse(await admin(['user', 'create', user, '--json'])) as Key;
  return { key, s3: cluster.client({ credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } }) };
}

const anon = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${cluster.endpoint}${path}`, init);
const codeIn = (xml: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

describe('users and keys', () => {
  test('admin creates users and keys; secrets are shown once and stored only sealed', async () => {
    const { key } = await newUser('carol');
    expect(key.accessKeyId).toMatch(/^SG[A-Z0-9]{18}$/);
    expect(key.user).toBe('carol');
    const again = await runAdmin(cluster, ['user', 'create', 'carol']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/UserExists/);
    const second = JSON.parse(await admin(['key', 'create', 'carol', '--json'])) as Key;
    const listed = JSON.parse(await admin(['key', 'list', '--user', 'carol', '--json'])) as Array<Record<string, unknown>>;
    expect(listed.map((k) => k.accessKeyId).sort()).toEqual([key.accessKeyId, second.accessKeyId].sort());
    expect(JSON.stringify(listed)).not.toContain(key.secretAccessKey);
    const users = JSON.parse(await admin(['user', 'list', '--json'])) as Array<{ user: string; keys: number }>;
    expect(users.find((u) => u.user === 'carol')?.keys).toBe(2);
    // The metadata file alone holds no usable secret.
    const [row] = await metaQuery<{ secret: string; sealed_secret: Buffer }>(cluster, 'SELECT secret, sealed_secret FROM access_keys WHERE access_key_id = ?', [key.accessKeyId]);
    expect(row!.secret).toBe('');
    expect(row!.sealed_secret.includes(Buffer.from(key.secretAccessKey))).toBe(false);
  });

  test('a disabled or deleted key answers InvalidAccessKeyId; enabled again it works', async () => {
    const { key, s3 } = await newUser('dave');
    await s3.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: 'dave-bucket' }));
    await admin(['key', 'disable', key.accessKeyId]);
    expect(await s3Error(s3.send(new ListBucketsCommand({})))).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
    await admin(['key', 'enable', key.accessKeyId]);
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['dave-bucket']);
    await admin(['user', 'disable', 'dave']);
    expect(await s3Error(s3.send(new ListBucketsCommand({})))).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
    await admin(['user', 'enable', 'dave']);
    await admin(['key', 'delete', key.accessKeyId]);
    expect(await s3Error(s3.send(new ListBucketsCommand({})))).toEqual({ code: 'InvalidAccessKeyId', status: 403 });
    const missing = await runAdmin(cluster, ['key', 'delete', key.accessKeyId]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/NoSuchAccessKey/);
  });
});

describe('ownership and bucket policies', () => {
  test("one user's keys cannot list, read or write another user's bucket", async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    await alice.s3.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: 'alice-own' }));
    await alice.s3.send(new PutObjectCommand({ Bucket: 'alice-own', Key: 'a.txt', Body: 'alice' }));
    await bob.s3.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: 'bob-own' }));
    expect((await bob.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['bob-own']);
    expect((await alice.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['alice-own']);
    expect(await s3Error(bob.s3.send(new ListObjectsV2Command({ Bucket: 'alice-own' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(objectBytes(bob.s3, 'alice-own', 'a.txt'))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(bob.s3.send(new PutObjectCommand({ Bucket: 'alice-own', Key: 'b', Body: 'x' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(bob.s3.send(new GetBucketPolicyCommand({ Bucket: 'alice-own' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(bob.s3.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: 'alice-own' })))).toEqual({ code: 'BucketAlreadyExists', status: 409 });
    // The root user administers every bucket.
    expect((await objectBytes(root, 'alice-own', 'a.txt')).toString()).toBe('alice');
  });

  // compat: GetBucketPolicy
  // compat: PutBucketPolicy
  // compat: DeleteBucketPolicy
  test('a policy grants another user a prefix; an explicit Deny wins, for the owner too', async () => {
    const erin = await newUser('erin');
    const frank = await newUser('frank');
    const b = 'erin-shared';
    await erin.s3.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    for (const k of ['pub/a', 'pub/secret-1', 'priv/x']) await erin.s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: k }));
    expect(await s3Error(erin.s3.send(new GetBucketPolicyCommand({ Bucket: b })))).toEqual({ code: 'NoSuchBucketPolicy', status: 404 });
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::000000000000:user/frank'] }, Action: ['s3:GetObject', 's3:ListBucket'], Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/pub/*`] },
        { Effect: 'Deny', Principal: { AWS: 'frank' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/pub/secret*` },
        { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${b}/pub/*` },
      ],
    });
    await erin.s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: policy }));
    expect((await erin.s3.send(new GetBucketPolicyCommand({ Bucket: b }))).Policy).toBe(policy);
    expect((await objectBytes(frank.s3, b, 'pub/a')).toString()).toBe('pub/a');
    expect((await frank.s3.send(new ListObjectsV2Command({ Bucket: b }))).KeyCount).toBe(3);
    expect(await s3Error(objectBytes(frank.s3, b, 'pub/secret-1'))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(objectBytes(frank.s3, b, 'priv/x'))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(frank.s3.send(new PutObjectCommand({ Bucket: b, Key: 'priv/y', Body: 'y' })))).toEqual({ code: 'AccessDenied', status: 403 });
    // Deny on Principal "*" binds the owner as well; elsewhere the owner writes as before.
    expect(await s3Error(erin.s3.send(new PutObjectCommand({ Bucket: b, Key: 'pub/new', Body: 'n' })))).toEqual({ code: 'AccessDenied', status: 403 });
    await erin.s3.send(new PutObjectCommand({ Bucket: b, Key: 'priv/new', Body: 'n' }));
    // Policies are not grants to anonymous callers unless they say "*".
    expect((await anon(`/${b}/pub/a`)).status).toBe(403);

    expect(await s3Error(erin.s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: '{"Statement": [' })))).toEqual({ code: 'MalformedPolicy', status: 400 });
    const otherBucket = JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::elsewhere/*' }] });
    expect(await s3Error(erin.s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: otherBucket })))).toEqual({ code: 'MalformedPolicy', status: 400 });
    const badEffect = JSON.stringify({ Statement: [{ Effect: 'Maybe', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` }] });
    expect(await s3Error(erin.s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: badEffect })))).toEqual({ code: 'MalformedPolicy', status: 400 });

    await erin.s3.send(new DeleteBucketPolicyCommand({ Bucket: b }));
    expect(await s3Error(erin.s3.send(new GetBucketPolicyCommand({ Bucket: b })))).toEqual({ code: 'NoSuchBucketPolicy', status: 404 });
    expect(await s3Error(objectBytes(frank.s3, b, 'pub/a'))).toEqual({ code: 'AccessDenied', status: 403 });
  });

  test('batch deletes and version deletes obey the policy key by key (ransomware protection)', async () => {
    const grace = await newUser('grace');
    const b = 'root-protected';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    await root.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
    const v = (await root.send(new PutObjectCommand({ Bucket: b, Key: 'locked/a', Body: 'a' }))).VersionId!;
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'scratch/b', Body: 'b' }));
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'scratch/c', Body: 'c' }));
    await root.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [
      { Effect: 'Deny', Principal: '*', Action: 's3:DeleteObjectVersion', Resource: `arn:aws:s3:::${b}/*` },
      { Effect: 'Deny', Principal: '*', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${b}/locked/*` },
      { Effect: 'Allow', Principal: { AWS: 'grace' }, Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${b}/scratch/*` },
    ] }) }));
    // No version can be deleted, by anyone, one at a time or in a batch.
    expect(await s3Error(root.send(new DeleteObjectCommand({ Bucket: b, Key: 'locked/a', VersionId: v })))).toEqual({ code: 'AccessDenied', status: 403 });
    const batch = await root.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [
      { Key: 'locked/a', VersionId: v }, { Key: 'locked/a' }, { Key: 'scratch/b' },
    ] } }));
    expect(batch.Errors?.map((e) => [e.Key, e.Code])).toEqual([['locked/a', 'AccessDenied'], ['locked/a', 'AccessDenied']]);
    expect(batch.Deleted?.map((d) => [d.Key, d.DeleteMarker])).toEqual([['scratch/b', true]]);
    // Another user allowed a prefix by the policy deletes there, in a batch, and nowhere else.
    const mixed = await grace.s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: 'scratch/c' }, { Key: 'locked/a' }] } }));
    expect(mixed.Deleted?.map((d) => d.Key)).toEqual(['scratch/c']);
    expect(mixed.Errors?.map((e) => [e.Key, e.Code])).toEqual([['locked/a', 'AccessDenied']]);
    expect((await objectBytes(root, b, 'locked/a', { VersionId: v })).toString()).toBe('a');
    expect((await root.send(new ListObjectVersionsCommand({ Bucket: b }))).Versions?.length).toBe(3);
  });

  // compat: GetBucketPolicyStatus
  test('GetBucketPolicyStatus: public through a public-read ACL or an Allow for "*", private otherwise', async () => {
    const b = 'root-status';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    const isPublic = async () => (await root.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic;
    expect(await isPublic()).toBe(false);
    await root.send(policyCommand(b, { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 's3:ListBucket', Resource: `arn:aws:s3:::${b}` }));
    expect(await isPublic()).toBe(false);
    await root.send(policyCommand(b, { Effect: 'Allow', Principal: '*', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${b}` }));
    expect(await isPublic()).toBe(true);
    await root.send(new DeleteBucketPolicyCommand({ Bucket: b }));
    await root.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' }));
    expect(await isPublic()).toBe(true);
  });

  // compat: Anonymous requests
  test('a policy with Principal "*" lets anonymous callers read', async () => {
    const b = 'root-anon-policy';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'open/x', Body: 'open' }));
    await root.send(policyCommand(b, { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/open/*` }));
    const res = await anon(`/${b}/open/x`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('open');
    expect((await anon(`/${b}?list-type=2`)).status).toBe(403);
  });
});

/** A PutBucketPolicy with one statement. */
function policyCommand(bucket: string, statement: Record<string, unknown>): PutBucketPolicyCommand {
  return new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [statement] }) });
}

describe('canned ACLs', () => {
  // compat: PutObject x-amz-acl
  // compat: Anonymous requests
  test('public-read objects are read anonymously; private ones and anonymous writes are refused', async () => {
    const b = 'acl-objects';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'open key &+é', Body: 'hello', ACL: 'public-read' }));
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'closed', Body: 'secret' }));
    const path = `/${b}/${encodeURIComponent('open key &+é')}`;
    const get = await anon(path);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('hello');
    expect((await anon(path, { method: 'HEAD' })).status).toBe(200);
    const closed = await anon(`/${b}/closed`);
    expect(closed.status).toBe(403);
    expect(codeIn(await closed.text())).toBe('AccessDenied');
    expect((await anon(`/${b}/missing`)).status).toBe(403);
    expect((await anon(`/${b}/new`, { method: 'PUT', body: 'x' })).status).toBe(403);
    expect((await anon(`/${b}?list-type=2`)).status).toBe(403);
    expect((await anon('/')).status).toBe(403);

    const acl = await root.send(new GetObjectAclCommand({ Bucket: b, Key: 'open key &+é' }));
    expect(acl.Grants?.map((g) => [g.Grantee?.Type, g.Grantee?.URI ?? g.Grantee?.ID, g.Permission])).toEqual([
      ['Group', 'http://acs.amazonaws.com/groups/global/AllUsers', 'READ'],
      ['CanonicalUser', 'root', 'FULL_CONTROL'],
    ]);
    await root.send(new PutObjectAclCommand({ Bucket: b, Key: 'open key &+é', ACL: 'private' }));
    expect((await anon(path)).status).toBe(403);
    expect((await root.send(new GetObjectAclCommand({ Bucket: b, Key: 'open key &+é' }))).Grants).toHaveLength(1);
    expect(await s3Error(root.send(new PutObjectAclCommand({ Bucket: b, Key: 'nope', ACL: 'public-read' })))).toEqual({ code: 'NoSuchKey', status: 404 });
  });

  test('x-amz-acl on CreateMultipartUpload is given to the completed object; a copy is private unless it asks', async () => {
    const b = 'acl-multipart';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    for (const [key, acl] of [['mp-public', 'public-read'], ['mp-private', undefined]] as const) {
      const { UploadId } = await root.send(new CreateMultipartUploadCommand({ Bucket: b, Key: key, ...(acl && { ACL: acl }) }));
      // Readable by nobody else while in progress: there is no object yet.
      expect((await anon(`/${b}/${key}`)).status).toBe(403);
      const part = await root.send(new UploadPartCommand({ Bucket: b, Key: key, UploadId, PartNumber: 1, Body: `body of ${key}` }));
      await root.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    }
    const open = await anon(`/${b}/mp-public`);
    expect(open.status).toBe(200);
    expect(await open.text()).toBe('body of mp-public');
    expect((await anon(`/${b}/mp-private`)).status).toBe(403);
    expect(await s3Error(root.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'bad', ACL: 'no-such-acl' as 'private' })))).toEqual({ code: 'InvalidArgument', status: 400 });

    // ACLs are not copied (S3 semantics): the copy takes the request's x-amz-acl or is private.
    await root.send(new CopyObjectCommand({ Bucket: b, Key: 'copy-private', CopySource: `${b}/mp-public` }));
    expect((await anon(`/${b}/copy-private`)).status).toBe(403);
    await root.send(new CopyObjectCommand({ Bucket: b, Key: 'copy-public', CopySource: `${b}/mp-private`, ACL: 'public-read' }));
    expect(await (await anon(`/${b}/copy-public`)).text()).toBe('body of mp-private');
  });

  test('public-read-write lets anyone write into the bucket; authenticated-read lets any user read', async () => {
    const b = 'acl-open-bucket';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b, ACL: 'public-read-write' }));
    expect((await anon(`/${b}/dropped`, { method: 'PUT', body: 'from anyone' })).status).toBe(200);
    expect((await anon(`/${b}?list-type=2`)).status).toBe(200);
    expect((await objectBytes(root, b, 'dropped')).toString()).toBe('from anyone');
    expect((await anon(`/${b}/dropped`)).status).toBe(403); // the new object is private
    expect((await anon(`/${b}/dropped`, { method: 'DELETE' })).status).toBe(204);
    const grants = (await root.send(new GetBucketAclCommand({ Bucket: b }))).Grants?.map((g) => [g.Grantee?.URI ?? g.Grantee?.ID, g.Permission]);
    expect(grants).toEqual([['http://acs.amazonaws.com/groups/global/AllUsers', 'READ'], ['http://acs.amazonaws.com/groups/global/AllUsers', 'WRITE'], ['root', 'FULL_CONTROL']]);

    const { s3: jill } = await newUser('jill');
    const a = 'acl-auth-read';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: a }));
    await root.send(new PutObjectCommand({ Bucket: a, Key: 'k', Body: 'members only', ACL: 'authenticated-read' }));
    expect((await objectBytes(jill, a, 'k')).toString()).toBe('members only');
    expect((await anon(`/${a}/k`)).status).toBe(403);
    expect(await s3Error(jill.send(new ListObjectsV2Command({ Bucket: a })))).toEqual({ code: 'AccessDenied', status: 403 });
    await root.send(new PutBucketAclCommand({ Bucket: a, ACL: 'authenticated-read' }));
    expect((await jill.send(new ListObjectsV2Command({ Bucket: a }))).KeyCount).toBe(1);
    expect(await s3Error(jill.send(new PutObjectCommand({ Bucket: a, Key: 'x', Body: 'no' })))).toEqual({ code: 'AccessDenied', status: 403 });
  });

  // compat: GetPublicAccessBlock
  // compat: PutPublicAccessBlock
  // compat: DeletePublicAccessBlock
  test('Block Public Access: set, read, enforced on ACLs and policies, removed', async () => {
    const b = 'acl-blocked';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    expect(await s3Error(root.send(new GetPublicAccessBlockCommand({ Bucket: b })))).toEqual({ code: 'NoSuchPublicAccessBlockConfiguration', status: 404 });
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'was-public', Body: 'x', ACL: 'public-read' }));
    expect((await anon(`/${b}/was-public`)).status).toBe(200);
    const conf = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: false };
    await root.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: conf }));
    expect((await root.send(new GetPublicAccessBlockCommand({ Bucket: b }))).PublicAccessBlockConfiguration).toEqual(conf);
    expect((await anon(`/${b}/was-public`)).status).toBe(403); // IgnorePublicAcls
    expect(await s3Error(root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ACL: 'public-read' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(root.send(new PutBucketAclCommand({ Bucket: b, ACL: 'authenticated-read' })))).toEqual({ code: 'AccessDenied', status: 403 });
    await root.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
    expect(await s3Error(root.send(policyCommand(b, { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    await root.send(policyCommand(b, { Effect: 'Allow', Principal: { AWS: 'root' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*` }));
    await root.send(new DeletePublicAccessBlockCommand({ Bucket: b }));
    expect((await anon(`/${b}/was-public`)).status).toBe(200);
  });

  test('a public-read bucket is listed anonymously; only its public-read objects are read', async () => {
    const b = 'acl-bucket';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b, ACL: 'public-read' }));
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'v', ACL: 'public-read' }));
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'private', Body: 'p' }));
    expect((await anon(`/${b}/private`)).status).toBe(403);
    // Who may list the bucket learns that a key is missing, as on S3.
    const missing = await anon(`/${b}/missing`);
    expect([missing.status, codeIn(await missing.text())]).toEqual([404, 'NoSuchKey']);
    const acl = await root.send(new GetBucketAclCommand({ Bucket: b }));
    expect(acl.Owner?.ID).toBe('root');
    expect(acl.Grants?.some((g) => g.Grantee?.URI === 'http://acs.amazonaws.com/groups/global/AllUsers' && g.Permission === 'READ')).toBe(true);
    expect(await (await anon(`/${b}/k`)).text()).toBe('v');
    const list = await anon(`/${b}?list-type=2`);
    expect(list.status).toBe(200);
    expect(await list.text()).toContain('<Key>k</Key>');
    expect((await anon(`/${b}/k`, { method: 'DELETE' })).status).toBe(403);
    expect((await anon(`/${b}?acl`)).status).toBe(403);
    const bad = await s3Error(root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: 'acl-bad', ACL: 'nonsense' as 'private' })));
    expect(bad.code).toBe('InvalidArgument');
  });
});

describe('CORS', () => {
  const rules = [
    { AllowedOrigins: ['https://app.example'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['content-type', 'x-amz-*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 },
    { AllowedOrigins: ['https://*.wild.example'], AllowedMethods: ['GET'] },
  ];

  // compat: GetBucketCors
  // compat: PutBucketCors
  // compat: DeleteBucketCors
  // compat: OPTIONS preflight
  // compat: CORS on actual requests
  test('configuration round trip; preflights answered per the rules; headers on actual requests', async () => {
    const b = 'cors-bucket';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b, ACL: 'public-read' }));
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'v', ACL: 'public-read' }));
    const preflight = (origin: string, method: string, headers?: string): Promise<Response> => anon(`/${b}/k`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, ...(headers && { 'access-control-request-headers': headers }) },
    });
    expect(await s3Error(root.send(new GetBucketCorsCommand({ Bucket: b })))).toEqual({ code: 'NoSuchCORSConfiguration', status: 404 });
    expect((await preflight('https://app.example', 'GET')).status).toBe(403);

    await root.send(new PutBucketCorsCommand({ Bucket: b, CORSConfiguration: { CORSRules: rules } }));
    const got = await root.send(new GetBucketCorsCommand({ Bucket: b }));
    expect(got.CORSRules?.[0]).toMatchObject({ AllowedOrigins: ['https://app.example'], AllowedMethods: ['GET', 'PUT'], MaxAgeSeconds: 600, ExposeHeaders: ['ETag'] });
    expect(got.CORSRules).toHaveLength(2);

    const ok = await preflight('https://app.example', 'PUT', 'Content-Type, X-Amz-Date');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(ok.headers.get('access-control-allow-methods')).toBe('GET, PUT');
    expect(ok.headers.get('access-control-allow-headers')).toBe('content-type, x-amz-date');
    expect(ok.headers.get('access-control-max-age')).toBe('600');
    expect((await preflight('https://a.wild.example', 'GET')).status).toBe(200);
    expect((await preflight('https://evil.example', 'GET')).status).toBe(403);
    expect((await preflight('https://app.example', 'DELETE')).status).toBe(403);
    expect((await preflight('https://app.example', 'PUT', 'authorization')).status).toBe(403);
    expect((await preflight('https://a.wild.example', 'PUT')).status).toBe(403);
    expect((await anon(`/${b}/k`, { method: 'OPTIONS' })).status).toBe(400);

    const actual = await anon(`/${b}/k`, { headers: { origin: 'https://app.example' } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(actual.headers.get('access-control-expose-headers')).toBe('ETag');
    // Error answers carry them too, so the page can read the error.
    const denied = await anon(`/${b}/k`, { method: 'PUT', body: 'x', headers: { origin: 'https://app.example' } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect((await anon(`/${b}/k`, { headers: { origin: 'https://evil.example' } })).headers.get('access-control-allow-origin')).toBeNull();

    await root.send(new DeleteBucketCorsCommand({ Bucket: b }));
    expect(await s3Error(root.send(new GetBucketCorsCommand({ Bucket: b })))).toEqual({ code: 'NoSuchCORSConfiguration', status: 404 });
    expect((await preflight('https://app.example', 'GET')).status).toBe(403);
  });

  // compat: PutBucketCors
  test('bad CORS configurations are refused', async () => {
    const b = 'cors-bad';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    const bad = await s3Error(root.send(new PutBucketCorsCommand({ Bucket: b, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['PATCH'] }] } })));
    expect(bad).toEqual({ code: 'InvalidRequest', status: 400 });
  });
});

// compat: PostObject
describe('PostObject (browser form uploads)', () => {
  const boundary = '----shardgate-form-7MA4YWxkTrZu0gW';

  /** A multipart/form-data body: the fields in order, then the file. */
  function form(fields: Array<[string, string]>, file?: { filename: string; type: string; data: Buffer }): Buffer {
    const parts: Buffer[] = fields.map(([n, v]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`));
    if (file) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.filename}"\r\nContent-Type: ${file.type}\r\n\r\n`));
      // Bytes that look like the start of a boundary must pass through.
      parts.push(file.data, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return Buffer.concat(parts);
  }

  /** The policy and SigV4 fields of a form signed with `key`. */
  function signed(key: Key, conditions: unknown[], expiresInMs = 60_000): Array<[string, string]> {
    const now = new Date();
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const credential = `${key.accessKeyId}/${day}/us-east-1/s3/aws4_request`;
    const policy = Buffer.from(JSON.stringify({
      expiration: new Date(now.getTime() + expiresInMs).toISOString(),
      conditions: [...conditions, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': amzDate }],
    })).toString('base64');
    const signature = hmac(signingKey(key.secretAccessKey, day, 'us-east-1', 's3'), policy).toString('hex');
    return [['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', credential], ['x-amz-date', amzDate], ['policy', policy], ['x-amz-signature', signature]];
  }

  const post = (bucket: string, body: Buffer): Promise<Response> => anon(`/${bucket}`, {
    method: 'POST', body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  });

  test('a signed form uploads within its policy; everything outside it is refused', async () => {
    const gina = await newUser('gina');
    const hank = await newUser('hank');
    const b = 'gina-forms';
    await gina.s3.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    const conditions = [{ bucket: b }, ['starts-with', '$key', 'uploads/'], ['starts-with', '$Content-Type', 'text/'], { success_action_status: '201' }, ['content-length-range', 1, 100]];
    const data = Buffer.from(`line one\r\n--${boundary.slice(0, 10)} not a boundary\r\n`);
    const fields = (extra: Array<[string, string]> = []): Array<[string, string]> => [
      ['key', 'uploads/${filename}'], ['Content-Type', 'text/plain'], ['success_action_status', '201'], ...signed(gina.key, conditions), ...extra,
    ];

    const ok = await post(b, form(fields(), { filename: 'hello.txt', type: 'text/plain', data }));
    const xml = await ok.text();
    expect(ok.status).toBe(201);
    expect(xml).toContain('<Key>uploads/hello.txt</Key>');
    expect(ok.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await objectBytes(gina.s3, b, 'uploads/hello.txt')).toEqual(data);

    const refused = async (body: Buffer): Promise<[number, string | undefined]> => {
      const res = await post(b, body);
      return [res.status, codeIn(await res.text())];
    };
    const tampered = fields().map(([n, v]): [string, string] => [n, n === 'x-amz-signature' ? v.replace(/^./, (c) => (c === '0' ? '1' : '0')) : v]);
    expect(await refused(form(tampered, { filename: 'a.txt', type: 'text/plain', data }))).toEqual([403, 'SignatureDoesNotMatch']);
    const outside = fields().map(([n, v]): [string, string] => [n, n === 'key' ? 'elsewhere/a' : v]);
    expect(await refused(form(outside, { filename: 'a.txt', type: 'text/plain', data }))).toEqual([403, 'AccessDenied']);
    expect(await refused(form(fields(), { filename: 'big.txt', type: 'text/plain', data: Buffer.alloc(101, 0x61) }))).toEqual([400, 'EntityTooLarge']);
    expect(await refused(form(fields([['x-amz-meta-extra', '1']]), { filename: 'a.txt', type: 'text/plain', data }))).toEqual([403, 'AccessDenied']);
    const expired = [['key', 'uploads/x'], ['Content-Type', 'text/plain'], ['success_action_status', '201'], ...signed(gina.key, conditions, -1000)] as Array<[string, string]>;
    expect(await refused(form(expired, { filename: 'a.txt', type: 'text/plain', data }))).toEqual([403, 'AccessDenied']);
    expect(await refused(form(fields()))).toEqual([400, 'IncorrectNumberOfFilesInPostRequest']);
    // SSE-C fields are refused rather than ignored: the file must not be stored unprotected by the key.
    expect(await refused(form(fields([['x-amz-server-side-encryption-customer-algorithm', 'AES256']]), { filename: 'a.txt', type: 'text/plain', data })))
      .toEqual([501, 'NotImplemented']);
    // Another user's valid signature does not open gina's bucket; nor does no signature.
    const byHank = [['key', 'uploads/h'], ['Content-Type', 'text/plain'], ['success_action_status', '201'], ...signed(hank.key, conditions)] as Array<[string, string]>;
    expect(await refused(form(byHank, { filename: 'a.txt', type: 'text/plain', data }))).toEqual([403, 'AccessDenied']);
    expect(await refused(form([['key', 'uploads/anon']], { filename: 'a.txt', type: 'text/plain', data }))).toEqual([403, 'AccessDenied']);
    const notForm = await anon(`/${b}`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    expect([notForm.status, codeIn(await notForm.text())]).toEqual([400, 'RequestIsNotMultiPartContent']);
    const keys = (await gina.s3.send(new ListObjectsV2Command({ Bucket: b }))).Contents?.map((c) => c.Key);
    expect(keys).toEqual(['uploads/hello.txt']);
  });

  test('the policy sees the key with ${filename} replaced; checksum fields are verified and stored; expiration must be ISO 8601', async () => {
    const ivy = await newUser('ivy');
    const b = 'ivy-forms';
    await ivy.s3.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b }));
    const data = Buffer.from('bar');
    const file = (filename: string, bytes = data): { filename: string; type: string; data: Buffer } => ({ filename, type: 'text/plain', data: bytes });
    const send = async (fields: Array<[string, string]>, f: ReturnType<typeof file>): Promise<[number, string | undefined, Headers]> => {
      const res = await post(b, form(fields, f));
      return [res.status, codeIn(await res.text()), res.headers];
    };
    const starts = [{ bucket: b }, ['starts-with', '$key', 'foo'], ['content-length-range', 0, 1024]];
    expect((await send([['key', '${filename}'], ...signed(ivy.key, starts)], file('foo.txt'))).slice(0, 2)).toEqual([204, undefined]);
    expect(await objectBytes(ivy.s3, b, 'foo.txt')).toEqual(data);
    expect((await send([['key', '${filename}'], ...signed(ivy.key, starts)], file('bar.txt'))).slice(0, 2)).toEqual([403, 'AccessDenied']);
    expect((await send([['key', '${filename}'], ...signed(ivy.key, [{ bucket: b }, { key: 'foo2.txt' }])], file('foo2.txt'))).slice(0, 2)).toEqual([204, undefined]);

    // A checksum field needs no condition; it is checked against the file and stored as PutObject stores one.
    const sha256 = createHash('sha256').update(data).digest('base64');
    const [status, , headers] = await send([['key', 'foo-sum'], ...signed(ivy.key, starts), ['x-amz-checksum-sha256', sha256]], file('x'));
    expect([status, headers.get('x-amz-checksum-sha256')]).toEqual([204, sha256]);
    const head = await ivy.s3.send(new HeadObjectCommand({ Bucket: b, Key: 'foo-sum', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBe(sha256);
    const wrong = createHash('sha256').update('other').digest('base64');
    expect((await send([['key', 'foo-bad'], ...signed(ivy.key, starts), ['x-amz-checksum-sha256', wrong]], file('x'))).slice(0, 2)).toEqual([400, 'BadDigest']);
    expect((await send([['key', 'foo-bad'], ...signed(ivy.key, starts), ['x-amz-checksum-sha256', 'sailorjerry']], file('x'))).slice(0, 2)).toEqual([400, 'BadDigest']);
    const [, , crcHeaders] = await send([['key', 'foo-crc'], ...signed(ivy.key, starts), ['x-amz-checksum-algorithm', 'CRC32']], file('x'));
    expect(crcHeaders.get('x-amz-checksum-crc32')).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    expect(await s3Error(ivy.s3.send(new HeadObjectCommand({ Bucket: b, Key: 'foo-bad' })))).toEqual({ code: 'NotFound', status: 404 });

    // An expiration Date.parse would take but ISO 8601 does not (a space for the T).
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const credential = `${ivy.key.accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const policy = Buffer.from(JSON.stringify({
      expiration: new Date(Date.now() + 60_000).toISOString().replace('T', ' ').replace('Z', '+00:00'),
      conditions: [...starts, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': amzDate }],
    })).toString('base64');
    const signature = hmac(signingKey(ivy.key.secretAccessKey, amzDate.slice(0, 8), 'us-east-1', 's3'), policy).toString('hex');
    const badDate: Array<[string, string]> = [
      ['key', 'foo-date'], ['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', credential], ['x-amz-date', amzDate], ['policy', policy], ['x-amz-signature', signature],
    ];
    expect((await send(badDate, file('x'))).slice(0, 2)).toEqual([400, 'InvalidPolicyDocument']);
  });

  test('an anonymous form into a public-read-write bucket: a 201 PostResponse without namespace; tags only where a policy allows them', async () => {
    const b = 'open-forms';
    await root.send(new CreateBucketCommand({ ObjectOwnership: 'ObjectWriter', Bucket: b, ACL: 'public-read-write' }));
    const file = { filename: 'x', type: 'text/plain', data: Buffer.from('bar') };
    const res = await post(b, form([['key', 'plain.txt'], ['success_action_status', '201']], file));
    const xml = await res.text();
    expect(res.status).toBe(201);
    // Browsers and form libraries look the elements up unqualified: AWS S3 sends PostResponse in no namespace.
    expect(xml).toMatch(/<PostResponse><Location>[^<]+<\/Location><Bucket>open-forms<\/Bucket><Key>plain\.txt<\/Key><ETag>&quot;[0-9a-f]{32}&quot;<\/ETag><\/PostResponse>/);

    // Tags on a new object need s3:PutObjectTagging besides s3:PutObject, and an ACL grants
    // only the actions its permission maps to (WRITE on a bucket: s3:PutObject and the deletes),
    // so the bucket's public WRITE does not let anonymous forms tag.
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#permissions
    const tagging = '<Tagging><TagSet><Tag><Key>b</Key><Value>2</Value></Tag><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>';
    const untagged = await post(b, form([['key', 'tagged.txt'], ['tagging', tagging]], file));
    expect([untagged.status, codeIn(await untagged.text())]).toEqual([403, 'AccessDenied']);
    expect(await s3Error(root.send(new HeadObjectCommand({ Bucket: b, Key: 'tagged.txt' })))).toEqual({ code: 'NotFound', status: 404 });
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:PutObject', 's3:PutObjectTagging'], Resource: `arn:aws:s3:::${b}/*` }],
    });
    await root.send(new PutBucketPolicyCommand({ Bucket: b, Policy }));
    const tagged = await post(b, form([['key', 'tagged.txt'], ['tagging', tagging]], file));
    expect(tagged.status).toBe(204);
    expect((await root.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'tagged.txt' }))).TagSet).toEqual([{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }]);
    const tooMany = `<Tagging><TagSet>${Array.from({ length: 11 }, (_, i) => `<Tag><Key>k${i}</Key><Value></Value></Tag>`).join('')}</TagSet></Tagging>`;
    const refused = await post(b, form([['key', 'too-many.txt'], ['tagging', tooMany]], { filename: 'x', type: 'text/plain', data: Buffer.from('bar') }));
    expect([refused.status, codeIn(await refused.text())]).toEqual([400, 'InvalidTag']);
    const malformed = await post(b, form([['key', 'bad.txt'], ['tagging', '<Tagging>']], { filename: 'x', type: 'text/plain', data: Buffer.from('bar') }));
    expect([malformed.status, codeIn(await malformed.text())]).toEqual([400, 'MalformedXML']);
    expect(await s3Error(root.send(new HeadObjectCommand({ Bucket: b, Key: 'too-many.txt' })))).toEqual({ code: 'NotFound', status: 404 });
  });
});
