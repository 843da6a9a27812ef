/**
 * AWS Signature Version 4 for S3: the Authorization header and presigned URLs; requests signed
 * with the legacy Version 2 go to sigv2.ts.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 *
 * `verifyRequest` checks everything that can be checked from the request line and headers.
 * The body is checked while it streams, by `createPayloadVerifier` (payload.ts), with what
 * `AuthResult` carries.
 */
import { AuthError } from './errors.js';
import {
  canonicalHeaders, canonicalQuery, canonicalQueryCandidates, canonicalRequest, canonicalUriCandidates, headerReadings, headerValue,
  parseQuery, type RequestHeaders,
} from './canonical.js';
import { formatAmzDate, parseAmzDate, parseCredential, type Credential } from './credential.js';
import { parsePayloadMode, type PayloadMode } from './payload-mode.js';
import { adoptedQueryHeaders, parsePresignParams, presignedQueryHeaders } from './presign.js';
import { ALGORITHM, hmac, signaturesEqual, signingKey, stringToSign, type SigningContext } from './signing.js';
import { checkClockSkew, MAX_CLOCK_SKEW_MS, secretOf, type SecretLookup } from './identity.js';
import { headersFromV2Query, verifyV2Header, verifyV2Query } from './sigv2.js';
import { checkHeadersSigned } from './unsigned-headers.js';

export type { PayloadMode } from './payload-mode.js';
export type { SigningContext } from './signing.js';
export type { RequestHeaders } from './canonical.js';

export { MAX_CLOCK_SKEW_MS } from './identity.js';
export type { SecretLookup } from './identity.js';

export interface SignedRequest {
  method: string;
  /** The path exactly as on the request line, still percent-encoded, without the query. */
  rawPath: string;
  /** The query exactly as on the request line, without the `?`. */
  rawQuery: string;
  /** Lower-case names. Pass `req.headersDistinct` so repeated headers sign exactly. */
  headers: RequestHeaders;
  /** The bucket named by the Host header (virtual-hosted style): SigV2 signs it as part of the path. */
  hostBucket?: string;
}


export interface AuthResult {
  accessKeyId: string;
  /** The region the client signed for (accepted whatever it is; see verifyRequest). */
  region: string;
  presigned: boolean;
  /** The request signature; the seed of aws-chunked chunk signatures. */
  signature: string;
  signedHeaders: readonly string[];
  /** How the body is protected; createPayloadVerifier acts on it. */
  payload: PayloadMode;
  /** 4, or 2 for the legacy HMAC-SHA1 scheme (sigv2.ts), which signs neither region nor body. */
  signatureVersion: 2 | 4;
  /** Key, timestamp and scope to verify chunk and trailer signatures (SigV4 only). */
  signing?: SigningContext;
  /** When a presigned URL stops being valid. */
  expiresAt?: Date;
  /**
   * The signature covers the query read with `+` as a plus sign, not as the space S3 reads it
   * as (canonicalQueryCandidates): the request's query must then be read that way, so that what
   * the gateway acts on is what was signed.
   */
  plusIsLiteral?: true;
}


/**
 * Authenticates one request. Returns null for an anonymous request (no Authorization header and
 * no signature in the query); throws AuthError otherwise unless the signature is valid.
 *
 * Any region in the credential scope is accepted and the signature is checked with that region:
 * a single-region gateway has nothing to gain from refusing a client configured for another one
 * (here we are more lenient than AWS S3, which answers AuthorizationHeaderMalformed).
 */
