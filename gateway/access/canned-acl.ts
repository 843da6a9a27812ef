import { S3Error } from '../s3/errors.js';
import { isCannedAcl } from './acl-grants.js';

/**
 * The canned ACLs this gateway keeps: `private` (owner only), `public-read` (anyone, signed
 * or not, may read), `public-read-write` (anyone may also write objects into the bucket),
 * `authenticated-read` (any caller with a valid key may read) and `log-delivery-write`.
 * Their grants are listed in acl-grants.ts.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl
 */
export type CannedAcl = 'private' | 'public-read' | 'public-read-write' | 'authenticated-read' | 'log-delivery-write';

/** The `x-amz-acl` header: undefined when absent; a canned ACL S3 knows but we do not keep is NotImplemented. */
export function parseCannedAcl(value: string | undefined): CannedAcl | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (isCannedAcl(v)) return v;
  // The bucket owner owns every object here, so these grant nothing more.
  if (v === 'bucket-owner-read' || v === 'bucket-owner-full-control') return 'private';
  if (v === 'aws-exec-read') throw new S3Error('NotImplemented', { message: 'The canned ACL aws-exec-read is not supported' });
  throw new S3Error('InvalidArgument', { extra: { ArgumentName: 'x-amz-acl', ArgumentValue: value } });
}
