import { COMPLETED_UPLOAD_TTL_MS } from '../../gateway/meta/completed-uploads.js';
import { MetaQuotaError } from '../../gateway/meta/errors.js';
import type { EventOrigin, NotificationRule } from '../../gateway/meta/notifications.js';
import { PgCompletedUploadStore, recordCompletion } from '../../gateway/meta/pg/completed-uploads.js';
import type { PgDb } from '../../gateway/meta/pg/db.js';
import { PgNotificationStore } from '../../gateway/meta/pg/notifications.js';
import { pgMetaStoreOn } from '../../gateway/meta/pg/open-store.js';
import { addBucketUsage, assertWithinQuota, PgBucketQuotaStore, recountPgBucketUsage } from '../../gateway/meta/pg/quota.js';
import { PgSseCStore, setObjectSseC, setUploadSseC } from '../../gateway/meta/pg/sse-c.js';
import type { ObjectRow } from '../../gateway/meta/types.js';
import { object } from '../helpers/meta-cases/fixtures.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { fixture, usePgDatabase } from './pg-fixture.js';

const skip = postgresSkipReason();
const origin: EventOrigin = { requestId: 'REQ', principal: 'alice', sourceIp: '192.0.2.1' };
const rule = (over: Partial<NotificationRule> = {}): NotificationRule => ({
  id: 'r', queue: 'arn:shardgate:sqs::T:webhook', target: 'T', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], prefix: '', suffix: '', ...over,
});