export function verifyRequest(req: SignedRequest, lookupSecret: SecretLookup, now: Date = new Date()): AuthResult | null {
  const sent = headerValue(req.headers, 'authorization');
  const params = parseQuery(req.rawQuery);
  const hasQueryAuth = isV4QueryAuth(params);
  const hasV2QueryAuth = isV2QueryAuth(params);
  if (sent !== undefined && (hasQueryAuth || hasV2QueryAuth)) {
    throw new AuthError('InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
  }
  // An empty Authorization header claims no identity: the request is anonymous, and S3
  // answers it 403 AccessDenied wherever anonymous access is not granted.
  const authorization = sent?.trim() === '' ? undefined : sent;
  if (authorization !== undefined) {
    // `AWS` alone (Node drops the trailing space) is a V2 header without its key and signature.
    return /^AWS(\s|$)/.test(authorization) ? verifyV2Header(req, authorization, lookupSecret, now) : verifyHeaderAuth(req, authorization, lookupSecret, now);
  }
  if (hasQueryAuth) return verifyQueryAuth(req, params, lookupSecret, now);
  if (hasV2QueryAuth) return verifyV2Query(req, params, lookupSecret, now);
  return null;
}

const isV4QueryAuth = (params: ReadonlyArray<readonly [string, string]>): boolean =>
  params.some(([n]) => n === 'X-Amz-Algorithm' || n === 'X-Amz-Signature' || n === 'X-Amz-Credential');
const isV2QueryAuth = (params: ReadonlyArray<readonly [string, string]>): boolean =>
  params.some(([n]) => n === 'AWSAccessKeyId' || n === 'Signature');

/**
 * The header values a presigned URL (either version) carries in its query, to be applied as
 * request headers: what the signer chose. Apply them before routing (a signed
 * `x-amz-copy-source` makes a copy) and pass verifyRequest the headers as the client sent
 * them: it checks the query's values with the rest, and refuses a request whose own headers
 * say something the signature does not cover.
 */
export function headersSignedInQuery(rawQuery: string, plusIsLiteral = false): Map<string, string> {
  const params = parseQuery(rawQuery, !plusIsLiteral);
  if (isV4QueryAuth(params)) return adoptedQueryHeaders(params);
  if (isV2QueryAuth(params)) return headersFromV2Query(rawQuery);
  return new Map();
}

interface ParsedAuthorization {
  credential: Credential;
  signedHeaders: string[];
  signature: string;
}

function malformed(message: string): AuthError {
  return new AuthError('AuthorizationHeaderMalformed', `The authorization header is malformed; ${message}`);
}

/** `AWS4-HMAC-SHA256 Credential=.../aws4_request, SignedHeaders=a;b, Signature=hex` */
export function parseAuthorizationHeader(value: string): ParsedAuthorization {
  // The form every SDK sends, read in one match; anything else goes through the general reader.
  const m = CANONICAL_AUTHORIZATION.exec(value);
  if (m) return authorizationOf(m[1]!, m[2]!, m[3]!);
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== ALGORITHM) throw new AuthError('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256 or AWS.');
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) throw malformed(`unexpected "${p}".`);
    fields.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }
  const credentialRaw = fields.get('Credential');
  const signedHeadersRaw = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credentialRaw === undefined) throw malformed('missing Credential.');
  if (signedHeadersRaw === undefined) throw malformed('missing SignedHeaders.');
  if (signature === undefined) throw malformed('missing Signature.');
  return authorizationOf(credentialRaw, signedHeadersRaw, signature);
}

/**
 * The access key an Authorization header in the form SDKs send names, or undefined for any
 * other header (which verifyRequest judges). Reading that key first lets the signature be
 * checked in one pass.
 */
export function accessKeyIdNamedBy(authorization: string | undefined): string | undefined {
  const m = authorization === undefined ? null : CANONICAL_AUTHORIZATION.exec(authorization);
  const credential = m ? parseCredential(m[1]!) : undefined;
  return typeof credential === 'object' ? credential.accessKeyId : undefined;
}

const CANONICAL_AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^\s,=]+), ?SignedHeaders=([^\s,=]+), ?Signature=([0-9a-fA-F]{64})$/;

function authorizationOf(credentialRaw: string, signedHeadersRaw: string, signature: string): ParsedAuthorization {
  const credential = parseCredential(credentialRaw);
  if (typeof credential === 'string') throw malformed(credential);
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw malformed('the Signature must be 64 hexadecimal characters.');
  const signedHeaders = signedHeadersRaw.split(';');
  if (!signedHeaders.includes('host')) throw malformed('SignedHeaders must include "host".');
  return { credential, signedHeaders, signature };
}

/** The request time from `x-amz-date`, else from `Date` (RFC 7231), as `YYYYMMDDTHHMMSSZ`. */
function requestAmzDate(headers: RequestHeaders): { amzDate: string; date: Date } {
  const amz = headerValue(headers, 'x-amz-date');
  if (amz !== undefined) {
    const date = parseAmzDate(amz.trim());
    if (date) return { amzDate: amz.trim(), date };
  } else {
    const http = headerValue(headers, 'date');
    const t = http === undefined ? NaN : Date.parse(http);
    if (!Number.isNaN(t)) {
      const date = new Date(Math.floor(t / 1000) * 1000);
      return { amzDate: formatAmzDate(date), date };
    }
  }
  throw new AuthError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
}

