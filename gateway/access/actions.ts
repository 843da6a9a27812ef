import type { EndpointKind } from '../s3/router.js';
import type { StoredAcl } from './acl-grants.js';

/**
 * The IAM action a request is evaluated as, where it differs from `s3:<operation>`.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 */
const ACTIONS: Partial<Record<EndpointKind, string>> = {
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  HeadBucket: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  HeadObject: 's3:GetObject',
  GetObjectAttributes: 's3:GetObject',
  CopyObject: 's3:PutObject',
  PostObject: 's3:PutObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  UploadPartCopy: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  ListParts: 's3:ListMultipartUploadParts',
  DeleteObjects: 's3:DeleteObject',
  GetBucketCors: 's3:GetBucketCORS',
  PutBucketCors: 's3:PutBucketCORS',
  DeleteBucketCors: 's3:PutBucketCORS',
  DeleteBucketTagging: 's3:PutBucketTagging',
  GetBucketLifecycleConfiguration: 's3:GetLifecycleConfiguration',
  PutBucketLifecycleConfiguration: 's3:PutLifecycleConfiguration',
  DeleteBucketLifecycle: 's3:PutLifecycleConfiguration',
  GetObjectLockConfiguration: 's3:GetBucketObjectLockConfiguration',
  PutObjectLockConfiguration: 's3:PutBucketObjectLockConfiguration',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  DeleteBucketEncryption: 's3:PutEncryptionConfiguration',
  GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
  PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeletePublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeleteBucketPolicy: 's3:DeleteBucketPolicy',
  GetBucketNotificationConfiguration: 's3:GetBucketNotification',
  PutBucketNotificationConfiguration: 's3:PutBucketNotification',
  GetBucketReplication: 's3:GetReplicationConfiguration',
  PutBucketReplication: 's3:PutReplicationConfiguration',
  DeleteBucketReplication: 's3:PutReplicationConfiguration',
  GetBucketAccelerateConfiguration: 's3:GetAccelerateConfiguration',
  PutBucketAccelerateConfiguration: 's3:PutAccelerateConfiguration',
  DeleteBucketOwnershipControls: 's3:PutBucketOwnershipControls',
};

/**
 * The action of a request that names one version (`versionId`): S3 keeps these apart so a
 * policy can, say, deny `s3:DeleteObjectVersion` (ransomware protection) while allowing
 * `s3:DeleteObject`, which only adds a delete marker. Retention and legal hold have none.
 */
const VERSION_ACTIONS: Partial<Record<EndpointKind, string>> = {
  GetObject: 's3:GetObjectVersion',
  HeadObject: 's3:GetObjectVersion',
  GetObjectAttributes: 's3:GetObjectVersionAttributes',
  DeleteObject: 's3:DeleteObjectVersion',
  GetObjectTagging: 's3:GetObjectVersionTagging',
  PutObjectTagging: 's3:PutObjectVersionTagging',
  DeleteObjectTagging: 's3:DeleteObjectVersionTagging',
  GetObjectAcl: 's3:GetObjectVersionAcl',
  PutObjectAcl: 's3:PutObjectVersionAcl',
};

export function actionOf(kind: EndpointKind, versioned = false): string {
  return (versioned ? VERSION_ACTIONS[kind] : undefined) ?? ACTIONS[kind] ?? `s3:${kind}`;
}

/**
 * The resource ARN a request acts on. A POST form upload, whose key is in the body, is
 * evaluated against every key of the bucket (`bucket/*`) until its handler knows the key;
 * DeleteObjects is decided key by key by its handler.
 */
export function resourceOf(kind: EndpointKind, bucket: string, key: string | undefined): string {
  if (key !== undefined) return `arn:aws:s3:::${bucket}/${key}`;
  if (kind === 'DeleteObjects' || kind === 'PostObject') return `arn:aws:s3:::${bucket}/*`;
  return `arn:aws:s3:::${bucket}`;
}

/** What a request that creates an object asks for besides its bytes, as far as permissions go. */
export interface WriteExtras {
  /** The ACL of `x-amz-acl` / `x-amz-grant-*`; undefined when it names none. */
  acl?: StoredAcl;
  /** It sets a non-empty tag set (`x-amz-tagging`). */
  tags?: boolean;
  /** It sets a retention (`x-amz-object-lock-mode`, `x-amz-object-lock-retain-until-date`). */
  retention?: boolean;
  /** It sets a legal hold (`x-amz-object-lock-legal-hold`). */
  legalHold?: boolean;
}

/**
 * The actions PutObject, CopyObject and CreateMultipartUpload need besides s3:PutObject for
 * what their headers ask, as S3 asks for them: an ACL needs s3:PutObjectAcl, tags
 * s3:PutObjectTagging, a retention s3:PutObjectRetention, a legal hold s3:PutObjectLegalHold.
 * Without them anyone allowed to write could publish what they write, or lock it in
 * COMPLIANCE mode for centuries where the bucket owner can never remove it.
 * An ACL that gives nobody anything (`private`; `bucket-owner-full-control`, since the bucket
 * owner owns every object here) needs nothing more.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html
 */
export function objectWriteActions(w: WriteExtras): string[] {
  const out: string[] = [];
  if (w.acl !== undefined && w.acl !== 'private') out.push('s3:PutObjectAcl');
  if (w.tags) out.push('s3:PutObjectTagging');
  if (w.retention) out.push('s3:PutObjectRetention');
  if (w.legalHold) out.push('s3:PutObjectLegalHold');
  return out;
}

/** Asking to bypass GOVERNANCE retention (`x-amz-bypass-governance-retention: true`) needs this, whoever asks. */
export const BYPASS_GOVERNANCE = 's3:BypassGovernanceRetention';
