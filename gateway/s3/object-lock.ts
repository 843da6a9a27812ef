import type Koa from 'koa';
import { BYPASS_GOVERNANCE } from '../access/actions.js';
import { authorizeActions } from '../access/query.js';
import { MetaObjectLockedError } from '../meta/errors.js';
import { lockReason } from '../meta/rules.js';
import { type MetaStore } from '../meta/store.js';
import type { BucketLockConfig, LockMode, ObjectLockState, VersionRow } from '../meta/types.js';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';
import { readCheckedBody } from './body.js';
import { sendXml } from './bucket.js';
import { S3Error } from './errors.js';
import { formatIsoDate, headerOf, type HeaderBag } from './headers.js';
import { checkVersion, resolveVersion, versionIdOf } from './versioning.js';
import { buildXml, childOf, malformedXml, parseXml, textOf, type XmlObject } from './xml.js';

/**
 * Object Lock: a bucket's lock configuration (default retention), each version's retention
 * (GOVERNANCE, which a caller holding s3:BypassGovernanceRetention may bypass with
 * `x-amz-bypass-governance-retention: true`, or COMPLIANCE, which nobody, root included, can
 * shorten or remove before it expires) and legal hold. Setting either needs its own permission
 * (s3:PutObjectRetention, s3:PutObjectLegalHold), on a new object's headers too. Deletes are
 * refused in the metadata store (MetaObjectLockedError), so every delete path is covered; with
 * versioning always on, an overwrite never destroys a version.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
 */

const DAY_MS = 86_400_000;
const MAX_LOCK_BODY = 64 * 1024;

const missingLockConfig = (): S3Error => new S3Error('InvalidRequest', { message: 'Bucket is missing Object Lock Configuration' });

/** The S3 error for a delete Object Lock refused. */
export function lockedError(err: unknown): unknown {
  if (!(err instanceof MetaObjectLockedError)) return err;
  return new S3Error('AccessDenied', { message: 'Access Denied because object protected by object lock.', cause: err });
}

/** Whether the request asks to bypass GOVERNANCE retention. */
export function bypassGovernance(headers: HeaderBag): boolean {
  return headerOf(headers, 'x-amz-bypass-governance-retention')?.trim().toLowerCase() === 'true';
}

/**
 * Whether the request asks to bypass GOVERNANCE retention on `key`, once the caller is found
 * to hold s3:BypassGovernanceRetention there (AccessDenied otherwise). Asking is what needs
 * the permission, as on S3, whether or not the version turns out to be retained: the bucket
 * owner holds it unless its policy denies it, others only where the policy allows it.
 */
export async function authorizedBypass(rc: ReqCtx, headers: HeaderBag, key: string, versionId: string | undefined): Promise<boolean> {
  if (!bypassGovernance(headers)) return false;
  await authorizeActions(rc, [BYPASS_GOVERNANCE], key, versionId);
  return true;
}

/** Which lock a new object's headers set, for the permissions that takes (actions.ts objectWriteActions). */
export function lockHeadersAsked(headers: HeaderBag): { retention: boolean; legalHold: boolean } {
  return {
    retention: headerOf(headers, 'x-amz-object-lock-mode') !== undefined || headerOf(headers, 'x-amz-object-lock-retain-until-date') !== undefined,
    legalHold: headerOf(headers, 'x-amz-object-lock-legal-hold') !== undefined,
  };
}

function parseMode(v: string | undefined, malformed: () => S3Error): LockMode {
  if (v !== 'GOVERNANCE' && v !== 'COMPLIANCE') throw malformed();
  return v;
}

/** An ISO 8601 retain-until date; it must lie in the future. */
function parseRetainUntil(v: string, now: number, malformed: () => S3Error): number {
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(t)) throw malformed();
  if (t <= now) throw new S3Error('InvalidArgument', { message: 'The retain until date must be in the future!', extra: { ArgumentName: 'RetainUntilDate', ArgumentValue: v } });
  return t;
}

