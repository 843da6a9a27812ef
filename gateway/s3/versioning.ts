import type Koa from 'koa';
import { prefixUpperBound } from '../meta/key-order.js';
import type { MetaStore } from '../meta/store.js';
import type { VersionBound, VersionRow } from '../meta/types.js';
import { isCommonPrefix, rollUp, type RollupSource } from './rollup.js';
import { bucketOf, ownerOf, type ReqCtx } from '../request.js';
import { readCheckedBody } from './body.js';
import { sendXml } from './bucket.js';
import { s3UrlEncode } from './documents.js';
import { S3Error } from './errors.js';
import { formatIsoDate, quoteEtag } from './headers.js';
import type { Endpoint } from './router.js';
import { buildXml, malformedXml, parseXml, textOf, type XmlNode } from './xml.js';

/**
 * Bucket versioning: PutBucketVersioning/GetBucketVersioning, version-addressed reads
 * (`resolveVersion`), the `x-amz-version-id` header, and ListObjectVersions.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html
 *
 * A bucket starts unversioned (every write is the "null" version and replaces it). Once
 * versioning is Enabled every write gets a new version id and older versions stay; once
 * Suspended, writes are "null" versions again but the versions already there are kept.
 */

/** The `versionId` of a request, when its endpoint takes one. */
export function versionIdOf(ep: Endpoint): string | undefined {
  return 'versionId' in ep ? ep.versionId : undefined;
}

/**
 * The version a read is about, as S3 answers: the current one (NoSuchKey when there is
 * none or it is a delete marker, with `x-amz-delete-marker: true`), or the one named
 * (NoSuchVersion; a delete marker named by id is 405 MethodNotAllowed).
 */
export async function resolveVersion(meta: MetaStore, bucket: string, key: string, versionId: string | undefined): Promise<VersionRow> {
  const row = versionId === undefined ? await meta.getLatestVersion(bucket, key) : await meta.getVersion(bucket, key, versionId);
  // Only the answer about a current delete marker tells whether the bucket is versioned.
  const versioned = versionId === undefined && row?.deleteMarker === true && (await meta.bucketVersioning(bucket)) !== null;
  return checkVersion(row, key, versionId, versioned);
}

/**
 * resolveVersion's answer about a row already read (the key's latest without `versionId`;
 * undefined when there is none): the row, or the error S3 gives. `versioned`: whether the
 * bucket has had versioning configured (versionHeader), for a current delete marker.
 */
export function checkVersion(row: VersionRow | undefined, key: string, versionId: string | undefined, versioned: boolean): VersionRow {
  if (versionId === undefined) {
    if (!row) throw new S3Error('NoSuchKey', { extra: { Key: key } });
    if (row.deleteMarker) {
      throw new S3Error('NoSuchKey', { extra: { Key: key }, headers: { 'x-amz-delete-marker': 'true', ...(versioned && { 'x-amz-version-id': row.versionId }) } });
    }
    return row;
  }
  if (!row) throw new S3Error('NoSuchVersion', { extra: { Key: key, VersionId: versionId } });
  if (row.deleteMarker) {
    throw new S3Error('MethodNotAllowed', {
      extra: { Method: 'GET', ResourceType: 'DeleteMarker' },
      headers: { 'x-amz-delete-marker': 'true', 'x-amz-version-id': row.versionId, allow: 'DELETE' },
    });
  }
  return row;
}

/** `x-amz-version-id`, sent once a bucket has had versioning configured, as AWS S3 does. */
export async function versionHeader(meta: MetaStore, bucket: string, versionId: string): Promise<Record<string, string>> {
  return (await meta.bucketVersioning(bucket)) === null ? {} : { 'x-amz-version-id': versionId };
}

/**
 * `x-amz-version-id` of a write's answer: the new version's id on a versioning-enabled bucket;
 * nothing for the "null" version a never-versioned or suspended bucket writes, as AWS S3 answers.
 */
export async function writtenVersionHeader(meta: MetaStore, bucket: string, versionId: string): Promise<Record<string, string>> {
  return versionId === 'null' ? {} : versionHeader(meta, bucket, versionId);
}

// ---------------------------------------------------------------------------------------
// PutBucketVersioning / GetBucketVersioning

/** VersioningConfiguration: Status Enabled | Suspended; MfaDelete only Disabled. */
export function parseVersioningConfiguration(body: string | Buffer): 'Enabled' | 'Suspended' {
  const root = parseXml(body, 'VersioningConfiguration');
  const status = textOf(root, 'Status');
  if (status !== 'Enabled' && status !== 'Suspended') throw malformedXml(`versioning status ${String(status)}`);
  const mfa = textOf(root, 'MfaDelete');
  if (mfa !== undefined && mfa !== 'Disabled') {
    if (mfa !== 'Enabled') throw malformedXml(`MfaDelete ${mfa}`);
    throw new S3Error('NotImplemented', { message: 'MFA Delete is not supported' });
  }
  return status;
}

export function buildVersioningConfiguration(status: 'Enabled' | 'Suspended' | null): string {
  return buildXml('VersioningConfiguration', status === null ? {} : { Status: status });
}

/** PutBucketVersioning — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html */
export async function handlePutBucketVersioning(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const status = parseVersioningConfiguration(await readCheckedBody(koa, rc, { limit: 64 * 1024, requireDigest: false }));
  // Object Lock needs every version kept: a lock-enabled bucket cannot be suspended.
  if (status === 'Suspended' && (await rc.pipeline.meta.bucketObjectLock(bucket.name)) !== null) {
    throw new S3Error('InvalidBucketState', { message: 'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.' });
  }
  await rc.pipeline.meta.setBucketVersioning(bucket.name, status);
  koa.status = 200;
}

