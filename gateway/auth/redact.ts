/**
 * Values that must never be echoed back, in an error document or anywhere else: error
 * documents show the client what was signed (StringToSign, CanonicalRequest), and they pass
 * through proxies, browser consoles and bug reports. The SSE-C key and its MD5 (for the object
 * and for a copy source) would let anyone who sees them read the object; a session token or an
 * Authorization value signed as a header are credentials.
 */
const SECRET = /^(x-amz-(copy-source-)?server-side-encryption-customer-key(-md5)?|x-amz-security-token|authorization)$/i;

export const REDACTED = '<redacted>';

/** Whether a header (or a query parameter standing for one) holds a secret. */
export function isSecretHeader(name: string): boolean {
  return SECRET.test(name.trim());
}
