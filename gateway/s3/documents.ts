import { S3Error } from './errors.js';
import { formatIsoDate, quoteEtag } from './headers.js';
import { buildXml, buildXmlText, childrenOf, malformedXml, parseXml, textOf, type XmlNode, type XmlObject } from './xml.js';

/**
 * The S3 XML documents: one interface each, a `build…` for responses and a `parse…` for
 * request bodies. Element names and order follow the AWS S3 API reference
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/). Timestamps are written as ISO 8601
 * with milliseconds and ETags quoted, whatever form the caller holds them in.
 */

export type Timestamp = Date | number;

export interface Owner {
  id: string;
  displayName?: string;
}

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

/** Base64 checksums, as the `Checksum<ALGORITHM>` elements and headers carry them. */
export interface Checksums {
  crc32?: string;
  crc32c?: string;
  crc64nvme?: string;
  sha1?: string;
  sha256?: string;
}

const CHECKSUM_ELEMENTS = [
  ['crc32', 'ChecksumCRC32'],
  ['crc32c', 'ChecksumCRC32C'],
  ['crc64nvme', 'ChecksumCRC64NVME'],
  ['sha1', 'ChecksumSHA1'],
  ['sha256', 'ChecksumSHA256'],
] as const satisfies ReadonlyArray<readonly [keyof Checksums, string]>;

function checksumNodes(c: Checksums | undefined): XmlNode {
  const out: Record<string, string> = {};
  if (c) for (const [field, el] of CHECKSUM_ELEMENTS) if (c[field] !== undefined) out[el] = c[field];
  return out;
}

function ownerNode(o: Owner): XmlNode {
  return { ID: o.id, DisplayName: o.displayName };
}

// ---------------------------------------------------------------------------------------
// encoding-type=url

/**
 * URL-encode a key for `encoding-type=url` listings as AWS S3 does: form encoding
 * (space as `+`), with `/` and `*` kept and `~` encoded.
 */
export function s3UrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/%2F/g, '/')
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export type EncodingType = 'url';

function encoder(encodingType: EncodingType | undefined): (v: string | undefined) => string | undefined {
  return encodingType === 'url' ? (v) => (v === undefined ? v : s3UrlEncode(v)) : (v) => v;
}

// ---------------------------------------------------------------------------------------
// ListBuckets

export interface BucketEntry {
  name: string;
  creationDate: Timestamp;
  region?: string;
}

/** ListAllMyBucketsResult (ListBuckets). */
export interface ListAllMyBucketsResult {
  owner: Owner;
  buckets: BucketEntry[];
  continuationToken?: string;
  prefix?: string;
}

export function buildListAllMyBucketsResult(doc: ListAllMyBucketsResult): string {
  return buildXml('ListAllMyBucketsResult', {
    Owner: ownerNode(doc.owner),
    Buckets: {
      Bucket: doc.buckets.map((b) => ({ Name: b.name, CreationDate: formatIsoDate(b.creationDate), BucketRegion: b.region })),
    },
    ContinuationToken: doc.continuationToken,
    Prefix: doc.prefix,
  });
}

// ---------------------------------------------------------------------------------------
// ListObjects (v1 and v2)

export type StorageClass = 'STANDARD' | (string & {});

export interface ObjectEntry {
  key: string;
  lastModified: Timestamp;
  etag: string;
  size: number;
  /** Default STANDARD. */
  storageClass?: StorageClass;
  /** Written when present: always for v1, with fetch-owner=true for v2. */
  owner?: Owner;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
}

function contentsNode(o: ObjectEntry, enc: (v: string | undefined) => string | undefined): XmlNode {
  return {
    Key: enc(o.key),
    LastModified: formatIsoDate(o.lastModified),
    ETag: quoteEtag(o.etag),
    ChecksumAlgorithm: o.checksumAlgorithm,
    ChecksumType: o.checksumType,
    Size: o.size,
    StorageClass: o.storageClass ?? 'STANDARD',
    Owner: o.owner && ownerNode(o.owner),
  };
}

function commonPrefixNodes(prefixes: readonly string[], enc: (v: string | undefined) => string | undefined): XmlNode[] {
  return prefixes.map((p) => ({ Prefix: enc(p) }));
}

/** ListBucketResult of ListObjectsV2. */
export interface ListObjectsV2Result {
  name: string;
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  /** Default: contents plus common prefixes. */
  keyCount?: number;
  isTruncated: boolean;
  continuationToken?: string;
  nextContinuationToken?: string;
  startAfter?: string;
  encodingType?: EncodingType;
  contents: ObjectEntry[];
  commonPrefixes: string[];
}