/** GetBucketVersioning — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html */
export async function handleGetBucketVersioning(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  sendXml(koa, buildVersioningConfiguration(await rc.pipeline.meta.bucketVersioning(bucketOf(rc).name)));
}

// ---------------------------------------------------------------------------------------
// ListObjectVersions

type VersionEntry = { kind: 'version'; row: VersionRow } | { kind: 'prefix'; prefix: string };

/** Versions in listing order (key, newest first) under `prefix`, common prefixes rolled up. */
export async function* walkVersions(
  meta: MetaStore, bucket: string, prefix: string, delimiter: string, start: VersionBound, want = Infinity,
): AsyncGenerator<VersionEntry> {
  const source: RollupSource<VersionRow, VersionBound> = {
    page: (bound, limit, below) => meta.listVersions(bucket, bound, limit, below),
    keyOf: (row) => row.key,
    after: (row) => ({ key: row.key, beforeId: row.id }),
    from: (key) => ({ fromKey: key }),
  };
  const startKey = 'fromKey' in start ? start.fromKey : 'afterKey' in start ? start.afterKey : start.key;
  for await (const e of rollUp(source, prefix, delimiter, start, startKey, want)) {
    yield e.kind === 'prefix' ? e : { kind: 'version', row: e.row };
  }
}

type ListVersions = Extract<Endpoint, { kind: 'ListObjectVersions' }>;

/** Where a ListObjectVersions page starts, from its key-marker and version-id-marker. */
async function startOf(meta: MetaStore, bucket: string, ep: ListVersions): Promise<VersionBound> {
  const { keyMarker, versionIdMarker } = ep;
  if (keyMarker === undefined || keyMarker === '') {
    if (versionIdMarker !== undefined) {
      throw new S3Error('InvalidArgument', { message: 'A version-id marker cannot be specified without a key marker.', extra: { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker } });
    }
    return { fromKey: '' };
  }
  if (versionIdMarker === undefined || versionIdMarker === '') {
    // A key marker that is a common prefix resumes past everything under it.
    const upper = isCommonPrefix(keyMarker, ep.prefix, ep.delimiter ?? '') ? prefixUpperBound(keyMarker) : null;
    return upper !== null ? { fromKey: upper } : { afterKey: keyMarker };
  }
  const row = await meta.getVersion(bucket, keyMarker, versionIdMarker);
  if (row) return { key: keyMarker, beforeId: row.id };
  // The marker version is gone (a client deleting what it lists, page by page): its position is
  // lost, so the key's remaining versions are listed again rather than risk skipping one; a
  // key with none left is simply passed.
  return (await meta.getLatestVersion(bucket, keyMarker)) ? { fromKey: keyMarker } : { afterKey: keyMarker };
}

/** ListObjectVersions — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html */
export async function handleListObjectVersions(koa: Koa.Context, rc: ReqCtx, ep: ListVersions): Promise<void> {
  const bucket = bucketOf(rc);
  const meta = rc.pipeline.meta;
  const entries = walkVersions(meta, bucket.name, ep.prefix, ep.delimiter ?? '', await startOf(meta, bucket.name, ep), ep.maxKeys + 1);
  const items: VersionEntry[] = [];
  let truncated = false;
  if (ep.maxKeys > 0) {
    for await (const e of entries) {
      if (items.length === ep.maxKeys) {
        truncated = true;
        break;
      }
      items.push(e);
    }
  }
  const enc = (v: string | undefined): string | undefined => (v !== undefined && ep.encodingType === 'url' ? s3UrlEncode(v) : v);
  const owner = ownerOf(bucket.owner);
  const ownerNode = { ID: owner.id, DisplayName: owner.displayName };
  const last = items[items.length - 1];
  const versions: XmlNode[] = [];
  const markers: XmlNode[] = [];
  const prefixes: XmlNode[] = [];
  for (const e of items) {
    if (e.kind === 'prefix') {
      prefixes.push({ Prefix: enc(e.prefix) });
      continue;
    }
    const r = e.row;
    // Literals of their own: `{ ...common, more }` takes V8's slow path, once per version listed.
    const Key = enc(r.key);
    const LastModified = formatIsoDate(r.lastModified);
    if (r.deleteMarker) markers.push({ Key, VersionId: r.versionId, IsLatest: r.isLatest, LastModified, Owner: ownerNode });
    else versions.push({ Key, VersionId: r.versionId, IsLatest: r.isLatest, LastModified, ETag: quoteEtag(r.etag), Size: r.size, StorageClass: 'STANDARD', Owner: ownerNode });
  }
  sendXml(koa, buildXml('ListVersionsResult', {
    Name: bucket.name,
    Prefix: enc(ep.prefix),
    KeyMarker: enc(ep.keyMarker ?? ''),
    VersionIdMarker: ep.versionIdMarker ?? '',
    NextKeyMarker: truncated && last ? enc(last.kind === 'version' ? last.row.key : last.prefix) : undefined,
    NextVersionIdMarker: truncated && last?.kind === 'version' ? last.row.versionId : undefined,
    MaxKeys: ep.maxKeys,
    Delimiter: enc(ep.delimiter),
    EncodingType: ep.encodingType,
    IsTruncated: truncated,
    Version: versions,
    DeleteMarker: markers,
    CommonPrefixes: prefixes,
  }));
}
