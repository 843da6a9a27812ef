/**
 * A bucket's Block Public Access settings, as S3 defines them:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
 * - blockPublicAcls: a request that sets a public ACL (one that grants anything to AllUsers or
 *   AuthenticatedUsers, as public-read does) on the bucket or an object is refused (403).
 * - ignorePublicAcls: public grants give nothing; grants to users, the owner and the policy decide.
 * - blockPublicPolicy: a bucket policy that allows Principal "*" is refused (403).
 * - restrictPublicBuckets: while the policy is public, its Allows for "*" reach nobody but the
 *   gateway's own users (anonymous callers are not let in by it).
 */
import { S3Error } from '../s3/errors.js';
import { isPublicAcl, type StoredAcl } from './acl-grants.js';
import { parseCidr } from './cidr.js';
import type { ConditionClause } from './policy-conditions.js';
import type { BucketPolicy, PolicyStatement } from './policy.js';

export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

export const NO_BLOCK: PublicAccessBlock = { blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false };

/** The stored JSON column (null: none set). */
export function storedPublicAccessBlock(text: string | null | undefined): PublicAccessBlock | undefined {
  if (!text) return undefined;
  const v = JSON.parse(text) as Partial<PublicAccessBlock>;
  return {
    blockPublicAcls: v.blockPublicAcls === true, ignorePublicAcls: v.ignorePublicAcls === true,
    blockPublicPolicy: v.blockPublicPolicy === true, restrictPublicBuckets: v.restrictPublicBuckets === true,
  };
}

/**
 * A policy is public when one of its Allow statements is for everyone (Principal "*") and no
 * condition of it pins the caller down, as S3 decides it: a statement is not public when it
 * limits access to a set of CIDR blocks with aws:SourceIp, or to a fixed value (no wildcard, no
 * variable) of aws:SourceArn, aws:SourceVpc(e), aws:SourceAccount, aws:SourceOwner,
 * aws:PrincipalOrgID, aws:userid or s3:DataAccessPointArn.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
 * A CIDR block counts as a limit when it is at least as narrow as /8 (IPv4) or /32 (IPv6):
 * wider ones (`0.0.0.0/1`) let in a large part of the internet. That threshold is ours.
 */
export function isPublicPolicy(policy: BucketPolicy): boolean {
  return policy.statements.some((s) => s.effect === 'Allow' && s.principals === '*' && !s.notPrincipal && !restrictsCaller(s));
}

const FIXED_VALUE_KEYS = new Set([
  'aws:sourcearn', 'aws:sourcevpc', 'aws:sourcevpce', 'aws:sourceaccount', 'aws:sourceowner', 'aws:principalorgid',
  'aws:userid', 's3:dataaccesspointarn',
]);
const NARROW_ENOUGH = { 4: 8, 6: 32 } as const;

function restrictsCaller(s: PolicyStatement): boolean {
  return s.conditions.some(limits);
}

/** Whether one condition, on its own, confines the statement to fixed callers. */
function limits(c: ConditionClause): boolean {
  // IfExists and set qualifiers let a request without the key through; negations admit everyone else.
  if (c.negated || c.ifExists || c.qualifier) return false;
  const key = c.key.toLowerCase();
  if (key === 'aws:sourceip') {
    return c.family === 'Ip' && c.values.every((v) => {
      const block = parseCidr(v);
      return block !== undefined && block.prefix >= NARROW_ENOUGH[block.family];
    });
  }
  if (!FIXED_VALUE_KEYS.has(key)) return false;
  const exact = c.base === 'StringEquals' || c.base === 'StringEqualsIgnoreCase' || c.base === 'ArnEquals' || c.base === 'ArnLike' || c.base === 'StringLike';
  return exact && c.values.every((v) => !/[*?]|\$\{/.test(v));
}

/**
 * BlockPublicAcls: a public ACL may not be set (403), on the bucket or an object in it.
 * `block` is read only for a public ACL, so a private write costs no lookup.
 */
export async function checkAclAllowed(acl: StoredAcl | undefined, block: () => Promise<PublicAccessBlock | undefined>): Promise<void> {
  if (isPublicAcl(acl) && (await block())?.blockPublicAcls) {
    const what = typeof acl === 'string' ? `the ${acl} ACL` : 'a grant to AllUsers or AuthenticatedUsers';
    throw new S3Error('AccessDenied', { message: `Access Denied: the bucket's public access block refuses ${what}` });
  }
}

/** BlockPublicPolicy: a public policy may not be set (403); `block` is read only for a public one. */
export async function checkPolicyAllowed(policy: BucketPolicy, block: () => Promise<PublicAccessBlock | undefined>): Promise<void> {
  if (isPublicPolicy(policy) && (await block())?.blockPublicPolicy) {
    throw new S3Error('AccessDenied', { message: "Access Denied: the bucket's public access block refuses a public policy" });
  }
}
