import { randomBytes, randomFillSync } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `length` random letters and digits, without modulo bias. Ids that users
 * pass on command lines (version ids, upload ids, access keys) must never
 * start with `-` or they read as a flag (`aws s3api get-object --version-id -x…`
 * fails to parse), so base64url is not safe for them.
 */
export function randomAlnum(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length)) {
      // 248 = 4 × 62: dropping the top 8 byte values keeps every character equally likely.
      if (b < 248 && out.length < length) out += ALNUM[b % 62];
    }
  }
  return out;
}

/**
 * Bytes for ids that must be unique, not secret (request ids), drawn from a pool that one
 * call to the CSPRNG refills 4 KiB at a time: each request takes two such ids, and a call
 * per id cost more under load (17 us per request in a 4 KiB GET profile) than the rest of
 * the id's work.
 */
const pool = Buffer.allocUnsafe(4096);
let poolAt = pool.length;

function pooled(n: number): Buffer {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool.subarray(poolAt, (poolAt += n));
}

/** An x-amz-request-id: 16 upper-case hex digits, as S3 gives. */
export function newRequestId(): string {
  return pooled(8).toString('hex').toUpperCase();
}

/** An x-amz-id-2: 32 base64 characters (S3's is an opaque token of the same alphabet). */
export function newHostId(): string {
  return pooled(24).toString('base64');
}
