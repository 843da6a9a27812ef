/**
 * A signature vouches only for what it covers. SigV4 covers the headers named in SignedHeaders
 * (a presigned URL usually names `host` alone), yet every `x-amz-*` header changes what S3 does:
 * `x-amz-copy-source` turns a PUT into a copy, `x-amz-acl` and `x-amz-grant-*` publish the
 * object, the SSE-C headers encrypt it under someone else's key. S3 therefore refuses a signed
 * request carrying an `x-amz-*` header its signature does not cover, with 403 AccessDenied and
 * the names in `HeadersNotSigned`; so does this gateway, for header and query authentication.
 * SigV2's string to sign holds every `x-amz-*` header, so one more breaks its signature; a V2
 * presigned URL that verifies without them gets the same answer as SigV4 (sigv2.ts).
 */
import { headerValue, type RequestHeaders } from './canonical.js';
import { AuthError } from './errors.js';

/**
 * Throws AccessDenied naming every `x-amz-*` header that `isSigned` does not vouch for (given
 * the header's name and its value, repeated values joined by commas).
 *
 * `payloadHash` is the last line of a SigV4 canonical request: an `x-amz-content-sha256`
 * header that says the same is bound by the signature whether SignedHeaders names it or not
 * (a presigned URL usually carries it in its query, and some clients send it as well).
 */
export function checkHeadersSigned(
  headers: RequestHeaders, isSigned: (name: string, value: string) => boolean, payloadHash?: string,
): void {
  const unsigned: string[] = [];
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('x-amz-')) continue;
    const value = headerValue(headers, name);
    if (value === undefined) continue;
    if (lower === 'x-amz-content-sha256' && payloadHash !== undefined && value.trim() === payloadHash.trim()) continue;
    if (!isSigned(lower, value)) unsigned.push(lower);
  }
  if (unsigned.length) {
    throw new AuthError('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.sort().join(', '),
    });
  }
}
