import { expect, it } from 'vitest';
import { MetaPreconditionError, MetaQuotaError } from '../../../gateway/meta/errors.js';
import type { EventOrigin, NotificationRule } from '../../../gateway/meta/notifications.js';
import { object, rejection, type MetaCaseContext } from './fixtures.js';

const origin: EventOrigin = { requestId: 'REQ', principal: 'alice', sourceIp: '192.0.2.1' };
const rule = (over: Partial<NotificationRule> = {}): NotificationRule => ({
  id: 'r', queue: 'arn:shardgate:sqs::T:webhook', target: 'T', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'], prefix: '', suffix: '', ...over,
});
const put = { name: 'ObjectCreated:Put', ...origin } as const;

/** The event outbox: events queued in the commit of the change they report, by the bucket's rules. */
export function notificationCases(ctx: MetaCaseContext): void {
  const queued = () => ctx.meta().notifications.due('T', Date.now() + 1, 100, new Set());

  it('a write and a delete queue one event each, with what S3 reports', async () => {
    const meta = ctx.meta();
    await meta.notifications.setRules('b', [rule()]);
    await meta.commitObjectWith(object('b', 'k', { size: 3 }), { event: put });
    await meta.deleteVersion('b', 'k', { event: origin });
    const [created, removed, ...rest] = await queued();
    expect(rest).toEqual([]);
    expect(created).toMatchObject({ name: 'ObjectCreated:Put', bucket: 'b', bucketOwner: 'root', key: 'k', size: 3, etag: 'e', configId: 'r', ...origin });
    expect(created!.versionId).toBeUndefined();
    expect(removed).toMatchObject({ name: 'ObjectRemoved:Delete', key: 'k' });
    expect(removed!.size).toBeUndefined();
    expect(removed!.id).toBeGreaterThan(created!.id);
  });

  it('wakes the delivery worker after a commit that queued an event, not after one that did not', async () => {
    const meta = ctx.meta();
    let wakes = 0;
    meta.notifications.onQueued(() => wakes++);
    await meta.notifications.setRules('b', [rule({ prefix: 'x/' })]);
    await meta.commitObjectWith(object('b', 'y'), { event: put });
    await new Promise((r) => setTimeout(r, 20));
    expect(wakes).toBe(0);
    await meta.commitObjectWith(object('b', 'x/1'), { event: put });
    await new Promise((r) => setTimeout(r, 20));
    expect(wakes).toBeGreaterThan(0);
  });

  it('a failed write queues nothing: the event is rolled back with it', async () => {
    const meta = ctx.meta();
    await meta.notifications.setRules('b', [rule()]);
    await meta.commitObjectWith(object('b', 'k'), { event: put });
    await meta.notifications.delivered((await queued())[0]!.id);
    expect(await rejection(meta.commitObjectWith(object('b', 'k'), { condition: { ifNoneMatch: true }, event: put }))).toBeInstanceOf(MetaPreconditionError);
    await meta.quotas.set('b', 4);
    expect(await rejection(meta.commitObjectWith(object('b', 'big', { size: 10 }), { event: put }))).toBeInstanceOf(MetaQuotaError);
    expect(await queued()).toEqual([]);
  });

  it('a bucket without rules, a write without an origin, and a delete of nothing queue nothing', async () => {
    const meta = ctx.meta();
    await meta.createBucket('quiet', 'root', 'us-east-1');
    await meta.notifications.setRules('b', [rule()]);
    await meta.commitObjectWith(object('quiet', 'k'), { event: put });
    await meta.commitObjectWith(object('b', 'k'), {});
    await meta.deleteVersion('b', 'absent', { event: origin });
    expect(await queued()).toEqual([]);
  });

  it('versioned deletes: a delete marker, then the version deleted by id', async () => {
    const meta = ctx.meta();
    await meta.setBucketVersioning('b', 'Enabled');
    await meta.notifications.setRules('b', [rule({ events: ['s3:ObjectRemoved:*'] })]);
    const v = await meta.commitObjectWith(object('b', 'k'), { event: put });
    const marker = await meta.deleteVersion('b', 'k', { event: origin });
    await meta.deleteVersionsBatch('b', [{ key: 'k', versionId: v.versionId }], { bypassGovernance: false, event: origin });
    expect((await queued()).map((e) => [e.name, e.versionId])).toEqual([
      ['ObjectRemoved:DeleteMarkerCreated', marker.versionId],
      ['ObjectRemoved:Delete', v.versionId],
    ]);
  });

  it('rules follow the bucket: changed, removed, and gone with a deleted bucket', async () => {
    const meta = ctx.meta();
    await meta.createBucket('quiet', 'root', 'us-east-1');
    await meta.notifications.setRules('b', [rule({ prefix: 'a/' })]);
    expect(await meta.notifications.rules('b')).toEqual([rule({ prefix: 'a/' })]);
    await meta.notifications.setRules('b', []);
    expect(await meta.notifications.rules('b')).toEqual([]);
    await meta.notifications.setRules('quiet', [rule()]);
    expect(await meta.deleteBucket('quiet')).toBe(true);
    await meta.createBucket('quiet', 'other', 'us-east-1');
    expect(await meta.notifications.rules('quiet')).toEqual([]);
    await meta.commitObjectWith(object('quiet', 'k'), { event: put });
    expect(await queued()).toEqual([]);
  });
}
