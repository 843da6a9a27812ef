import { createHmac, hash, timingSafeEqual } from 'node:crypto';

/** What is needed to check signatures that chain from a request's signature (aws-chunked bodies). */
export interface SigningContext {
  /** The derived SigV4 signing key for (secret, date, region, s3). */
  readonly key: Buffer;
  /** `YYYYMMDDTHHMMSSZ`, as in the string to sign. */
  readonly amzDate: string;
  /** `YYYYMMDD/region/s3/aws4_request`. */
  readonly scope: string;
}

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Buffer): string {
  // One call, no Hash object: half the cost of createHash() for a canonical request.
  return hash('sha256', data, 'hex');
}

export function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

// Deriving a key costs four HMACs; a client signs every request of a day with the same one.
// Bounded, oldest-first eviction (Map keeps insertion order).
const KEY_CACHE_MAX = 1024;
const keyCache = new Map<string, Buffer>();

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"), cached. */
export function signingKey(secret: string, date: string, region: string, service = 's3'): Buffer {
  const cacheKey = `${date}\n${region}\n${service}\n${secret}`;
  const hit = keyCache.get(cacheKey);
  if (hit) return hit;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  if (keyCache.size >= KEY_CACHE_MAX) {
    const oldest = keyCache.keys().next().value;
    if (oldest !== undefined) keyCache.delete(oldest);
  }
  keyCache.set(cacheKey, key);
  return key;
}

export function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
}

/** Signature of one aws-chunked chunk, chained from the previous one (the seed for the first). */
export function chunkSignature(ctx: SigningContext, previous: string, chunkSha256Hex: string): string {
  const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${ctx.amzDate}\n${ctx.scope}\n${previous}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
  return hmac(ctx.key, sts).toString('hex');
}

/** Signature of the trailer block (`name:value\n` per trailer), chained from the final chunk's. */
export function trailerSignature(ctx: SigningContext, previous: string, trailerBlock: string): string {
  const sts = `AWS4-HMAC-SHA256-TRAILER\n${ctx.amzDate}\n${ctx.scope}\n${previous}\n${sha256Hex(trailerBlock)}`;
  return hmac(ctx.key, sts).toString('hex');
}

/** Constant-time comparison of two hex signatures (case-insensitive, as hex is). */
export function signaturesEqual(expectedHex: string, givenHex: string): boolean {
  const a = Buffer.from(expectedHex.toLowerCase(), 'latin1');
  const b = Buffer.from(givenHex.toLowerCase(), 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}
