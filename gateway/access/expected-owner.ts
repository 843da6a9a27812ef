import type { BucketRow } from '../meta/types.js';
import { S3Error } from '../s3/errors.js';

/**
 * Bucket owner condition: `x-amz-expected-bucket-owner` names the account a request expects
 * to own its bucket, and `x-amz-source-expected-bucket-owner` the one of a copy's source
 * bucket; any other owner is 403 AccessDenied, whoever asks.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
 *
 * On AWS the value is a 12-digit account id. Here each user is its own account: the value is
 * the owner's user id (`root` for the root credentials), the same id ListBuckets and the ACLs
 * show as Owner ID and bucket policies name as principal. A value of any other form is simply
 * a different owner, so it fails as a mismatch rather than as malformed.
 */
export const EXPECTED_BUCKET_OWNER = 'x-amz-expected-bucket-owner';
export const SOURCE_EXPECTED_BUCKET_OWNER = 'x-amz-source-expected-bucket-owner';

/** Throws AccessDenied when a header names an owner other than the bucket's. */
export function checkExpectedBucketOwner(expected: string | undefined, bucket: BucketRow): void {
  const want = expected?.trim();
  if (want === undefined || want === '') return;
  if (want !== bucket.owner) throw new S3Error('AccessDenied');
}
