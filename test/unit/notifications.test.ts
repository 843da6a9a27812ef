import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../../gateway/secrets.js';
import { notifyConfig, parseWebhooks } from '../../gateway/config.js';
import { MetaPreconditionError, MetaQuotaError } from '../../gateway/meta/errors.js';
import { ruleMatches, type EventOrigin, type NotificationRule } from '../../gateway/meta/notifications.js';
import { SqliteMetaStore } from '../../gateway/meta/store.js';
import type { NewObject } from '../../gateway/meta/types.js';
import { backoffMs } from '../../gateway/notify/worker.js';
import { eventKey, eventMessage, sequencerOf } from '../../gateway/notify/event.js';
import { S3Error } from '../../gateway/s3/errors.js';
import { buildNotificationConfiguration, parseNotificationConfiguration } from '../../gateway/s3/notification.js';

const origin: EventOrigin = { requestId: 'REQ', principal: 'alice', sourceIp: '192.0.2.1' };
const rule = (over: Partial<NotificationRule> = {}): NotificationRule => ({
  id: 'r', queue: 'arn:shardgate:sqs::T:webhook', target: 'T', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], prefix: '', suffix: '', ...over,
});

describe('the event outbox commits with the change it reports', () => {
  let dir: string;
  let meta: SqliteMetaStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'notify-'));
    meta = new SqliteMetaStore(join(dir, 'meta.db'));
    await meta.createBucket('b', 'owner', 'us-east-1');
    await meta.createBucket('quiet', 'owner', 'us-east-1');
  });
  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const object = (bucket: string, key: string, size = 3): NewObject => ({
    bucket, key, size, etag: 'e', contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
    parts: [{ partNumber: 1, blobId: null, size, etag: 'e', checksums: {} }],
  });
  const queued = () => meta.notifications.due('T', Date.now() + 1, 100, new Set());

  test('a write and a delete queue one event each, with what S3 reports', async () => {
    await meta.notifications.setRules('b', [rule()]);
    await meta.commitObjectWith(object('b', 'k'), { event: { name: 'ObjectCreated:Put', ...origin } });
    await meta.deleteVersion('b', 'k', { event: origin });
    const [put, del] = (await queued());
    expect(put).toMatchObject({ name: 'ObjectCreated:Put', bucket: 'b', bucketOwner: 'owner', key: 'k', size: 3, etag: 'e', configId: 'r', ...origin });
    expect(put!.versionId).toBeUndefined();
    expect(del).toMatchObject({ name: 'ObjectRemoved:Delete', key: 'k' });
    expect(del!.size).toBeUndefined();
    expect(del!.id).toBeGreaterThan(put!.id);
  });

  test('a configuration put with its request\'s origin queues S3\'s test message, once per target', async () => {
    await meta.notifications.setRules('b', [rule(), rule({ id: 'r2', events: ['s3:ObjectRemoved:*'], prefix: 'x/' })], origin, 1_700_000_000_000);
    const [test, ...rest] = (await queued());
    expect(rest).toEqual([]);
    expect(test).toMatchObject({ name: 'TestEvent', bucket: 'b', key: '', ...origin });
    expect(eventMessage(test!, 'us-east-1')).toEqual({
      Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2023-11-14T22:13:20.000Z', Bucket: 'b', RequestId: 'REQ', HostId: 'shardgate',
    });
    // Removing the configuration sends nothing; a bucket that is gone queues nothing either.
    await meta.notifications.delivered(test!.id);
    await meta.notifications.setRules('b', [], origin);
    expect(await meta.notifications.setRules('missing', [rule()], origin)).toBe(false);
    expect((await queued())).toEqual([]);
  });

  test('past the cap, a target\'s oldest events are dropped and the newest kept', async () => {
    await meta.notifications.setRules('b', [rule()]);
    for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) await meta.commitObjectWith(object('b', key), { event: { name: 'ObjectCreated:Put', ...origin } });
    expect(await meta.notifications.dropOldest('T', 5)).toBe(0);
    expect(await meta.notifications.dropOldest('T', 2)).toBe(3);
    expect((await queued()).map((e) => e.key)).toEqual(['k4', 'k5']);
    expect(await meta.notifications.dropOldest('other', 0)).toBe(0);
  });

  test('a failed write queues nothing: the event is rolled back with it', async () => {
    await meta.notifications.setRules('b', [rule()]);
    await meta.commitObjectWith(object('b', 'k'), { event: { name: 'ObjectCreated:Put', ...origin } });
    await meta.notifications.delivered((await queued())[0]!.id);
    await expect(meta.commitObjectWith(object('b', 'k'), { condition: { ifNoneMatch: true }, event: { name: 'ObjectCreated:Put', ...origin } }))
      .rejects.toThrow(MetaPreconditionError);
    await meta.quotas.set('b', 4);
    await expect(async () => await meta.commitObjectWith(object('b', 'big', 10), { event: { name: 'ObjectCreated:Put', ...origin } })).rejects.toThrow(MetaQuotaError);
    expect((await queued())).toEqual([]);
  });

  test('a bucket without rules, a write without an origin, and a delete of nothing queue nothing', async () => {
    await meta.notifications.setRules('b', [rule()]);
    await meta.commitObjectWith(object('quiet', 'k'), { event: { name: 'ObjectCreated:Put', ...origin } });
    await meta.commitObjectWith(object('b', 'k'), {});
    await meta.deleteVersion('b', 'absent', { event: origin });
    expect((await queued())).toEqual([]);
  });

  test('versioned deletes: a delete marker, then the version deleted by id', async () => {
    await meta.setBucketVersioning('b', 'Enabled');
    await meta.notifications.setRules('b', [rule({ events: ['s3:ObjectRemoved:*'] })]);
    const v = await meta.commitObjectWith(object('b', 'k'), { event: { name: 'ObjectCreated:Put', ...origin } });
    const marker = await meta.deleteVersion('b', 'k', { event: origin });
    await meta.deleteVersionsBatch('b', [{ key: 'k', versionId: v.versionId }], { bypassGovernance: false, event: origin });
    expect((await queued()).map((e) => [e.name, e.versionId])).toEqual([
      ['ObjectRemoved:DeleteMarkerCreated', marker.versionId],
      ['ObjectRemoved:Delete', v.versionId],
    ]);
  });

  test('rules follow the bucket: changed, removed, and gone with a deleted bucket', async () => {
    await meta.notifications.setRules('b', [rule({ prefix: 'a/' })]);
    expect(await meta.notifications.rules('b')).toEqual([rule({ prefix: 'a/' })]);
    await meta.notifications.setRules('b', []);
    expect(await meta.notifications.rules('b')).toEqual([]);
    await meta.notifications.setRules('quiet', [rule()]);
    expect(await meta.deleteBucket('quiet')).toBe(true);
    await meta.createBucket('quiet', 'other', 'us-east-1');
    expect(await meta.notifications.rules('quiet')).toEqual([]);
    expect(await meta.notifications.setRules('missing', [rule()])).toBe(false);
  });

  test('queued events are journaled, so a gateway recovered from the shard-stores still delivers them; retry bookkeeping is not', async () => {
    await meta.notifications.setRules('b', [rule()]);
    meta.journal.shipped(meta.journal.lastChange());
    await meta.commitObjectWith(object('b', 'k'), { event: { name: 'ObjectCreated:Put', ...origin } });
    const [e] = (await queued());
    const tables = (): string[] => meta.journal.changedRows(meta.journal.lastChange()).map(([t]) => t);
    expect(tables()).toContain('notification_events');
    meta.journal.shipped(meta.journal.lastChange());
    await meta.notifications.failed(e!.id, Date.now() + 1000, 'HTTP 500');
    expect(tables()).toEqual([]);
    await meta.notifications.delivered(e!.id);
    expect(meta.journal.changedRows(meta.journal.lastChange())).toEqual([['notification_events', e!.id, null]]);
  });

  test('a failed attempt waits for its retry; pending counts by target', async () => {
    await meta.notifications.setRules('b', [rule()]);
    await meta.commitObjectWith(object('b', 'k'), { event: { name: 'ObjectCreated:Put', ...origin } });
    const [e] = (await queued());
    const later = Date.now() + 60_000;
    await meta.notifications.failed(e!.id, later, 'HTTP 500');
    expect((await queued())).toEqual([]);
    const [again] = await meta.notifications.due('T', later, 10, new Set());
    expect(again).toMatchObject({ id: e!.id, attempts: 1 });
    expect(await meta.notifications.due('T', later, 10, new Set([e!.id]))).toEqual([]);
    expect([...await meta.notifications.pendingByTarget()]).toEqual([['T', 1]]);
  });
});

