import type Koa from 'koa';
import { prefixUpperBound } from '../meta/key-order.js';
import type { MetaStore } from '../meta/store.js';
import { isCommonPrefix, rollUp, type RollupSource } from './rollup.js';
import type { ListedObject } from '../meta/types.js';
import { bucketOf, ownerOf, type ReqCtx } from '../request.js';
import { sendXml } from './bucket.js';
import { S3Error } from './errors.js';
import { buildListObjectsV1Result, buildListObjectsV2Result, type ObjectEntry, type Owner } from './documents.js';
import type { Endpoint } from './router.js';

type Entry = { kind: 'object'; obj: ListedObject } | { kind: 'prefix'; prefix: string };
type Bound = { after: string } | { from: string };

/**
 * Keys of a bucket in order, under `prefix`, with everything between `prefix` and the
 * next `delimiter` rolled into one common prefix. Pages through the store lazily; `want`
 * bounds the rows any one query reads (MaxKeys + 1).
 */
export async function* walk(meta: MetaStore, bucket: string, prefix: string, delimiter: string, start: Bound, want = Infinity): AsyncGenerator<Entry> {
  const source: RollupSource<ListedObject, Bound> = {
    page: (bound, limit, below) => meta.listObjects(bucket, bound, limit, below),
    keyOf: (obj) => obj.key,
    after: (obj) => ({ after: obj.key }),
    from: (key) => ({ from: key }),
  };
  for await (const e of rollUp(source, prefix, delimiter, start, 'after' in start ? start.after : start.from, want)) {
    yield e.kind === 'prefix' ? e : { kind: 'object', obj: e.row };
  }
}

/** Take up to `max` entries and tell whether more follow. */
async function page(entries: AsyncGenerator<Entry>, max: number): Promise<{ items: Entry[]; truncated: boolean }> {
  const items: Entry[] = [];
  if (max === 0) return { items, truncated: false };
  for await (const e of entries) {
    if (items.length === max) return { items, truncated: true };
    items.push(e);
  }
  return { items, truncated: false };
}

function split(items: Entry[], owner: Owner | undefined): { contents: Array<ObjectEntry & { owner: Owner }>; commonPrefixes: string[] } {
  const contents: Array<ObjectEntry & { owner: Owner }> = [];
  const commonPrefixes: string[] = [];
  for (const e of items) {
    if (e.kind === 'prefix') commonPrefixes.push(e.prefix);
    else contents.push({ key: e.obj.key, lastModified: e.obj.lastModified, etag: e.obj.etag, size: e.obj.size, owner: owner! });
  }
  if (!owner) for (const c of contents) delete (c as ObjectEntry).owner;
  return { contents, commonPrefixes };
}

// A continuation token says where the next page starts; opaque to clients, as on AWS.
function encodeToken(b: Bound): string {
  return Buffer.from(JSON.stringify(b)).toString('base64url');
}

function decodeToken(token: string): Bound {
  try {
    const b = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Bound;
    if (('after' in b && typeof b.after === 'string') || ('from' in b && typeof b.from === 'string')) return b;
  } catch {
    // fall through
  }
  throw new S3Error('InvalidArgument', { message: 'The continuation token provided is incorrect', extra: { ArgumentName: 'continuation-token', ArgumentValue: token } });
}

/** Where the page after `last` starts: after a key, or past everything under a common prefix. */
function resumeAfter(last: Entry): Bound {
  if (last.kind === 'object') return { after: last.obj.key };
  const upper = prefixUpperBound(last.prefix);
  return upper === null ? { after: last.prefix } : { from: upper };
}

type ListV2 = Extract<Endpoint, { kind: 'ListObjectsV2' }>;
type ListV1 = Extract<Endpoint, { kind: 'ListObjects' }>;

/** ListObjectsV2 — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html */
export async function handleListObjectsV2(koa: Koa.Context, rc: ReqCtx, ep: ListV2): Promise<void> {
  const bucket = bucketOf(rc);
  // An empty token starts from the beginning (and is echoed), as on AWS S3.
  const start: Bound = ep.continuationToken ? decodeToken(ep.continuationToken) : { after: ep.startAfter ?? '' };
  const { items, truncated } = await page(walk(rc.pipeline.meta, bucket.name, ep.prefix, ep.delimiter ?? '', start, ep.maxKeys + 1), ep.maxKeys);
  sendXml(koa, buildListObjectsV2Result({
    name: bucket.name,
    prefix: ep.prefix,
    ...(ep.delimiter !== undefined ? { delimiter: ep.delimiter } : {}),
    maxKeys: ep.maxKeys,
    isTruncated: truncated,
    ...(ep.continuationToken !== undefined ? { continuationToken: ep.continuationToken } : {}),
    ...(truncated ? { nextContinuationToken: encodeToken(resumeAfter(items[items.length - 1]!)) } : {}),
    ...(ep.startAfter !== undefined ? { startAfter: ep.startAfter } : {}),
    ...(ep.encodingType ? { encodingType: ep.encodingType } : {}),
    ...split(items, ep.fetchOwner ? ownerOf(bucket.owner) : undefined),
  }));
}

/** ListObjects (v1) — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html */
export async function handleListObjects(koa: Koa.Context, rc: ReqCtx, ep: ListV1): Promise<void> {
  const bucket = bucketOf(rc);
  const delimiter = ep.delimiter ?? '';
  const marker = ep.marker;
  // A marker that is a common prefix resumes past everything under it, as AWS does.
  const upper = isCommonPrefix(marker, ep.prefix, delimiter) ? prefixUpperBound(marker) : null;
  const start: Bound = upper !== null ? { from: upper } : { after: marker };
  const { items, truncated } = await page(walk(rc.pipeline.meta, bucket.name, ep.prefix, delimiter, start, ep.maxKeys + 1), ep.maxKeys);
  const last = items[items.length - 1];
  sendXml(koa, buildListObjectsV1Result({
    name: bucket.name,
    prefix: ep.prefix,
    marker,
    ...(truncated && last ? { nextMarker: last.kind === 'object' ? last.obj.key : last.prefix } : {}),
    ...(ep.delimiter !== undefined ? { delimiter: ep.delimiter } : {}),
    maxKeys: ep.maxKeys,
    isTruncated: truncated,
    ...(ep.encodingType ? { encodingType: ep.encodingType } : {}),
    ...split(items, ownerOf(bucket.owner)),
  }));
}
