import { AuthError } from './errors.js';
import { parseAmzDate, parseCredential, type Credential } from './credential.js';
import { ALGORITHM } from './signing.js';

/** Longest validity of a presigned URL, as AWS S3 allows: 7 days. */
export const MAX_PRESIGN_EXPIRES_SECONDS = 7 * 24 * 3600;

export interface PresignParams {
  credential: Credential;
  amzDate: string;
  date: Date;
  expiresSeconds: number;
  signedHeaders: string[];
  signature: string;
  /** `X-Amz-Content-Sha256` when the URL carries one. */
  contentSha256?: string;
}

/** The query parameters of SigV4 query authentication itself (lower case). */
const AUTH_PARAMS = new Set([
  'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires', 'x-amz-signedheaders', 'x-amz-signature',
  'x-amz-security-token', 'x-amz-content-sha256',
]);

/**
 * The `x-amz-*` values a presigned URL carries in its query: signers move headers there (the JS
 * SDK hoists every `x-amz-*` header it can, so a URL made for `ACL: 'public-read'` says
 * `x-amz-acl=public-read`), and the signature covers the whole query. Lower-case names, the
 * first of repeated ones; the URL's own authentication parameters are not among them.
 */
export function presignedQueryHeaders(params: ReadonlyArray<readonly [string, string]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [n, v] of params) {
    const name = n.toLowerCase();
    if (name.startsWith('x-amz-') && !AUTH_PARAMS.has(name) && !out.has(name)) out.set(name, v);
  }
  return out;
}

/**
 * What of presignedQueryHeaders the gateway applies as request headers: all but the checksum
 * ones. The JS SDK bakes the CRC32 of an empty body into presigned PUT URLs, which S3 ignores
 * (a checksum meant to be checked is sent as a header, and signed); so does the gateway.
 */
export function adoptedQueryHeaders(params: ReadonlyArray<readonly [string, string]>): Map<string, string> {
  const out = presignedQueryHeaders(params);
  for (const name of [...out.keys()]) {
    if (name.startsWith('x-amz-checksum-') || name === 'x-amz-sdk-checksum-algorithm') out.delete(name);
  }
  return out;
}

function fail(message: string): AuthError {
  return new AuthError('AuthorizationQueryParametersError', message);
}

/** Reads the `X-Amz-*` parameters of a presigned URL (query authentication). */
export function parsePresignParams(params: ReadonlyArray<readonly [string, string]>): PresignParams {
  const get = (name: string) => params.find(([n]) => n === name)?.[1];
  const algorithm = get('X-Amz-Algorithm');
  const credentialRaw = get('X-Amz-Credential');
  const amzDate = get('X-Amz-Date');
  const expires = get('X-Amz-Expires');
  const signedHeadersRaw = get('X-Amz-SignedHeaders');
  const signature = get('X-Amz-Signature');
  if (algorithm !== ALGORITHM) {
    throw fail('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  if (credentialRaw === undefined || amzDate === undefined || expires === undefined || signedHeadersRaw === undefined || signature === undefined) {
    throw fail('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  const credential = parseCredential(credentialRaw);
  if (typeof credential === 'string') throw fail(`Error parsing the X-Amz-Credential parameter; ${credential}`);
  const date = parseAmzDate(amzDate);
  if (!date) throw fail('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
  if (credential.date !== amzDate.slice(0, 8)) {
    throw fail('Error parsing the X-Amz-Credential parameter; Invalid credential date. Date is not the same as X-Amz-Date.');
  }
  if (!/^\d{1,7}$/.test(expires)) throw fail('X-Amz-Expires should be a number');
  const expiresSeconds = Number(expires);
  if (expiresSeconds > MAX_PRESIGN_EXPIRES_SECONDS) {
    throw fail('X-Amz-Expires must be less than a week (in seconds) that is 604800');
  }
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw fail('X-Amz-Signature must be 64 hexadecimal characters');
  const signedHeaders = signedHeadersRaw.split(';');
  if (!signedHeaders.includes('host')) throw fail('X-Amz-SignedHeaders must include "host"');
  const contentSha256 = params.find(([n]) => n.toLowerCase() === 'x-amz-content-sha256')?.[1];
  return {
    credential, amzDate, date, expiresSeconds, signedHeaders, signature,
    ...(contentSha256 !== undefined ? { contentSha256 } : {}),
  };
}
