import type { EndpointKind } from '../s3/router.js';

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
};

export function actionOf(kind: EndpointKind): string {
  return ACTIONS[kind] ?? `s3:${kind}`;
}

/**
 * The resource ARN a request acts on. Requests that name their keys in the body
 * (DeleteObjects, PostObject) are evaluated against every key of the bucket (`bucket/*`).
 */
export function resourceOf(kind: EndpointKind, bucket: string, key: string | undefined): string {
  if (key !== undefined) return `arn:aws:s3:::${bucket}/${key}`;
  if (kind === 'DeleteObjects' || kind === 'PostObject') return `arn:aws:s3:::${bucket}/*`;
  return `arn:aws:s3:::${bucket}`;
}
