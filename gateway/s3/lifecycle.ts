import type Koa from 'koa';
import type { Tag } from '../meta/types.js';
import { bucketOf, type ReqCtx } from '../request.js';
import { readCheckedBody } from './body.js';
import { sendXml } from './bucket.js';
import { S3Error } from './errors.js';
import { formatIsoDate } from './headers.js';
import { buildXml, childOf, childrenOf, malformedXml, parseXml, textOf, type XmlNode, type XmlObject } from './xml.js';

/**
 * Bucket lifecycle configuration: Put/Get/DeleteBucketLifecycleConfiguration. The rules are
 * applied by the lifecycle worker (lifecycle-worker.ts).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lifecycle-mgmt.html
 *
 * Supported actions: Expiration (Days, Date, ExpiredObjectDeleteMarker),
 * NoncurrentVersionExpiration (NoncurrentDays, NewerNoncurrentVersions) and
 * AbortIncompleteMultipartUpload. Transitions are refused: there is one storage class.
 */

export interface LifecycleFilter {
  prefix: string;
  tags: Tag[];
  sizeGreaterThan?: number;
  sizeLessThan?: number;
}

export interface LifecycleRule {
  id: string;
  enabled: boolean;
  filter: LifecycleFilter;
  /**
   * The rule was sent with the top-level `<Prefix>` of the original schema (no `<Filter>`),
   * and is returned in that form, as AWS S3 does. Absent in rules stored before this flag:
   * those are returned with `<Filter>`.
   */
  legacyPrefix?: true;
  expiration?: { days?: number; date?: number; expiredObjectDeleteMarker?: boolean };
  noncurrentExpiration?: { days: number; newerNoncurrentVersions?: number };
  abortIncompleteUploadDays?: number;
}

const MAX_RULES = 1000;
const MAX_LIFECYCLE_BODY = 1024 * 1024;

const invalid = (message: string): S3Error => new S3Error('InvalidArgument', { message });
const invalidRequest = (message: string): S3Error => new S3Error('InvalidRequest', { message });

