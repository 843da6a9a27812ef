/**
 * AWS Signature Version 2 (HMAC-SHA1) for S3: the `AWS key:signature` Authorization header,
 * `AWSAccessKeyId`/`Expires`/`Signature` presigned URLs, and POST policies signed that way.
 * boto3 and aws-cli v1 still presign with it unless told `signature_version = s3v4`
 * (`aws s3 presign`, generate_presigned_url, generate_presigned_post), and older backup tools
 * sign every request with it.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalUriCandidates, headerReadings, headerValue, parseQuery, type RequestHeaders } from './canonical.js';
import { AuthError } from './errors.js';
import { parseAmzDate } from './credential.js';
import { payloadModeOf } from './payload.js';
import { checkClockSkew, MAX_CLOCK_SKEW_MS, secretOf, type SecretLookup } from './identity.js';
import { MAX_PRESIGN_EXPIRES_SECONDS } from './presign.js';
import { isSecretHeader, REDACTED } from './redact.js';
import { checkHeadersSigned } from './unsigned-headers.js';
import type { AuthResult, SignedRequest } from './sigv4.js';

type V2Request = SignedRequest;


/**
 * Query parameters that belong to the signed resource (the "sub-resources"), as S3 and
 * botocore list them. Every other parameter is left out of the string to sign.
 */
const SUBRESOURCES = new Set([
  'accelerate', 'acl', 'cors', 'defaultObjectAcl', 'delete', 'lifecycle', 'location', 'logging', 'notification',
  'partNumber', 'policy', 'requestPayment', 'restore', 'tagging', 'torrent', 'uploadId', 'uploads', 'versionId',
  'versioning', 'versions', 'website', 'storageClass', 'replication', 'analytics', 'metrics', 'inventory', 'select',
  'select-type', 'object-lock', 'response-content-type', 'response-content-language', 'response-expires',
  'response-cache-control', 'response-content-disposition', 'response-content-encoding',
]);

export function sha1Base64(secret: string, data: string): string {
  return createHmac('sha1', secret).update(data, 'utf8').digest('base64');
}

/** Constant-time comparison of base64 signatures (case-sensitive, unlike hex). */
export function base64SignatureEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(given, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The signed resource, best candidate first: `/bucket/key` (the bucket from the Host header
 * when virtual-hosted) with the path as sent, then the sub-resources sorted by name with their
 * values unescaped. A sub-resource sent as `acl=` is tried as `acl=` and as `acl`.
 *
 * Every candidate names the resource the gateway serves, and only it. The path is the one sent
 * or its RFC 3986 re-encoding (a client that sends a raw `(` it signed as `%28`), never its
 * decoded form: a signature over `/b/a%20b` (key `a b`) would then also open `/b/a%2520b`
 * (key `a%20b`). Sub-resource names and values are decoded as the router decodes the query
 * (`+` is a space), so an escaped name (`versionI%64`) is signed like the plain one.
 */
function resourceCandidates(req: V2Request): string[] {
  const path = (req.rawPath === '' ? '/' : req.rawPath);
  const prefixed = req.hostBucket !== undefined ? `/${req.hostBucket}${path}` : path;
  const subs: Array<{ name: string; value: string | undefined }> = [];
  for (const piece of req.rawQuery.split('&')) {
    if (piece === '') continue;
    const [[name, value] = ['', '']] = new URLSearchParams(piece);
    if (SUBRESOURCES.has(name)) subs.push({ name, value: piece.includes('=') ? value : undefined });
  }
  subs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const query = (bareEmpty: boolean): string => {
    if (!subs.length) return '';
    return '?' + subs.map((s) => (s.value === undefined || (bareEmpty && s.value === '') ? s.name : `${s.name}=${s.value}`)).join('&');
  };
  const out = new Set<string>();
  // botocore signs a path-style bucket request (`/bucket`) as `/bucket/`.
  const paths = /^\/[^/]+$/.test(prefixed) ? [prefixed, `${prefixed}/`] : canonicalUriCandidates(prefixed);
  for (const p of paths) {
    out.add(p + query(false));
    out.add(p + query(true));
  }
  return [...out];
}

/**
 * A folded value on one line: each run of whitespace that holds a line break becomes one space.
 * One pass over the runs: the expression `\s*\r?\n\s*` retries every start inside a run
 * without a line break, quadratic in its length (16 KB of spaces took 0.6 s of the event loop).
 */
function unfold(value: string): string {
  return value.replace(/\s+/g, (run) => (run.includes('\n') ? ' ' : run));
}

/**
 * `x-amz-*` headers as `name:value` lines, sorted, repeated values joined by commas. `redact`
 * replaces secret values (redact.ts), for the copy that goes into an error document.
 */
function amzHeaderLines(headers: RequestHeaders, extra: ReadonlyMap<string, string>, redact = false): string {
  const all = new Map<string, string>(extra);
  for (const name of Object.keys(headers)) {
    if (!name.startsWith('x-amz-') || all.has(name)) continue;
    const v = headers[name];
    if (v === undefined) continue;
    all.set(name, (typeof v === 'string' ? [v] : v).map((x) => unfold(x.trim())).join(','));
  }
  return [...all.keys()].sort().map((k) => `${k}:${redact && isSecretHeader(k) ? REDACTED : all.get(k)}\n`).join('');
}

function stringsToSign(req: V2Request, dates: readonly string[], standard: { md5: string; type: string }, amz: string): string[] {
  const out: string[] = [];
  for (const resource of resourceCandidates(req)) {
    for (const date of dates) out.push(`${req.method.toUpperCase()}\n${standard.md5}\n${standard.type}\n${date}\n${amz}${resource}`);
  }
  return out;
}

function matches(candidates: string[], secret: string, signature: string): boolean {
  return candidates.some((sts) => base64SignatureEqual(sha1Base64(secret, sts), signature));
}

/**
 * SignatureDoesNotMatch unless one candidate matches. As AWS S3 does, the error shows the
 * client what we signed so it can compare it with its own: `shown`, the first candidate with
 * its secrets redacted (a customer key is an x-amz-* line of the string to sign).
 */
function check(candidates: string[], shown: string, secret: string, signature: string, accessKeyId: string): void {
  if (matches(candidates, secret, signature)) return;
  throw new AuthError('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
    AWSAccessKeyId: accessKeyId, StringToSign: shown, SignatureProvided: signature,
  });
}

