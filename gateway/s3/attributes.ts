import type Koa from 'koa';
import { checksumTypeOf } from '../checksums.js';
import { bucketOf, keyOf, type ReqCtx } from '../request.js';
import { sendXml } from './bucket.js';
import { S3Error } from './errors.js';
import { formatHttpDate } from './headers.js';
import { resolveVersion, versionHeader } from './versioning.js';
import { buildXml, type XmlNode } from './xml.js';

const ATTRIBUTES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize']);
const CHECKSUM_ELEMENTS: Record<string, string> = {
  crc32: 'ChecksumCRC32', crc32c: 'ChecksumCRC32C', crc64nvme: 'ChecksumCRC64NVME', sha1: 'ChecksumSHA1', sha256: 'ChecksumSHA256',
};

function checksumNode(checksums: Record<string, string>, withType: boolean): XmlNode {
  const out: Record<string, string> = {};
  for (const [alg, value] of Object.entries(checksums)) {
    const el = CHECKSUM_ELEMENTS[alg];
    if (!el) continue;
    out[el] = value;
    if (withType) out.ChecksumType = checksumTypeOf(value);
  }
  return out;
}

function intHeader(koa: Koa.Context, name: string, dflt: number, max: number): number {
  const v = koa.get(name);
  if (v === '') return dflt;
  if (!/^\d+$/.test(v)) throw new S3Error('InvalidArgument', { message: `${name} must be a non-negative integer`, extra: { ArgumentName: name, ArgumentValue: v } });
  return Math.min(Number(v), max);
}

/**
 * GetObjectAttributes — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
 * The attributes named in x-amz-object-attributes, without the object's bytes. ETag is
 * unquoted here, as AWS answers it; ObjectParts lists parts of multipart objects only.
 */
export async function handleGetObjectAttributes(koa: Koa.Context, rc: ReqCtx, versionId: string | undefined): Promise<void> {
  const wanted = koa.get('x-amz-object-attributes').split(',').map((s) => s.trim()).filter(Boolean);
  if (!wanted.length) throw new S3Error('InvalidArgument', { message: 'Missing required header for this request: x-amz-object-attributes', extra: { ArgumentName: 'x-amz-object-attributes' } });
  for (const a of wanted) {
    if (!ATTRIBUTES.has(a)) throw new S3Error('InvalidArgument', { message: `Invalid attribute name specified: ${a}`, extra: { ArgumentName: 'x-amz-object-attributes', ArgumentValue: a } });
  }
  const meta = rc.pipeline.meta;
  const bucket = bucketOf(rc).name;
  const obj = await resolveVersion(meta, bucket, keyOf(rc), versionId);
  const doc: Record<string, XmlNode[string]> = {};
  if (wanted.includes('ETag')) doc.ETag = obj.etag;
  if (wanted.includes('Checksum') && Object.keys(obj.checksums).length) doc.Checksum = checksumNode(obj.checksums, true);
  if (wanted.includes('ObjectParts') && obj.partsCount !== null) {
    const maxParts = intHeader(koa, 'x-amz-max-parts', 1000, 1000);
    const marker = intHeader(koa, 'x-amz-part-number-marker', 0, 10_000);
    const after = (await meta.objectParts(obj.id)).filter((p) => p.partNumber > marker);
    const page = after.slice(0, maxParts);
    const truncated = after.length > page.length;
    doc.ObjectParts = {
      PartsCount: obj.partsCount, // TotalPartsCount in the SDKs; PartsCount on the wire
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length ? page[page.length - 1]!.partNumber : marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map((p) => ({ PartNumber: p.partNumber, Size: p.size, ...checksumNode(p.checksums, false) })),
    };
  }
  if (wanted.includes('StorageClass')) doc.StorageClass = 'STANDARD';
  if (wanted.includes('ObjectSize')) doc.ObjectSize = obj.size;
  koa.set({ 'last-modified': formatHttpDate(obj.lastModified), ...await versionHeader(meta, bucket, obj.versionId) });
  sendXml(koa, buildXml('GetObjectAttributesOutput', doc));
}
