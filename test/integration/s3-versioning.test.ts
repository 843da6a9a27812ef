/**
 * Versioning and Object Lock through the AWS SDK v3 against a real cluster: version ids,
 * delete markers, version-addressed reads and deletes, ListObjectVersions paging, and the
 * locks (COMPLIANCE that root cannot delete before it expires, GOVERNANCE bypass, legal hold).
 */
import {
  CompleteMultipartUploadCommand, DeleteBucketCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand, DeleteBucketLifecycleCommand, DeleteObjectCommand, GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand, DeleteObjectsCommand, GetBucketVersioningCommand, GetObjectCommand,
  GetObjectLegalHoldCommand, GetObjectTaggingCommand, PutObjectTaggingCommand, GetObjectLockConfigurationCommand, GetObjectRetentionCommand, HeadObjectCommand, ListObjectsV2Command,
  ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand, PutObjectLegalHoldCommand, PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand, type BucketVersioningStatus, type S3Client,
} from '@aws-sdk/client-s3';
import aws4 from 'aws4';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, objectBytes, s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  s3 = cluster.client();
});

const newBucket = bucketFactory(() => s3, 'ver');

async function versionedBucket(tag: string): Promise<string> {
  const b = await newBucket(tag);
  await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
  return b;
}

let lockSeq = 0;
async function lockedBucket(tag: string): Promise<string> {
  const b = `ver-lock-${tag}-${++lockSeq}`;
  await s3.send(new CreateBucketCommand({ Bucket: b, ObjectLockEnabledForBucket: true }));
  return b;
}

const put = async (Bucket: string, Key: string, Body: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}): Promise<string | undefined> =>
  (await s3.send(new PutObjectCommand({ Bucket, Key, Body, ...extra }))).VersionId;

