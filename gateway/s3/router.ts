import { isIP } from 'node:net';
import { S3Error } from './errors.js';
import { headerOf, parseCopySourceRange, RESPONSE_OVERRIDE_PARAMS, type ByteRange, type HeaderBag, type ResponseOverrides } from './headers.js';
import { checkObjectKey } from './names.js';

/**
 * Which S3 operation a request is, decided from method, host, path and query alone, before
 * anything is looked up. The dispatcher switches on `endpoint.kind` (the AWS operation name).
 */

/**
 * What a request must be allowed to do on its bucket: `none` (CORS preflight),
 * `authenticated` (any valid key: ListBuckets, CreateBucket), `read`, `write`, or `owner`
 * (bucket configuration and deletion).
 */
export type Permission = 'none' | 'authenticated' | 'read' | 'write' | 'owner';

/**
 * Every endpoint kind, with the permission it needs. A kind exists only by being listed
 * here, so none lacks a permission.
 */
const PERMISSIONS = {
  // Service and preflight.
  ListBuckets: 'authenticated',
  CreateBucket: 'authenticated',
  Options: 'none',
  // Bucket.
  HeadBucket: 'read',
  DeleteBucket: 'owner',
  GetBucketLocation: 'read',
  ListObjects: 'read',
  ListObjectsV2: 'read',
  ListObjectVersions: 'read',
  ListMultipartUploads: 'read',
  DeleteObjects: 'write',
  // Authorized by the signed form policy, which the handler checks; the policy's key needs write.
  PostObject: 'write',
  GetBucketVersioning: 'read',
  PutBucketVersioning: 'owner',
  GetBucketTagging: 'read',
  PutBucketTagging: 'owner',
  DeleteBucketTagging: 'owner',
  GetBucketCors: 'owner',
  PutBucketCors: 'owner',
  DeleteBucketCors: 'owner',
  // Grantable (READ_ACP / WRITE_ACP, or a policy); the owner always reaches them (authorize.ts OWNER_REPAIRS).
  GetBucketAcl: 'read',
  PutBucketAcl: 'write',
  GetBucketPolicy: 'owner',
  PutBucketPolicy: 'owner',
  DeleteBucketPolicy: 'owner',
  GetBucketPolicyStatus: 'owner',
  GetBucketLifecycleConfiguration: 'owner',
  PutBucketLifecycleConfiguration: 'owner',
  DeleteBucketLifecycle: 'owner',
  GetObjectLockConfiguration: 'owner',
  PutObjectLockConfiguration: 'owner',
  GetBucketEncryption: 'owner',
  PutBucketEncryption: 'owner',
  DeleteBucketEncryption: 'owner',
  GetBucketWebsite: 'owner',
  PutBucketWebsite: 'owner',
  DeleteBucketWebsite: 'owner',
  GetBucketLogging: 'owner',
  PutBucketLogging: 'owner',
  GetBucketNotificationConfiguration: 'owner',
  PutBucketNotificationConfiguration: 'owner',
  GetBucketReplication: 'owner',
  PutBucketReplication: 'owner',
  DeleteBucketReplication: 'owner',
  GetBucketRequestPayment: 'read',
  PutBucketRequestPayment: 'owner',
  GetBucketAccelerateConfiguration: 'owner',
  PutBucketAccelerateConfiguration: 'owner',
  GetBucketOwnershipControls: 'owner',
  PutBucketOwnershipControls: 'owner',
  DeleteBucketOwnershipControls: 'owner',
  GetPublicAccessBlock: 'owner',
  PutPublicAccessBlock: 'owner',
  DeletePublicAccessBlock: 'owner',
  // Object.
  GetObject: 'read',
  HeadObject: 'read',
  PutObject: 'write',
  // Write on the destination; read on the source bucket is the handler's check.
  CopyObject: 'write',
  DeleteObject: 'write',
  CreateMultipartUpload: 'write',
  UploadPart: 'write',
  UploadPartCopy: 'write',
  CompleteMultipartUpload: 'write',
  AbortMultipartUpload: 'write',
  ListParts: 'read',
  GetObjectTagging: 'read',
  PutObjectTagging: 'write',
  DeleteObjectTagging: 'write',
  // Not owner-only: an ACL (READ_ACP / WRITE_ACP) or a bucket policy may grant s3:GetObjectAcl / s3:PutObjectAcl, as on S3.
  GetObjectAcl: 'read',
  PutObjectAcl: 'write',
  GetObjectRetention: 'read',
  PutObjectRetention: 'write',
  GetObjectLegalHold: 'read',
  PutObjectLegalHold: 'write',
  GetObjectAttributes: 'read',
  RestoreObject: 'write',
} as const satisfies Record<string, Permission>;

