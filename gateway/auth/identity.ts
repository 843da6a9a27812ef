/**
 * What both signature versions check before the signature itself: that the access key
 * exists, and that the request's clock is close enough to ours.
 */
import { AuthError } from './errors.js';

/** Clock skew AWS S3 tolerates between the client and the server. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** Returns the secret access key of an access key id, or undefined when the key is unknown. */
export type SecretLookup = (accessKeyId: string) => string | undefined;

/** The secret of `accessKeyId`; InvalidAccessKeyId when there is no such key. */
export function secretOf(lookupSecret: SecretLookup, accessKeyId: string): string {
  const secret = lookupSecret(accessKeyId);
  if (secret === undefined) {
    throw new AuthError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId });
  }
  return secret;
}

/** RequestTimeTooSkewed when `time` is more than 15 minutes from `now`; `shown` is the request time as the client wrote it. */
export function checkClockSkew(time: Date, shown: string, now: Date): void {
  if (Math.abs(now.getTime() - time.getTime()) > MAX_CLOCK_SKEW_MS) {
    throw new AuthError('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: shown, ServerTime: now.toISOString(), MaxAllowedSkewMilliseconds: String(MAX_CLOCK_SKEW_MS),
    });
  }
}
