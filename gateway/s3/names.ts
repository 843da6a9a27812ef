import { S3Error } from './errors.js';

/**
 * Naming rules of AWS S3 general-purpose buckets and of object keys.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
 */
export const MIN_BUCKET_NAME_LENGTH = 3;
export const MAX_BUCKET_NAME_LENGTH = 63;
export const MAX_KEY_BYTES = 1024;

// Prefixes and suffixes AWS reserves for its own features (IDNs, access point aliases,
// Object Lambda, Multi-Region Access Points, directory and table buckets): refused here too,
// so a bucket that works on this gateway can be created on AWS S3 under the same name.
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Why `name` is not a valid bucket name, or undefined when it is. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < MIN_BUCKET_NAME_LENGTH || name.length > MAX_BUCKET_NAME_LENGTH) {
    return `must be between ${MIN_BUCKET_NAME_LENGTH} and ${MAX_BUCKET_NAME_LENGTH} characters long`;
  }
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may contain only lowercase letters, digits, dots and hyphens';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  if (name.includes('..')) return 'must not contain two adjacent dots';
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return 'must not be formatted as an IP address';
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `must not start with ${prefix}`;
  const suffix = RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return `must not end with ${suffix}`;
  return undefined;
}

export function isValidBucketName(name: string): boolean {
  return bucketNameProblem(name) === undefined;
}

/** Throws InvalidBucketName (with BucketName) unless `name` follows the AWS rules. */
export function checkBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem !== undefined) {
    throw new S3Error('InvalidBucketName', { message: `The specified bucket is not valid: the name ${problem}.`, extra: { BucketName: name } });
  }
}

/**
 * Throws unless `key` is a usable object key: 1 to 1024 bytes of UTF-8 (KeyTooLongError
 * past that). Any character is allowed, as in S3; a lone surrogate cannot be stored as
 * UTF-8 and is refused.
 */
export function checkObjectKey(key: string): void {
  if (key.length === 0) throw new S3Error('InvalidArgument', { message: 'The object key must not be empty.', extra: { ArgumentName: 'key', ArgumentValue: '' } });
  // With the u flag a surrogate pair is one code point, so only lone surrogates match.
  if (/[\uD800-\uDFFF]/u.test(key)) throw new S3Error('InvalidArgument', { message: 'The object key is not valid UTF-8.', extra: { ArgumentName: 'key' } });
  // XML 1.0 cannot carry U+0000, so no listing could name such a key, and PostgreSQL cannot store it.
  if (key.includes('\0')) throw new S3Error('InvalidArgument', { message: 'The object key must not contain the NUL character.', extra: { ArgumentName: 'key' } });
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', { extra: { Size: String(bytes), MaxSizeAllowed: String(MAX_KEY_BYTES) } });
  }
}
