import type Koa from 'koa';
import { randomAlnum } from '../ids.js';
import { webhookArn, type WebhookTarget } from '../config.js';
import { NOTIFICATION_EVENTS, type EventOrigin, type NotificationRule } from '../meta/notifications.js';
import { ANONYMOUS_OWNER } from '../access/users.js';
import { clientAddressOf } from './sse-c.js';
import { bucketOf, type ReqCtx } from '../request.js';
import { readCheckedBody } from './body.js';
import { sendXml } from './bucket.js';
import { S3Error } from './errors.js';
import { buildXml, childOf, malformedXml, parseXml, textOf, type XmlElement, type XmlObject } from './xml.js';

/**
 * Bucket event notifications: Put/GetBucketNotificationConfiguration. Destinations are the
 * webhook targets the operator configured (SHARDGATE_NOTIFY_WEBHOOK_<ID>), named in a
 * QueueConfiguration by their ARN, arn:shardgate:sqs::<ID>:webhook, as MinIO names its own.
 * Events are queued with the commit that causes them and delivered by gateway/notify/.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventNotifications.html
 *
 * Here we are stricter than AWS in one way: SNS topics, Lambda functions and EventBridge do
 * not exist here, so their configurations are refused rather than stored and never served.
 */

const MAX_NOTIFICATION_BODY = 1024 * 1024;
const MAX_RULES = 100;

const invalid = (message: string, extra?: Record<string, string>): S3Error => new S3Error('InvalidArgument', { message, ...(extra && { extra }) });

/** Every child `name` of `el` as text (Event is repeated). */
function textsOf(el: XmlObject, name: string): string[] {
  const v = el[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((item: XmlElement) => {
    if (typeof item !== 'string') throw malformedXml(`${name} must hold text`);
    return item.trim();
  });
}

function elementsOf(el: XmlObject, name: string): XmlObject[] {
  const v = el[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((item) => (typeof item === 'string' ? (item.trim() === '' ? {} : badElement(name)) : item));
}

function badElement(name: string): never {
  throw malformedXml(`${name} must hold elements`);
}

function parseFilter(rule: XmlObject): { prefix: string; suffix: string } {
  const out = { prefix: '', suffix: '' };
  const filter = childOf(rule, 'Filter');
  if (filter === undefined || typeof filter === 'string') return out;
  const key = childOf(filter, 'S3Key');
  if (key === undefined || typeof key === 'string') return out;
  const seen = new Set<string>();
  for (const fr of elementsOf(key, 'FilterRule')) {
    const name = textOf(fr, 'Name')?.trim().toLowerCase();
    const value = textOf(fr, 'Value') ?? '';
    if (name !== 'prefix' && name !== 'suffix') throw invalid('filter rule name must be either prefix or suffix');
    if (seen.has(name)) throw invalid(`Cannot specify more than one ${name} rule in a filter.`);
    if (value.length > 1024) throw invalid(`The ${name} filter value cannot be longer than 1024 characters`);
    seen.add(name);
    out[name] = value;
  }
  return out;
}

function parseQueueConfiguration(el: XmlObject, targets: ReadonlyMap<string, WebhookTarget>): NotificationRule {
  const queue = textOf(el, 'Queue')?.trim();
  if (!queue) throw malformedXml('QueueConfiguration needs a Queue');
  const target = targets.get(queue);
  if (!target) {
    throw invalid('Unable to validate the following destination configurations', {
      ArgumentName1: queue, ArgumentValue1: 'No webhook target with this ARN is configured on this gateway (SHARDGATE_NOTIFY_WEBHOOK_<ID>)',
    });
  }
  const events = textsOf(el, 'Event');
  if (events.length === 0) throw malformedXml('QueueConfiguration needs at least one Event');
  for (const e of events) {
    if (!(NOTIFICATION_EVENTS as readonly string[]).includes(e)) {
      throw invalid(`The event '${e}' is not supported for notifications here: only ${NOTIFICATION_EVENTS.join(', ')}`, { ArgumentName: 'Event', ArgumentValue: e });
    }
  }
  const id = textOf(el, 'Id')?.trim() || randomAlnum(32);
  if (id.length > 255) throw invalid('The configuration Id cannot be longer than 255 characters');
  return { id, queue, target: target.id, events: [...new Set(events)], ...parseFilter(el) };
}

/** The event names `events` stands for, wildcards expanded. */
function expand(events: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const e of events) {
    if (!e.endsWith(':*')) {
      out.add(e);
      continue;
    }
    for (const n of NOTIFICATION_EVENTS) if (n.startsWith(e.slice(0, -1)) && !n.endsWith('*')) out.add(n);
  }
  return out;
}

/**
 * AWS refuses two configurations that could both fire for one event (a shared event type on
 * keys both filters admit), so an event goes to one destination at most once.
 */
function checkOverlap(rules: readonly NotificationRule[]): void {
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const a = rules[i]!;
      const b = rules[j]!;
      const shared = [...expand(a.events)].some((e) => expand(b.events).has(e));
      const prefixes = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
      const suffixes = a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix);
      if (shared && prefixes && suffixes) throw invalid('Configurations overlap. Configurations on the same bucket cannot share a common event type.');
    }
  }
}