export function buildListObjectsV2Result(doc: ListObjectsV2Result): string {
  const enc = encoder(doc.encodingType);
  return buildXml('ListBucketResult', {
    Name: doc.name,
    Prefix: enc(doc.prefix),
    ContinuationToken: doc.continuationToken,
    NextContinuationToken: doc.nextContinuationToken,
    StartAfter: enc(doc.startAfter),
    KeyCount: doc.keyCount ?? doc.contents.length + doc.commonPrefixes.length,
    MaxKeys: doc.maxKeys,
    Delimiter: enc(doc.delimiter),
    EncodingType: doc.encodingType,
    IsTruncated: doc.isTruncated,
    Contents: doc.contents.map((o) => contentsNode(o, enc)),
    CommonPrefixes: commonPrefixNodes(doc.commonPrefixes, enc),
  });
}

/** ListBucketResult of ListObjects (v1). Contents carry their Owner, as AWS S3 always sends it in v1. */
export interface ListObjectsV1Result {
  name: string;
  prefix: string;
  marker: string;
  /** Written only with a delimiter, as AWS S3 does; without one the client continues from the last key. */
  nextMarker?: string;
  delimiter?: string;
  maxKeys: number;
  isTruncated: boolean;
  encodingType?: EncodingType;
  contents: Array<ObjectEntry & { owner: Owner }>;
  commonPrefixes: string[];
}

export function buildListObjectsV1Result(doc: ListObjectsV1Result): string {
  const enc = encoder(doc.encodingType);
  return buildXml('ListBucketResult', {
    Name: doc.name,
    // v1 sends the Prefix as given even with encoding-type=url (SDKs decode only the others).
    Prefix: doc.prefix,
    Marker: enc(doc.marker),
    NextMarker: doc.delimiter ? enc(doc.nextMarker) : undefined,
    MaxKeys: doc.maxKeys,
    Delimiter: enc(doc.delimiter),
    EncodingType: doc.encodingType,
    IsTruncated: doc.isTruncated,
    Contents: doc.contents.map((o) => contentsNode(o, enc)),
    CommonPrefixes: commonPrefixNodes(doc.commonPrefixes, enc),
  });
}

// ---------------------------------------------------------------------------------------
// Bucket location

/** LocationConstraint (GetBucketLocation): empty for us-east-1, as AWS S3 answers. */
export function buildLocationConstraint(region: string): string {
  return buildXmlText('LocationConstraint', region === 'us-east-1' ? '' : region);
}

/** CreateBucketConfiguration (CreateBucket request body). An empty body is an empty configuration. */
export interface CreateBucketConfiguration {
  locationConstraint?: string;
}

export function parseCreateBucketConfiguration(body: string | Buffer): CreateBucketConfiguration {
  if (body.toString().trim() === '') return {};
  const root = parseXml(body, 'CreateBucketConfiguration');
  const location = textOf(root, 'LocationConstraint')?.trim();
  return location === undefined || location === '' ? {} : { locationConstraint: location };
}

// ---------------------------------------------------------------------------------------
// Multipart upload

/** InitiateMultipartUploadResult (CreateMultipartUpload). */
export interface InitiateMultipartUploadResult {
  bucket: string;
  key: string;
  uploadId: string;
}

export function buildInitiateMultipartUploadResult(doc: InitiateMultipartUploadResult): string {
  return buildXml('InitiateMultipartUploadResult', { Bucket: doc.bucket, Key: doc.key, UploadId: doc.uploadId });
}

export interface CompletedPart {
  partNumber: number;
  /** As sent, usually quoted; compare with `unquoteEtag`. */
  etag: string;
  checksums: Checksums;
}

/** CompleteMultipartUpload (request body). */
export interface CompleteMultipartUpload {
  parts: CompletedPart[];
}

export const MAX_PART_NUMBER = 10_000;

/**
 * Parts must be listed in strictly ascending order (InvalidPartOrder); an empty list, or a
 * part without PartNumber or ETag, is MalformedXML.
 */
