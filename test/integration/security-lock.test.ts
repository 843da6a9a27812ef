/**
 * Object Lock and the other headers of a write that need their own permission, attacked by a
 * second user through the AWS SDK against a real cluster: a user allowed to write and to delete
 * versions may not bypass GOVERNANCE retention (s3:BypassGovernanceRetention), nor lock what it
 * writes (s3:PutObjectRetention, s3:PutObjectLegalHold), nor publish it (s3:PutObjectAcl), nor
 * tag it (s3:PutObjectTagging), until the bucket policy grants those actions. The bucket owner
 * may, unless its own policy denies it.
 */
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketPolicyCommand,
  DeleteObjectCommand, DeleteObjectsCommand, GetObjectAclCommand, GetObjectCommand, GetObjectRetentionCommand, GetObjectTaggingCommand, HeadObjectCommand,
  PutBucketPolicyCommand, PutObjectCommand, PutObjectLockConfigurationCommand, PutObjectRetentionCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { runAdmin, startCluster, type Cluster } from '../helpers/cluster.js';
import { s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let owner: S3Client;
let mallory: S3Client;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file', env: { SHARDGATE_AUDIT_INTERVAL_MS: '0', SHARDGATE_SNAPSHOT_INTERVAL_MS: '0' } });
  owner = cluster.client();
  const r = await runAdmin(cluster, ['user', 'create', 'mallory', '--json']);
  if (r.code !== 0) throw new Error(r.all);
  const key = JSON.parse(r.out) as { accessKeyId: string; secretAccessKey: string };
  mallory = cluster.client({ credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } });
});

const denied = { code: 'AccessDenied', status: 403 };
const inAYear = (): Date => new Date(Date.now() + 365 * 86_400_000);
const farFuture = new Date('2999-01-01T00:00:00Z');

let seq = 0;
async function lockedBucket(): Promise<string> {
  const b = `sec-lock-${++seq}`;
  await owner.send(new CreateBucketCommand({ Bucket: b, ObjectLockEnabledForBucket: true }));
  return b;
}

/** Let mallory (or `principal`) do `actions` on every key of `bucket`, and nothing else. */
async function grant(bucket: string, actions: string[], extra: object[] = [], principal: unknown = { AWS: 'mallory' }): Promise<void> {
  const Policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: principal, Action: actions, Resource: `arn:aws:s3:::${bucket}/*` }, ...extra],
  });
  await owner.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy }));
}

const WRITER = ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:DeleteObjectVersion'];
const LOCKER = ['s3:BypassGovernanceRetention', 's3:PutObjectRetention', 's3:PutObjectLegalHold'];

