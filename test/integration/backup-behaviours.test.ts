/**
 * The S3 behaviours backup products depend on, one test each, named for the product that
 * needs it: Veeam Backup & Replication (versioning, Object Lock, 1000-key DeleteObjects),
 * rclone (ListObjects v1 markers, zero-byte folder markers) and Kopia (a cheap 404 for a key
 * whose versions are all deleted). Driven with the AWS JS SDK v3, and raw HTTP where the
 * answer's bytes matter, against one real cluster.
 */
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  DeleteObjectsCommand, GetBucketVersioningCommand, GetObjectCommand, GetObjectLockConfigurationCommand, GetObjectRetentionCommand,
  HeadObjectCommand, ListObjectsCommand, type ListObjectsCommandOutput, ListObjectsV2Command, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand,
  PutObjectLockConfigurationCommand, PutObjectRetentionCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { run } from '../helpers/clients.js';
import { bucketFactory, s3Error } from '../helpers/s3.js';

const DAY_MS = 86_400_000;
const METRICS_TOKEN = 'metrics-bearer-token-backup-behaviours';

let cluster: Cluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file', env: { SHARDGATE_METRICS_TOKEN: METRICS_TOKEN } });
  s3 = cluster.client();
});

const newBucket = bucketFactory(() => s3, 'bb');

/** A bucket made with Object Lock enabled (and so versioning on), as Veeam's wizard asks for. */
async function lockBucket(tag: string): Promise<string> {
  const name = `bb-lock-${tag}`;
  await s3.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: true }));
  return name;
}

async function versionedBucket(tag: string): Promise<string> {
  const name = await newBucket(tag);
  await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
  return name;
}

/** Run `fn` over `items` with `n` requests in flight. */
async function inParallel<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