export function parseCompleteMultipartUpload(body: string | Buffer): CompleteMultipartUpload {
  const root = parseXml(body, 'CompleteMultipartUpload');
  const parts = childrenOf(root, 'Part').map((el): CompletedPart => {
    const num = textOf(el, 'PartNumber')?.trim();
    const etag = textOf(el, 'ETag')?.trim();
    if (num === undefined || etag === undefined || !/^\d{1,9}$/.test(num)) throw malformedXml('Part needs a numeric PartNumber and an ETag');
    const partNumber = Number(num);
    if (partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new S3Error('InvalidArgument', {
        message: `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
        extra: { ArgumentName: 'partNumber', ArgumentValue: num },
      });
    }
    return { partNumber, etag, checksums: parseChecksums(el) };
  });
  if (parts.length === 0) throw malformedXml('no Part');
  for (let i = 1; i < parts.length; i++) {
    if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) throw new S3Error('InvalidPartOrder');
  }
  return { parts };
}

function parseChecksums(el: XmlObject): Checksums {
  const out: Checksums = {};
  for (const [field, name] of CHECKSUM_ELEMENTS) {
    const v = textOf(el, name)?.trim();
    if (v !== undefined && v !== '') out[field] = v;
  }
  return out;
}

/** CompleteMultipartUploadResult. */
export interface CompleteMultipartUploadResult {
  location: string;
  bucket: string;
  key: string;
  etag: string;
  checksums?: Checksums;
  checksumType?: ChecksumType;
}

export function buildCompleteMultipartUploadResult(doc: CompleteMultipartUploadResult): string {
  return buildXml('CompleteMultipartUploadResult', {
    Location: doc.location,
    Bucket: doc.bucket,
    Key: doc.key,
    ETag: quoteEtag(doc.etag),
    ...checksumNodes(doc.checksums),
    ChecksumType: doc.checksumType,
  });
}

export interface PartEntry {
  partNumber: number;
  lastModified: Timestamp;
  etag: string;
  size: number;
  checksums?: Checksums;
}

/** ListPartsResult (ListParts). */
export interface ListPartsResult {
  bucket: string;
  key: string;
  uploadId: string;
  partNumberMarker: number;
  nextPartNumberMarker?: number;
  maxParts: number;
  isTruncated: boolean;
  parts: PartEntry[];
  initiator: Owner;
  owner: Owner;
  storageClass?: StorageClass;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
}

export function buildListPartsResult(doc: ListPartsResult): string {
  return buildXml('ListPartsResult', {
    Bucket: doc.bucket,
    Key: doc.key,
    UploadId: doc.uploadId,
    PartNumberMarker: doc.partNumberMarker,
    NextPartNumberMarker: doc.nextPartNumberMarker,
    MaxParts: doc.maxParts,
    IsTruncated: doc.isTruncated,
    Part: doc.parts.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: formatIsoDate(p.lastModified),
      ETag: quoteEtag(p.etag),
      Size: p.size,
      ...checksumNodes(p.checksums),
    })),
    Initiator: ownerNode(doc.initiator),
    Owner: ownerNode(doc.owner),
    StorageClass: doc.storageClass ?? 'STANDARD',
    ChecksumAlgorithm: doc.checksumAlgorithm,
    ChecksumType: doc.checksumType,
  });
}

export interface UploadEntry {
  key: string;
  uploadId: string;
  initiator: Owner;
  owner: Owner;
  storageClass?: StorageClass;
  initiated: Timestamp;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
}

/** ListMultipartUploadsResult (ListMultipartUploads). */
export interface ListMultipartUploadsResult {
  bucket: string;
  keyMarker: string;
  uploadIdMarker: string;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
  delimiter?: string;
  prefix?: string;
  maxUploads: number;
  isTruncated: boolean;
  encodingType?: EncodingType;
  uploads: UploadEntry[];
  commonPrefixes: string[];
}

export function buildListMultipartUploadsResult(doc: ListMultipartUploadsResult): string {
  const enc = encoder(doc.encodingType);
  return buildXml('ListMultipartUploadsResult', {
    Bucket: doc.bucket,
    KeyMarker: enc(doc.keyMarker),
    UploadIdMarker: doc.uploadIdMarker,
    NextKeyMarker: enc(doc.nextKeyMarker),
    NextUploadIdMarker: doc.nextUploadIdMarker,
    Delimiter: enc(doc.delimiter),
    Prefix: enc(doc.prefix),
    MaxUploads: doc.maxUploads,
    EncodingType: doc.encodingType,
    IsTruncated: doc.isTruncated,
    Upload: doc.uploads.map((u) => ({
      Key: enc(u.key),
      UploadId: u.uploadId,
      Initiator: ownerNode(u.initiator),
      Owner: ownerNode(u.owner),
      StorageClass: u.storageClass ?? 'STANDARD',
      Initiated: formatIsoDate(u.initiated),
      ChecksumAlgorithm: u.checksumAlgorithm,
      ChecksumType: u.checksumType,
    })),
    CommonPrefixes: commonPrefixNodes(doc.commonPrefixes, enc),
  });
}

// ---------------------------------------------------------------------------------------
// DeleteObjects

export const MAX_DELETE_OBJECTS = 1000;

export interface ObjectIdentifier {
  /** Exactly as sent: keys may begin or end with spaces. */
  key: string;
  versionId?: string;
  etag?: string;
}

/** Delete (DeleteObjects request body). */
export interface DeleteRequest {
  quiet: boolean;
  objects: ObjectIdentifier[];
}

/** 1 to 1000 Object elements, each with a Key, else MalformedXML (as AWS S3). */
export function parseDelete(body: string | Buffer): DeleteRequest {
  const root = parseXml(body, 'Delete');
  const quietText = textOf(root, 'Quiet')?.trim().toLowerCase();
  if (quietText !== undefined && quietText !== 'true' && quietText !== 'false') throw malformedXml('Quiet must be true or false');
  const objects = childrenOf(root, 'Object').map((el): ObjectIdentifier => {
    const key = textOf(el, 'Key');
    if (key === undefined) throw malformedXml('Object without Key');
    const versionId = textOf(el, 'VersionId')?.trim();
    const etag = textOf(el, 'ETag')?.trim();
    return { key, ...(versionId !== undefined && { versionId }), ...(etag !== undefined && { etag }) };
  });
  if (objects.length === 0 || objects.length > MAX_DELETE_OBJECTS) throw malformedXml(`${objects.length} objects, expected 1 to ${MAX_DELETE_OBJECTS}`);
  return { quiet: quietText === 'true', objects };
}

export interface DeletedEntry {
  key: string;
  versionId?: string;
  deleteMarker?: boolean;
  deleteMarkerVersionId?: string;
}

export interface DeleteErrorEntry {
  key: string;
  versionId?: string;
  code: string;
  message: string;
}

/** DeleteResult (DeleteObjects). With Quiet, the caller leaves out the successes. */
export interface DeleteResult {
  deleted: DeletedEntry[];
  errors: DeleteErrorEntry[];
}

export function buildDeleteResult(doc: DeleteResult): string {
  return buildXml('DeleteResult', {
    Deleted: doc.deleted.map((d) => ({
      Key: d.key,
      VersionId: d.versionId,
      DeleteMarker: d.deleteMarker === true ? true : undefined,
      DeleteMarkerVersionId: d.deleteMarkerVersionId,
    })),
    Error: doc.errors.map((e) => ({ Key: e.key, VersionId: e.versionId, Code: e.code, Message: e.message })),
  });
}

// ---------------------------------------------------------------------------------------
// Copy

/** CopyObjectResult (CopyObject). */
export interface CopyObjectResult {
  etag: string;
  lastModified: Timestamp;
  checksums?: Checksums;
  checksumType?: ChecksumType;
}

export function buildCopyObjectResult(doc: CopyObjectResult): string {
  return buildXml('CopyObjectResult', {
    ETag: quoteEtag(doc.etag),
    LastModified: formatIsoDate(doc.lastModified),
    ChecksumType: doc.checksumType,
    ...checksumNodes(doc.checksums),
  });
}

/** CopyPartResult (UploadPartCopy). */
export interface CopyPartResult {
  etag: string;
  lastModified: Timestamp;
  checksums?: Checksums;
}

export function buildCopyPartResult(doc: CopyPartResult): string {
  return buildXml('CopyPartResult', {
    ETag: quoteEtag(doc.etag),
    LastModified: formatIsoDate(doc.lastModified),
    ...checksumNodes(doc.checksums),
  });
}

// ---------------------------------------------------------------------------------------
// Tagging

export interface TagEntry {
  key: string;
  value: string;
}

/** Tagging (GetObjectTagging and GetBucketTagging answers, PutObjectTagging and PutBucketTagging bodies). */
export interface Tagging {
  tagSet: TagEntry[];
}

export function buildTagging(doc: Tagging): string {
  // A tag set is a set: answer it in key order whatever order it was written in, as S3 does.
  const sorted = [...doc.tagSet].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return buildXml('Tagging', { TagSet: { Tag: sorted.map((t) => ({ Key: t.key, Value: t.value })) } });
}

/**
 * A Tagging body: a TagSet of Tag elements, each with a Key and a Value (an empty Value is
 * allowed). Structure errors are MalformedXML; the limits on tags are the caller's (they
 * differ between objects and buckets).
 */
export function parseTagging(body: string | Buffer): Tagging {
  const root = parseXml(body, 'Tagging');
  const sets = childrenOf(root, 'TagSet');
  if (sets.length !== 1) throw malformedXml('Tagging needs exactly one TagSet');
  const tags = childrenOf(sets[0]!, 'Tag');
  return {
    tagSet: tags.map((el): TagEntry => {
      const key = textOf(el, 'Key');
      const value = textOf(el, 'Value');
      if (key === undefined || value === undefined) throw malformedXml('Tag needs a Key and a Value');
      return { key, value };
    }),
  };
}