/** A request signed with aws4, sent as is: for response headers the SDK hides on errors. */
async function rawSigned(method: string, path: string): Promise<Response> {
  const host = new URL(cluster.endpoint).host;
  const signed = aws4.sign(
    { host, method, path, service: 's3', region: 'us-east-1', headers: { 'x-amz-content-sha256': createHash('sha256').update('').digest('hex') } },
    { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  );
  return fetch(`${cluster.endpoint}${path}`, { method, headers: signed.headers as Record<string, string> });
}

// compat: GetBucketVersioning
// compat: PutBucketVersioning
describe('bucket versioning', () => {
  test('GetBucketVersioning: no status until configured; Enabled and Suspended round-trip; anything else is MalformedXML', async () => {
    const b = await newBucket('cfg');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBeUndefined();
    await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBe('Enabled');
    await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBe('Suspended');
    expect(await s3Error(s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'On' as BucketVersioningStatus } }))))
      .toEqual({ code: 'MalformedXML', status: 400 });
  });

  test('an unversioned bucket sends no version ids and keeps one version per key', async () => {
    const b = await newBucket('plain');
    expect(await put(b, 'k', 'one')).toBeUndefined();
    await put(b, 'k', 'two');
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }));
    expect(head.VersionId).toBeUndefined();
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: b }));
    expect(versions.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([['k', 'null', true]]);
  });

  test('every write gets a version id; each version reads back by id; the newest is current', async () => {
    const b = await versionedBucket('ids');
    const key = 'sp ace&+-é"';
    const v1 = await put(b, key, 'first');
    const v2 = await put(b, key, 'second');
    expect(v1).toMatch(/^[\w-]{16,}$/);
    expect(v2).not.toBe(v1);
    expect((await objectBytes(s3, b, key)).toString()).toBe('second');
    const get1 = await s3.send(new GetObjectCommand({ Bucket: b, Key: key, VersionId: v1 }));
    expect(get1.VersionId).toBe(v1);
    expect(await get1.Body!.transformToString()).toBe('first');
    expect((await s3.send(new HeadObjectCommand({ Bucket: b, Key: key }))).VersionId).toBe(v2);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: key, VersionId: 'nope' })))).toEqual({ code: 'NoSuchVersion', status: 404 });
    // A copy of the older version by id becomes a new current version.
    const copy = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'copy', CopySource: `${b}/${encodeURIComponent(key)}?versionId=${v1}` }));
    expect(copy.CopySourceVersionId).toBe(v1);
    expect(copy.VersionId).toMatch(/^[\w-]{16,}$/);
    expect((await objectBytes(s3, b, 'copy')).toString()).toBe('first');
  });

  test('DELETE adds a delete marker: the key reads as 404 with x-amz-delete-marker and leaves listings; old versions stay', async () => {
    const b = await versionedBucket('marker');
    const v1 = await put(b, 'k', 'data');
    const del = await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k' }));
    expect(del.DeleteMarker).toBe(true);
    expect(del.VersionId).toMatch(/^[\w-]{16,}$/);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'k' })))).toEqual({ code: 'NoSuchKey', status: 404 });
    const raw = await rawSigned('GET', `/${b}/k`);
    expect(raw.status).toBe(404);
    expect(raw.headers.get('x-amz-delete-marker')).toBe('true');
    expect(raw.headers.get('x-amz-version-id')).toBe(del.VersionId);
    // The marker named by id is not an object: 405, as AWS S3 answers.
    expect((await rawSigned('HEAD', `/${b}/k?versionId=${del.VersionId}`)).status).toBe(405);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: b }))).Contents ?? []).toEqual([]);
    const old = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', VersionId: v1 }));
    expect(await old.Body!.transformToString()).toBe('data');
    // Removing the marker by its id brings the object back.
    const undo = await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: del.VersionId }));
    expect(undo.DeleteMarker).toBe(true);
    expect((await objectBytes(s3, b, 'k')).toString()).toBe('data');
  });

  test('DELETE with a versionId removes that version for good; the next newest becomes current', async () => {
    const b = await versionedBucket('purge');
    const v1 = await put(b, 'k', 'one');
    const v2 = await put(b, 'k', 'two');
    expect((await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v2 }))).VersionId).toBe(v2);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', VersionId: v2 })))).toEqual({ code: 'NoSuchVersion', status: 404 });
    const cur = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k' }));
    expect(cur.VersionId).toBe(v1);
    expect(await cur.Body!.transformToString()).toBe('one');
  });

  test('Suspended: writes are the "null" version, which replaces itself; earlier versions stay', async () => {
    const b = await versionedBucket('susp');
    const v1 = await put(b, 'k', 'kept');
    await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } }));
    // The write answers no version id for the "null" version, as AWS S3 does; the listing names it.
    expect(await put(b, 'k', 'n1')).toBeUndefined();
    expect(await put(b, 'k', 'n2')).toBeUndefined();
    const list = await s3.send(new ListObjectVersionsCommand({ Bucket: b }));
    expect(list.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([['null', true], [v1, false]]);
    expect((await objectBytes(s3, b, 'k')).toString()).toBe('n2');
    const del = await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k' }));
    expect([del.DeleteMarker, del.VersionId]).toEqual([true, 'null']);
    const after = await s3.send(new ListObjectVersionsCommand({ Bucket: b }));
    expect(after.Versions?.map((v) => v.VersionId)).toEqual([v1]);
    expect(after.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest])).toEqual([['null', true]]);
  });

  // compat: ListObjectVersions
  test('ListObjectVersions pages with key and version-id markers, and rolls common prefixes up', async () => {
    const b = await versionedBucket('list');
    const written: Array<[string, string]> = [];
    for (const key of ['a', 'a', 'a', 'b', 'd/1', 'd/2', 'e']) written.push([key, (await put(b, key, key))!]);
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'b' }))).VersionId!;
    // Listing order: key, then newest first.
    const expected = [
      ['a', written[2]![1]], ['a', written[1]![1]], ['a', written[0]![1]], ['b', marker], ['b', written[3]![1]],
      ['d/1', written[4]![1]], ['d/2', written[5]![1]], ['e', written[6]![1]],
    ];
    const seen: string[][] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const res = await s3.send(new ListObjectVersionsCommand({ Bucket: b, MaxKeys: 3, KeyMarker, VersionIdMarker }));
      const page = [...(res.Versions ?? []), ...(res.DeleteMarkers ?? [])]
        .map((v) => [v.Key!, v.VersionId!])
        .sort((x, y) => expected.findIndex((e) => e[0] === x[0] && e[1] === x[1]) - expected.findIndex((e) => e[0] === y[0] && e[1] === y[1]));
      seen.push(...page);
      if (!res.IsTruncated) break;
      expect(page.length).toBe(3);
      KeyMarker = res.NextKeyMarker;
      VersionIdMarker = res.NextVersionIdMarker;
    }
    expect(seen).toEqual(expected);
    const top = await s3.send(new ListObjectVersionsCommand({ Bucket: b, Delimiter: '/' }));
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['d/']);
    expect(top.DeleteMarkers?.map((m) => [m.Key, m.IsLatest])).toEqual([['b', true]]);
    const under = await s3.send(new ListObjectVersionsCommand({ Bucket: b, Prefix: 'd/' }));
    expect(under.Versions?.map((v) => v.Key)).toEqual(['d/1', 'd/2']);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: b }))).Contents?.map((c) => c.Key)).toEqual(['a', 'd/1', 'd/2', 'e']);
  });

  test('tags belong to one version: tagging by versionId leaves the others alone', async () => {
    const b = await versionedBucket('tags');
    const v1 = await put(b, 'k', 'one', { Tagging: 'gen=1' });
    const v2 = await put(b, 'k', 'two', { Tagging: 'gen=2' });
    const tagsOf = async (VersionId?: string): Promise<string[]> =>
      ((await s3.send(new GetObjectTaggingCommand({ Bucket: b, Key: 'k', VersionId }))).TagSet ?? []).map((t) => `${t.Key}=${t.Value}`);
    expect(await tagsOf(v1)).toEqual(['gen=1']);
    expect(await tagsOf()).toEqual(['gen=2']);
    const res = await s3.send(new PutObjectTaggingCommand({ Bucket: b, Key: 'k', VersionId: v1, Tagging: { TagSet: [{ Key: 'old', Value: 'yes' }] } }));
    expect(res.VersionId).toBe(v1);
    expect(await tagsOf(v1)).toEqual(['old=yes']);
    expect(await tagsOf(v2)).toEqual(['gen=2']);
  });

  test('DeleteObjects takes version ids and reports delete markers', async () => {
    const b = await versionedBucket('batch');
    const v1 = await put(b, 'x', '1');
    await put(b, 'y', '2');
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: 'x', VersionId: v1 }, { Key: 'y' }] } }));
    expect(res.Errors ?? []).toEqual([]);
    const byKey = new Map(res.Deleted!.map((d) => [d.Key, d]));
    expect(byKey.get('x')).toMatchObject({ VersionId: v1 });
    expect(byKey.get('y')).toMatchObject({ DeleteMarker: true });
    expect(byKey.get('y')!.DeleteMarkerVersionId).toMatch(/^[\w-]{16,}$/);
    const left = await s3.send(new ListObjectVersionsCommand({ Bucket: b }));
    expect(left.Versions?.map((v) => v.Key)).toEqual(['y']);
  });
});