describe('rules, events and back-off', () => {
  test('ruleMatches: event families, exact names, prefix and suffix', async () => {
    expect(ruleMatches(rule(), 'ObjectCreated:Copy', 'x')).toBe(true);
    expect(ruleMatches(rule({ events: ['s3:ObjectCreated:Put'] }), 'ObjectCreated:Copy', 'x')).toBe(false);
    expect(ruleMatches(rule({ events: ['s3:ObjectRemoved:DeleteMarkerCreated'] }), 'ObjectRemoved:DeleteMarkerCreated', 'x')).toBe(true);
    expect(ruleMatches(rule({ prefix: 'img/', suffix: '.jpg' }), 'ObjectCreated:Put', 'img/a.jpg')).toBe(true);
    expect(ruleMatches(rule({ prefix: 'img/', suffix: '.jpg' }), 'ObjectCreated:Put', 'img/a.png')).toBe(false);
    expect(ruleMatches(rule({ prefix: 'img/', suffix: '.jpg' }), 'ObjectCreated:Put', 'doc/a.jpg')).toBe(false);
  });

  test('keys are form-encoded with slashes kept, as in S3 events', async () => {
    expect(eventKey('dir/red flower+1.jpg')).toBe('dir/red+flower%2B1.jpg');
    expect(eventKey('é&?')).toBe('%C3%A9%26%3F');
    expect(sequencerOf(255)).toBe('00000000000000FF');
  });

  test('the message has one record in S3\'s 2.1 shape; removals carry no size or ETag', async () => {
    const m = eventMessage({
      id: 1, target: 'T', configId: 'c', bucket: 'b', bucketOwner: 'o', key: 'k', name: 'ObjectRemoved:Delete', eventTime: 0, attempts: 0, ...origin,
    }, 'eu-west-1');
    expect(m).toEqual({
      Records: [{
        eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'eu-west-1', eventTime: '1970-01-01T00:00:00.000Z', eventName: 'ObjectRemoved:Delete',
        userIdentity: { principalId: 'alice' }, requestParameters: { sourceIPAddress: '192.0.2.1' }, responseElements: { 'x-amz-request-id': 'REQ' },
        s3: {
          s3SchemaVersion: '1.0', configurationId: 'c', bucket: { name: 'b', ownerIdentity: { principalId: 'o' }, arn: 'arn:aws:s3:::b' },
          object: { key: 'k', sequencer: '0000000000000001' },
        },
      }],
    });
  });

  test('back-off doubles from the first delay up to the cap, drawn from the upper half', async () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(a, 1000, 300_000, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(30, 1000, 300_000, () => 1)).toBe(300_000);
    expect(backoffMs(1000, 1000, 300_000, () => 0)).toBe(150_000);
    expect(backoffMs(1, 1000, 300_000, () => 0)).toBe(500);
  });
});

