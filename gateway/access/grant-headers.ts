import { S3Error } from '../s3/errors.js';
import { OBJECT_WRITES } from '../s3/router.js';
import { GROUP_URIS, type AclPermission, type Grant, type GroupUri, type StoredAcl } from './acl-grants.js';
import { parseCannedAcl } from './canned-acl.js';

/**
 * The ACL a request asks for in its headers: `x-amz-acl` (a canned ACL) or the five
 * `x-amz-grant-*` headers, never both, as S3 answers.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html#API_PutObjectAcl_RequestSyntax
 */

/** Each grant header and the permission it gives, in the order their grants are listed. */
export const GRANT_HEADERS: ReadonlyArray<readonly [string, AclPermission]> = [
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
];

/** Whether a user id names a user of this gateway (gateway/access/users.ts). */
export type IsUser = (id: string) => boolean;

/** A header value (or form field) by lower-case name; undefined when absent. */
export type ValueOf = (name: string) => string | undefined;

/**
 * The ACL of `x-amz-acl` or of the grant headers; undefined when the request names none.
 * Both at once: InvalidRequest. A grant that does not parse: InvalidArgument.
 */
export function aclFromHeaders(get: ValueOf, isUser: IsUser): StoredAcl | undefined {
  const canned = parseCannedAcl(nonEmpty(get('x-amz-acl')));
  const grants = parseGrantHeaders(get, isUser);
  if (canned !== undefined && grants !== undefined) {
    throw new S3Error('InvalidRequest', { message: 'Specifying both Canned ACLs and Header Grants is not allowed' });
  }
  return canned ?? (grants && { grants });
}

/** The grants of the `x-amz-grant-*` headers; undefined when there is none. */
export function parseGrantHeaders(get: ValueOf, isUser: IsUser): Grant[] | undefined {
  let grants: Grant[] | undefined;
  for (const [name, permission] of GRANT_HEADERS) {
    const value = nonEmpty(get(name));
    if (value === undefined) continue;
    grants ??= [];
    for (const grantee of parseGranteeList(name, value, isUser)) grants.push({ grantee, permission });
  }
  return grants;
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v);

/** One pair of a grant header: `id="…"`, `uri="…"` or `emailAddress="…"` (the quotes optional, as clients send both). */
const PAIR = /^\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*$/;

function parseGranteeList(header: string, value: string, isUser: IsUser): Grant['grantee'][] {
  return value.split(',').map((part) => {
    const m = PAIR.exec(part);
    if (!m) throw badFormat(header, value);
    const type = m[1]!.toLowerCase();
    const v = m[2] ?? m[3]!;
    if (type === 'id') return userGrantee(v, isUser);
    if (type === 'uri') return groupGrantee(v);
    if (type === 'emailaddress') throw unresolvableEmail(v);
    throw badFormat(header, value);
  });
}

function badFormat(header: string, value: string): S3Error {
  return new S3Error('InvalidArgument', { message: 'Argument format not recognized', extra: { ArgumentName: header, ArgumentValue: value } });
}

/** A CanonicalUser grantee: the id of a user of this gateway, else InvalidArgument as S3 answers an unknown id. */
export function userGrantee(id: string, isUser: IsUser): Grant['grantee'] {
  if (!isUser(id)) throw new S3Error('InvalidArgument', { message: 'Invalid id', extra: { ArgumentName: 'CanonicalUser/ID', ArgumentValue: id } });
  return { type: 'CanonicalUser', id };
}

/** A Group grantee: one of S3's predefined groups. */
export function groupGrantee(uri: string): Grant['grantee'] {
  if (!GROUP_URIS.has(uri)) throw new S3Error('InvalidArgument', { message: 'Invalid group uri', extra: { ArgumentName: 'Group/URI', ArgumentValue: uri } });
  return { type: 'Group', uri: uri as GroupUri };
}

/** There are no e-mail addresses here, so none resolves: S3's answer for an unknown address. */
export function unresolvableEmail(address: string): S3Error {
  return new S3Error('UnresolvableGrantByEmailAddress', { extra: { EmailAddress: address } });
}

/** Writes that take `x-amz-acl` or `x-amz-grant-*` and keep the ACL on what they create (a multipart upload: on completion). */
const takesAcl = (kind: string): boolean => kind === 'CreateBucket' || OBJECT_WRITES.has(kind);

/**
 * The ACL a write asks for in its headers, checked before the write starts so that a bad value
 * fails without writing. Other requests ignore the headers, as S3 does (PutBucketAcl and
 * PutObjectAcl read theirs with their body, gateway/s3/acl.ts).
 */
export function aclOnWrite(kind: string, get: ValueOf, isUser: IsUser): StoredAcl | undefined {
  return takesAcl(kind) ? aclFromHeaders(get, isUser) : undefined;
}