export type EndpointKind = keyof typeof PERMISSIONS;

/**
 * The requests that create an object, at once or when their upload completes: the ones whose
 * headers (x-amz-acl, x-amz-storage-class, x-amz-server-side-encryption, ...) set what the new
 * object keeps.
 */
export const OBJECT_WRITES: ReadonlySet<string> = new Set<EndpointKind>(['PutObject', 'CopyObject', 'CreateMultipartUpload']);
export const ENDPOINT_KINDS = Object.keys(PERMISSIONS) as readonly EndpointKind[];

type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';

/** Bucket subresources without parameters of their own: `?name` and the method give the kind. */
const BUCKET_CONFIG = {
  location: { GET: 'GetBucketLocation' },
  versioning: { GET: 'GetBucketVersioning', PUT: 'PutBucketVersioning' },
  tagging: { GET: 'GetBucketTagging', PUT: 'PutBucketTagging', DELETE: 'DeleteBucketTagging' },
  cors: { GET: 'GetBucketCors', PUT: 'PutBucketCors', DELETE: 'DeleteBucketCors' },
  acl: { GET: 'GetBucketAcl', PUT: 'PutBucketAcl' },
  policy: { GET: 'GetBucketPolicy', PUT: 'PutBucketPolicy', DELETE: 'DeleteBucketPolicy' },
  policyStatus: { GET: 'GetBucketPolicyStatus' },
  lifecycle: { GET: 'GetBucketLifecycleConfiguration', PUT: 'PutBucketLifecycleConfiguration', DELETE: 'DeleteBucketLifecycle' },
  'object-lock': { GET: 'GetObjectLockConfiguration', PUT: 'PutObjectLockConfiguration' },
  encryption: { GET: 'GetBucketEncryption', PUT: 'PutBucketEncryption', DELETE: 'DeleteBucketEncryption' },
  website: { GET: 'GetBucketWebsite', PUT: 'PutBucketWebsite', DELETE: 'DeleteBucketWebsite' },
  logging: { GET: 'GetBucketLogging', PUT: 'PutBucketLogging' },
  notification: { GET: 'GetBucketNotificationConfiguration', PUT: 'PutBucketNotificationConfiguration' },
  replication: { GET: 'GetBucketReplication', PUT: 'PutBucketReplication', DELETE: 'DeleteBucketReplication' },
  requestPayment: { GET: 'GetBucketRequestPayment', PUT: 'PutBucketRequestPayment' },
  accelerate: { GET: 'GetBucketAccelerateConfiguration', PUT: 'PutBucketAccelerateConfiguration' },
  ownershipControls: { GET: 'GetBucketOwnershipControls', PUT: 'PutBucketOwnershipControls', DELETE: 'DeleteBucketOwnershipControls' },
  publicAccessBlock: { GET: 'GetPublicAccessBlock', PUT: 'PutPublicAccessBlock', DELETE: 'DeletePublicAccessBlock' },
} as const satisfies Record<string, Partial<Record<Method, EndpointKind>>>;