/** Content-MD5 or an additional checksum (header or trailer), which AWS S3 requires on lock requests. */
function hasIntegrityHeader(headers: HeaderBag): boolean {
  return Object.keys(headers).some((h) => h === 'content-md5' || h.startsWith('x-amz-checksum-') || h === 'x-amz-trailer');
}

/** A body written under Object Lock parameters (PutObject, UploadPart of a locked upload) must carry a digest. */
export function requireLockDigest(headers: HeaderBag, operation: 'Put Object' | 'Put Part'): void {
  if (!hasIntegrityHeader(headers)) {
    throw new S3Error('InvalidRequest', { message: `Content-MD5 OR x-amz-checksum- HTTP header is required for ${operation} requests with Object Lock parameters` });
  }
}

/**
 * The lock a new version gets (PutObject, CopyObject, CreateMultipartUpload): the
 * x-amz-object-lock-* headers, else the bucket's default retention. Undefined when neither.
 * `bodyDigest`: the request carries the body (PutObject), which then needs a digest.
 */
export async function lockForNewObject(meta: MetaStore, bucket: string, headers: HeaderBag, bodyDigest: boolean, now = Date.now()): Promise<ObjectLockState | undefined> {
  return lockOf(await meta.bucketObjectLock(bucket), headers, bodyDigest, now);
}

/** lockForNewObject, given the bucket's Object Lock configuration. */
function lockOf(config: BucketLockConfig | null, headers: HeaderBag, bodyDigest: boolean, now: number): ObjectLockState | undefined {
  const modeH = headerOf(headers, 'x-amz-object-lock-mode');
  const untilH = headerOf(headers, 'x-amz-object-lock-retain-until-date');
  const holdH = headerOf(headers, 'x-amz-object-lock-legal-hold');
  if (modeH === undefined && untilH === undefined && holdH === undefined) {
    const rule = config?.rule;
    if (!rule) return undefined;
    const span = rule.days !== undefined ? rule.days * DAY_MS : (rule.years ?? 0) * 365 * DAY_MS;
    return { mode: rule.mode, retainUntil: now + span, legalHold: null };
  }
  if ((modeH === undefined) !== (untilH === undefined)) {
    throw new S3Error('InvalidArgument', {
      message: 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
      extra: { ArgumentName: 'x-amz-object-lock-mode', ArgumentValue: modeH ?? '' },
    });
  }
  const bad = (name: string, value: string) => (): S3Error => new S3Error('InvalidArgument', { message: `Invalid ${name} header`, extra: { ArgumentName: name, ArgumentValue: value } });
  const mode = modeH === undefined ? null : parseMode(modeH, bad('x-amz-object-lock-mode', modeH));
  const retainUntil = untilH === undefined ? null : parseRetainUntil(untilH, now, bad('x-amz-object-lock-retain-until-date', untilH));
  let legalHold: boolean | null = null;
  if (holdH !== undefined) {
    if (holdH !== 'ON' && holdH !== 'OFF') throw bad('x-amz-object-lock-legal-hold', holdH)();
    legalHold = holdH === 'ON';
  }
  if (!config) throw missingLockConfig();
  if (bodyDigest) requireLockDigest(headers, 'Put Object');
  // Explicit headers replace the default retention; a legal hold alone keeps it.
  if (mode === null && config.rule) {
    const d = lockOf(config, {}, false, now)!;
    return { ...d, legalHold };
  }
  return { mode, retainUntil, legalHold };
}

/** x-amz-object-lock-* response headers of a version (GetObject, HeadObject). */
export function lockHeaders(lock: ObjectLockState): Record<string, string> {
  const out: Record<string, string> = {};
  if (lock.mode && lock.retainUntil !== null) {
    out['x-amz-object-lock-mode'] = lock.mode;
    out['x-amz-object-lock-retain-until-date'] = formatIsoDate(lock.retainUntil);
  }
  if (lock.legalHold !== null) out['x-amz-object-lock-legal-hold'] = lock.legalHold ? 'ON' : 'OFF';
  return out;
}

