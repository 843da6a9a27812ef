import { S3Error } from './errors.js';
import { headerUtf8 } from '../header-utf8.js';

/** Request headers as Node gives them (lower-case names). */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One header's value; repeated headers are joined with ", " as HTTP allows. */
export function headerOf(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' || v === undefined ? v : v.join(', ');
}

// ---------------------------------------------------------------------------------------
// Dates

/** RFC 1123 (IMF-fixdate), as in Last-Modified: `Tue, 24 Nov 2026 12:56:42 GMT`. */
export function formatHttpDate(t: Date | number): string {
  return new Date(t).toUTCString();
}

/** ISO 8601 with milliseconds, as in S3 XML: `2026-11-24T12:56:42.000Z`. */
export function formatIsoDate(t: Date | number): string {
  return new Date(t).toISOString();
}

/** An HTTP date (If-Modified-Since, Expires…); undefined when it does not parse, which callers ignore. */
export function parseHttpDate(value: string | undefined): Date | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

// ---------------------------------------------------------------------------------------
// ETags

/** ETags travel quoted in headers and XML; metadata may hold them bare. */
export function quoteEtag(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag : `"${etag}"`;
}

export function unquoteEtag(etag: string): string {
  const t = etag.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

// ---------------------------------------------------------------------------------------
// Range

/** An inclusive byte range inside an object. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The `Range` header of GetObject/HeadObject, interpreted as AWS S3 does
 * (https://www.rfc-editor.org/rfc/rfc9110#section-14.2, with AWS's choices):
 * - absent, another unit, malformed, or several ranges: `null`, the whole object (200);
 * - `bytes=a-b`: end clamped to size-1; `bytes=a-`: to the end; `bytes=-n`: the last n
 *   bytes, the whole object when n >= size;
 * - a start at or past the end, `bytes=-0`, or any range on an empty object: InvalidRange (416).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  // No two `\s*` meet around an empty number: on a long run of spaces that backtracks.
  const m = /^\s*bytes\s*=\s*(?:(\d+)\s*)?-\s*(?:(\d+)\s*)?$/i.exec(header);
  if (!m) return null;
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return null;
  if (first !== '' && last !== '' && Number(last) < Number(first)) return null;
  if (first === '') {
    const n = Number(last);
    if (n === 0 || size === 0) throw invalidRange(header, size);
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) throw invalidRange(header, size);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { start, end };
}

function invalidRange(header: string, size: number): S3Error {
  return new S3Error('InvalidRange', {
    extra: { RangeRequested: header, ActualObjectSize: String(size) },
    headers: { 'content-range': `bytes */${size}` },
  });
}

/** `Content-Range` of a 206 answer. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/**
 * `x-amz-copy-source-range` of UploadPartCopy: unlike `Range`, only `bytes=first-last`
 * is accepted and anything else is an error. Whether it fits the source is checked later.
 */
export function parseCopySourceRange(header: string | undefined): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw new S3Error('InvalidArgument', {
      message: 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      extra: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header },
    });
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

// ---------------------------------------------------------------------------------------
// Stored object headers

/** The standard headers S3 keeps with an object and returns on GET/HEAD. */
export interface ObjectHeaders {
  contentType?: string;
  contentEncoding?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  /** Kept as sent: S3 returns Expires verbatim, even when it is not a valid date. */
  expires?: string;
}

const STORED: ReadonlyArray<readonly [keyof ObjectHeaders, string]> = [
  ['contentType', 'content-type'],
  ['contentEncoding', 'content-encoding'],
  ['cacheControl', 'cache-control'],
  ['contentDisposition', 'content-disposition'],
  ['contentLanguage', 'content-language'],
  ['expires', 'expires'],
];

/** What S3 answers for an object stored without a Content-Type. */
export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';

/**
 * The headers to store from a PutObject/CreateMultipartUpload/CopyObject (REPLACE) request,
 * kept as sent: AWS S3 returns them byte for byte (`deflate, gzip` stays `deflate, gzip`).
 */
export function extractObjectHeaders(headers: HeaderBag): ObjectHeaders {
  const out: ObjectHeaders = {};
  for (const [field, name] of STORED) {
    const v = headerOf(headers, name);
    if (v !== undefined) out[field] = v;
  }
  if (out.contentEncoding !== undefined) {
    const kept = withoutAwsChunked(out.contentEncoding);
    if (kept !== '') out.contentEncoding = kept;
    else delete out.contentEncoding;
  }
  return out;
}

/**
 * A Content-Encoding without its `aws-chunked` codings: that is a transfer detail of SigV4
 * streaming, not of the object, and AWS S3 drops it from what it stores. The other codings
 * keep their spelling and separators.
 */
export function withoutAwsChunked(contentEncoding: string): string {
  const codings = contentEncoding.split(',');
  const kept = codings.filter((c) => c.trim().toLowerCase() !== 'aws-chunked');
  if (kept.length === codings.length) return contentEncoding;
  return kept.join(',').trim();
}

/** `response-*` query overrides of GetObject/HeadObject, by the header they replace. */
export type ResponseOverrides = Partial<Record<
  'content-type' | 'content-language' | 'expires' | 'cache-control' | 'content-disposition' | 'content-encoding', string
>>;

export const RESPONSE_OVERRIDE_PARAMS: Readonly<Record<string, keyof ResponseOverrides>> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

/** GET/HEAD response headers for stored object headers, with `response-*` overrides applied. */
export function objectResponseHeaders(stored: ObjectHeaders, overrides: ResponseOverrides = {}): Record<string, string> {
  const out: Record<string, string> = { 'content-type': DEFAULT_CONTENT_TYPE };
  for (const [field, name] of STORED) {
    const v = stored[field];
    if (v !== undefined) out[name] = v;
  }
  for (const [name, v] of Object.entries(overrides)) if (v !== undefined) out[name] = v;
  return out;
}

// ---------------------------------------------------------------------------------------
// User metadata

const META_PREFIX = 'x-amz-meta-';
/** Limit on user metadata: the UTF-8 bytes of every name (without the prefix) and value. */
export const MAX_USER_METADATA_BYTES = 2048;


/**
 * A stored value as a response header. HTTP clients read header bytes as ISO-8859-1 (Python's
 * http.client under boto3, Node under the JS SDK), so text that Latin-1 can spell goes out in
 * it and reads back exactly as it was put (`é` from boto3 reads back as `é`). Anything else,
 * and control characters that a header cannot carry, goes out as an RFC 2047 encoded-word of
 * its UTF-8, as AWS S3 documents for non-ASCII metadata, so no value can break the response.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html
 */
function toWire(value: string): string {
  if (!/[^\t\u0020-\u007e\u0080-\u00ff]/.test(value)) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/**
 * The `x-amz-meta-*` headers of a request, names lower-cased and without the prefix, values
 * decoded from UTF-8. Over 2 KB in total: MetadataTooLarge, as AWS S3.
 */
export function extractUserMetadata(headers: HeaderBag): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const rawName of Object.keys(headers)) {
    const lower = rawName.toLowerCase();
    if (!lower.startsWith(META_PREFIX)) continue;
    const raw = headerOf(headers, rawName);
    if (raw === undefined) continue;
    const name = lower.slice(META_PREFIX.length);
    if (name === '') {
      throw new S3Error('InvalidArgument', { message: 'User metadata name must not be empty', extra: { ArgumentName: rawName, ArgumentValue: raw } });
    }
    const value = headerUtf8(raw);
    meta[name] = meta[name] === undefined ? value : `${meta[name]},${value}`;
  }
  checkUserMetadataSize(userMetadataSize(meta));
  return meta;
}

/** Bytes counted against the 2 KB limit. */
export function userMetadataSize(meta: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [k, v] of Object.entries(meta)) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  return bytes;
}

/** Throws MetadataTooLarge when `bytes` exceeds the 2 KB limit. */
export function checkUserMetadataSize(bytes: number): void {
  if (bytes > MAX_USER_METADATA_BYTES) {
    throw new S3Error('MetadataTooLarge', { extra: { Size: String(bytes), MaxSizeAllowed: String(MAX_USER_METADATA_BYTES) } });
  }
}

/** Response headers for stored user metadata (toWire says how non-ASCII values are sent). */
export function userMetadataHeaders(meta: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) out[META_PREFIX + k] = toWire(v);
  return out;
}