/** Object subresources whose only parameter is `versionId`. */
const OBJECT_CONFIG = {
  tagging: { GET: 'GetObjectTagging', PUT: 'PutObjectTagging', DELETE: 'DeleteObjectTagging' },
  acl: { GET: 'GetObjectAcl', PUT: 'PutObjectAcl' },
  retention: { GET: 'GetObjectRetention', PUT: 'PutObjectRetention' },
  'legal-hold': { GET: 'GetObjectLegalHold', PUT: 'PutObjectLegalHold' },
  attributes: { GET: 'GetObjectAttributes' },
  restore: { POST: 'RestoreObject' },
} as const satisfies Record<string, Partial<Record<Method, EndpointKind>>>;

type ValuesOf<T> = { [K in keyof T]: T[K][keyof T[K]] }[keyof T];
type BucketConfigKind = Extract<ValuesOf<typeof BUCKET_CONFIG>, EndpointKind>;
type ObjectConfigKind = Extract<ValuesOf<typeof OBJECT_CONFIG>, EndpointKind>;

/**
 * Subresources S3 defines that this gateway does not route: present on a request, they
 * answer NotImplemented rather than being ignored and served as another operation.
 */
const UNROUTED = ['analytics', 'inventory', 'metrics', 'intelligent-tiering', 'select', 'torrent', 'session',
  'metadataTable', 'metadataConfiguration', 'renameObject', 'abac'];

/**
 * The order in which subresources are looked for when a request carries several; the
 * first one present decides the operation.
 */
const SUBRESOURCES = ['uploadId', 'uploads', 'delete', 'versions', ...Object.keys(BUCKET_CONFIG), ...Object.keys(OBJECT_CONFIG), ...UNROUTED];

export interface ListParams {
  prefix: string;
  delimiter?: string;
  encodingType?: 'url';
}

export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

export interface ObjectReadParams {
  partNumber?: number;
  versionId?: string;
  /** `response-*` overrides by the header they replace. */
  responseOverrides: ResponseOverrides;
}

/** Every S3 operation this gateway recognizes, named after the AWS operation. */
export type Endpoint =
  | { kind: 'ListBuckets'; prefix?: string; continuationToken?: string; maxBuckets?: number; bucketRegion?: string }
  | ({ kind: 'ListObjectsV2'; maxKeys: number; continuationToken?: string; startAfter?: string; fetchOwner: boolean } & ListParams)
  | ({ kind: 'ListObjects'; maxKeys: number; marker: string } & ListParams)
  | ({ kind: 'ListObjectVersions'; maxKeys: number; keyMarker?: string; versionIdMarker?: string } & ListParams)
  | ({ kind: 'ListMultipartUploads'; maxUploads: number; keyMarker?: string; uploadIdMarker?: string } & ListParams)
  | ({ kind: 'GetObject' | 'HeadObject' } & ObjectReadParams)
  | { kind: 'DeleteObject'; versionId?: string }
  | { kind: 'CopyObject'; copySource: CopySource }
  | { kind: 'UploadPart'; uploadId: string; partNumber: number }
  | { kind: 'UploadPartCopy'; uploadId: string; partNumber: number; copySource: CopySource; copySourceRange?: ByteRange }
  | { kind: 'CompleteMultipartUpload' | 'AbortMultipartUpload'; uploadId: string }
  | { kind: 'ListParts'; uploadId: string; maxParts?: number; partNumberMarker?: number }
  | { kind: ObjectConfigKind; versionId?: string }
  | {
    kind: BucketConfigKind | 'CreateBucket' | 'HeadBucket' | 'DeleteBucket' | 'DeleteObjects' | 'PostObject'
      | 'PutObject' | 'CreateMultipartUpload' | 'Options';
  };

export function permissionOf(ep: Endpoint): Permission {
  return PERMISSIONS[ep.kind];
}

/** The AWS operation name, for logs and metrics. */
export function endpointName(ep: Endpoint): EndpointKind {
  return ep.kind;
}