function verifyHeaderAuth(req: SignedRequest, authorization: string, lookupSecret: SecretLookup, now: Date): AuthResult {
  const { credential, signedHeaders, signature } = parseAuthorizationHeader(authorization);
  const contentSha256 = headerValue(req.headers, 'x-amz-content-sha256');
  if (contentSha256 === undefined) {
    throw new AuthError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  const payload = parsePayloadMode(contentSha256, signature);
  const secret = secretOf(lookupSecret, credential.accessKeyId);
  const { amzDate, date } = requestAmzDate(req.headers);
  if (credential.date !== amzDate.slice(0, 8)) {
    throw malformed('Invalid credential date. Date is not the same as X-Amz-Date.');
  }
  checkClockSkew(date, amzDate, now);
  const signed = new Set(signedHeaders);
  checkHeadersSigned(req.headers, (name) => signed.has(name), contentSha256);
  const { signing, plusIsLiteral } = checkSignature(req, credential, secret, amzDate, signedHeaders, contentSha256, signature, undefined);
  return {
    accessKeyId: credential.accessKeyId, region: credential.region, presigned: false, signature, signedHeaders, payload, signatureVersion: 4, signing,
    ...(plusIsLiteral && { plusIsLiteral }),
  };
}

function verifyQueryAuth(
  req: SignedRequest, params: ReadonlyArray<readonly [string, string]>, lookupSecret: SecretLookup, now: Date,
): AuthResult {
  const p = parsePresignParams(params);
  const secret = secretOf(lookupSecret, p.credential.accessKeyId);
  const expiresAt = new Date(p.date.getTime() + p.expiresSeconds * 1000);
  if (p.date.getTime() - now.getTime() > MAX_CLOCK_SKEW_MS) {
    throw new AuthError('AccessDenied', 'Request is not valid yet');
  }
  if (now.getTime() > expiresAt.getTime()) {
    throw new AuthError('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': String(p.expiresSeconds), Expires: expiresAt.toISOString(), ServerTime: now.toISOString(),
    });
  }
  // A presigned URL signs its payload as UNSIGNED-PAYLOAD unless it says otherwise.
  const contentSha256 = p.contentSha256 ?? headerValue(req.headers, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD';
  const payload = parsePayloadMode(contentSha256, p.signature);
  // A header is covered when SignedHeaders names it, or when the signed query says the same.
  const signed = new Set(p.signedHeaders);
  // The query may have been signed with `+` read as itself (checkSignature decides): either
  // reading may be repeated as a header, and the one the signature covers is applied over it.
  const readings = [presignedQueryHeaders(params), presignedQueryHeaders(parseQuery(req.rawQuery, false))];
  checkHeadersSigned(req.headers, (name, value) => signed.has(name) || readings.some((q) => q.get(name)?.trim() === value.trim()), contentSha256);
  const { signing, plusIsLiteral } = checkSignature(req, p.credential, secret, p.amzDate, p.signedHeaders, contentSha256, p.signature, 'X-Amz-Signature');
  return {
    accessKeyId: p.credential.accessKeyId, region: p.credential.region, presigned: true, signature: p.signature,
    signedHeaders: p.signedHeaders, payload, signatureVersion: 4, signing, expiresAt, ...(plusIsLiteral && { plusIsLiteral }),
  };
}

/**
 * Recomputes the signature over each canonical form the request allows (see
 * canonicalUriCandidates / canonicalQueryCandidates) and throws SignatureDoesNotMatch when none
 * matches. Usually the first candidate matches and the others are never computed.
 */
function checkSignature(
  req: SignedRequest, credential: Credential, secret: string, amzDate: string, signedHeaders: readonly string[],
  payloadHash: string, signature: string, omitParam: string | undefined,
): { signing: SigningContext; plusIsLiteral?: true } {
  const key = signingKey(secret, credential.date, credential.region, credential.service);
  const uris = canonicalUriCandidates(req.rawPath);
  const queries = canonicalQueryCandidates(req.rawQuery, omitParam);
  for (const reading of headerReadings(req.headers)) {
    const headers = canonicalHeaders(reading, signedHeaders);
    for (const uri of uris) {
      for (const [i, query] of queries.entries()) {
        const canonical = canonicalRequest(req.method, uri, query, headers, signedHeaders, payloadHash);
        if (signaturesEqual(hmac(key, stringToSign(amzDate, credential.scope, canonical)).toString('hex'), signature)) {
          // The second query candidate reads `+` as itself.
          return { signing: { key, amzDate, scope: credential.scope }, ...(i === 1 && { plusIsLiteral: true as const }) };
        }
      }
    }
  }
  // As AWS S3 does, show the client what we signed so it can diff it with its own, but never
  // a secret it sent (redact.ts).
  const query = canonicalQuery(parseQuery(req.rawQuery), omitParam, true);
  const shownHeaders = canonicalHeaders(headerReadings(req.headers)[0]!, signedHeaders, true);
  const canonical = canonicalRequest(req.method, uris[0]!, query, shownHeaders, signedHeaders, payloadHash);
  throw new AuthError('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
    AWSAccessKeyId: credential.accessKeyId, StringToSign: stringToSign(amzDate, credential.scope, canonical), CanonicalRequest: canonical,
  });
}