function positiveInt(el: XmlObject, name: string, allowZero = false): number | undefined {
  const v = textOf(el, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw malformedXml(`${name} must be an integer`);
  const n = Number(v);
  if (n < (allowZero ? 0 : 1)) throw invalid(`'${name}' for ${name === 'Days' ? 'Expiration' : 'the action'} must be a positive integer`);
  return n;
}

function element(el: XmlObject, name: string): XmlObject | undefined {
  const c = childOf(el, name);
  if (c === undefined) return undefined;
  return typeof c === 'string' ? {} : c;
}

function tagOf(el: XmlObject): Tag {
  const key = textOf(el, 'Key');
  const value = textOf(el, 'Value');
  if (key === undefined || value === undefined) throw malformedXml('Tag needs Key and Value');
  return { key, value };
}

function parseFilter(rule: XmlObject): LifecycleFilter {
  const legacyPrefix = textOf(rule, 'Prefix');
  const filter = element(rule, 'Filter');
  if (legacyPrefix !== undefined && filter !== undefined) throw malformedXml('Prefix and Filter together');
  if (!filter) return { prefix: legacyPrefix ?? '', tags: [] };
  const and = element(filter, 'And');
  const src = and ?? filter;
  const out: LifecycleFilter = { prefix: textOf(src, 'Prefix') ?? '', tags: childrenOf(src, 'Tag').map(tagOf) };
  const gt = positiveInt(src, 'ObjectSizeGreaterThan', true);
  const lt = positiveInt(src, 'ObjectSizeLessThan');
  if (gt !== undefined) out.sizeGreaterThan = gt;
  if (lt !== undefined) out.sizeLessThan = lt;
  // Outside And, a Filter holds exactly one condition.
  const conditions = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan'].filter((n) => filter[n] !== undefined).length;
  if (!and && (conditions > 1 || out.tags.length > 1)) throw malformedXml('Filter with several conditions outside And');
  return out;
}

function parseRule(el: XmlObject, i: number): LifecycleRule {
  const id = textOf(el, 'ID') ?? `rule-${i + 1}`;
  if (id.length > 255) throw invalid('ID length should not exceed allowed limit of 255');
  const status = textOf(el, 'Status');
  if (status !== 'Enabled' && status !== 'Disabled') throw malformedXml('Status must be Enabled or Disabled');
  if (el.Transition !== undefined || el.NoncurrentVersionTransition !== undefined) {
    throw new S3Error('NotImplemented', { message: 'Lifecycle transitions are not supported: this gateway has one storage class' });
  }
  const rule: LifecycleRule = { id, enabled: status === 'Enabled', filter: parseFilter(el), ...(el.Filter === undefined && el.Prefix !== undefined && { legacyPrefix: true as const }) };
  const exp = element(el, 'Expiration');
  if (exp) {
    const days = positiveInt(exp, 'Days');
    const dateText = textOf(exp, 'Date');
    const marker = textOf(exp, 'ExpiredObjectDeleteMarker');
    if (marker !== undefined && marker !== 'true' && marker !== 'false') throw malformedXml('ExpiredObjectDeleteMarker must be true or false');
    const given = [days !== undefined, dateText !== undefined, marker !== undefined].filter(Boolean).length;
    if (given !== 1) throw malformedXml('Expiration needs exactly one of Days, Date and ExpiredObjectDeleteMarker');
    let date: number | undefined;
    if (dateText !== undefined) {
      date = Date.parse(dateText);
      // AWS S3 takes only midnight UTC.
      if (Number.isNaN(date) || date % 86_400_000 !== 0) throw invalid("'Date' must be at midnight GMT");
    }
    if (marker === 'true' && rule.filter.tags.length) throw invalid('ExpiredObjectDeleteMarker cannot be specified with tags.');
    rule.expiration = { ...(days !== undefined && { days }), ...(date !== undefined && { date }), ...(marker === 'true' && { expiredObjectDeleteMarker: true }) };
  }
  const nc = element(el, 'NoncurrentVersionExpiration');
  if (nc) {
    const days = positiveInt(nc, 'NoncurrentDays');
    if (days === undefined) throw malformedXml('NoncurrentDays is required');
    const newer = positiveInt(nc, 'NewerNoncurrentVersions');
    rule.noncurrentExpiration = { days, ...(newer !== undefined && { newerNoncurrentVersions: newer }) };
  }
  const abort = element(el, 'AbortIncompleteMultipartUpload');
  if (abort) {
    const days = positiveInt(abort, 'DaysAfterInitiation');
    if (days === undefined) throw malformedXml('DaysAfterInitiation is required');
    if (rule.filter.tags.length) throw invalid('AbortIncompleteMultipartUpload cannot be specified with Tags.');
    rule.abortIncompleteUploadDays = days;
  }
  if (!rule.expiration && !rule.noncurrentExpiration && rule.abortIncompleteUploadDays === undefined) {
    throw invalidRequest('At least one action needs to be specified in a rule');
  }
  return rule;
}

/** LifecycleConfiguration: 1 to 1000 rules with distinct IDs. */
export function parseLifecycleConfiguration(body: string | Buffer): LifecycleRule[] {
  const root = parseXml(body, 'LifecycleConfiguration');
  const rules = childrenOf(root, 'Rule').map(parseRule);
  if (rules.length === 0 || rules.length > MAX_RULES) throw malformedXml(`${rules.length} rules`);
  if (new Set(rules.map((r) => r.id)).size !== rules.length) throw invalid('Rule ID must be unique. Found same ID for more than one rule');
  return rules;
}

function filterNode(f: LifecycleFilter): XmlNode {
  const tags = f.tags.map((t) => ({ Key: t.key, Value: t.value }));
  const conditions = (f.prefix ? 1 : 0) + tags.length + (f.sizeGreaterThan !== undefined ? 1 : 0) + (f.sizeLessThan !== undefined ? 1 : 0);
  const body = { Prefix: f.prefix || undefined, Tag: tags, ObjectSizeGreaterThan: f.sizeGreaterThan, ObjectSizeLessThan: f.sizeLessThan };
  if (conditions > 1) return { And: body };
  return conditions === 0 ? { Prefix: '' } : { ...body, Tag: tags[0] };
}

export function buildLifecycleConfiguration(rules: LifecycleRule[]): string {
  return buildXml('LifecycleConfiguration', {
    Rule: rules.map((r) => ({
      ID: r.id,
      ...(r.legacyPrefix ? { Prefix: r.filter.prefix } : { Filter: filterNode(r.filter) }),
      Status: r.enabled ? 'Enabled' : 'Disabled',
      Expiration: r.expiration && {
        Days: r.expiration.days,
        Date: r.expiration.date !== undefined ? formatIsoDate(r.expiration.date) : undefined,
        ExpiredObjectDeleteMarker: r.expiration.expiredObjectDeleteMarker,
      },
      NoncurrentVersionExpiration: r.noncurrentExpiration && {
        NoncurrentDays: r.noncurrentExpiration.days,
        NewerNoncurrentVersions: r.noncurrentExpiration.newerNoncurrentVersions,
      },
      AbortIncompleteMultipartUpload: r.abortIncompleteUploadDays !== undefined ? { DaysAfterInitiation: r.abortIncompleteUploadDays } : undefined,
    })),
  });
}

/** PutBucketLifecycleConfiguration — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html */
export async function handlePutBucketLifecycleConfiguration(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const rules = parseLifecycleConfiguration(await readCheckedBody(koa, rc, { limit: MAX_LIFECYCLE_BODY, requireDigest: true }));
  await rc.pipeline.meta.setBucketLifecycle(bucket.name, rules);
  koa.status = 200;
}

/** GetBucketLifecycleConfiguration — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLifecycleConfiguration.html */
export async function handleGetBucketLifecycleConfiguration(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const rules = await rc.pipeline.meta.bucketLifecycle<LifecycleRule[]>(bucket.name);
  if (!rules) throw new S3Error('NoSuchLifecycleConfiguration', { extra: { BucketName: bucket.name } });
  sendXml(koa, buildLifecycleConfiguration(rules));
}

/** DeleteBucketLifecycle — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketLifecycle.html */
export async function handleDeleteBucketLifecycle(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  await rc.pipeline.meta.setBucketLifecycle(bucketOf(rc).name, null);
  koa.status = 204;
}
