import type Koa from 'koa';
import type { Principal } from './access/authorize.js';
import type { StoredAcl } from './access/acl-grants.js';
import type { AuthResult } from './auth/sigv4.js';
import type { GatewayConfig } from './config.js';
import type { BucketRow } from './meta/types.js';
import type { PipelineContext } from './pipeline/context.js';
import type { Owner } from './s3/documents.js';
import type { Endpoint } from './s3/router.js';
import type { RequestFacts } from './access/request-context.js';

/**
 * What every handler gets, resolved once: the parsed endpoint, the authenticated caller
 * and the bucket row. Handlers never verify signatures or look the bucket up again.
 */
export interface ReqCtx {
  requestId: string;
  endpoint: Endpoint;
  bucketName: string | undefined;
  /** Set for every endpoint that works on an existing bucket. */
  bucket: BucketRow | undefined;
  key: string | undefined;
  accessKeyId: string;
  /** The caller's user id; ANONYMOUS_OWNER for an unsigned request a policy or ACL let through. */
  owner: string;
  /** Who is asking, for access decisions beyond the request's own bucket (a copy's source); null when anonymous. */
  principal: Principal | null;
  /** null for an anonymous (unsigned) request. */
  auth: AuthResult | null;
  /**
   * The ACL a write that keeps one (CreateBucket, PutObject, CopyObject, CreateMultipartUpload)
   * asks for with `x-amz-acl` or `x-amz-grant-*`, parsed before any byte is written; undefined when absent.
   */
  acl: StoredAcl | undefined;
  /** What the request says about itself for policy conditions (taken once; a copy's source and each batch-deleted key are checked with it too). */
  facts: RequestFacts;
  pipeline: PipelineContext;
  config: GatewayConfig;
}

export type Handler = (koa: Koa.Context, rc: ReqCtx) => Promise<void>;

/** The bucket of a request that needs one (set by the dispatcher), as a non-optional value. */
export function bucketOf(rc: ReqCtx): BucketRow {
  if (!rc.bucket) throw new Error(`${rc.endpoint.kind}: no bucket resolved`);
  return rc.bucket;
}

export function keyOf(rc: ReqCtx): string {
  if (rc.key === undefined) throw new Error(`${rc.endpoint.kind}: no key`);
  return rc.key;
}

/** The Owner element of a user: its canonical id and display name. */
export function ownerOf(owner: string): Owner {
  return { id: owner, displayName: owner };
}