function result(accessKeyId: string, signature: string, req: V2Request, presigned: boolean, expiresAt?: Date): AuthResult {
  return {
    accessKeyId, region: '', presigned, signature, signedHeaders: [], signatureVersion: 2,
    // Nothing in V2 signs the body; a declared SHA-256 or checksum trailer is still checked.
    payload: payloadModeOf(null, req.headers),
    ...(expiresAt && { expiresAt }),
  };
}

function requestTime(headers: RequestHeaders): Date {
  const amz = headerValue(headers, 'x-amz-date')?.trim();
  const raw = amz ?? headerValue(headers, 'date')?.trim();
  const t = raw === undefined ? NaN : (parseAmzDate(raw)?.getTime() ?? Date.parse(raw));
  // S3 reads no date before the epoch (s3-tests: 1950 is AccessDenied, 2010 RequestTimeTooSkewed).
  if (Number.isNaN(t) || t < 0) throw new AuthError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  return new Date(t);
}

/**
 * The key and signature of `Authorization: AWS AccessKeyId:Signature`, refused as S3 refuses
 * them: a second space, then anything but one colon between a key and a non-empty signature
 * (400 InvalidArgument). An empty key is a key (403 InvalidAccessKeyId, once the date passed).
 */
function parseV2Authorization(authorization: string): { accessKeyId: string; signature: string } {
  const invalid = (message: string) => new AuthError('InvalidArgument', message, { ArgumentName: 'Authorization', ArgumentValue: authorization });
  const rest = authorization.trim().slice('AWS'.length);
  if (/^\s\s/.test(rest)) throw invalid('Authorization header is invalid -- one and only one \' \' (space) required');
  const m = /^\s([^:\s]*):([^:\s]+)$/.exec(rest);
  if (!m) throw invalid('AWS authorization header is invalid.  Expected AwsAccessKeyId:signature');
  return { accessKeyId: m[1]!, signature: m[2]! };
}

/** `Authorization: AWS AccessKeyId:Signature` */
export function verifyV2Header(req: V2Request, authorization: string, lookupSecret: SecretLookup, now: Date): AuthResult {
  const { accessKeyId, signature } = parseV2Authorization(authorization);
  // S3 judges the date before the key: a bad or skewed date is answered as such whoever signs.
  const time = requestTime(req.headers);
  checkClockSkew(time, time.toUTCString(), now);
  const secret = secretOf(lookupSecret, accessKeyId);
  // S3 says the Date line is empty when x-amz-date is sent; some clients sign the Date header anyway.
  const date = headerValue(req.headers, 'date')?.trim() ?? '';
  const dates = headerValue(req.headers, 'x-amz-date') !== undefined && date !== '' ? [date, ''] : [date];
  const standard = { md5: headerValue(req.headers, 'content-md5')?.trim() ?? '', type: headerValue(req.headers, 'content-type')?.trim() ?? '' };
  // Non-ASCII x-amz-* values have two readings (canonical.ts headerReadings): try both.
  const readings = headerReadings(req.headers);
  const shown = stringsToSign(req, dates, standard, amzHeaderLines(readings[0]!, new Map(), true))[0]!;
  check(readings.flatMap((h) => stringsToSign(req, dates, standard, amzHeaderLines(h, new Map()))), shown, secret, signature, accessKeyId);
  return result(accessKeyId, signature, req, false);
}

