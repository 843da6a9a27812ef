import { admin, children, objectPath, s3, s3Xml, text } from './api';

/** The S3 calls the pages make, with their XML read into plain objects. */

export interface BucketEntry {
  name: string;
  createdAt: string;
}

export async function listBuckets(): Promise<BucketEntry[]> {
  const out: BucketEntry[] = [];
  let token: string | undefined;
  do {
    const doc = await s3Xml('GET', '/', { query: { 'continuation-token': token } });
    const list = children(doc, 'Buckets')[0];
    for (const b of list ? children(list, 'Bucket') : []) out.push({ name: text(b, 'Name') ?? '', createdAt: text(b, 'CreationDate') ?? '' });
    token = text(doc, 'ContinuationToken');
  } while (token);
  return out;
}

/** What the admin API knows of every bucket (root only; gateway/admin/buckets.ts). */
export interface BucketUsage {
  name: string;
  owner: string;
  createdAt: string;
  usedBytes: number;
  objects: number | null;
  quotaBytes: number | null;
}

export async function bucketUsage(): Promise<BucketUsage[]> {
  return (await admin<{ buckets: BucketUsage[] }>('GET', '/buckets')).buckets;
}

export async function createBucket(name: string, opts: { versioning: boolean; objectLock: boolean }): Promise<void> {
  const headers: Record<string, string> = opts.objectLock ? { 'x-amz-bucket-object-lock-enabled': 'true' } : {};
  await s3('PUT', objectPath(name), { headers });
  if (opts.versioning && !opts.objectLock) await putVersioning(name, 'Enabled');
}

export async function deleteBucket(name: string): Promise<void> {
  await s3('DELETE', objectPath(name));
}

export async function getVersioning(bucket: string): Promise<'Enabled' | 'Suspended' | 'Off'> {
  const doc = await s3Xml('GET', objectPath(bucket), { query: { versioning: '' } });
  const s = text(doc, 'Status');
  return s === 'Enabled' || s === 'Suspended' ? s : 'Off';
}

export async function putVersioning(bucket: string, status: 'Enabled' | 'Suspended'): Promise<void> {
  const body = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${status}</Status></VersioningConfiguration>`;
  await s3('PUT', objectPath(bucket), { query: { versioning: '' }, body });
}

export interface ListEntry {
  key: string;
  size: number;
  lastModified: string;
  etag: string;
}

export interface ListPage {
  folders: string[];
  objects: ListEntry[];
  nextToken: string | undefined;
}

/** One page of ListObjectsV2 with `/` as the delimiter: folders and objects under `prefix`. */
export async function listPage(bucket: string, prefix: string, token: string | undefined, maxKeys = 200): Promise<ListPage> {
  const doc = await s3Xml('GET', objectPath(bucket), {
    query: { 'list-type': '2', delimiter: '/', prefix: prefix || undefined, 'max-keys': String(maxKeys), 'continuation-token': token },
  });
  return {
    folders: children(doc, 'CommonPrefixes').map((p) => text(p, 'Prefix') ?? ''),
    objects: children(doc, 'Contents').map((c) => ({
      key: text(c, 'Key') ?? '', size: Number(text(c, 'Size') ?? 0), lastModified: text(c, 'LastModified') ?? '', etag: text(c, 'ETag') ?? '',
    })),
    nextToken: text(doc, 'IsTruncated') === 'true' ? text(doc, 'NextContinuationToken') : undefined,
  };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** DeleteObjects, 1,000 keys a request (S3's limit); the keys it could not delete, with why. */
export async function deleteObjects(bucket: string, keys: Array<{ key: string; versionId?: string }>): Promise<Array<{ key: string; message: string }>> {
  const failed: Array<{ key: string; message: string }> = [];
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const body = `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${batch
      .map((k) => `<Object><Key>${esc(k.key)}</Key>${k.versionId ? `<VersionId>${esc(k.versionId)}</VersionId>` : ''}</Object>`).join('')}</Delete>`;
    const doc = await s3Xml('POST', objectPath(bucket), { query: { delete: '' }, body });
    for (const e of children(doc, 'Error')) failed.push({ key: text(e, 'Key') ?? '', message: text(e, 'Message') ?? text(e, 'Code') ?? '' });
  }
  return failed;
}

export interface VersionEntry {
  key: string;
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  lastModified: string;
}

/** Every version and delete marker of exactly `key` (ListObjectVersions with the key as prefix). */
export async function listVersions(bucket: string, key: string): Promise<VersionEntry[]> {
  const out: VersionEntry[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const doc = await s3Xml('GET', objectPath(bucket), { query: { versions: '', prefix: key, 'key-marker': keyMarker, 'version-id-marker': versionMarker, 'max-keys': '1000' } });
    for (const el of Array.from(doc.documentElement.children)) {
      if (el.localName !== 'Version' && el.localName !== 'DeleteMarker') continue;
      const k = text(el, 'Key') ?? '';
      if (k !== key) continue;
      out.push({
        key: k, versionId: text(el, 'VersionId') ?? 'null', isLatest: text(el, 'IsLatest') === 'true', deleteMarker: el.localName === 'DeleteMarker',
        size: Number(text(el, 'Size') ?? 0), lastModified: text(el, 'LastModified') ?? '',
      });
    }
    if (text(doc, 'IsTruncated') !== 'true') return out;
    keyMarker = text(doc, 'NextKeyMarker');
    versionMarker = text(doc, 'NextVersionIdMarker');
    // Past our key, the rest of the listing is other keys sharing its prefix.
    if (keyMarker !== undefined && keyMarker > key) return out;
  }
}

/** Headers a copy with a REPLACE directive must carry again to keep the version as it was. */
const KEPT_HEADERS = ['content-type', 'content-disposition', 'content-encoding', 'content-language', 'cache-control', 'expires'];

/**
 * Make an old version current again: copy it onto its own key (a new version). The metadata
 * is sent again with REPLACE, because a copy onto its own key with COPY is refused as "a copy
 * to itself" by stores that do not look at the version id.
 */
export async function restoreVersion(bucket: string, key: string, versionId: string): Promise<void> {
  const path = objectPath(bucket, key);
  const head = (await s3('HEAD', path, { query: { versionId } })).headers;
  const headers: Record<string, string> = {
    'x-amz-copy-source': `${path}?versionId=${encodeURIComponent(versionId)}`,
    'x-amz-metadata-directive': 'REPLACE',
  };
  head.forEach((v, k) => {
    if (KEPT_HEADERS.includes(k) || k.startsWith('x-amz-meta-')) headers[k] = v;
  });
  await s3('PUT', path, { headers });
}

export async function getTags(path: string, versionId?: string): Promise<Array<[string, string]>> {
  const doc = await s3Xml('GET', path, { query: { tagging: '', versionId } });
  const set = children(doc, 'TagSet')[0];
  return (set ? children(set, 'Tag') : []).map((t) => [text(t, 'Key') ?? '', text(t, 'Value') ?? '']);
}

export async function putTags(path: string, tags: Array<[string, string]>): Promise<void> {
  if (!tags.length) {
    await s3('DELETE', path, { query: { tagging: '' } });
    return;
  }
  const body = `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${tags
    .map(([k, v]) => `<Tag><Key>${esc(k)}</Key><Value>${esc(v)}</Value></Tag>`).join('')}</TagSet></Tagging>`;
  await s3('PUT', path, { query: { tagging: '' }, body });
}

/** `key=value` lines, as the tag editors show them. */
export function parseTagLines(s: string): Array<[string, string]> {
  return s.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const i = l.indexOf('=');
    return (i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()]) as [string, string];
  });
}

export { esc as escapeXml };
