import { S3Error } from './errors.js';
import { OBJECT_WRITES } from './router.js';

/**
 * Server-side encryption as S3 names it for requests without a customer key. Every object
 * here is encrypted (AES-256-GCM, a data key per blob wrapped by the gateway's master key)
 * before it leaves the gateway: what AWS calls SSE-S3, which it too applies to every object
 * and reports on every object response. A write may ask for it (`AES256`); KMS-managed keys
 * do not exist here, and asking for them is refused rather than quietly given something else.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html
 */
export const SSE_HEADER = 'x-amz-server-side-encryption';
export const SSE_ALGORITHM = 'AES256';


export function checkServerSideEncryption(kind: string, value: string | undefined): void {
  if (value === undefined || !OBJECT_WRITES.has(kind)) return;
  const v = value.trim();
  if (v === SSE_ALGORITHM) return;
  if (v === 'aws:kms' || v === 'aws:kms:dsse') {
    throw new S3Error('NotImplemented', { message: `${v} is not supported: every object is encrypted with gateway-managed keys (AES256)` });
  }
  throw new S3Error('InvalidArgument', { message: 'The encryption method specified is not supported', extra: { ArgumentName: SSE_HEADER, ArgumentValue: value } });
}