describe('webhook targets from the environment', () => {
  test('URL and token per ID', async () => {
    expect(parseWebhooks({
      SHARDGATE_NOTIFY_WEBHOOK_b: 'https://h/b', SHARDGATE_NOTIFY_WEBHOOK_a_1: 'http://h:8080/a', SHARDGATE_NOTIFY_WEBHOOK_a_1_TOKEN: 't', OTHER: 'x',
    })).toEqual([{ id: 'a_1', url: 'http://h:8080/a', token: 't' }, { id: 'b', url: 'https://h/b' }]);
    expect(notifyConfig({})).toEqual({ webhooks: [], intervalMs: 1000, retryMs: 1000, retryMaxMs: 300_000, timeoutMs: 10_000, concurrency: 4, maxPending: 100_000 });
  });

  test.each([
    [{ SHARDGATE_NOTIFY_WEBHOOK_X: 'ftp://h/x' }, 'SHARDGATE_NOTIFY_WEBHOOK_X: "ftp://h/x" is not an http:// or https:// URL'],
    [{ SHARDGATE_NOTIFY_WEBHOOK_X: 'not a url' }, 'SHARDGATE_NOTIFY_WEBHOOK_X: "not a url" is not a URL (expected e.g. https://host/path)'],
    [{ 'SHARDGATE_NOTIFY_WEBHOOK_a.b': 'https://h' }, `SHARDGATE_NOTIFY_WEBHOOK_a.b: the target ID "a.b" may hold only letters, digits, '-' and '_'`],
    [{ SHARDGATE_NOTIFY_WEBHOOK_Y_TOKEN: 't' }, 'SHARDGATE_NOTIFY_WEBHOOK_Y_TOKEN is set but SHARDGATE_NOTIFY_WEBHOOK_Y (the target\'s URL) is not'],
    [{ SHARDGATE_NOTIFY_RETRY_MS: '0' }, 'SHARDGATE_NOTIFY_RETRY_MS must be an integer from 1 to 3600000, got "0"'],
  ])('refused in one line: %j', (env, message) => {
    expect(() => notifyConfig(env)).toThrow(ConfigError);
    expect(() => notifyConfig(env)).toThrow(message);
  });
});