describe('deleting while listing versions', () => {
  test('a page whose version-id marker was deleted meanwhile carries on (as a cleanup loop does)', async () => {
    const b = await newBucket('cleanup');
    await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
    for (const k of ['a', 'b', 'c']) for (let i = 0; i < 2; i++) await put(b, k, `${k}${i}`);
    await put(b, 'unversioned-then', 'x');
    await s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } }));
    await put(b, 'z-null', 'n'); // a "null" version: the marker clients send back is version-id-marker=null
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    let deleted = 0;
    for (let pages = 0; pages < 20; pages++) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: b, MaxKeys: 2, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
      for (const v of page.Versions ?? []) {
        await s3.send(new DeleteObjectCommand({ Bucket: b, Key: v.Key!, VersionId: v.VersionId! }));
        deleted++;
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
    expect(deleted).toBe(8);
    expect((await s3.send(new ListObjectVersionsCommand({ Bucket: b }))).Versions ?? []).toEqual([]);
    await s3.send(new DeleteBucketCommand({ Bucket: b }));
  });
});

describe('Object Lock', () => {
  // compat: CreateBucket x-amz-bucket-object-lock-enabled
  // compat: GetObjectLockConfiguration
  // compat: PutObjectLockConfiguration
  test('a lock-enabled bucket is versioned, has a lock configuration, and cannot be suspended', async () => {
    const b = await lockedBucket('cfg');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBe('Enabled');
    const cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: b }));
    expect(cfg.ObjectLockConfiguration?.ObjectLockEnabled).toBe('Enabled');
    expect(await s3Error(s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } }))))
      .toEqual({ code: 'InvalidBucketState', status: 409 });
    const plain = await newBucket('nolock');
    expect(await s3Error(s3.send(new GetObjectLockConfigurationCommand({ Bucket: plain }))))
      .toEqual({ code: 'ObjectLockConfigurationNotFoundError', status: 404 });
    expect(await s3Error(put(plain, 'k', 'x', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: new Date(Date.now() + 60_000) })))
      .toEqual({ code: 'InvalidRequest', status: 400 });
  });

  // compat: GetObjectRetention
  // compat: PutObjectRetention
  test('COMPLIANCE: root can neither delete the version nor shorten its retention until it expires', async () => {
    const b = await lockedBucket('compliance');
    // A few seconds ahead: long enough for the refusals below on a loaded CI machine, short
    // enough to watch it expire.
    const until = new Date(Date.now() + 8000);
    const v = await put(b, 'k', 'immutable', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until });
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(head.ObjectLockRetainUntilDate?.getTime()).toBe(until.getTime());
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v, BypassGovernanceRetention: true }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    const batch = await s3.send(new DeleteObjectsCommand({ Bucket: b, BypassGovernanceRetention: true, Delete: { Objects: [{ Key: 'k', VersionId: v }] } }));
    expect(batch.Errors?.map((e) => e.Code)).toEqual(['AccessDenied']);
    expect(await s3Error(s3.send(new PutObjectRetentionCommand({
      Bucket: b, Key: 'k', VersionId: v, BypassGovernanceRetention: true, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(until.getTime() + 60_000) },
    })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(s3.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'k', VersionId: v, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(until.getTime() - 1000) } }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    // A delete without versionId only adds a marker: the locked version stays readable.
    expect((await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k' }))).DeleteMarker).toBe(true);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', VersionId: v }))).Body!.transformToString()).toBe('immutable');
    const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: b, Key: 'k', VersionId: v }));
    expect(retention.Retention?.Mode).toBe('COMPLIANCE');
    // Once the retention has passed, the same delete succeeds.
    for (;;) {
      const remaining = until.getTime() - Date.now();
      if (remaining < -10_000) throw new Error('the expired version still cannot be deleted');
      try {
        await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v }));
        break;
      } catch {
        expect(remaining).toBeGreaterThan(-1000);
        await new Promise((r) => setTimeout(r, Math.max(50, Math.min(remaining, 500))));
      }
    }
    expect(Date.now()).toBeGreaterThanOrEqual(until.getTime());
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'k', VersionId: v })))).toEqual({ code: 'NoSuchVersion', status: 404 });
  });

  test('GOVERNANCE: refused without bypass, allowed with x-amz-bypass-governance-retention', async () => {
    const b = await lockedBucket('governance');
    const until = new Date(Date.now() + 3_600_000);
    const v = await put(b, 'k', 'g', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until });
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v })))).toEqual({ code: 'AccessDenied', status: 403 });
    // Shortening needs the bypass too; lengthening does not.
    expect(await s3Error(s3.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'k', VersionId: v, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(until.getTime() - 60_000) } }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    await s3.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'k', VersionId: v, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(until.getTime() + 60_000) } }));
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v, BypassGovernanceRetention: true }));
    expect((await s3.send(new ListObjectVersionsCommand({ Bucket: b }))).Versions ?? []).toEqual([]);
  });

  // compat: GetObjectLegalHold
  // compat: PutObjectLegalHold
  test('legal hold blocks deletes until it is removed', async () => {
    const b = await lockedBucket('hold');
    const v = await put(b, 'k', 'held', { ObjectLockLegalHoldStatus: 'ON' });
    expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: b, Key: 'k', VersionId: v }))).LegalHold?.Status).toBe('ON');
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v, BypassGovernanceRetention: true }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: b, Key: 'k', VersionId: v, LegalHold: { Status: 'OFF' } }));
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v }));
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k' })))).toEqual({ code: 'NotFound', status: 404 });
  });

  test('a retention whose body arrives slowly never undoes a legal hold or a longer COMPLIANCE date set meanwhile', async () => {
    const b = await lockedBucket('race');
    const until = new Date(Date.now() + 3_600_000);
    const v = await put(b, 'k', 'raced', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until });
    // A GOVERNANCE shortening with the bypass: allowed against what it read first, not after the COMPLIANCE change.
    const xml = `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>${new Date(until.getTime() - 60_000).toISOString()}</RetainUntilDate></Retention>`;
    const body = new PassThrough();
    const path = `/${b}/k?retention=&versionId=${v}`;
    const signedReq = aws4.sign({
      host: new URL(cluster.endpoint).host, method: 'PUT', path, service: 's3', region: 'us-east-1',
      headers: {
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-bypass-governance-retention': 'true',
        'content-md5': createHash('md5').update(xml).digest('base64'), 'content-length': String(Buffer.byteLength(xml)),
      },
    }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
    const slow = request(`${cluster.endpoint}${path}`, { method: 'PUT', headers: signedReq.headers as Record<string, string>, body });
    body.write(xml.slice(0, 20));
    await new Promise((r) => setTimeout(r, 200)); // the gateway has read the version and is waiting for the body
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: b, Key: 'k', VersionId: v, LegalHold: { Status: 'ON' } }));
    // GOVERNANCE to COMPLIANCE is a change of mode: it takes the bypass.
    await s3.send(new PutObjectRetentionCommand({ Bucket: b, Key: 'k', VersionId: v, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until }, BypassGovernanceRetention: true }));
    body.end(xml.slice(20));
    const res = await slow;
    expect(res.statusCode).toBe(403);
    expect(await res.body.text()).toContain('<Code>AccessDenied</Code>');
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'k', VersionId: v }));
    expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime(), head.ObjectLockLegalHoldStatus]).toEqual(['COMPLIANCE', until.getTime(), 'ON']);
  });

  test('CreateMultipartUpload and CopyObject take lock headers for the version they create', async () => {
    const b = await lockedBucket('mpu');
    const until = new Date(Date.now() + 3_600_000);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'm', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until }));
    const part = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'm', UploadId, PartNumber: 1, Body: 'only part' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'm', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    expect(done.VersionId).toMatch(/^[\w-]{16,}$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'm', VersionId: done.VersionId }));
    expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime()]).toEqual(['GOVERNANCE', until.getTime()]);
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'm', VersionId: done.VersionId })))).toEqual({ code: 'AccessDenied', status: 403 });
    const copy = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'c', CopySource: `${b}/m`, ObjectLockLegalHoldStatus: 'ON' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'c' }))).ObjectLockLegalHoldStatus).toBe('ON');
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'c', VersionId: copy.VersionId, BypassGovernanceRetention: true }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
  });

  test('default retention applies to new versions', async () => {
    const b = await lockedBucket('default');
    await s3.send(new PutObjectLockConfigurationCommand({
      Bucket: b, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } },
    }));
    const cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: b }));
    expect(cfg.ObjectLockConfiguration?.Rule?.DefaultRetention).toEqual({ Mode: 'GOVERNANCE', Days: 1 });
    const before = Date.now();
    const v = await put(b, 'k', 'd');
    const r = await s3.send(new GetObjectRetentionCommand({ Bucket: b, Key: 'k', VersionId: v }));
    expect(r.Retention?.Mode).toBe('GOVERNANCE');
    expect(r.Retention!.RetainUntilDate!.getTime()).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v })))).toEqual({ code: 'AccessDenied', status: 403 });
    await s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k', VersionId: v, BypassGovernanceRetention: true }));
  });

  test('a default retention of zero or negative Days or Years is InvalidRetentionPeriod', async () => {
    const b = await lockedBucket('period');
    for (const period of [{ Days: 0 }, { Days: -1 }, { Years: 0 }, { Years: -1 }]) {
      expect(await s3Error(s3.send(new PutObjectLockConfigurationCommand({
        Bucket: b, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', ...period } } },
      })))).toEqual({ code: 'InvalidRetentionPeriod', status: 400 });
    }
  });

  test('GOVERNANCE becomes COMPLIANCE only with the bypass', async () => {
    const b = await lockedBucket('mode');
    const until = new Date(Date.now() + 3_600_000);
    const v = await put(b, 'k', 'g', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until });
    const toCompliance = (bypass: boolean): PutObjectRetentionCommand => new PutObjectRetentionCommand({
      Bucket: b, Key: 'k', VersionId: v, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until }, ...(bypass && { BypassGovernanceRetention: true }),
    });
    expect(await s3Error(s3.send(toCompliance(false)))).toEqual({ code: 'AccessDenied', status: 403 });
    expect((await s3.send(new GetObjectRetentionCommand({ Bucket: b, Key: 'k', VersionId: v }))).Retention?.Mode).toBe('GOVERNANCE');
    await s3.send(toCompliance(true));
    expect((await s3.send(new GetObjectRetentionCommand({ Bucket: b, Key: 'k', VersionId: v }))).Retention?.Mode).toBe('COMPLIANCE');
  });
});