describe('Object Lock needs its own permissions', () => {
  test('a writer allowed to delete versions cannot bypass GOVERNANCE retention until granted s3:BypassGovernanceRetention', async () => {
    const b = await lockedBucket();
    await grant(b, WRITER);
    const { VersionId: retained } = await owner.send(new PutObjectCommand({
      Bucket: b, Key: 'ledger', Body: 'retained', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inAYear(),
    }));
    const { VersionId: plain } = await owner.send(new PutObjectCommand({ Bucket: b, Key: 'scratch', Body: 'not retained' }));

    expect(await s3Error(mallory.send(new DeleteObjectCommand({ Bucket: b, Key: 'ledger', VersionId: retained, BypassGovernanceRetention: true })))).toEqual(denied);
    // The header asks for the permission whether or not the version is retained, as on S3; without it a plain version goes.
    expect(await s3Error(mallory.send(new DeleteObjectCommand({ Bucket: b, Key: 'scratch', VersionId: plain, BypassGovernanceRetention: true })))).toEqual(denied);
    await mallory.send(new DeleteObjectCommand({ Bucket: b, Key: 'scratch', VersionId: plain }));
    const batch = await mallory.send(new DeleteObjectsCommand({ Bucket: b, BypassGovernanceRetention: true, Delete: { Objects: [{ Key: 'ledger', VersionId: retained }] } }));
    expect(batch.Deleted ?? []).toEqual([]);
    expect(batch.Errors?.map((e) => [e.Key, e.Code])).toEqual([['ledger', 'AccessDenied']]);
    // Shortening the retention is the same bypass, even with s3:PutObjectRetention.
    await grant(b, [...WRITER, 's3:PutObjectRetention']);
    expect(await s3Error(mallory.send(new PutObjectRetentionCommand({
      Bucket: b, Key: 'ledger', VersionId: retained, BypassGovernanceRetention: true, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 60_000) },
    })))).toEqual(denied);
    expect((await owner.send(new HeadObjectCommand({ Bucket: b, Key: 'ledger', VersionId: retained }))).ObjectLockMode).toBe('GOVERNANCE');

    await grant(b, [...WRITER, ...LOCKER]);
    const shorter = new Date(Date.now() + 120_000);
    await mallory.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'ledger', VersionId: retained, BypassGovernanceRetention: true, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: shorter } }));
    expect((await owner.send(new GetObjectRetentionCommand({ Bucket: b, Key: 'ledger', VersionId: retained }))).Retention?.RetainUntilDate?.getTime()).toBe(shorter.getTime());
    await mallory.send(new DeleteObjectCommand({ Bucket: b, Key: 'ledger', VersionId: retained, BypassGovernanceRetention: true }));
    expect(await s3Error(owner.send(new HeadObjectCommand({ Bucket: b, Key: 'ledger', VersionId: retained })))).toMatchObject({ status: 404 });
  });

  test('a writer cannot lock what it writes (PutObject, CopyObject, CreateMultipartUpload) until granted the lock actions', async () => {
    const b = await lockedBucket();
    await grant(b, WRITER);
    await owner.send(new PutObjectCommand({ Bucket: b, Key: 'source', Body: 'copy me' }));
    const compliance = { ObjectLockMode: 'COMPLIANCE' as const, ObjectLockRetainUntilDate: farFuture };
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['put compliance', () => mallory.send(new PutObjectCommand({ Bucket: b, Key: 'trap', Body: 'x', ...compliance }))],
      ['put legal hold', () => mallory.send(new PutObjectCommand({ Bucket: b, Key: 'trap', Body: 'x', ObjectLockLegalHoldStatus: 'ON' }))],
      ['copy compliance', () => mallory.send(new CopyObjectCommand({ Bucket: b, Key: 'trap', CopySource: `${b}/source`, ...compliance }))],
      ['copy legal hold', () => mallory.send(new CopyObjectCommand({ Bucket: b, Key: 'trap', CopySource: `${b}/source`, ObjectLockLegalHoldStatus: 'ON' }))],
      ['multipart compliance', () => mallory.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'trap', ...compliance }))],
      ['multipart legal hold', () => mallory.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'trap', ObjectLockLegalHoldStatus: 'ON' }))],
    ];
    for (const [what, attempt] of attempts) expect(await s3Error(attempt()), what).toEqual(denied);
    expect(await s3Error(owner.send(new HeadObjectCommand({ Bucket: b, Key: 'trap' })))).toMatchObject({ status: 404 });
    // Writing without lock headers stays allowed.
    await mallory.send(new PutObjectCommand({ Bucket: b, Key: 'free', Body: 'x' }));

    // The retention alone needs s3:PutObjectRetention; the legal hold alone s3:PutObjectLegalHold.
    await grant(b, [...WRITER, 's3:PutObjectRetention']);
    const locked = await mallory.send(new PutObjectCommand({ Bucket: b, Key: 'kept', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inAYear() }));
    expect(await s3Error(mallory.send(new PutObjectCommand({ Bucket: b, Key: 'held', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })))).toEqual(denied);
    await grant(b, [...WRITER, ...LOCKER]);
    await mallory.send(new PutObjectCommand({ Bucket: b, Key: 'held', Body: 'x', ObjectLockLegalHoldStatus: 'OFF' }));
    await mallory.send(new CopyObjectCommand({ Bucket: b, Key: 'copied', CopySource: `${b}/source`, ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inAYear() }));
    const { UploadId } = await mallory.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'parts', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inAYear() }));
    const part = await mallory.send(new UploadPartCommand({ Bucket: b, Key: 'parts', UploadId, PartNumber: 1, Body: 'p' }));
    await mallory.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'parts', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    for (const key of ['copied', 'parts']) expect((await owner.send(new HeadObjectCommand({ Bucket: b, Key: key }))).ObjectLockMode, key).toBe('GOVERNANCE');
    expect((await owner.send(new HeadObjectCommand({ Bucket: b, Key: 'kept', VersionId: locked.VersionId }))).ObjectLockMode).toBe('GOVERNANCE');
  });

  test('the bucket owner locks and bypasses without a grant, unless its own policy denies it', async () => {
    const b = await lockedBucket();
    const { VersionId } = await owner.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inAYear() }));
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: ['s3:BypassGovernanceRetention', 's3:PutObjectLegalHold'], Resource: `arn:aws:s3:::${b}/*` }],
    });
    await owner.send(new PutBucketPolicyCommand({ Bucket: b, Policy }));
    expect(await s3Error(owner.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId, BypassGovernanceRetention: true })))).toEqual(denied);
    expect(await s3Error(owner.send(new PutObjectCommand({ Bucket: b, Key: 'h', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })))).toEqual(denied);
    await owner.send(new DeleteBucketPolicyCommand({ Bucket: b }));
    await owner.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId, BypassGovernanceRetention: true }));
    expect(await s3Error(owner.send(new HeadObjectCommand({ Bucket: b, Key: 'k', VersionId })))).toMatchObject({ status: 404 });
  });
});

