/**
 * The lifecycle worker against a real metadata store (no servers): expiration of current
 * and noncurrent versions, expired delete markers, aborted uploads, Object Lock respected,
 * and a pass repeated (as after a restart) changing nothing more. Plus the store's
 * versioning semantics the worker relies on, and the lifecycle document.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaObjectLockedError } from '../../gateway/meta/errors.js';
import { SqliteMetaStore } from '../../gateway/meta/store.js';
import { buildLifecycleConfiguration, parseLifecycleConfiguration, type LifecycleRule } from '../../gateway/s3/lifecycle.js';
import { LifecycleWorker } from '../../gateway/s3/lifecycle-worker.js';

const DAY = 1000;
const T0 = 1_700_000_000_000;

describe('lifecycle worker', () => {
  let dir: string;
  let meta: SqliteMetaStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifecycle-'));
    meta = new SqliteMetaStore(join(dir, 'meta.db'));
    await meta.createBucket('b', 'root', 'us-east-1');
  });
  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const put = async (key: string, at: number, size = 1): Promise<string> => (await meta.commitObject({
    bucket: 'b', key, size, etag: 'e', contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
    parts: [{ partNumber: 1, blobId: null, size, etag: 'e', checksums: {} }],
  }, [], at)).versionId;
  const versions = async (key?: string): Promise<string[]> => (await meta.listVersions('b', { fromKey: '' }, 100))
    .filter((v) => key === undefined || v.key === key)
    .map((v) => `${v.key}:${v.deleteMarker ? 'M' : 'V'}${v.isLatest ? '*' : ''}`);
  const rule = (r: Partial<LifecycleRule>): LifecycleRule => ({ id: 'r', enabled: true, filter: { prefix: '', tags: [] }, ...r });
  const worker = (): LifecycleWorker => new LifecycleWorker(meta, { dayMs: DAY, intervalMs: 60_000 });

  it('expires current versions after Days: deleted when unversioned, a delete marker when versioned', async () => {
    await meta.setBucketLifecycle('b', [rule({ filter: { prefix: 'logs/', tags: [] }, expiration: { days: 2 } })]);
    await put('logs/old', T0);
    await put('logs/new', T0 + 1.5 * DAY);
    await put('keep', T0);
    expect((await worker().runOnce(T0 + 2 * DAY)).expired).toBe(1);
    expect(await versions()).toEqual(['keep:V*', 'logs/new:V*']);

    await meta.setBucketVersioning('b', 'Enabled');
    await put('logs/v', T0);
    expect((await worker().runOnce(T0 + 5 * DAY)).expired).toBe(2);
    expect(await versions('logs/v')).toEqual(['logs/v:M*', 'logs/v:V']);
    // Again, as after a restart: the markers are current now, nothing more happens.
    expect(await worker().runOnce(T0 + 5 * DAY)).toMatchObject({ expired: 0, noncurrentExpired: 0 });
  });

  it('expires noncurrent versions NoncurrentDays after they became noncurrent, keeping NewerNoncurrentVersions', async () => {
    await meta.setBucketVersioning('b', 'Enabled');
    await meta.setBucketLifecycle('b', [rule({ noncurrentExpiration: { days: 1, newerNoncurrentVersions: 1 } })]);
    await put('k', T0);
    await put('k', T0 + DAY);
    await put('k', T0 + 2 * DAY);
    await put('k', T0 + 10 * DAY);
    // Noncurrent since T0+DAY, T0+2d, T0+10d: at T0+3d the two oldest are due, but the newest noncurrent one is kept.
    expect((await worker().runOnce(T0 + 3 * DAY)).noncurrentExpired).toBe(2);
    expect(await versions()).toEqual(['k:V*', 'k:V']);
  });

  it('removes an expired delete marker only once no version is left behind it', async () => {
    await meta.setBucketVersioning('b', 'Enabled');
    await meta.setBucketLifecycle('b', [
      rule({ id: 'nc', noncurrentExpiration: { days: 1 } }),
      rule({ id: 'dm', expiration: { expiredObjectDeleteMarker: true } }),
    ]);
    await put('k', T0);
    await meta.deleteVersion('b', 'k', { now: T0 + DAY });
    expect(await versions()).toEqual(['k:M*', 'k:V']);
    const stats = await worker().runOnce(T0 + 3 * DAY);
    expect(stats).toMatchObject({ noncurrentExpired: 1, markersRemoved: 1 });
    expect(await versions()).toEqual([]);
    expect(await meta.deleteBucket('b')).toBe(true);
  });

  it('keeps versions Object Lock protects and counts them', async () => {
    await meta.setBucketObjectLock('b', {});
    await meta.setBucketLifecycle('b', [rule({ noncurrentExpiration: { days: 1 } })]);
    await put('k', T0);
    const old = (await meta.listVersions('b', { fromKey: '' }, 10))[0]!;
    await meta.setObjectLock(old.id, { mode: 'COMPLIANCE', retainUntil: T0 + 100 * DAY, legalHold: null });
    await put('k', T0 + DAY);
    expect(await worker().runOnce(T0 + 5 * DAY)).toMatchObject({ noncurrentExpired: 0, locked: 1 });
    await expect(async () => await meta.deleteVersion('b', 'k', { versionId: old.versionId, bypassGovernance: true, now: T0 + 5 * DAY })).rejects.toThrow(MetaObjectLockedError);
    expect(await worker().runOnce(T0 + 101 * DAY)).toMatchObject({ noncurrentExpired: 1, locked: 0 });
  });

  it('aborts incomplete multipart uploads DaysAfterInitiation', async () => {
    await meta.setBucketLifecycle('b', [rule({ filter: { prefix: 'tmp/', tags: [] }, abortIncompleteUploadDays: 1 })]);
    const up = (id: string, key: string, createdAt: number): Promise<void> => meta.createUpload({
      id, bucket: 'b', key, owner: 'root', createdAt, contentType: null, headers: {}, userMeta: {}, checksumAlgorithm: null, checksumType: null, acl: null,
    });
    await up('u1', 'tmp/a', T0);
    await up('u2', 'tmp/b', T0 + DAY);
    await up('u3', 'other', T0);
    expect((await worker().runOnce(T0 + 1.5 * DAY)).uploadsAborted).toBe(1);
    expect([await meta.getUpload('u1'), await meta.getUpload('u2'), await meta.getUpload('u3')].map((u) => u?.id)).toEqual([undefined, 'u2', 'u3']);
  });

  it('lets other work run while it scans a large bucket, and writes made meanwhile are kept', async () => {
    await meta.setBucketLifecycle('b', [rule({ expiration: { days: 1 } })]);
    for (let i = 0; i < 2000; i++) await put(`old/${String(i).padStart(5, '0')}`, T0);
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks++;
      // A write landing mid-pass, after the walk is past its key: it must survive.
      if (ticks === 1) void put('old/00000', T0 + 10 * DAY);
    }, 0);
    const stats = await worker().runOnce(T0 + 10 * DAY).finally(() => clearInterval(ticker));
    expect(ticks).toBeGreaterThan(1);
    expect(stats.expired).toBe(2000); // the first key went before it was written again
    expect(await versions()).toEqual(['old/00000:V*']);
  });

  it('a delete marker keeps a newer write: lifecycle never hides a version written after its scan', async () => {
    await meta.setBucketVersioning('b', 'Enabled');
    await put('k', T0);
    const scanned = (await meta.getLatestVersion('b', 'k'))!;
    await put('k', T0 + 1);
    expect((await meta.deleteVersion('b', 'k', { ifCurrentId: scanned.id })).existed).toBe(false);
    expect(await versions()).toEqual(['k:V*', 'k:V']);
  });
});

describe('LifecycleConfiguration document', () => {
  const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
  it('parses the supported actions and filters and builds them back', async () => {
    const rules = parseLifecycleConfiguration(`<LifecycleConfiguration ${NS}>
      <Rule><ID>a</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>
      <Rule><ID>b</ID><Filter><And><Prefix>x/</Prefix><Tag><Key>t</Key><Value>v</Value></Tag></And></Filter><Status>Disabled</Status>
        <NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>
      <Rule><ID>c</ID><Filter></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>
        <AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
    </LifecycleConfiguration>`);
    expect(rules).toEqual([
      { id: 'a', enabled: true, filter: { prefix: 'logs/', tags: [] }, expiration: { days: 30 } },
      { id: 'b', enabled: false, filter: { prefix: 'x/', tags: [{ key: 't', value: 'v' }] }, noncurrentExpiration: { days: 7, newerNoncurrentVersions: 2 } },
      { id: 'c', enabled: true, filter: { prefix: '', tags: [] }, expiration: { expiredObjectDeleteMarker: true }, abortIncompleteUploadDays: 1 },
    ]);
    expect(parseLifecycleConfiguration(buildLifecycleConfiguration(rules))).toEqual(rules);
  });

  it.each([
    ['no rule', '<LifecycleConfiguration></LifecycleConfiguration>', 'MalformedXML'],
    ['bad status', '<LifecycleConfiguration><Rule><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>', 'MalformedXML'],
    ['zero days', '<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule></LifecycleConfiguration>', 'InvalidArgument'],
    ['no action', '<LifecycleConfiguration><Rule><Status>Enabled</Status></Rule></LifecycleConfiguration>', 'InvalidRequest'],
    ['duplicate ids', '<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>x</ID><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>', 'InvalidArgument'],
  ])('%s is %s', (_name, body, code) => {
    expect(() => parseLifecycleConfiguration(body)).toThrow(expect.objectContaining({ code }));
  });
});

describe('LifecycleConfiguration: the legacy top-level Prefix', () => {
  const doc = (rules: string): string => `<LifecycleConfiguration>${rules}</LifecycleConfiguration>`;

  it('a rule sent with a top-level Prefix comes back with one; a rule sent with Filter keeps Filter', async () => {
    const rules = parseLifecycleConfiguration(doc(`
      <Rule><ID>old</ID><Prefix>test1/</Prefix><Status>Enabled</Status><Expiration><Days>31</Days></Expiration></Rule>
      <Rule><ID>empty</ID><Prefix></Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>
      <Rule><ID>new</ID><Filter><Prefix>test2/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>120</Days></Expiration></Rule>`));
    expect(rules.map((r) => [r.id, r.filter.prefix, r.legacyPrefix])).toEqual([['old', 'test1/', true], ['empty', '', true], ['new', 'test2/', undefined]]);
    const xml = buildLifecycleConfiguration(rules);
    expect(xml).toContain('<Rule><ID>old</ID><Prefix>test1/</Prefix><Status>Enabled</Status>');
    expect(xml).toContain('<Rule><ID>empty</ID><Prefix></Prefix><Status>Enabled</Status>');
    expect(xml).toContain('<Rule><ID>new</ID><Filter><Prefix>test2/</Prefix></Filter><Status>Enabled</Status>');
    expect(parseLifecycleConfiguration(xml)).toEqual(rules);
  });

  it('a rule stored before the flag existed is returned with Filter', async () => {
    const stored = JSON.parse('[{"id":"r","enabled":true,"filter":{"prefix":"p/","tags":[]},"expiration":{"days":3}}]') as LifecycleRule[];
    expect(buildLifecycleConfiguration(stored)).toContain('<Rule><ID>r</ID><Filter><Prefix>p/</Prefix></Filter>');
  });
});