/** NotificationConfiguration: QueueConfigurations only; none at all removes the configuration. */
export function parseNotificationConfiguration(body: string | Buffer, webhooks: readonly WebhookTarget[]): NotificationRule[] {
  const root = parseXml(body, 'NotificationConfiguration');
  for (const other of ['TopicConfiguration', 'CloudFunctionConfiguration', 'EventBridgeConfiguration']) {
    if (root[other] !== undefined) {
      throw invalid(`${other} is not supported: this gateway delivers notifications only to webhook queues (QueueConfiguration with an arn:shardgate:sqs::<ID>:webhook Queue)`);
    }
  }
  const known = new Set(['QueueConfiguration']);
  const unknown = Object.keys(root).find((n) => !known.has(n));
  if (unknown !== undefined) throw malformedXml(`unknown element ${unknown}`);
  const targets = new Map(webhooks.map((w) => [webhookArn(w.id), w]));
  const rules = elementsOf(root, 'QueueConfiguration').map((el) => parseQueueConfiguration(el, targets));
  if (rules.length > MAX_RULES) throw invalid(`At most ${MAX_RULES} configurations per bucket`);
  if (new Set(rules.map((r) => r.id)).size !== rules.length) throw invalid('Configuration Ids must be unique within a bucket');
  checkOverlap(rules);
  return rules;
}

export function buildNotificationConfiguration(rules: readonly NotificationRule[]): string {
  return buildXml('NotificationConfiguration', {
    QueueConfiguration: rules.map((r) => ({
      Id: r.id,
      Queue: r.queue,
      Event: r.events,
      Filter: r.prefix || r.suffix
        ? {
          S3Key: {
            FilterRule: [
              ...(r.prefix ? [{ Name: 'prefix', Value: r.prefix }] : []),
              ...(r.suffix ? [{ Name: 'suffix', Value: r.suffix }] : []),
            ],
          },
        }
        : undefined,
    })),
  });
}

/**
 * Who made a change, as its event reports them: the caller's user id (`caller` when the
 * request is authenticated by other means than its signature, as a POST form), the client's
 * address (through a trusted proxy, the one it forwarded) and the request id.
 */
export function eventOrigin(rc: ReqCtx, caller?: string | null): EventOrigin {
  const address = clientAddressOf(rc.facts.transport) ?? '';
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return { requestId: rc.requestId, principal: caller ?? (rc.owner || ANONYMOUS_OWNER), sourceIp: v4 ? v4[1]! : address };
}

/** PutBucketNotificationConfiguration — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html */
export async function handlePutBucketNotificationConfiguration(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const rules = parseNotificationConfiguration(await readCheckedBody(koa, rc, { limit: MAX_NOTIFICATION_BODY, requireDigest: false }), rc.config.notify.webhooks);
  // As S3 does, each destination is sent a test message (s3:TestEvent) once the configuration is stored.
  if (!await rc.pipeline.meta.notifications.setRules(bucket.name, rules, eventOrigin(rc))) throw new S3Error('NoSuchBucket', { extra: { BucketName: bucket.name } });
  koa.status = 200;
}

/**
 * GetBucketNotificationConfiguration — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketNotificationConfiguration.html
 * A bucket without one answers an empty NotificationConfiguration, as AWS does.
 */
export async function handleGetBucketNotificationConfiguration(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  sendXml(koa, buildNotificationConfiguration(await rc.pipeline.meta.notifications.rules(bucketOf(rc).name)));
}