/** SHA-256 for the SDK's signer, on node:crypto. */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', asBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(asBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {}
}
function asBuffer(d: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (d instanceof ArrayBuffer) return Buffer.from(d);
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** A SigV4-signed request by raw HTTP, for what the SDK hides (a HEAD's empty body, bytes as sent). */
async function signedRaw(method: 'GET' | 'HEAD', path: string, query: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(path, cluster.endpoint);
  const signer = new SignatureV4({ service: 's3', region: 'us-east-1', sha256: Sha256, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY } });
  const signed = await signer.sign({
    method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query,
    headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  });
  const search = new URLSearchParams(query).toString().replace(/=(&|$)/g, '$1');
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path: url.pathname + (search ? `?${search}` : ''), headers: signed.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Veeam Backup & Replication: versioning and Object Lock', () => {
  // compat: PutObject x-amz-version-id
  it('answers every PUT to a versioned bucket with its own x-amz-version-id', async () => {
    // Veeam keeps the version id each write answers and sets or extends immutability on that
    // version (PutObjectRetention ?versionId=); a PUT without one leaves a block it cannot protect.
    const bucket = await lockBucket('vid');
    const ids: string[] = [];
    for (const body of ['one', 'two']) {
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'blk', Body: body }));
      ids.push(put.VersionId!);
    }
    const copy = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'blk-copy', CopySource: `${bucket}/blk` }));
    ids.push(copy.VersionId!);
    expect(copy.CopySourceVersionId).toBe(ids[1]);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'big' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'big', UploadId, PartNumber: 1, Body: 'part' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'big', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }));
    ids.push(done.VersionId!);
    // A bucket versioned later, as Veeam finds an existing one, answers the same way.
    const later = await versionedBucket('vid-later');
    ids.push((await s3.send(new PutObjectCommand({ Bucket: later, Key: 'blk', Body: 'x' }))).VersionId!);

    for (const id of ids) expect(id).toMatch(/^[\w.-]+$/);
    expect(ids).not.toContain('null');
    expect(new Set(ids).size).toBe(ids.length);
    // Each id reads back its own bytes.
    const first = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'blk', VersionId: ids[0] }));
    expect([first.VersionId, await first.Body!.transformToString()]).toEqual([ids[0], 'one']);
  });

  // compat: DeleteObject
  it('lets a key whose current version is COMPLIANCE-locked take a new version and a delete marker', async () => {
    // Veeam writes some of its metadata objects again under the same key in an immutable
    // bucket, and deletes keys as restore points age out: both must succeed (a new version, a
    // delete marker) while the locked versions stay; only deleting a locked version is refused.
    const bucket = await lockBucket('compliance');
    const until = new Date(Date.now() + DAY_MS);
    const locked = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta', Body: 'v1', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
    const next = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta', Body: 'v2' }));
    expect(next.VersionId).not.toBe(locked.VersionId);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'meta' }))).Body!.transformToString()).toBe('v2');
    // Now lock the current version too: a delete marker still goes on top of it.
    await s3.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: 'meta', VersionId: next.VersionId, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until } }));
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'meta' }));
    expect(marker.DeleteMarker).toBe(true);
    expect(marker.VersionId).toMatch(/^[\w.-]+$/);
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta' })))).toMatchObject({ status: 404 });
    // The locked versions are kept and readable, and not deletable, bypass or not.
    expect(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'meta', VersionId: locked.VersionId }))).Body!.transformToString()).toBe('v1');
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'meta', VersionId: locked.VersionId }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'meta', VersionId: next.VersionId, BypassGovernanceRetention: true }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    // The delete marker itself is not locked: removing it brings v2 back.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'meta', VersionId: marker.VersionId }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'meta' }))).Body!.transformToString()).toBe('v2');
  });

  // compat: PutObjectRetention
  // compat: GetObjectRetention
  it('extends a COMPLIANCE retain-until date with PutObjectRetention and refuses to shorten it', async () => {
    // Veeam sets a short immutability period on each block and extends it as long as a restore
    // point still uses the block ("block generation"); COMPLIANCE must never be shortened, even
    // by the root user asking to bypass governance (AWS: 403 AccessDenied).
    const bucket = await lockBucket('retention');
    const until = new Date(Math.floor((Date.now() + DAY_MS) / 1000) * 1000);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'blk', Body: 'b', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }));
    const v = { Bucket: bucket, Key: 'blk', VersionId: put.VersionId };
    const later = new Date(until.getTime() + 10 * DAY_MS);
    await s3.send(new PutObjectRetentionCommand({ ...v, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: later } }));
    const got = await s3.send(new GetObjectRetentionCommand(v));
    expect([got.Retention?.Mode, got.Retention?.RetainUntilDate?.getTime()]).toEqual(['COMPLIANCE', later.getTime()]);

    const refused = { code: 'AccessDenied', status: 403 };
    expect(await s3Error(s3.send(new PutObjectRetentionCommand({ ...v, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until } })))).toEqual(refused);
    expect(await s3Error(s3.send(new PutObjectRetentionCommand({ ...v, BypassGovernanceRetention: true, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until } }))))
      .toEqual(refused);
    expect(await s3Error(s3.send(new PutObjectRetentionCommand({ ...v, BypassGovernanceRetention: true, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: later } }))))
      .toEqual(refused);
    expect(await s3Error(s3.send(new PutObjectRetentionCommand({ ...v, BypassGovernanceRetention: true, Retention: {} })))).toEqual(refused);
    // Nothing refused changed anything; the same date again is no shortening.
    await s3.send(new PutObjectRetentionCommand({ ...v, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: later } }));
    const head = await s3.send(new HeadObjectCommand(v));
    expect([head.ObjectLockMode, head.ObjectLockRetainUntilDate?.getTime()]).toEqual(['COMPLIANCE', later.getTime()]);
  });

  // compat: PutObjectLockConfiguration
  it('turns Object Lock on for an existing bucket once versioning is enabled', async () => {
    // Veeam offers immutability on a repository bucket made earlier without Object Lock; since
    // 2023 AWS lets PutObjectLockConfiguration enable it on an existing versioned bucket.
    const bucket = await newBucket('late-lock');
    const config = { ObjectLockEnabled: 'Enabled' as const, Rule: { DefaultRetention: { Mode: 'COMPLIANCE' as const, Days: 7 } } };
    // Unversioned: AWS answers 409 InvalidBucketState.
    expect(await s3Error(s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: config }))))
      .toEqual({ code: 'InvalidBucketState', status: 409 });
    const before = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'old', Body: 'o' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: config }));
    const cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    expect(cfg.ObjectLockConfiguration).toEqual(config);
    // New writes take the default retention; what was there before stays unlocked.
    const t0 = Date.now();
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'new', Body: 'n' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'new', VersionId: put.VersionId }));
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(head.ObjectLockRetainUntilDate!.getTime()).toBeGreaterThanOrEqual(t0 + 7 * DAY_MS - 1000);
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'old' }))).ObjectLockMode).toBeUndefined();
    expect(before.VersionId).toBeUndefined();
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'old', VersionId: 'null' }));
    // From now on this bucket is a lock bucket like any other: versioning stays on.
    expect(await s3Error(s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }))))
      .toEqual({ code: 'InvalidBucketState', status: 409 });
  });

  // compat: GetObjectLockConfiguration
  it('answers GetObjectLockConfiguration of a lock bucket without a default rule with ObjectLockEnabled alone', async () => {
    // Veeam reads the configuration to tell whether a bucket can be immutable; it sets
    // retention per object, so the bucket usually has no default rule (AWS: no Rule element).
    const bucket = await lockBucket('norule');
    const cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    expect(cfg.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled' });
    const raw = await signedRaw('GET', `/${bucket}`, { 'object-lock': '' });
    expect(raw.status).toBe(200);
    expect(raw.body.toString()).not.toContain('<Rule');
    // A rule set then removed again leaves none behind.
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }));
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled' });
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'free', Body: 'f' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'free', VersionId: put.VersionId }))).ObjectLockMode).toBeUndefined();
    // A bucket without Object Lock: AWS answers 404 ObjectLockConfigurationNotFoundError.
    const plain = await newBucket('nolock');
    expect(await s3Error(s3.send(new GetObjectLockConfigurationCommand({ Bucket: plain }))))
      .toEqual({ code: 'ObjectLockConfigurationNotFoundError', status: 404 });
  });

  // compat: PutBucketVersioning
  it('refuses to suspend versioning on a lock-enabled bucket', async () => {
    // Veeam's immutability rests on every version being kept; AWS answers 409 InvalidBucketState.
    const bucket = await lockBucket('suspend');
    expect(await s3Error(s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }))))
      .toEqual({ code: 'InvalidBucketState', status: 409 });
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
    // Enabled again is no change, and allowed.
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const a = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'a' }));
    const b = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'b' }));
    expect(a.VersionId).not.toBe(b.VersionId);
  });

  // compat: DeleteObjects
  it('deletes 1000 versions in one DeleteObjects and refuses 1001 keys with MalformedXML', { timeout: 180_000 }, async () => {
    // Veeam deletes expired blocks in batches of S3MultiObjectDeleteLimit keys (1000 unless the
    // store's system.xml says less), naming each version; AWS refuses more than 1000 keys.
    const bucket = await versionedBucket('batch');
    const keys = Array.from({ length: 1000 }, (_, i) => `Veeam/Backup/job/blocks/${String(i).padStart(4, '0')}`);
    const versions = await inParallel(keys, 16, async (Key) => ({ Key, VersionId: (await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))).VersionId! }));
    const tooMany = [...versions, { Key: 'one-more' }];
    expect(await s3Error(s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: tooMany } })))).toEqual({ code: 'MalformedXML', status: 400 });
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(1000);

    // By key alone, Quiet: 1000 delete markers, and nothing to report.
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
    expect([quiet.Deleted, quiet.Errors]).toEqual([undefined, undefined]);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(0);
    const markers: Array<{ Key: string; VersionId: string }> = [];
    for (let KeyMarker: string | undefined, VersionIdMarker: string | undefined; ;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker, VersionIdMarker }));
      markers.push(...(page.DeleteMarkers ?? []).map((m) => ({ Key: m.Key!, VersionId: m.VersionId! })));
      if (!page.IsTruncated) break;
      [KeyMarker, VersionIdMarker] = [page.NextKeyMarker, page.NextVersionIdMarker];
    }
    expect(markers.map((m) => m.Key).sort()).toEqual(keys);
    const unmarked = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: markers } }));
    expect(unmarked.Deleted?.filter((d) => d.DeleteMarker && d.DeleteMarkerVersionId === d.VersionId)).toHaveLength(1000);

    // By version, as Veeam deletes: each named version goes.
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: versions } }));
    expect(res.Errors ?? []).toEqual([]);
    expect(res.Deleted).toHaveLength(1000);
    expect(new Set(res.Deleted!.map((d) => `${d.Key}@${d.VersionId}`))).toEqual(new Set(versions.map((v) => `${v.Key}@${v.VersionId}`)));
    const left = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    expect([left.Versions ?? [], left.DeleteMarkers ?? []]).toEqual([[], []]);
  });
});