describe('ACL and tagging headers on a write need their own permissions', () => {
  test('a writer cannot publish or tag what it writes until granted s3:PutObjectAcl / s3:PutObjectTagging', async () => {
    const b = `sec-acl-${++seq}`;
    await owner.send(new CreateBucketCommand({ Bucket: b }));
    await grant(b, WRITER);
    await owner.send(new PutObjectCommand({ Bucket: b, Key: 'source', Body: 'copy me' }));
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['put public-read', () => mallory.send(new PutObjectCommand({ Bucket: b, Key: 'p', Body: 'x', ACL: 'public-read' }))],
      ['put grant', () => mallory.send(new PutObjectCommand({ Bucket: b, Key: 'p', Body: 'x', GrantFullControl: 'id="mallory"' }))],
      ['copy public-read', () => mallory.send(new CopyObjectCommand({ Bucket: b, Key: 'p', CopySource: `${b}/source`, ACL: 'public-read' }))],
      ['multipart public-read', () => mallory.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'p', ACL: 'public-read' }))],
      ['put tags', () => mallory.send(new PutObjectCommand({ Bucket: b, Key: 'p', Body: 'x', Tagging: 'expire=now' }))],
      ['copy tags', () => mallory.send(new CopyObjectCommand({ Bucket: b, Key: 'p', CopySource: `${b}/source`, TaggingDirective: 'REPLACE', Tagging: 'expire=now' }))],
      ['multipart tags', () => mallory.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'p', Tagging: 'expire=now' }))],
    ];
    for (const [what, attempt] of attempts) expect(await s3Error(attempt()), what).toEqual(denied);
    expect(await s3Error(owner.send(new HeadObjectCommand({ Bucket: b, Key: 'p' })))).toMatchObject({ status: 404 });
    expect((await fetch(`${cluster.endpoint}/${b}/p`)).status).toBe(403);
    // An ACL that gives nobody anything is no grant: the cross-account upload pattern keeps working.
    await mallory.send(new PutObjectCommand({ Bucket: b, Key: 'handed-over', Body: 'x', ACL: 'bucket-owner-full-control' }));

    await grant(b, [...WRITER, 's3:PutObjectAcl', 's3:PutObjectTagging']);
    await mallory.send(new PutObjectCommand({ Bucket: b, Key: 'p', Body: 'public now', ACL: 'public-read', Tagging: 'team=a' }));
    expect(await (await fetch(`${cluster.endpoint}/${b}/p`)).text()).toBe('public now');
    expect((await owner.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'p' }))).TagSet).toEqual([{ Key: 'team', Value: 'a' }]);
    expect((await owner.send(new GetObjectAclCommand({ Bucket: b, Key: 'p' }))).Grants?.some((g) => g.Grantee?.URI?.endsWith('/AllUsers'))).toBe(true);
  });
});