// compat: GetBucketLifecycleConfiguration
// compat: PutBucketLifecycleConfiguration
// compat: DeleteBucketLifecycle
describe('lifecycle configuration', () => {
  test('Put, Get and Delete round-trip; a bucket without one answers NoSuchLifecycleConfiguration', async () => {
    const b = await versionedBucket('lc');
    expect(await s3Error(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b })))).toEqual({ code: 'NoSuchLifecycleConfiguration', status: 404 });
    await s3.send(new PutBucketLifecycleConfigurationCommand({
      Bucket: b,
      LifecycleConfiguration: {
        Rules: [
          { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 }, NoncurrentVersionExpiration: { NoncurrentDays: 7 } },
          { ID: 'mpu', Status: 'Enabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
        ],
      },
    }));
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }));
    expect(got.Rules?.map((r) => [r.ID, r.Status, r.Filter?.Prefix, r.Expiration?.Days, r.NoncurrentVersionExpiration?.NoncurrentDays, r.AbortIncompleteMultipartUpload?.DaysAfterInitiation]))
      .toEqual([['logs', 'Enabled', 'logs/', 30, 7, undefined], ['mpu', 'Enabled', '', undefined, undefined, 2]]);
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: b }));
    expect(await s3Error(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b })))).toEqual({ code: 'NoSuchLifecycleConfiguration', status: 404 });
  });
});
