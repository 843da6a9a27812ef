import { AuthError } from './auth/errors.js';
import { MetaNotFoundError, MetaQuotaError } from './meta/errors.js';
import { isS3ErrorCode, S3Error } from './s3/errors.js';

/**
 * The one place lower-layer errors become S3 errors. Only what is listed here reaches a
 * client as a 4xx; everything else is a 500 InternalError with a generic message.
 */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof AuthError) {
    return new S3Error(isS3ErrorCode(err.code) ? err.code : 'InvalidRequest', { message: err.message, extra: { ...err.details }, cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ERR_SHARD_QUORUM':
    case 'ERR_PLACEMENT':
      // Not enough shard-stores answer right now: retryable, as AWS's 503s are.
      return new S3Error('ServiceUnavailable', { message: 'Not enough shard-stores are reachable to serve this request; please retry.', cause: err });
    case 'ERR_META_BUSY':
      // A metadata write kept losing races (PostgreSQL, gateway/meta/pg/db.ts): retryable.
      return new S3Error('SlowDown', { message: 'Too many writes to the same keys at once; please retry.', cause: err });
    case 'ERR_META_UNREACHABLE':
    case 'ECONNREFUSED':
    case '57P01': case '57P02': case '57P03': case '08000': case '08003': case '08006':
      // The metadata database is down or restarting (PostgreSQL): retryable.
      return new S3Error('ServiceUnavailable', { message: 'The metadata database is unreachable; please retry.', cause: err });
    case '22021':
      // PostgreSQL refuses a string it cannot store (a NUL character): no such key can exist.
      return new S3Error('InvalidArgument', { message: 'The request names a key or value with a character that cannot be stored.', cause: err });
    case 'ERR_META_NOT_FOUND':
      if (err instanceof MetaNotFoundError && err.what === 'upload') return new S3Error('NoSuchUpload', { cause: err });
      if (err instanceof MetaNotFoundError && err.what === 'bucket') return new S3Error('NoSuchBucket', { cause: err });
      break;
    case 'ERR_META_QUOTA':
      if (err instanceof MetaQuotaError) return quotaExceeded(err);
      break;
    case 'ECONNRESET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'ECONNABORTED':
      // The client went away mid-body.
      return new S3Error('IncompleteBody', { cause: err });
  }
  return new S3Error('InternalError', { cause: err });
}

/**
 * A write past a bucket's quota. AWS S3 has no bucket quotas; Ceph RGW answers 403
 * QuotaExceeded for the same refusal, and MinIO 400 XMinioAdminBucketQuotaExceeded. 403
 * QuotaExceeded is what S3 clients treat as final (no retry), as a full bucket is.
 */
export function quotaExceeded(err: MetaQuotaError): S3Error {
  return new S3Error('QuotaExceeded', {
    message: `The bucket's quota of ${err.quota} bytes would be exceeded (${err.used} bytes are stored).`,
    extra: { BucketName: err.bucket, Quota: String(err.quota), Used: String(err.used) },
    cause: err,
  });
}