/**
 * `?AWSAccessKeyId=…&Expires=…&Signature=…`. Expires (seconds since the epoch) stands where the
 * Date goes; Content-Type, Content-MD5 and `x-amz-*` values the URL carries were signed as if
 * they were headers (botocore moves them into the query), so they are read from there first.
 */
export function verifyV2Query(req: V2Request, params: ReadonlyArray<readonly [string, string]>, lookupSecret: SecretLookup, now: Date): AuthResult {
  const get = (name: string): string | undefined => params.find(([n]) => n === name)?.[1];
  const accessKeyId = get('AWSAccessKeyId');
  const signature = get('Signature');
  const expires = get('Expires');
  if (!accessKeyId || !signature || expires === undefined) {
    throw new AuthError('AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters');
  }
  if (!/^\d{1,12}$/.test(expires)) throw new AuthError('AccessDenied', 'Invalid date (should be seconds since epoch): ' + expires);
  const expiresAt = new Date(Number(expires) * 1000);
  const secret = secretOf(lookupSecret, accessKeyId);
  if (now.getTime() > expiresAt.getTime()) {
    throw new AuthError('AccessDenied', 'Request has expired', { Expires: expiresAt.toISOString(), ServerTime: now.toISOString() });
  }
  // A V2 URL says only when it ends, not when it was made, so the week SigV4 allows is measured
  // from now (with the clock skew SigV4 tolerates): a leaked URL dies within a week like any
  // other, where S3 would honour it until its Expires, years away.
  if (expiresAt.getTime() - now.getTime() > MAX_PRESIGN_EXPIRES_SECONDS * 1000 + MAX_CLOCK_SKEW_MS) {
    throw new AuthError('AuthorizationQueryParametersError', `Expires must be at most ${MAX_PRESIGN_EXPIRES_SECONDS} seconds (a week) from now`, {
      Expires: expiresAt.toISOString(), ServerTime: now.toISOString(),
    });
  }
  const signedInQuery = new Map<string, string>();
  for (const [n, v] of params) {
    const name = n.toLowerCase();
    if (name.startsWith('x-amz-') && !signedInQuery.has(name)) signedInQuery.set(name, v.trim());
  }
  const fromQueryOrHeader = (name: string): string => (params.find(([n]) => n.toLowerCase() === name)?.[1] ?? headerValue(req.headers, name) ?? '').trim();
  const standard = { md5: fromQueryOrHeader('content-md5'), type: fromQueryOrHeader('content-type') };
  // Every x-amz-* header is part of the string to sign, the query's values first: a header the
  // URL did not carry is one its signer never saw, and the request is refused, not obeyed.
  const withHeaders = stringsToSign(req, [expires], standard, amzHeaderLines(req.headers, signedInQuery));
  if (!matches(withHeaders, secret, signature)) {
    // When the URL alone verifies, say which headers broke it, as SigV4 does.
    if (matches(stringsToSign(req, [expires], standard, amzHeaderLines({}, signedInQuery)), secret, signature)) {
      checkHeadersSigned(req.headers, (name) => signedInQuery.has(name));
    }
    check(withHeaders, stringsToSign(req, [expires], standard, amzHeaderLines(req.headers, signedInQuery, true))[0]!, secret, signature, accessKeyId);
  }
  return result(accessKeyId, signature, req, true, expiresAt);
}

/**
 * The headers a V2 presigned URL carries in its query (Content-Type, Content-MD5, `x-amz-*`:
 * botocore moves them there), applied as if they had been sent as headers. They win over
 * headers the request sent itself: the signer chose them (an uploader given a URL signed for
 * `image/png` cannot store `text/html`), and the signature check covers them.
 */
export function headersFromV2Query(rawQuery: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [n, value] of parseQuery(rawQuery)) {
    const name = n.toLowerCase();
    if (!(name.startsWith('x-amz-') || name === 'content-type' || name === 'content-md5')) continue;
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}