// ---------------------------------------------------------------------------------------
// Put/GetObjectLockConfiguration

export function parseObjectLockConfiguration(body: string | Buffer): BucketLockConfig {
  const root = parseXml(body, 'ObjectLockConfiguration');
  if (textOf(root, 'ObjectLockEnabled') !== 'Enabled') throw malformedXml('ObjectLockEnabled must be Enabled');
  const rule = childOf(root, 'Rule');
  if (rule === undefined) return {};
  const retention = typeof rule === 'string' ? undefined : childOf(rule, 'DefaultRetention');
  if (retention === undefined || typeof retention === 'string') throw malformedXml('Rule without DefaultRetention');
  const mode = parseMode(textOf(retention, 'Mode'), () => malformedXml('bad Mode'));
  const days = periodOf(retention, 'Days');
  const years = periodOf(retention, 'Years');
  if ((days === undefined) === (years === undefined)) throw malformedXml('exactly one of Days and Years');
  return { rule: { mode, ...(days !== undefined && { days }), ...(years !== undefined && { years }) } };
}

function periodOf(el: XmlObject, name: 'Days' | 'Years'): number | undefined {
  const v = textOf(el, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim())) throw malformedXml(`${name} must be an integer`);
  if (n <= 0) throw new S3Error('InvalidRetentionPeriod', { message: 'Default retention period must be a positive integer value.' });
  return n;
}

export function buildObjectLockConfiguration(config: BucketLockConfig): string {
  const r = config.rule;
  return buildXml('ObjectLockConfiguration', {
    ObjectLockEnabled: 'Enabled',
    Rule: r && { DefaultRetention: { Mode: r.mode, Days: r.days, Years: r.years } },
  });
}

/** PutObjectLockConfiguration — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html */
export async function handlePutObjectLockConfiguration(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const config = parseObjectLockConfiguration(await readCheckedBody(koa, rc, { limit: MAX_LOCK_BODY, requireDigest: true }));
  const meta = rc.pipeline.meta;
  // As AWS S3 now allows, an existing bucket may turn Object Lock on once versioning is Enabled.
  if ((await meta.bucketObjectLock(bucket.name)) === null && (await meta.bucketVersioning(bucket.name)) !== 'Enabled') {
    throw new S3Error('InvalidBucketState', { message: "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration" });
  }
  await meta.setBucketObjectLock(bucket.name, config);
  koa.status = 200;
}

/** GetObjectLockConfiguration — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLockConfiguration.html */
export async function handleGetObjectLockConfiguration(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const config = await rc.pipeline.meta.bucketObjectLock(bucket.name);
  if (!config) throw new S3Error('ObjectLockConfigurationNotFoundError', { extra: { BucketName: bucket.name } });
  sendXml(koa, buildObjectLockConfiguration(config));
}

// ---------------------------------------------------------------------------------------
// Put/GetObjectRetention, Put/GetObjectLegalHold

/** The version a retention or legal-hold request is about, in a lock-enabled bucket. */
async function lockedVersion(rc: ReqCtx): Promise<VersionRow> {
  const bucket = bucketOf(rc).name;
  if ((await rc.pipeline.meta.bucketObjectLock(bucket)) === null) throw missingLockConfig();
  return resolveVersion(rc.pipeline.meta, bucket, keyOf(rc), versionIdOf(rc.endpoint));
}

/**
 * Change the lock of the request's version in one unit of work: `change` gets the version as
 * it is then, after lockedVersion's checks of it (the bucket's Object Lock configuration,
 * which is never removed, was checked before). A lock-enabled bucket is versioned.
 */
