/**
 * The pieces of the SigV4 canonical request, with S3's rules:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
import { isSecretHeader, REDACTED } from './redact.js';
import { headerUtf8 } from '../header-utf8.js';

/** Request headers as Node gives them (`req.headers` or, better, `req.headersDistinct`). */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One header's value; repeated headers are joined with ',' as SigV4 joins them. */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

/** RFC 3986 percent-encoding of UTF-8, as SigV4 specifies: everything but A-Z a-z 0-9 - _ . ~ */
export function uriEncode(value: string, keepSlash = false): string {
  // encodeURIComponent leaves !'()* unencoded; SigV4 wants them encoded.
  const encoded = encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

/** decodeURIComponent, or the value itself when it is not valid percent-encoding. */
export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;

/**
 * Canonical URIs to try, best first. S3 signs the path exactly as sent (no normalisation, no
 * double encoding), and every SDK sends exactly what it signed. Some clients sign the
 * RFC 3986 encoding but send a looser one (a raw `(` or `!`, lower-case `%2f`); the second
 * candidate re-encodes the decoded path so they still match. Both denote the same key.
 */
export function canonicalUriCandidates(rawPath: string): string[] {
  const path = rawPath === '' ? '/' : rawPath;
  // Unreserved characters and slashes only (most keys): each segment decodes and re-encodes
  // to itself, so the path is its only reading.
  if (UNRESERVED_PATH.test(path)) return [path];
  const reencoded = path.split('/').map((seg) => uriEncode(safeDecode(seg))).join('/');
  return reencoded === path ? [path] : [path, reencoded];
}

/**
 * Query parameters in order, decoded exactly as the router decodes them (URLSearchParams: `+` is
 * a space, as in HTML forms and as S3 reads it; a `%` that starts no valid escape stays as it
 * is). Decoding the signed query any other way would let one signature stand for two requests.
 * `plusIsSpace` false reads `+` as a plus sign.
 */
export function parseQuery(rawQuery: string, plusIsSpace = true): Array<[string, string]> {
  return [...new URLSearchParams(plusIsSpace ? rawQuery : rawQuery.replace(/\+/g, '%2B'))];
}

/**
 * Canonical query string: pairs re-encoded from their decoded form, sorted by name then value.
 * `redact` replaces secret values (a customer key sent as a query parameter), for the copy
 * that goes into an error document.
 */
export function canonicalQuery(params: ReadonlyArray<readonly [string, string]>, omit?: string, redact = false): string {
  const omitLower = omit?.toLowerCase();
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of params) {
    if (omitLower !== undefined && name.toLowerCase() === omitLower) continue;
    pairs.push([uriEncode(name), redact && isSecretHeader(name) ? REDACTED : uriEncode(value)]);
  }
  // Encoded strings are ASCII, so UTF-16 order is byte order, as SigV4 requires.
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/**
 * Canonical query strings to try, best first: `+` as a space (what S3 does), then, only when
 * the raw query has a `+`, `+` as itself (clients that sign a literal plus they did not encode).
 */
export function canonicalQueryCandidates(rawQuery: string, omit?: string): string[] {
  const first = canonicalQuery(parseQuery(rawQuery, true), omit);
  if (!rawQuery.includes('+')) return [first];
  const second = canonicalQuery(parseQuery(rawQuery, false), omit);
  return second === first ? [first] : [first, second];
}

/**
 * Header values as the client signed them, best first. Node hands a header value over as
 * latin1, one character per byte on the wire, and signatures are computed over UTF-8. Most
 * clients (botocore, the Go and Java SDKs, curl) sign the bytes they send: non-ASCII text goes
 * out as its UTF-8, so the value read back as UTF-8 is what they signed. Node clients (the JS
 * SDK) sign the UTF-8 of their string but send each character of it as one latin1 byte (`é` as
 * 0xE9): for them the value as Node gives it is what was signed. Both readings are of the
 * same bytes, so either denotes the request that is served. Only headers with a byte over 0x7F
 * have two readings.
 */
export function headerReadings(headers: RequestHeaders): RequestHeaders[] {
  if (!mayHaveTwoReadings(headers)) return [headers];
  let changed = false;
  const asUtf8: Record<string, string | readonly string[] | undefined> = {};
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const values = typeof v === 'string' ? [v] : v;
    const decoded = values.map(headerUtf8);
    if (decoded.some((d, i) => d !== values[i])) changed = true;
    asUtf8[name] = typeof v === 'string' ? decoded[0] : decoded;
  }
  return changed ? [asUtf8, headers] : [headers];
}

/**
 * Whether any header value has a character other than printable ASCII and tab: only those can
 * have a second reading. Every request checks; few have one.
 */
function mayHaveTwoReadings(headers: RequestHeaders): boolean {
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === 'string') {
      if (NOT_PLAIN_ASCII.test(v)) return true;
    } else {
      for (const x of v) if (NOT_PLAIN_ASCII.test(x)) return true;
    }
  }
  return false;
}

const NOT_PLAIN_ASCII = /[^\t\x20-\x7e]/;

function canonicalHeaderValue(v: string | readonly string[] | undefined): string {
  if (v === undefined) return '';
  const values = typeof v === 'string' ? [v] : v;
  return values.map((x) => x.replace(/[ \t]+/g, ' ').replace(/^ | $/g, '')).join(',');
}

/**
 * `name:value\n` for each signed header, in the order given (already sorted by the client).
 * `redact` replaces secret values, for the copy that goes into an error document.
 */
export function canonicalHeaders(headers: RequestHeaders, signedHeaders: readonly string[], redact = false): string {
  let out = '';
  for (const name of signedHeaders) {
    const value = redact && isSecretHeader(name) ? REDACTED : canonicalHeaderValue(headers[name]);
    out += `${name}:${value}\n`;
  }
  return out;
}

export function canonicalRequest(
  method: string, uri: string, query: string, headers: string, signedHeaders: readonly string[], payloadHash: string,
): string {
  return `${method}\n${uri}\n${query}\n${headers}\n${signedHeaders.join(';')}\n${payloadHash}`;
}