describe('rclone', () => {
  // compat: ListObjects
  it('pages ListObjects v1 with Marker, NextMarker with a delimiter, and the last key without one', async () => {
    // rclone lists with ListObjects v1 for providers it does not know (--s3-list-version 0):
    // it resumes from NextMarker, or from the last Key when no NextMarker comes, which AWS
    // sends only with a delimiter.
    const bucket = await newBucket('v1');
    const keys = [
      ...Array.from({ length: 9 }, (_, i) => `top-${i}`),
      ...Array.from({ length: 6 }, (_, i) => `dir a/f${i}`),
      'dir b/', 'dir b/x', 'dir c/deep/y', 'with space+plus', 'z',
    ].sort();
    await inParallel(keys, 8, (Key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: '', ContentLength: 0 })));

    // Recursive (rclone --fast-list, or a sync of the whole bucket): no delimiter.
    const flat: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (;;) {
      const page: ListObjectsCommandOutput = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 4, ...(marker !== undefined && { Marker: marker }) }));
      pages++;
      expect(page.Marker ?? '').toBe(marker ?? '');
      expect(page.NextMarker).toBeUndefined();
      const got = (page.Contents ?? []).map((c) => c.Key!);
      expect(got.length).toBeLessThanOrEqual(4);
      flat.push(...got);
      if (!page.IsTruncated) break;
      marker = got[got.length - 1];
    }
    expect(flat).toEqual(keys);
    expect(pages).toBe(Math.ceil(keys.length / 4));

    // Directory by directory (rclone ls of one level): delimiter '/', NextMarker may be a prefix.
    const entries: string[] = [];
    marker = undefined;
    for (;;) {
      const page: ListObjectsCommandOutput = await s3.send(new ListObjectsCommand({ Bucket: bucket, Delimiter: '/', MaxKeys: 3, ...(marker !== undefined && { Marker: marker }) }));
      const got = [...(page.Contents ?? []).map((c) => c.Key!), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!)];
      entries.push(...got);
      if (!page.IsTruncated) {
        expect(page.NextMarker).toBeUndefined();
        break;
      }
      expect(page.NextMarker).toBe(got.sort().at(-1));
      marker = page.NextMarker;
    }
    expect(entries.sort()).toEqual(['dir a/', 'dir b/', 'dir c/', ...keys.filter((k) => !k.includes('/'))].sort());

    // Asked for url-encoded listings (rclone --s3-list-url-encode, boto3 always), keys, Marker
    // and NextMarker come form-encoded, a space as `+`, as AWS writes them (botocore decodes
    // them with unquote_plus).
    const enc = await s3.send(new ListObjectsCommand({ Bucket: bucket, Delimiter: '/', MaxKeys: 1, Marker: 'top-8', EncodingType: 'url' }));
    expect([enc.Marker, enc.Contents?.map((c) => c.Key), enc.NextMarker, enc.IsTruncated]).toEqual(['top-8', ['with+space%2Bplus'], 'with+space%2Bplus', true]);

    // boto3's paginator pages v1 the same way (NextMarker, else the last Key), url-encoded.
    const out = JSON.parse(await boto3(`
pages = lambda **kw: list(s3.get_paginator('list_objects').paginate(Bucket=BUCKET, **kw))
flat = pages(PaginationConfig={'PageSize': 4})
level = pages(Delimiter='/', PaginationConfig={'PageSize': 3})
print(json.dumps({
    'flat': [o['Key'] for p in flat for o in p.get('Contents', [])], 'flatPages': len(flat),
    'level': sorted([o['Key'] for p in level for o in p.get('Contents', [])] + [c['Prefix'] for p in level for c in p.get('CommonPrefixes', [])]),
}))`, { BUCKET: bucket })) as { flat: string[]; flatPages: number; level: string[] };
    expect(out).toEqual({ flat: keys, flatPages: Math.ceil(keys.length / 4), level: entries.sort() });
  });

  // compat: PutObject
  // compat: ListObjectsV2
  it('lists and deletes zero-byte folder/ markers', async () => {
    // rclone (--s3-directory-markers, and mkdir of an empty directory) writes a zero-byte
    // object named `dir/`, and expects it back as a key in the listing of `dir/` and as a
    // common prefix one level up; rmdir deletes it again. Duplicati and web consoles do the same.
    const bucket = await newBucket('folders');
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'photos/', Body: '', ContentLength: 0, ContentType: 'application/x-directory' }));
    expect(put.ETag).toBe('"d41d8cd98f00b204e9800998ecf8427e"');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'photos/2024/', Body: '', ContentLength: 0 }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'photos/a.jpg', Body: 'jpeg' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'photos/' }));
    expect([head.ContentLength, head.ContentType]).toEqual([0, 'application/x-directory']);

    const top = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
    expect([top.Contents, top.CommonPrefixes?.map((p) => p.Prefix)]).toEqual([undefined, ['photos/']]);
    const inside = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'photos/', Delimiter: '/' }));
    expect(inside.Contents?.map((c) => [c.Key, c.Size])).toEqual([['photos/', 0], ['photos/a.jpg', 4]]);
    expect(inside.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['photos/2024/']);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: 'photos/2024/', Delimiter: '/' }));
    expect(v1.Contents?.map((c) => [c.Key, c.Size])).toEqual([['photos/2024/', 0]]);

    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'photos/2024/' }));
    const after = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'photos/', Delimiter: '/' }));
    expect([after.Contents?.map((c) => c.Key), after.CommonPrefixes]).toEqual([['photos/', 'photos/a.jpg'], undefined]);
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'photos/' }, { Key: 'photos/a.jpg' }] } }));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount).toBe(0);
    expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'photos/' })))).toMatchObject({ status: 404 });
  });
});