describe('NotificationConfiguration documents', () => {
  const webhooks = [{ id: 'T', url: 'https://h' }];
  const doc = (inner: string): string => `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</NotificationConfiguration>`;
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      if (err instanceof S3Error) return `${err.code}: ${err.message}`;
      throw err;
    }
    return 'ok';
  };

  test('parsed and written back (golden)', async () => {
    const rules = parseNotificationConfiguration(doc(`<QueueConfiguration><Id>i</Id><Queue>arn:shardgate:sqs::T:webhook</Queue>
      <Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:Delete</Event>
      <Filter><S3Key><FilterRule><Name>Prefix</Name><Value>a/</Value></FilterRule><FilterRule><Name>suffix</Name><Value>.txt</Value></FilterRule></S3Key></Filter>
      </QueueConfiguration>`), webhooks);
    expect(rules).toEqual([{ id: 'i', queue: 'arn:shardgate:sqs::T:webhook', target: 'T', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:Delete'], prefix: 'a/', suffix: '.txt' }]);
    expect(buildNotificationConfiguration(rules)).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
      + '<QueueConfiguration><Id>i</Id><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:Delete</Event>'
      + '<Filter><S3Key><FilterRule><Name>prefix</Name><Value>a/</Value></FilterRule><FilterRule><Name>suffix</Name><Value>.txt</Value></FilterRule></S3Key></Filter>'
      + '</QueueConfiguration></NotificationConfiguration>');
    expect(parseNotificationConfiguration(doc(''), webhooks)).toEqual([]);
    expect(buildNotificationConfiguration([])).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>');
    // Without an Id, one is made up, as S3 does.
    expect(parseNotificationConfiguration(doc('<QueueConfiguration><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectCreated:Put</Event></QueueConfiguration>'), webhooks)[0]!.id)
      .toMatch(/^[A-Za-z0-9]{32}$/);
  });

  test.each([
    ['<Bad', 'MalformedXML'],
    [doc('<QueueConfiguration><Event>s3:ObjectCreated:*</Event></QueueConfiguration>'), 'MalformedXML'],
    [doc('<QueueConfiguration><Queue>arn:shardgate:sqs::T:webhook</Queue></QueueConfiguration>'), 'MalformedXML'],
    [doc('<Unknown/>'), 'MalformedXML'],
    [doc('<QueueConfiguration><Queue>arn:shardgate:sqs::U:webhook</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration>'),
      'InvalidArgument: Unable to validate the following destination configurations'],
    [doc('<TopicConfiguration><Topic>arn:aws:sns:us-east-1:1:t</Topic><Event>s3:ObjectCreated:*</Event></TopicConfiguration>'),
      'InvalidArgument: TopicConfiguration is not supported: this gateway delivers notifications only to webhook queues (QueueConfiguration with an arn:shardgate:sqs::<ID>:webhook Queue)'],
    [doc('<CloudFunctionConfiguration><CloudFunction>f</CloudFunction><Event>s3:ObjectCreated:*</Event></CloudFunctionConfiguration>'), 'InvalidArgument: CloudFunctionConfiguration is not supported'],
    [doc('<QueueConfiguration><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectTagging:Put</Event></QueueConfiguration>'), 'InvalidArgument: The event \'s3:ObjectTagging:Put\' is not supported'],
    [doc('<QueueConfiguration><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>infix</Name><Value>x</Value></FilterRule></S3Key></Filter></QueueConfiguration>'),
      'InvalidArgument: filter rule name must be either prefix or suffix'],
    [doc(`<QueueConfiguration><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key>${'<FilterRule><Name>prefix</Name><Value>x</Value></FilterRule>'.repeat(2)}</S3Key></Filter></QueueConfiguration>`),
      'InvalidArgument: Cannot specify more than one prefix rule in a filter.'],
    [doc(`<QueueConfiguration><Id>a</Id><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>
      <QueueConfiguration><Id>b</Id><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectRemoved:Delete</Event><Filter><S3Key><FilterRule><Name>suffix</Name><Value>.x</Value></FilterRule></S3Key></Filter></QueueConfiguration>`),
      'InvalidArgument: Configurations overlap. Configurations on the same bucket cannot share a common event type.'],
    [doc(`<QueueConfiguration><Id>a</Id><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration>
      <QueueConfiguration><Id>a</Id><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>`),
      'InvalidArgument: Configuration Ids must be unique within a bucket'],
  ])('refused: %s', (body, expected) => {
    expect(code(() => parseNotificationConfiguration(body, webhooks))).toContain(expected);
  });

  test('configurations that cannot fire for the same event may share a target', async () => {
    const rules = parseNotificationConfiguration(doc(`<QueueConfiguration><Id>a</Id><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectCreated:*</Event>
      <Filter><S3Key><FilterRule><Name>prefix</Name><Value>a/</Value></FilterRule></S3Key></Filter></QueueConfiguration>
      <QueueConfiguration><Id>b</Id><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectCreated:*</Event>
      <Filter><S3Key><FilterRule><Name>prefix</Name><Value>b/</Value></FilterRule></S3Key></Filter></QueueConfiguration>
      <QueueConfiguration><Id>c</Id><Queue>arn:shardgate:sqs::T:webhook</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>`), webhooks);
    expect(rules.map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });
});