function changeLock(rc: ReqCtx, change: (row: VersionRow) => ObjectLockState): Promise<void> {
  const key = keyOf(rc);
  const versionId = versionIdOf(rc.endpoint);
  return rc.pipeline.meta.changeObjectLock(bucketOf(rc).name, key, versionId, (row) => change(checkVersion(row, key, versionId, true)));
}

/** Retention: Mode and RetainUntilDate, both or (to remove it) neither. */
export function parseRetention(body: string | Buffer, now: number): { mode: LockMode | null; retainUntil: number | null } {
  const root = parseXml(body, 'Retention');
  const m = textOf(root, 'Mode');
  const u = textOf(root, 'RetainUntilDate');
  if ((m === undefined) !== (u === undefined)) throw malformedXml('Mode and RetainUntilDate go together');
  if (m === undefined || u === undefined) return { mode: null, retainUntil: null };
  return { mode: parseMode(m, () => malformedXml('bad Mode')), retainUntil: parseRetainUntil(u, now, () => malformedXml('bad RetainUntilDate')) };
}

/**
 * Whether replacing `old` retention by `next` needs the protection lifted: removing it,
 * shortening it, or changing its mode. Only lengthening it keeps the mode and needs nothing.
 * GOVERNANCE to COMPLIANCE is a change of mode too: AWS S3 asks for the governance bypass.
 */
function needsUnlock(old: ObjectLockState, next: { mode: LockMode | null; retainUntil: number | null }): boolean {
  if (next.mode === null || next.retainUntil === null) return true;
  if (old.retainUntil !== null && next.retainUntil < old.retainUntil) return true;
  return old.mode !== null && next.mode !== old.mode;
}

/** PutObjectRetention — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html */
export async function handlePutObjectRetention(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  await lockedVersion(rc); // NoSuchKey and friends before the body is read
  const bypass = await authorizedBypass(rc, koa.req.headersDistinct, keyOf(rc), versionIdOf(rc.endpoint));
  const now = Date.now();
  const next = parseRetention(await readCheckedBody(koa, rc, { limit: MAX_LOCK_BODY, requireDigest: true }), now);
  // Checked against the version as it is when written, in one transaction: a change that
  // raced in while the body arrived (a longer COMPLIANCE date, a legal hold) is never undone.
  await changeLock(rc, (row) => {
    // Only an unexpired retention constrains the change; a legal hold does not.
    const reason = lockReason({ ...row.lock, legalHold: null }, bypass, now);
    if (reason && needsUnlock(row.lock, next)) throw lockedError(new MetaObjectLockedError(reason, `retention of ${row.key} may not be changed without lifting it`));
    return { ...row.lock, ...next };
  });
  koa.status = 200;
}

/** GetObjectRetention — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectRetention.html */
export async function handleGetObjectRetention(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const { lock } = await lockedVersion(rc);
  if (!lock.mode || lock.retainUntil === null) throw new S3Error('NoSuchObjectLockConfiguration');
  sendXml(koa, buildXml('Retention', { Mode: lock.mode, RetainUntilDate: formatIsoDate(lock.retainUntil) }));
}

/** PutObjectLegalHold — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html */
export async function handlePutObjectLegalHold(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  await lockedVersion(rc);
  const root = parseXml(await readCheckedBody(koa, rc, { limit: MAX_LOCK_BODY, requireDigest: true }), 'LegalHold');
  const status = textOf(root, 'Status');
  if (status !== 'ON' && status !== 'OFF') throw malformedXml('Status must be ON or OFF');
  // Re-read after the body: a retention set meanwhile must survive this write.
  await changeLock(rc, (row) => ({ ...row.lock, legalHold: status === 'ON' }));
  koa.status = 200;
}

/** GetObjectLegalHold — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLegalHold.html */
export async function handleGetObjectLegalHold(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const { lock } = await lockedVersion(rc);
  if (lock.legalHold === null) throw new S3Error('NoSuchObjectLockConfiguration');
  sendXml(koa, buildXml('LegalHold', { Status: lock.legalHold ? 'ON' : 'OFF' }));
}