/**
 * Run a boto3 script against the cluster, with `s3` a client (path style, no retries), `json`
 * imported and `vars` as Python globals; its stdout.
 */
async function boto3(body: string, vars: Record<string, string>): Promise<string> {
  const script = [
    'import json, boto3',
    'from botocore.config import Config',
    "s3 = boto3.client('s3', endpoint_url=ENDPOINT, region_name='us-east-1', aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,",
    "                  config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))",
    body,
  ].join('\n');
  const globals = { ENDPOINT: cluster.endpoint, ACCESS_KEY, SECRET_KEY, ...vars };
  const prelude = Object.entries(globals).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n');
  const env = { ...process.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true' };
  return run('python3', ['-c', `${prelude}\n${script}`], env, { timeout: 60_000 });
}

/** Piece reads (get and head) the gateway has had answered by any store, from its metrics. */
async function pieceReads(): Promise<number> {
  const res = await fetch(`${cluster.endpoint}/_shardgate/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  const text = await res.text();
  let n = 0;
  for (const m of text.matchAll(/^shardgate_store_request_duration_seconds_count\{node="[^"]+",op="(?:get|head)"\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

describe('Kopia', () => {
  // compat: GetObject missing key
  // compat: HeadObject missing key
  it('answers GET and HEAD of a key whose versions are all deleted with a 404 that touches no shard-store', async () => {
    // Kopia, on a versioned bucket (its retention mode needs one), stats blobs by id to learn
    // whether they exist, and deleted blobs leave only delete markers or nothing: each of those
    // lookups must be a 404 NoSuchKey (HEAD: no body) from the metadata alone, never a wait on
    // the stores. Checked with every shard-store process stopped.
    const bucket = await versionedBucket('gone');
    const a = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'p/marked', Body: 'a' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'p/marked' }));
    const b1 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'p/purged', Body: 'b1' }));
    const b2 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'p/purged', Body: 'b2' }));
    for (const VersionId of [b1.VersionId, b2.VersionId]) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'p/purged', VersionId }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'p/alive', Body: 'still here' }));
    const lookups = async (): Promise<void> => {
      for (const key of ['p/marked', 'p/purged']) {
        expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))), key).toEqual({ code: 'NoSuchKey', status: 404 });
        expect(await s3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))), key).toEqual({ code: 'NotFound', status: 404 });
      }
    };

    // With the stores up: the lookups send no piece read (get or head) to any store.
    const before = await pieceReads();
    await lookups();
    expect(await pieceReads()).toBe(before);
    // ...where reading a live object's bytes does.
    expect(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'p/alive' }))).Body!.transformToString()).toBe('still here');
    expect(await pieceReads()).toBeGreaterThanOrEqual(before + 10);

    // With every store stopped, the same answers, as they never wait on one.
    for (const s of cluster.stores) s.child.kill('SIGSTOP');
    try {
      await lookups();
      for (const key of ['p/marked', 'p/purged']) {
        const head = await signedRaw('HEAD', `/${bucket}/${key}`);
        expect([head.status, head.body.length], key).toEqual([404, 0]);
        const get = await signedRaw('GET', `/${bucket}/${key}`);
        expect(get.status, key).toBe(404);
        expect(get.body.toString(), key).toContain('<Code>NoSuchKey</Code>');
      }
      // The key under a delete marker says so, on GET and HEAD, as AWS does; the purged one has none.
      for (const method of ['GET', 'HEAD'] as const) {
        const marked = await signedRaw(method, `/${bucket}/p/marked`);
        expect(marked.headers['x-amz-delete-marker'], method).toBe('true');
        expect(marked.headers['x-amz-version-id'], method).toMatch(/^[\w.-]+$/);
        expect(marked.headers['x-amz-version-id'], method).not.toBe(a.VersionId);
        expect((await signedRaw(method, `/${bucket}/p/purged`)).headers['x-amz-delete-marker'], method).toBeUndefined();
      }
      // The control: a live object's bytes cannot be read with the stores stopped, so the
      // answers above came without asking them.
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), 3000);
      const live = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'p/alive' }), { abortSignal: ctl.signal })
        .then(async (r) => r.Body!.transformToString(), (err: Error) => err.name);
      clearTimeout(timer);
      expect(live).not.toBe('still here');
    } finally {
      for (const s of cluster.stores) s.child.kill('SIGCONT');
    }
    expect(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'p/alive' }))).Body!.transformToString()).toBe('still here');
  });
});