describe.skipIf(skip)(`PostgreSQL object-side stores${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const pg = usePgDatabase();

  describe('bucket quotas', () => {
    const upload = (db: PgDb, id: string, bucket: string): Promise<number> =>
      db.write((sql) => sql.run(`INSERT INTO uploads(id, bucket, key, owner, created_at) VALUES ($1, $2, 'k', 'root', 1)`, [id, bucket]));
    const part = (db: PgDb, uploadId: string, n: number, size: number): Promise<number> =>
      db.write((sql) => sql.run(`INSERT INTO upload_parts(upload_id, part_number, size, etag, last_modified) VALUES ($1, $2, $3, 'e', 1)
        ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size`, [uploadId, n, size]));

    it('reads the bytes kept with the objects rows, sets and removes a quota', async () => {
      const db = await pg.db();
      const quotas = new PgBucketQuotaStore(db);
      await fixture.bucket(db, 'b');
      await fixture.bucket(db, 'other');
      expect(await quotas.get('b')).toEqual({ quota: null, used: 0 });
      expect(await quotas.get('nope')).toBeUndefined();
      await fixture.object(db, { bucket: 'b', key: 'a', size: 100 });
      await fixture.object(db, { bucket: 'b', key: 'b', size: 50, versionId: 'v1', latest: false });
      await fixture.object(db, { bucket: 'b', key: 'm', size: 0, marker: true });
      await fixture.object(db, { bucket: 'other', key: 'x', size: 7 });
      expect(await quotas.get('b')).toEqual({ quota: null, used: 150 });
      expect(await quotas.objectCount('b')).toBe(1); // not the old version, not the delete marker
      await db.write((sql) => addBucketUsage(sql, 'b', -100));
      expect((await quotas.get('b'))!.used).toBe(50);
      expect(await quotas.set('b', 100)).toBe(true);
      expect(await quotas.set('nope', 100)).toBe(false);
      expect(await quotas.get('b')).toEqual({ quota: 100, used: 50 });
      await quotas.set('b', null);
      expect((await quotas.get('b'))!.quota).toBeNull();
    });

    it('refuses a unit of work past the quota, rolling it back; counts room net of the version replaced', async () => {
      const db = await pg.db();
      const quotas = new PgBucketQuotaStore(db);
      await fixture.bucket(db, 'b');
      await quotas.set('b', 100);
      await fixture.object(db, { bucket: 'b', key: 'a', size: 60 });
      const commit = (key: string, size: number): Promise<void> => db.write(async (sql) => {
        await sql.run(`INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified) VALUES ('b', $1, 'null', 1, $2, 'e', 1)`, [key, size]);
        await addBucketUsage(sql, 'b', size);
        await assertWithinQuota(sql, 'b', size);
      });
      await expect(commit('c', 41)).rejects.toBeInstanceOf(MetaQuotaError);
      expect(await db.one(`SELECT 1 FROM objects WHERE key = 'c'`)).toBeUndefined();
      expect((await quotas.get('b'))!.used).toBe(60);
      await commit('c', 40); // exactly at the quota
      await expect(quotas.assertRoom('b', 1)).rejects.toBeInstanceOf(MetaQuotaError);
      await quotas.assertRoom('b', 0);
      // Before the body comes, a write of a key counts net of the version it would replace...
      expect(await quotas.limitFor('b', undefined, 'a')).toEqual({ quota: 100, used: 40 });
      // ...which a versioned bucket keeps.
      await db.write((sql) => sql.run(`UPDATE buckets SET versioning = 'Enabled' WHERE name = 'b'`));
      expect(await quotas.limitFor('b', undefined, 'a')).toEqual({ quota: 100, used: 100 });
      await quotas.set('b', null);
      expect(await quotas.limitFor('b')).toBeUndefined();
    });

    it("counts an upload's other parts against the room for its next part", async () => {
      const db = await pg.db();
      const quotas = new PgBucketQuotaStore(db);
      await fixture.bucket(db, 'b');
      await quotas.set('b', 100);
      await upload(db, 'u1', 'b');
      await part(db, 'u1', 1, 60);
      await expect(quotas.assertRoom('b', 41, { id: 'u1', partNumber: 2 })).rejects.toBeInstanceOf(MetaQuotaError);
      await quotas.assertRoom('b', 90, { id: 'u1', partNumber: 1 }); // sending part 1 again replaces its bytes
      await part(db, 'u1', 1, 90);
      await part(db, 'u1', 2, 10);
      expect(await quotas.limitFor('b', { id: 'u1', partNumber: 3 })).toEqual({ quota: 100, used: 100 });
    });

    it('counts again from the objects', async () => {
      const db = await pg.db();
      const quotas = new PgBucketQuotaStore(db);
      await fixture.bucket(db, 'b');
      await fixture.bucket(db, 'other');
      await fixture.object(db, { bucket: 'b', key: 'a', size: 5 });
      await db.write((sql) => sql.run('UPDATE bucket_usage SET bytes = 999'));
      await recountPgBucketUsage(db);
      expect((await quotas.get('b'))!.used).toBe(5);
      expect((await quotas.get('other'))!.used).toBe(0);
    });

    it("DeleteBucket takes the bucket's usage slots with it, so a bucket created again under the name starts from zero", async () => {
      const db = await pg.db();
      const meta = pgMetaStoreOn(db);
      await meta.createBucket('b', 'root', 'us-east-1');
      await meta.commitObject(object('b', 'k', { size: 40 }));
      await meta.deleteObject('b', 'k');
      // A count left wrong by hand, spread over slots as several connections leave it.
      // (The writes above used a slot picked at random: these may land on the same one.)
      await db.write((sql) => sql.run(`INSERT INTO bucket_usage(bucket, slot, bytes) VALUES ('b', 7, 123), ('b', 8, -3)
        ON CONFLICT (bucket, slot) DO UPDATE SET bytes = bucket_usage.bytes + EXCLUDED.bytes`));
      expect(await meta.deleteBucket('b')).toBe(true);
      expect(await db.one(`SELECT COUNT(*) AS n FROM bucket_usage WHERE bucket = 'b'`)).toEqual({ n: 0 });
      await meta.createBucket('b', 'root', 'us-east-1');
      expect(await meta.quotas.get('b')).toEqual({ quota: null, used: 0 });
    });
  });

  describe('notifications', () => {
    const queued = (n: PgNotificationStore) => n.due('T', Date.now() + 1, 100, new Set());

    it("a configuration put with its request's origin queues S3's test message, once per target, and wakes the worker", async () => {
      const db = await pg.db();
      const n = new PgNotificationStore(db);
      await fixture.bucket(db, 'b', 'owner');
      let woken = 0;
      n.onQueued(() => woken++);
      expect(await n.setRules('b', [rule(), rule({ id: 'r2', events: ['s3:ObjectRemoved:*'], prefix: 'x/' })], origin, 1_700_000_000_000)).toBe(true);
      const [test, ...rest] = await queued(n);
      expect(rest).toEqual([]);
      expect(test).toMatchObject({ name: 'TestEvent', bucket: 'b', bucketOwner: 'owner', key: '', eventTime: 1_700_000_000_000, attempts: 0, ...origin });
      await vi.waitFor(() => expect(woken).toBe(1));
      // Removing the configuration sends nothing; a bucket that is gone queues nothing either.
      await n.delivered(test!.id);
      await n.setRules('b', [], origin);
      expect(await n.setRules('missing', [rule()], origin)).toBe(false);
      expect(await queued(n)).toEqual([]);
    });

    it('queues the matching events in the unit of work of the change, and nothing if it rolls back', async () => {
      const db = await pg.db();
      const n = new PgNotificationStore(db);
      await fixture.bucket(db, 'b', 'owner');
      await fixture.bucket(db, 'quiet', 'owner');
      await n.setRules('b', [rule({ prefix: 'in/' })]);
      const record = (bucket: string, key: string, name: 'ObjectCreated:Put' | 'ObjectRemoved:Delete', o: EventOrigin | null = origin) =>
        db.write((sql) => n.record(sql, bucket, { name, key, ...(name === 'ObjectCreated:Put' && { size: 3, etag: 'e' }) }, o ?? undefined, Date.now()));
      expect(await record('b', 'in/k', 'ObjectCreated:Put')).toBe(true);
      expect(await record('b', 'out/k', 'ObjectCreated:Put')).toBe(false); // prefix
      expect(await record('quiet', 'in/k', 'ObjectCreated:Put')).toBe(false); // no rules
      expect(await record('b', 'in/k', 'ObjectCreated:Put', null)).toBe(false); // no origin: lifecycle, tools
      await expect(db.write(async (sql) => {
        await n.record(sql, 'b', { name: 'ObjectRemoved:Delete', key: 'in/k' }, origin, Date.now());
        throw new Error('lost race');
      })).rejects.toThrow('lost race');
      expect(await record('b', 'in/k', 'ObjectRemoved:Delete')).toBe(true);
      const [put, del, ...rest] = await queued(n);
      expect(rest).toEqual([]);
      expect(put).toMatchObject({ name: 'ObjectCreated:Put', bucket: 'b', bucketOwner: 'owner', key: 'in/k', size: 3, etag: 'e', configId: 'r', ...origin });
      expect(put!.versionId).toBeUndefined();
      expect(del).toMatchObject({ name: 'ObjectRemoved:Delete', key: 'in/k' });
      expect(del!.size).toBeUndefined();
      expect(del!.id).toBeGreaterThan(put!.id);
    });

    it('past the cap, the oldest events are dropped; a failed attempt waits for its retry; pending by target', async () => {
      const db = await pg.db();
      const n = new PgNotificationStore(db);
      await fixture.bucket(db, 'b');
      await n.setRules('b', [rule()]);
      for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) await db.write((sql) => n.record(sql, 'b', { name: 'ObjectCreated:Put', key }, origin, Date.now()));
      expect(await n.dropOldest('T', 5)).toBe(0);
      expect(await n.dropOldest('T', 2)).toBe(3);
      expect((await queued(n)).map((e) => e.key)).toEqual(['k4', 'k5']);
      expect(await n.dropOldest('other', 0)).toBe(0);
      const [e] = await queued(n);
      const later = Date.now() + 60_000;
      await n.failed(e!.id, later, `HTTP 500 ${'x'.repeat(1000)}`);
      expect((await queued(n)).map((x) => x.key)).toEqual(['k5']);
      const again = await n.due('T', later, 10, new Set());
      expect(again.map((x) => [x.key, x.attempts])).toEqual([['k5', 0], ['k4', 1]]); // by due time
      expect(await n.due('T', later, 1, new Set([again[0]!.id]))).toMatchObject([{ id: e!.id }]);
      expect((await db.one('SELECT last_error FROM notification_events WHERE id = $1', [e!.id]))!.last_error).toHaveLength(500);
      expect([...(await n.pendingByTarget())]).toEqual([['T', 2]]);
    });

    it('rules set through one gateway apply at once on another', async () => {
      const a = new PgNotificationStore(await pg.db());
      const db = await pg.db();
      const b = new PgNotificationStore(db);
      await fixture.bucket(db, 'b');
      expect(await b.rules('b')).toEqual([]);
      await a.setRules('b', [rule({ prefix: 'a/' })]);
      expect(await b.rules('b')).toEqual([rule({ prefix: 'a/' })]);
      expect(await db.write((sql) => b.record(sql, 'b', { name: 'ObjectCreated:Put', key: 'a/1' }, origin, Date.now()))).toBe(true);
      await a.setRules('b', []);
      expect(await b.rules('b')).toEqual([]);
      expect(await db.write((sql) => b.record(sql, 'b', { name: 'ObjectCreated:Put', key: 'a/2' }, origin, Date.now()))).toBe(false);
    });
  });

  describe('SSE-C parameters', () => {
    it('are read back as written with the object or upload row; none reads null', async () => {
      const db = await pg.db();
      const sse = new PgSseCStore(db);
      await fixture.bucket(db, 'b');
      const params = { algorithm: 'AES256' as const, salt: Buffer.alloc(16, 1), keyHmac: Buffer.alloc(32, 2) };
      const id = await fixture.object(db, { bucket: 'b', key: 'k', size: 1 });
      const plain = await fixture.object(db, { bucket: 'b', key: 'p', size: 1 });
      await db.write((sql) => setObjectSseC(sql, id, params));
      await db.write(async (sql) => {
        await sql.run(`INSERT INTO uploads(id, bucket, key, owner, created_at) VALUES ('u1', 'b', 'k', 'root', 1)`);
        await setUploadSseC(sql, 'u1', params);
      });
      expect(await sse.objectSseC(id)).toEqual(params);
      expect(await sse.uploadSseC('u1')).toEqual(params);
      expect(await sse.objectSseC(plain)).toBeNull();
      expect(await sse.objectSseC(12345)).toBeNull();
      expect(await sse.uploadSseC('nope')).toBeNull();
    });
  });

  describe('completed uploads', () => {
    const complete = async (db: PgDb, uploadId: string, key: string, etag: string, now = Date.now(), versionId = 'null'): Promise<ObjectRow> =>
      db.write(async (sql) => {
        const r = await sql.one<{ id: number }>(`INSERT INTO objects(bucket, key, version_id, is_latest, size, etag, last_modified, checksums)
          VALUES ('b', $1, $2, 1, 1, $3, $4, '{"sha256":"x-1"}') RETURNING id`, [key, versionId, etag, now]);
        const row: ObjectRow = {
          id: r!.id, bucket: 'b', key, versionId, size: 1, etag, lastModified: now, contentType: null, headers: {}, userMeta: {},
          checksums: { sha256: 'x-1' }, partsCount: 1,
        };
        await recordCompletion(sql, uploadId, row, now);
        return row;
      });

    it('answers a completion while its object version stands, for its bucket and key only', async () => {
      const db = await pg.db();
      const done = new PgCompletedUploadStore(db);
      await fixture.bucket(db, 'b');
      const row = await complete(db, 'up1', 'k', 'e-1');
      expect(await done.lookup('up1', 'b', 'k')).toMatchObject({
        uploadId: 'up1', bucket: 'b', key: 'k', objectId: row.id, versionId: 'null', etag: 'e-1', checksums: { sha256: 'x-1' },
      });
      expect(await done.lookup('up1', 'b', 'other')).toBeUndefined();
      expect(await done.lookup('up2', 'b', 'k')).toBeUndefined();
    });

    it('forgets the answer once the version is replaced or deleted', async () => {
      const db = await pg.db();
      const done = new PgCompletedUploadStore(db);
      await fixture.bucket(db, 'b');
      const row = await complete(db, 'up1', 'k', 'e-1');
      await db.write((sql) => sql.run(`UPDATE objects SET etag = 'e-3' WHERE id = $1`, [row.id]));
      expect(await done.lookup('up1', 'b', 'k')).toBeUndefined();
      const other = await complete(db, 'up2', 'j', 'e-2');
      await db.write((sql) => sql.run('UPDATE objects SET is_delete_marker = 1 WHERE id = $1', [other.id]));
      expect(await done.lookup('up2', 'b', 'j')).toBeUndefined();
      const third = await complete(db, 'up3', 'v', 'e-4', Date.now(), 'v1');
      await complete(db, 'up4', 'v2', 'e-5'); // another key's newer version leaves it alone
      expect((await done.lookup('up3', 'b', 'v'))?.versionId).toBe('v1');
      await db.write((sql) => sql.run('DELETE FROM objects WHERE id = $1', [third.id]));
      expect(await done.lookup('up3', 'b', 'v')).toBeUndefined();
    });

    it('records nothing when the unit of work fails', async () => {
      const db = await pg.db();
      await fixture.bucket(db, 'b');
      await expect(db.write(async (sql) => {
        await recordCompletion(sql, 'up1', { id: 1, bucket: 'b', key: 'k', versionId: 'null', etag: 'e', checksums: {} } as unknown as ObjectRow);
        throw new Error('lost race');
      })).rejects.toThrow('lost race');
      expect((await db.one('SELECT COUNT(*) AS n FROM completed_uploads'))!.n).toBe(0);
    });

    it('forgets answers older than a day, and prunes them on the next record', async () => {
      const db = await pg.db();
      const done = new PgCompletedUploadStore(db);
      await fixture.bucket(db, 'b');
      const t0 = Date.now();
      await complete(db, 'old', 'k', 'e-1', t0);
      expect(await done.lookup('old', 'b', 'k', t0 + COMPLETED_UPLOAD_TTL_MS)).toBeDefined();
      expect(await done.lookup('old', 'b', 'k', t0 + COMPLETED_UPLOAD_TTL_MS + 1)).toBeUndefined();
      await complete(db, 'new', 'j', 'e-2', t0 + COMPLETED_UPLOAD_TTL_MS + 1);
      expect(await db.query('SELECT upload_id FROM completed_uploads')).toEqual([{ upload_id: 'new' }]);
    });
  });
});
