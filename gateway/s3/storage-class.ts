import { S3Error } from './errors.js';
import { OBJECT_WRITES } from './router.js';

/**
 * Every object here is stored one way (10+6 erasure coding over 16 stores) and reported as
 * STANDARD. A write may still name any storage class S3 knows, so that tools that set one
 * (rclone settier, backup products asking for STANDARD_IA or GLACIER) keep working; a name
 * S3 does not know is InvalidStorageClass, as on AWS.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#AmazonS3-PutObject-request-header-StorageClass
 */
const KNOWN = new Set([
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE',
  'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE', 'FSX_OPENZFS',
]);


/** Refuses an unknown `x-amz-storage-class` on a write before any byte is read. */
export function checkStorageClass(kind: string, value: string | undefined): void {
  if (value === undefined || !OBJECT_WRITES.has(kind)) return;
  if (!KNOWN.has(value.trim())) throw new S3Error('InvalidStorageClass', { extra: { StorageClassRequested: value } });
}