describe('PostObject form fields need the permissions of the headers they stand for', () => {
  const boundary = '----shardgate-lock-form-3kd9';
  const codeIn = (xml: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

  /** An anonymous browser form: the fields, then a small file. */
  async function postForm(bucket: string, fields: Array<[string, string]>): Promise<[number, string | undefined]> {
    const parts = fields.map(([n, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`);
    parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\nContent-Type: text/plain\r\n\r\nform bytes\r\n--${boundary}--\r\n`);
    const res = await fetch(`${cluster.endpoint}/${bucket}`, { method: 'POST', body: parts.join(''), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    return [res.status, codeIn(await res.text())];
  }

  test('a form may not publish, tag or lock what it uploads without s3:PutObjectAcl / Tagging / Retention / LegalHold', async () => {
    const b = await lockedBucket();
    await grant(b, ['s3:PutObject'], [], '*');
    const tagging = '<Tagging><TagSet><Tag><Key>expire</Key><Value>now</Value></Tag></TagSet></Tagging>';
    const attempts: Array<[string, Array<[string, string]>]> = [
      ['acl', [['acl', 'public-read']]],
      ['grant', [['x-amz-grant-read', 'uri="http://acs.amazonaws.com/groups/global/AllUsers"']]],
      ['tagging', [['tagging', tagging]]],
      ['compliance', [['x-amz-object-lock-mode', 'COMPLIANCE'], ['x-amz-object-lock-retain-until-date', farFuture.toISOString()]]],
      ['legal hold', [['x-amz-object-lock-legal-hold', 'ON']]],
    ];
    for (const [what, fields] of attempts) expect(await postForm(b, [['key', 'trap'], ...fields]), what).toEqual([403, 'AccessDenied']);
    expect(await s3Error(owner.send(new HeadObjectCommand({ Bucket: b, Key: 'trap' })))).toMatchObject({ status: 404 });
    expect(await postForm(b, [['key', 'plain'], ['acl', 'private']])).toEqual([204, undefined]);

    await grant(b, ['s3:PutObject', 's3:PutObjectRetention', 's3:PutObjectLegalHold'], [], '*');
    const until = inAYear();
    expect(await postForm(b, [['key', 'kept'], ['x-amz-object-lock-mode', 'GOVERNANCE'], ['x-amz-object-lock-retain-until-date', until.toISOString()], ['x-amz-object-lock-legal-hold', 'ON']])).toEqual([204, undefined]);
    const head = await owner.send(new HeadObjectCommand({ Bucket: b, Key: 'kept' }));
    expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime(), head.ObjectLockLegalHoldStatus]).toEqual(['GOVERNANCE', until.getTime(), 'ON']);
    expect(await postForm(b, [['key', 'bad'], ['x-amz-object-lock-mode', 'GOVERNANCE']])).toEqual([400, 'InvalidArgument']);
  });

  test("a form upload gets the bucket's default retention, as PutObject does", async () => {
    const b = await lockedBucket();
    await owner.send(new PutObjectLockConfigurationCommand({
      Bucket: b, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } } },
    }));
    await grant(b, ['s3:PutObject'], [], '*');
    const before = Date.now();
    expect(await postForm(b, [['key', 'posted']])).toEqual([204, undefined]);
    const head = await owner.send(new HeadObjectCommand({ Bucket: b, Key: 'posted' }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(await s3Error(owner.send(new DeleteObjectCommand({ Bucket: b, Key: 'posted', VersionId: head.VersionId })))).toEqual(denied);
  });
});

describe('GET and HEAD tell the lock and the tag count only to who may read them', () => {
  test('retention needs s3:GetObjectRetention, legal hold s3:GetObjectLegalHold, the tag count s3:GetObjectTagging', async () => {
    const b = await lockedBucket();
    const until = inAYear();
    await owner.send(new PutObjectCommand({
      Bucket: b, Key: 'k', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until, ObjectLockLegalHoldStatus: 'ON', Tagging: 'a=1&b=2',
    }));
    const seen = async (s3: S3Client): Promise<unknown[]> => {
      const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }));
      const get = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k' }));
      await get.Body?.transformToString();
      expect([get.ObjectLockMode, get.ObjectLockRetainUntilDate?.getTime(), get.ObjectLockLegalHoldStatus])
        .toEqual([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime(), head.ObjectLockLegalHoldStatus]);
      return [head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime(), head.ObjectLockLegalHoldStatus, get.TagCount];
    };
    expect(await seen(owner)).toEqual(['GOVERNANCE', until.getTime(), 'ON', 2]);
    await grant(b, ['s3:GetObject']);
    expect(await seen(mallory)).toEqual([undefined, undefined, undefined, undefined]);
    await grant(b, ['s3:GetObject', 's3:GetObjectRetention']);
    expect(await seen(mallory)).toEqual(['GOVERNANCE', until.getTime(), undefined, undefined]);
    await grant(b, ['s3:GetObject', 's3:GetObjectLegalHold', 's3:GetObjectTagging']);
    expect(await seen(mallory)).toEqual([undefined, undefined, 'ON', 2]);

    // Anonymous readers of a public object see none of it either (no ACL grants these actions).
    await grant(b, ['s3:GetObject'], [], '*');
    const res = await fetch(`${cluster.endpoint}/${b}/k`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((h) => h.startsWith('x-amz-object-lock') || h === 'x-amz-tagging-count')).toEqual([]);
  });
});
