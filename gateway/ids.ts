import { randomBytes } from 'node:crypto';

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
