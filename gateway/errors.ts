import { AuthError } from './auth/errors.js';
import { MetaNotFoundError } from './meta/errors.js';
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
    case 'ERR_META_NOT_FOUND':
      if (err instanceof MetaNotFoundError && err.what === 'upload') return new S3Error('NoSuchUpload', { cause: err });
      if (err instanceof MetaNotFoundError && err.what === 'bucket') return new S3Error('NoSuchBucket', { cause: err });
      break;
    case 'ECONNRESET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'ECONNABORTED':
      // The client went away mid-body.
      return new S3Error('IncompleteBody', { cause: err });
  }
  return new S3Error('InternalError', { cause: err });
}
