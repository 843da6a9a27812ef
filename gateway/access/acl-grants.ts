import type { CannedAcl } from './canned-acl.js';

/**
 * ACL grants, as S3 keeps them with ACLs enabled: a list of (grantee, permission).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
 * The bucket owner owns every object here and may always read and write ACLs, grant or not;
 * grants only ever add callers.
 */
export type AclPermission = 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL';
export const ACL_PERMISSIONS: readonly AclPermission[] = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'];

export const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
export const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
export const LOG_DELIVERY = 'http://acs.amazonaws.com/groups/s3/LogDelivery';
export type GroupUri = typeof ALL_USERS | typeof AUTHENTICATED_USERS | typeof LOG_DELIVERY;
export const GROUP_URIS: ReadonlySet<string> = new Set<GroupUri>([ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY]);

/** A user of this gateway (by user id) or one of S3's predefined groups. */
export type Grantee = { type: 'CanonicalUser'; id: string } | { type: 'Group'; uri: GroupUri };

export interface Grant {
  grantee: Grantee;
  permission: AclPermission;
}

/**
 * An ACL as an ACL column keeps it: a canned ACL by name (its grants follow from the owner),
 * or an explicit list of grants, the owner's own included when it has one (an explicit list
 * may leave the owner out, as S3 allows; the owner keeps its rights as owner). `owner` names the
 * owner of an object that is not its bucket owner's (object-ownership.ts); absent, the bucket owner.
 */
export type StoredAcl = CannedAcl | { grants: Grant[]; owner?: string };

/** The group grants each canned ACL adds to the owner's FULL_CONTROL, in the order S3 lists them. */
const CANNED_GROUP_GRANTS: Record<CannedAcl, readonly Grant[]> = {
  private: [],
  'public-read': [group(ALL_USERS, 'READ')],
  'public-read-write': [group(ALL_USERS, 'READ'), group(ALL_USERS, 'WRITE')],
  'authenticated-read': [group(AUTHENTICATED_USERS, 'READ')],
  'log-delivery-write': [group(LOG_DELIVERY, 'WRITE'), group(LOG_DELIVERY, 'READ_ACP')],
};

function group(uri: GroupUri, permission: AclPermission): Grant {
  return { grantee: { type: 'Group', uri }, permission };
}

export function userGrant(id: string, permission: AclPermission): Grant {
  return { grantee: { type: 'CanonicalUser', id }, permission };
}

/**
 * Every grant of an ACL. A canned ACL's are its group grants, then the owner's FULL_CONTROL when
 * `owner` is given (decisions leave it out: the owner is let in before any grant is read).
 */
export function grantsOf(acl: StoredAcl, owner?: string): readonly Grant[] {
  if (typeof acl !== 'string') return acl.grants;
  const groups = CANNED_GROUP_GRANTS[acl];
  return owner === undefined ? groups : [...groups, userGrant(owner, 'FULL_CONTROL')];
}

/** A grant to everyone or to every signed caller, as Block Public Access counts it. */
export function isPublicGrant(g: Grant): boolean {
  return g.grantee.type === 'Group' && (g.grantee.uri === ALL_USERS || g.grantee.uri === AUTHENTICATED_USERS);
}

export function isPublicAcl(acl: StoredAcl | undefined): boolean {
  return acl !== undefined && grantsOf(acl).some(isPublicGrant);
}

/**
 * Whether an ACL gives `caller` (a user id, null when unsigned) `permission`, directly or by
 * FULL_CONTROL. `ignorePublic` (IgnorePublicAcls) drops the AllUsers and AuthenticatedUsers grants.
 * LogDelivery never matches: no log delivery signs requests here.
 */
export function aclGrants(acl: StoredAcl | undefined, caller: string | null, permission: AclPermission, ignorePublic = false): boolean {
  if (acl === undefined) return false;
  // The user who owns an object (another than the bucket owner) holds every permission on it.
  if (typeof acl !== 'string' && acl.owner !== undefined && acl.owner === caller) return true;
  return grantsOf(acl).some((g) => {
    if (g.permission !== permission && g.permission !== 'FULL_CONTROL') return false;
    if (ignorePublic && isPublicGrant(g)) return false;
    const who = g.grantee;
    if (who.type === 'CanonicalUser') return caller !== null && who.id === caller;
    return who.uri === ALL_USERS || (who.uri === AUTHENTICATED_USERS && caller !== null);
  });
}

// ---- storage: the `acl` TEXT column of buckets, objects and uploads

/** The column: NULL for private, a canned ACL's name, or `{"owner"?:…,"grants":[{"id"|"uri":…,"permission":…}]}`. */
interface GrantsColumn {
  owner?: string;
  grants: Array<{ id?: string; uri?: string; permission: string }>;
}

export function aclColumn(acl: StoredAcl | undefined): string | null {
  if (acl === undefined || acl === 'private') return null;
  if (typeof acl === 'string') return acl;
  const doc: GrantsColumn = {
    ...(acl.owner !== undefined && { owner: acl.owner }),
    grants: acl.grants.map((g) => ({
      ...(g.grantee.type === 'CanonicalUser' ? { id: g.grantee.id } : { uri: g.grantee.uri }), permission: g.permission,
    })),
  };
  return JSON.stringify(doc);
}

/** Whether `v` names one of the canned ACLs kept here (the keys of their grant table). */
export function isCannedAcl(v: string): v is CannedAcl {
  return Object.hasOwn(CANNED_GROUP_GRANTS, v);
}

/**
 * A stored ACL column: NULL (or anything unknown) is private; a canned name as written before
 * grants existed reads as before. A grant this gateway cannot read is dropped, never widened.
 */
export function storedAcl(v: string | null | undefined): StoredAcl {
  if (v == null) return 'private';
  if (isCannedAcl(v)) return v;
  if (!v.startsWith('{')) return 'private';
  let doc: Partial<GrantsColumn>;
  try {
    doc = JSON.parse(v) as Partial<GrantsColumn>;
  } catch {
    return 'private';
  }
  const grants: Grant[] = [];
  for (const g of Array.isArray(doc.grants) ? doc.grants : []) {
    const permission = g.permission as AclPermission;
    if (!ACL_PERMISSIONS.includes(permission)) continue;
    if (typeof g.id === 'string') grants.push(userGrant(g.id, permission));
    else if (typeof g.uri === 'string' && GROUP_URIS.has(g.uri)) grants.push(group(g.uri as GroupUri, permission));
  }
  return typeof doc.owner === 'string' ? { owner: doc.owner, grants } : { grants };
}

/** The owner of what an ACL is on: the one it names (an object another user owns), else `fallback` (the bucket owner). */
export function aclOwner(acl: StoredAcl | undefined, fallback: string): string {
  return acl !== undefined && typeof acl !== 'string' && acl.owner !== undefined ? acl.owner : fallback;
}