export interface EndpointInput {
  method: string;
  /** The request target's path exactly as received, still percent-encoded. */
  rawPath: string;
  query: URLSearchParams;
  headers: HeaderBag;
  /** The Host header (with any port); absent means path style. */
  host?: string;
}

export interface RouterOptions {
  /** Domains under which `<bucket>.<domain>` is a virtual-hosted-style bucket, added to the defaults. */
  baseDomains?: readonly string[];
}

export interface ParsedEndpoint {
  bucket?: string;
  key?: string;
  endpoint: Endpoint;
  style: 'path' | 'virtual-hosted';
}

export const DEFAULT_BASE_DOMAINS: readonly string[] = ['localhost', 's3.localhost'];

/** Parse a request into its bucket, key and operation; throws S3Error for what S3 rejects at this stage. */
export function parseEndpoint(input: EndpointInput, options: RouterOptions = {}): ParsedEndpoint {
  const method = input.method.toUpperCase();
  const hostBucket = bucketFromHost(input.host, options.baseDomains);
  const path = stripQuery(input.rawPath);
  let bucket: string | undefined;
  let key: string | undefined;
  if (hostBucket !== undefined) {
    bucket = hostBucket;
    key = nonEmpty(decodePath(path.replace(/^\//, '')));
  } else {
    const rest = path.replace(/^\//, '');
    const slash = rest.indexOf('/');
    const rawBucket = slash < 0 ? rest : rest.slice(0, slash);
    bucket = nonEmpty(decodePath(rawBucket));
    key = slash < 0 ? undefined : nonEmpty(decodePath(rest.slice(slash + 1)));
    if (bucket === undefined && key !== undefined) throw new S3Error('InvalidURI');
  }
  const style = hostBucket !== undefined ? 'virtual-hosted' : 'path';
  if (key !== undefined) checkObjectKey(key);

  const q = input.query;
  let endpoint: Endpoint;
  if (method === 'OPTIONS') endpoint = { kind: 'Options' };
  else if (bucket === undefined) endpoint = serviceEndpoint(method, q);
  else if (key === undefined) endpoint = bucketEndpoint(method, q);
  else endpoint = objectEndpoint(method, q, input.headers);
  return { ...(bucket !== undefined && { bucket }), ...(key !== undefined && { key }), endpoint, style };
}

/**
 * The bucket a request is addressed to, read as parseEndpoint reads it but never refusing:
 * undefined where the path or host names none or does not decode. For what must hold even
 * when the request itself is refused, such as the bucket's CORS headers on an error answer.
 */
export function bucketOfRequest(input: Pick<EndpointInput, 'rawPath' | 'host'>, options: RouterOptions = {}): string | undefined {
  const hostBucket = bucketFromHost(input.host, options.baseDomains);
  if (hostBucket !== undefined) return hostBucket;
  const rest = stripQuery(input.rawPath).replace(/^\//, '');
  const slash = rest.indexOf('/');
  try {
    return nonEmpty(decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash)));
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Host and path

function bucketFromHost(host: string | undefined, extra: readonly string[] = []): string | undefined {
  if (host === undefined) return undefined;
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) return undefined; // IPv6 literal
  name = name.replace(/:\d*$/, '').replace(/\.$/, '');
  if (isIP(name)) return undefined;
  const domains = [...DEFAULT_BASE_DOMAINS, ...extra]
    .map((d) => d.trim().toLowerCase().replace(/^\./, '').replace(/:\d*$/, ''))
    .filter((d) => d !== '')
    .sort((a, b) => b.length - a.length);
  for (const domain of domains) {
    if (name === domain) return undefined;
    if (name.endsWith(`.${domain}`)) return name.slice(0, -(domain.length + 1));
  }
  return undefined;
}

function stripQuery(rawPath: string): string {
  // A `?` in a key arrives as %3F, so a raw one can only start the query.
  const i = rawPath.indexOf('?');
  return i < 0 ? rawPath : rawPath.slice(0, i);
}

/** Percent-decoding only: in a path `+` is a literal plus, unlike in a query string. */
function decodePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch (err) {
    throw new S3Error('InvalidURI', { cause: err });
  }
}

function nonEmpty(s: string): string | undefined {
  return s === '' ? undefined : s;
}

// ---------------------------------------------------------------------------------------
// Dispatch per level

function serviceEndpoint(method: string, q: URLSearchParams): Endpoint {
  if (method !== 'GET') throw methodNotAllowed(method, 'SERVICE');
  const maxBuckets = intParam(q, 'max-buckets', 1, 10_000);
  return {
    kind: 'ListBuckets',
    ...optional('prefix', q.get('prefix')),
    ...optional('continuationToken', q.get('continuation-token')),
    ...optional('bucketRegion', q.get('bucket-region')),
    ...(maxBuckets !== undefined && { maxBuckets }),
  };
}

function bucketEndpoint(method: string, q: URLSearchParams): Endpoint {
  if (!isMethod(method)) throw methodNotAllowed(method, 'BUCKET');
  if (method === 'HEAD') return { kind: 'HeadBucket' };
  const sub = SUBRESOURCES.find((s) => q.has(s));
  if (sub === undefined) {
    switch (method) {
      case 'GET':
        return q.has('list-type') ? listObjectsV2(q) : listObjectsV1(q);
      case 'PUT':
        return { kind: 'CreateBucket' };
      case 'DELETE':
        return { kind: 'DeleteBucket' };
      case 'POST':
        // Whether the body is multipart/form-data is the PostObject handler's check.
        return { kind: 'PostObject' };
    }
  }
  if (sub === 'uploads' && method === 'GET') return listMultipartUploads(q);
  if (sub === 'versions' && method === 'GET') return listObjectVersions(q);
  if (sub === 'delete' && method === 'POST') return { kind: 'DeleteObjects' };
  const routes: Partial<Record<Method, BucketConfigKind>> | undefined = (BUCKET_CONFIG as Record<string, Partial<Record<Method, BucketConfigKind>>>)[sub];
  const kind = routes?.[method];
  if (kind !== undefined) return { kind };
  const knownHere = routes !== undefined || sub === 'uploads' || sub === 'versions' || sub === 'delete';
  throw knownHere ? methodNotAllowed(method, 'BUCKET') : notImplemented(sub);
}

function objectEndpoint(method: string, q: URLSearchParams, headers: HeaderBag): Endpoint {
  if (!isMethod(method)) throw methodNotAllowed(method, 'OBJECT');
  if (method === 'HEAD') return { kind: 'HeadObject', ...objectReadParams(q) };
  const sub = SUBRESOURCES.find((s) => q.has(s));
  if (sub === 'uploadId' || (sub === undefined && method === 'PUT' && q.has('partNumber'))) {
    return multipartEndpoint(method, q, headers);
  }
  if (sub === 'uploads' && method === 'POST') return { kind: 'CreateMultipartUpload' };
  if (sub === undefined) {
    switch (method) {
      case 'GET':
        if (q.has('partNumber') && headerOf(headers, 'range') !== undefined) {
          throw new S3Error('InvalidRequest', { message: 'Cannot specify both Range header and partNumber query parameter' });
        }
        return { kind: 'GetObject', ...objectReadParams(q) };
      case 'PUT': {
        const source = headerOf(headers, 'x-amz-copy-source');
        return source === undefined ? { kind: 'PutObject' } : { kind: 'CopyObject', copySource: parseCopySource(source) };
      }
      case 'DELETE':
        return { kind: 'DeleteObject', ...versionIdParam(q) };
      case 'POST':
        throw methodNotAllowed(method, 'OBJECT');
    }
  }
  const routes: Partial<Record<Method, ObjectConfigKind>> | undefined = (OBJECT_CONFIG as Record<string, Partial<Record<Method, ObjectConfigKind>>>)[sub];
  const kind = routes?.[method];
  if (kind !== undefined) return { kind, ...versionIdParam(q) };
  throw routes !== undefined || sub === 'uploads' ? methodNotAllowed(method, 'OBJECT') : notImplemented(sub);
}

function multipartEndpoint(method: Exclude<Method, 'HEAD'>, q: URLSearchParams, headers: HeaderBag): Endpoint {
  const uploadId = q.get('uploadId');
  switch (method) {
    case 'PUT': {
      if (uploadId === null) throw missingArgument('uploadId');
      const partNumber = intParam(q, 'partNumber', 1, 10_000);
      if (partNumber === undefined) throw missingArgument('partNumber');
      const source = headerOf(headers, 'x-amz-copy-source');
      if (source === undefined) return { kind: 'UploadPart', uploadId: uploadId, partNumber };
      const range = parseCopySourceRange(headerOf(headers, 'x-amz-copy-source-range'));
      return { kind: 'UploadPartCopy', uploadId: uploadId, partNumber, copySource: parseCopySource(source), ...(range && { copySourceRange: range }) };
    }
    case 'GET': {
      const maxParts = intParam(q, 'max-parts', 0, 2_147_483_647);
      const partNumberMarker = intParam(q, 'part-number-marker', 0, 2_147_483_647);
      return {
        kind: 'ListParts',
        uploadId: uploadId ?? '',
        ...(maxParts !== undefined && { maxParts: Math.min(maxParts, 1000) }),
        ...(partNumberMarker !== undefined && { partNumberMarker }),
      };
    }
    case 'POST':
      return { kind: 'CompleteMultipartUpload', uploadId: uploadId ?? '' };
    case 'DELETE':
      return { kind: 'AbortMultipartUpload', uploadId: uploadId ?? '' };
  }
}

// ---------------------------------------------------------------------------------------
// Listings

/** S3 returns at most 1000 entries per page whatever max-keys asks. */
const MAX_PAGE = 1000;

function listParams(q: URLSearchParams): ListParams {
  const encoding = q.get('encoding-type');
  if (encoding !== null && encoding !== '' && encoding.toLowerCase() !== 'url') {
    throw new S3Error('InvalidArgument', { message: 'Invalid Encoding Method specified in Request', extra: { ArgumentName: 'encoding-type', ArgumentValue: encoding } });
  }
  return {
    prefix: q.get('prefix') ?? '',
    ...optional('delimiter', q.get('delimiter')),
    ...(encoding !== null && encoding !== '' && { encodingType: 'url' as const }),
  };
}

function pageSize(q: URLSearchParams, name: string): number {
  return Math.min(intParam(q, name, 0, 2_147_483_647) ?? MAX_PAGE, MAX_PAGE);
}

function listObjectsV2(q: URLSearchParams): Endpoint {
  if (q.get('list-type') !== '2') {
    throw new S3Error('InvalidArgument', { message: 'Invalid List Type specified in Request', extra: { ArgumentName: 'list-type', ArgumentValue: q.get('list-type') ?? '' } });
  }
  const token = q.get('continuation-token');
  return {
    kind: 'ListObjectsV2',
    ...listParams(q),
    maxKeys: pageSize(q, 'max-keys'),
    // Kept even when empty: the answer echoes an empty token (and lists from the start).
    ...(token !== null && { continuationToken: token }),
    ...optional('startAfter', q.get('start-after')),
    fetchOwner: q.get('fetch-owner')?.toLowerCase() === 'true',
  };
}

function listObjectsV1(q: URLSearchParams): Endpoint {
  return { kind: 'ListObjects', ...listParams(q), maxKeys: pageSize(q, 'max-keys'), marker: q.get('marker') ?? '' };
}

function listObjectVersions(q: URLSearchParams): Endpoint {
  return {
    kind: 'ListObjectVersions',
    ...listParams(q),
    maxKeys: pageSize(q, 'max-keys'),
    ...optional('keyMarker', q.get('key-marker')),
    ...optional('versionIdMarker', q.get('version-id-marker')),
  };
}

function listMultipartUploads(q: URLSearchParams): Endpoint {
  return {
    kind: 'ListMultipartUploads',
    ...listParams(q),
    maxUploads: pageSize(q, 'max-uploads'),
    ...optional('keyMarker', q.get('key-marker')),
    ...optional('uploadIdMarker', q.get('upload-id-marker')),
  };
}

// ---------------------------------------------------------------------------------------
// Parameters

function objectReadParams(q: URLSearchParams): ObjectReadParams {
  const partNumber = intParam(q, 'partNumber', 1, 10_000);
  const responseOverrides: ResponseOverrides = {};
  for (const [param, header] of Object.entries(RESPONSE_OVERRIDE_PARAMS)) {
    const v = q.get(param);
    if (v !== null) responseOverrides[header] = v;
  }
  return { ...(partNumber !== undefined && { partNumber }), ...versionIdParam(q), responseOverrides };
}

function versionIdParam(q: URLSearchParams): { versionId?: string } {
  const v = q.get('versionId');
  if (v === null) return {};
  if (v === '') throw new S3Error('InvalidArgument', { message: 'Version id cannot be the empty string', extra: { ArgumentName: 'versionId', ArgumentValue: '' } });
  return { versionId: v };
}

/** A decimal integer query parameter within [min, max], or undefined when absent. */
function intParam(q: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  const n = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) {
    const message = name === 'partNumber'
      ? 'Part number must be an integer between 1 and 10000, inclusive'
      : `Argument ${name} must be an integer between ${min} and ${max}`;
    throw new S3Error('InvalidArgument', { message, extra: { ArgumentName: name, ArgumentValue: raw } });
  }
  return n;
}

function optional<K extends string>(name: K, value: string | null): { [P in K]?: string } {
  return (value === null || value === '' ? {} : { [name]: value }) as { [P in K]?: string };
}

/**
 * `x-amz-copy-source`: `[/]bucket/key[?versionId=id]`, URL-encoded.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html#API_CopyObject_RequestSyntax
 */
export function parseCopySource(header: string): CopySource {
  const invalid = (cause?: unknown) => new S3Error('InvalidArgument', {
    message: 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
    extra: { ArgumentName: 'x-amz-copy-source', ArgumentValue: header },
    cause,
  });
  const qi = header.indexOf('?');
  const path = (qi < 0 ? header : header.slice(0, qi)).replace(/^\//, '');
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw invalid();
  let bucket: string;
  let key: string;
  try {
    bucket = decodeURIComponent(path.slice(0, slash));
    key = decodeURIComponent(path.slice(slash + 1));
  } catch (err) {
    throw invalid(err);
  }
  checkObjectKey(key);
  const out: CopySource = { bucket, key };
  if (qi >= 0) {
    const versionId = new URLSearchParams(header.slice(qi + 1)).get('versionId');
    if (versionId === '') throw invalid();
    if (versionId !== null) out.versionId = versionId;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Errors

function isMethod(m: string): m is Method {
  return m === 'GET' || m === 'HEAD' || m === 'PUT' || m === 'POST' || m === 'DELETE';
}

function methodNotAllowed(method: string, resourceType: 'SERVICE' | 'BUCKET' | 'OBJECT'): S3Error {
  return new S3Error('MethodNotAllowed', { extra: { Method: method, ResourceType: resourceType } });
}

function notImplemented(subresource: string): S3Error {
  return new S3Error('NotImplemented', { message: `The ${subresource} subresource is not implemented` });
}

function missingArgument(name: string): S3Error {
  return new S3Error('InvalidArgument', { message: `The ${name} parameter is required`, extra: { ArgumentName: name, ArgumentValue: '' } });
}
