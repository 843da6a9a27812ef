import type Koa from 'koa';
import { prefixUpperBound } from '../meta/key-order.js';
import type { MetaStore } from '../meta/store.js';
import type { UploadBound, UploadRow } from '../meta/types.js';
import { isCommonPrefix, rollUp, type RollupSource } from './rollup.js';
import { bucketOf, ownerOf, type ReqCtx } from '../request.js';
import { sendXml } from './bucket.js';
import { buildListMultipartUploadsResult, type ChecksumAlgorithm, type ChecksumType, type UploadEntry } from './documents.js';
import type { Endpoint } from './router.js';

type Entry = { kind: 'upload'; upload: UploadRow } | { kind: 'prefix'; prefix: string };
type ListMultipartUploads = Extract<Endpoint, { kind: 'ListMultipartUploads' }>;

/** Past every upload of `key`: no upload starts later than this. */
function afterKey(key: string): UploadBound {
  return { key, createdAt: Number.MAX_SAFE_INTEGER, id: '' };
}

function boundKey(b: UploadBound): string {
  return 'fromKey' in b ? b.fromKey : b.key;
}

/**
 * Unfinished uploads under `prefix` in listing order, everything between the prefix and
 * the next `delimiter` rolled into one common prefix (as ListObjects does for keys).
 * Pages through the store lazily.
 */
export async function* walkUploads(
  meta: MetaStore, bucket: string, prefix: string, delimiter: string, start: UploadBound, want = Infinity,
): AsyncGenerator<Entry> {
  const source: RollupSource<UploadRow, UploadBound> = {
    page: (bound, limit, below) => meta.listUploads(bucket, bound, limit, below),
    keyOf: (upload) => upload.key,
    after: (upload) => ({ key: upload.key, createdAt: upload.createdAt, id: upload.id }),
    from: (key) => ({ fromKey: key }),
  };
  for await (const e of rollUp(source, prefix, delimiter, start, boundKey(start), want)) {
    yield e.kind === 'prefix' ? e : { kind: 'upload', upload: e.row };
  }
}

/**
 * Where a listing resumes. The upload-id-marker counts only with a key-marker, as on AWS;
 * a key-marker that is a common prefix resumes past everything under it.
 */
async function startOf(meta: MetaStore, bucket: string, ep: ListMultipartUploads): Promise<UploadBound> {
  const { keyMarker, uploadIdMarker, delimiter } = ep;
  if (keyMarker === undefined) return { fromKey: '' };
  if (uploadIdMarker !== undefined) {
    const marker = await meta.getUpload(uploadIdMarker);
    if (marker && marker.bucket === bucket && marker.key === keyMarker) return { key: marker.key, createdAt: marker.createdAt, id: marker.id };
  }
  const upper = isCommonPrefix(keyMarker, ep.prefix, delimiter ?? '') ? prefixUpperBound(keyMarker) : null;
  return upper !== null ? { fromKey: upper } : afterKey(keyMarker);
}

function entryOf(u: UploadRow): UploadEntry {
  return {
    key: u.key, uploadId: u.id, initiator: ownerOf(u.owner), owner: ownerOf(u.owner), initiated: u.createdAt,
    ...(u.checksumAlgorithm && { checksumAlgorithm: u.checksumAlgorithm as ChecksumAlgorithm }),
    ...(u.checksumType && { checksumType: u.checksumType as ChecksumType }),
  };
}

/** ListMultipartUploads — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html */
export async function handleListMultipartUploads(koa: Koa.Context, rc: ReqCtx, ep: ListMultipartUploads): Promise<void> {
  const bucket = bucketOf(rc);
  const items: Entry[] = [];
  let truncated = false;
  if (ep.maxUploads > 0) {
    for await (const e of walkUploads(rc.pipeline.meta, bucket.name, ep.prefix, ep.delimiter ?? '', await startOf(rc.pipeline.meta, bucket.name, ep), ep.maxUploads + 1)) {
      if (items.length === ep.maxUploads) {
        truncated = true;
        break;
      }
      items.push(e);
    }
  }
  const last = items[items.length - 1];
  sendXml(koa, buildListMultipartUploadsResult({
    bucket: bucket.name,
    keyMarker: ep.keyMarker ?? '',
    uploadIdMarker: ep.keyMarker !== undefined ? ep.uploadIdMarker ?? '' : '',
    ...(last && {
      nextKeyMarker: last.kind === 'upload' ? last.upload.key : last.prefix,
      nextUploadIdMarker: last.kind === 'upload' ? last.upload.id : '',
    }),
    ...(ep.delimiter !== undefined && { delimiter: ep.delimiter }),
    prefix: ep.prefix,
    maxUploads: ep.maxUploads,
    isTruncated: truncated,
    ...(ep.encodingType && { encodingType: ep.encodingType }),
    uploads: items.flatMap((e) => (e.kind === 'upload' ? [entryOf(e.upload)] : [])),
    commonPrefixes: items.flatMap((e) => (e.kind === 'prefix' ? [e.prefix] : [])),
  }));
}
