import type Koa from 'koa';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { K, N } from '../../codec/erasure.js';
import type { NodeRow } from '../meta/types.js';
import { bucketOf, type ReqCtx } from '../request.js';
import { checkReadConditions } from './conditions.js';
import { S3Error } from './errors.js';
import { contentRange, formatHttpDate, parseRange, quoteEtag } from './headers.js';
import { permissionOf } from './router.js';
import { buildXml } from './xml.js';

/**
 * Veeam's Smart Object Storage API (SOSAPI v1.0): Veeam Backup & Replication reads these two
 * documents from a bucket to learn what the store can do and how much room it has, and
 * writes nothing there. They are computed on every read, in every bucket, for whoever may
 * GetObject the key; they are not listed (Veeam asks for them by name, and a listing with
 * them would show every backup folder two objects no one stored).
 * https://helpcenter.veeam.com/docs/vbr/userguide/sosapi.html
 */
export const SOSAPI_PREFIX = '.system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c/';
export const SOSAPI_SYSTEM = SOSAPI_PREFIX + 'system.xml';
export const SOSAPI_CAPACITY = SOSAPI_PREFIX + 'capacity.xml';

/**
 * Recommendations (all optional in SOSAPI). KbBlockSize 4096: Veeam's blocks become
 * objects, and bigger ones mean fewer objects, each cut into 16 pieces, to place, audit and
 * repair. 1000 keys per DeleteObjects, S3's own limit. 32 requests at once per task: every
 * one fans out to 16 shard-stores, so Veeam's default of 64 mostly queues. 0 tasks: no limit
 * on Veeam's repository task slots.
 */
const RECOMMENDATIONS = { S3ConcurrentTaskLimit: 32, S3MultiObjectDeleteLimit: 1000, StorageCurrentTasksLimit: 0, KbBlockSize: 4096 };

/** system.xml's content does not change while the gateway runs: its date is the start. */
const STARTED = Math.floor(Date.now() / 1000) * 1000;

let modelName: string | undefined;
function model(): string {
  if (modelName === undefined) {
    // dist/gateway/s3/ when built, gateway/s3/ when run from source (tests).
    const version = ['../../../package.json', '../../package.json'].map((rel) => {
      try {
        const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
        return pkg.name === 'shardgate' ? pkg.version : undefined;
      } catch {
        return undefined;
      }
    }).find((v) => v !== undefined);
    modelName = version ? `shardgate ${version}` : 'shardgate';
  }
  return modelName;
}

/**
 * `system.xml`: SOSAPI's SystemInfo. The version and model name are in double quotes, as the
 * SOSAPI document writes them; written raw (not as &quot;), as the document shows them.
 */
export function systemXml(): string {
  const body = buildXml('SystemInfo', {
    ProtocolVersion: '"1.0"',
    ModelName: `"${model()}"`,
    ProtocolCapabilities: { CapacityInfo: true, UploadSessions: false, IAMSTS: false },
    SystemRecommendations: RECOMMENDATIONS,
  }, null);
  // Text content never needs its quotes escaped; only the two quoted values hold any.
  return body.replaceAll('&quot;', '"');
}

export interface Capacity {
  capacity: number;
  available: number;
  used: number;
}

/**
 * What a bucket may hold. With a quota: the quota, and what is left of it (no more than the
 * stores have free). Without: the stores' space at 10/16 (every byte is stored as 16 pieces
 * of which 10 hold data), counting stores that take new pieces (not draining or removed).
 * `used` is the bucket's own bytes.
 */
export function capacityOf(nodes: readonly NodeRow[], quota: number | null, used: number): Capacity {
  const live = nodes.filter((n) => n.state !== 'removed' && n.state !== 'draining');
  const usable = (bytes: number): number => Math.floor((bytes * K) / N);
  const total = usable(live.reduce((s, n) => s + (n.capacity ?? 0), 0));
  const free = usable(live.filter((n) => n.state === 'active').reduce((s, n) => s + (n.freeBytes ?? 0), 0));
  if (quota === null) return { capacity: total, available: free, used };
  return { capacity: quota, available: Math.max(0, Math.min(quota - used, free)), used };
}

export function capacityXml(c: Capacity): string {
  return buildXml('CapacityInfo', { Capacity: c.capacity, Available: c.available, Used: c.used }, null);
}

async function documentOf(rc: ReqCtx, key: string): Promise<{ body: Buffer; lastModified: number } | undefined> {
  if (key === SOSAPI_SYSTEM) return { body: Buffer.from(systemXml()), lastModified: STARTED };
  if (key !== SOSAPI_CAPACITY) return undefined;
  const bucket = bucketOf(rc).name;
  const q = (await rc.pipeline.meta.quotas.get(bucket)) ?? { quota: null, used: 0 };
  const body = Buffer.from(capacityXml(capacityOf(await rc.pipeline.meta.listNodes(), q.quota, q.used)));
  return { body, lastModified: Math.floor(Date.now() / 1000) * 1000 };
}

/**
 * A request on a key under the SOSAPI prefix: GET and HEAD of the two documents are answered
 * here (true); anything else that would change a key there is AccessDenied, since the
 * documents are the store's to write. Reads of other keys and subresources go on as usual
 * (false), and find nothing; so does a CORS preflight.
 */
export async function handleSosapi(koa: Koa.Context, rc: ReqCtx, key: string): Promise<boolean> {
  const kind = rc.endpoint.kind;
  if (kind === 'GetObject' || kind === 'HeadObject') {
    const doc = await documentOf(rc, key);
    if (!doc) return false;
    serve(koa, doc.body, doc.lastModified, kind === 'HeadObject');
    return true;
  }
  const permission = permissionOf(rc.endpoint);
  if (permission === 'write' || permission === 'owner') refuseSosapiWrite(key);
  return false;
}

/** A write to a key under the SOSAPI prefix (any method, a form upload too) is AccessDenied. */
export function refuseSosapiWrite(key: string): void {
  if (key.startsWith(SOSAPI_PREFIX)) {
    throw new S3Error('AccessDenied', { message: `Keys under ${SOSAPI_PREFIX} are reserved for Veeam's Smart Object Storage API and are read-only.` });
  }
}

function serve(koa: Koa.Context, body: Buffer, lastModified: number, head: boolean): void {
  const etag = createHash('md5').update(body).digest('hex');
  if (checkReadConditions(koa, etag, lastModified)) {
    koa.status = 304;
    koa.set({ etag: quoteEtag(etag), 'last-modified': formatHttpDate(lastModified) });
    return;
  }
  const range = parseRange(koa.get('range') || undefined, body.length);
  koa.set({ etag: quoteEtag(etag), 'last-modified': formatHttpDate(lastModified), 'accept-ranges': 'bytes', 'cache-control': 'no-cache' });
  const part = range ? body.subarray(range.start, range.end + 1) : body;
  if (range) {
    koa.status = 206;
    koa.set('content-range', contentRange(range, body.length));
  } else {
    koa.status = 200;
  }
  koa.type = 'application/xml';
  if (head) koa.length = part.length;
  else koa.body = part;
  koa.set('content-type', 'application/xml');
}
