/**
 * Explicit ACL grants without a server: the x-amz-grant-* headers, AccessControlPolicy bodies,
 * the ACL column (old canned values and grant lists), Block Public Access, and what grants let
 * decideAccess allow.
 */
import { ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY, aclColumn, isPublicAcl, storedAcl, userGrant, type StoredAcl } from '../../gateway/access/acl-grants.js';
import { decideAccess, type AccessQuery } from '../../gateway/access/authorize.js';
import { aclOnWrite } from '../../gateway/access/grant-headers.js';
import { aclFromHeaders, parseGrantHeaders } from '../../gateway/access/grant-headers.js';
import { parseBucketPolicy } from '../../gateway/access/policy.js';
import { checkAclAllowed, NO_BLOCK } from '../../gateway/access/public-access-block.js';
import { buildAccessControlPolicy, parseAccessControlPolicy } from '../../gateway/s3/acl.js';
import { S3Error } from '../../gateway/s3/errors.js';
import { codeOf, codeOfAsync } from '../helpers/errors.js';

const USERS = new Set(['root', 'alice', 'bob', 'carol']);
const isUser = (id: string): boolean => USERS.has(id);
const headers = (h: Record<string, string>) => (name: string): string | undefined => h[name];

describe('x-amz-grant-* headers', () => {
  test('ids, uris, quoted or not, several per header, listed READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL', () => {
    const grants = parseGrantHeaders(headers({
      'x-amz-grant-full-control': 'id=alice',
      'x-amz-grant-read': `id="bob", uri="${ALL_USERS}"`,
      'x-amz-grant-write-acp': ` ID = "carol" `,
    }), isUser);
    expect(grants).toEqual([
      userGrant('bob', 'READ'), { grantee: { type: 'Group', uri: ALL_USERS }, permission: 'READ' },
      userGrant('carol', 'WRITE_ACP'), userGrant('alice', 'FULL_CONTROL'),
    ]);
    expect(parseGrantHeaders(headers({}), isUser)).toBeUndefined();
    // An empty header grants nothing and is no grant header at all.
    expect(parseGrantHeaders(headers({ 'x-amz-grant-read': ' ' }), isUser)).toBeUndefined();
  });

  test.each([
    ['id="nobody"', 'InvalidArgument'], // not a user of this gateway
    ['uri="http://acs.amazonaws.com/groups/global/Everyone"', 'InvalidArgument'],
    ['emailAddress="bob@example.com"', 'UnresolvableGrantByEmailAddress'],
    ['bob', 'InvalidArgument'],
    ['id="bob",', 'InvalidArgument'],
    ['name="bob"', 'InvalidArgument'],
    ['id="bob" uri="x"', 'InvalidArgument'],
  ])('%s -> %s', (value, code) => {
    expect(codeOf(() => parseGrantHeaders(headers({ 'x-amz-grant-read': value }), isUser))).toBe(code);
  });

  test('an unknown id names itself in the error, as S3 does', () => {
    try {
      parseGrantHeaders(headers({ 'x-amz-grant-read': 'id="_foo"' }), isUser);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(S3Error);
      expect((err as S3Error).extra).toEqual({ ArgumentName: 'CanonicalUser/ID', ArgumentValue: '_foo' });
      expect((err as S3Error).message).toBe('Invalid id');
    }
  });

  test('x-amz-acl or grants, never both; only writes that keep an ACL read them', () => {
    expect(aclFromHeaders(headers({ 'x-amz-acl': 'public-read' }), isUser)).toBe('public-read');
    expect(aclFromHeaders(headers({ 'x-amz-grant-read': 'id=bob' }), isUser)).toEqual({ grants: [userGrant('bob', 'READ')] });
    expect(codeOf(() => aclFromHeaders(headers({ 'x-amz-acl': 'private', 'x-amz-grant-read': 'id=bob' }), isUser))).toBe('InvalidRequest');
    expect(aclOnWrite('GetObject', headers({ 'x-amz-grant-read': 'id=nobody' }), isUser)).toBeUndefined();
    expect(codeOf(() => aclOnWrite('PutObject', headers({ 'x-amz-grant-read': 'id=nobody' }), isUser))).toBe('InvalidArgument');
    expect(aclOnWrite('CreateBucket', headers({ 'x-amz-grant-write': `uri=${LOG_DELIVERY}` }), isUser))
      .toEqual({ grants: [{ grantee: { type: 'Group', uri: LOG_DELIVERY }, permission: 'WRITE' }] });
  });
});

describe('AccessControlPolicy bodies', () => {
  const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
  const policy = (...grants: string[]): Buffer => Buffer.from(`<AccessControlPolicy><Owner><ID>alice</ID></Owner><AccessControlList>${
    grants.map((g) => `<Grant>${g}</Grant>`).join('')}</AccessControlList></AccessControlPolicy>`);
  const user = (id: string, p: string) => `<Grantee ${XSI} xsi:type="CanonicalUser"><ID>${id}</ID><DisplayName>x</DisplayName></Grantee><Permission>${p}</Permission>`;
  const group = (uri: string, p: string) => `<Grantee ${XSI} xsi:type="Group"><URI>${uri}</URI></Grantee><Permission>${p}</Permission>`;

  test('any grants, kept as written; none at all is an empty ACL', () => {
    expect(parseAccessControlPolicy(policy(user('alice', 'FULL_CONTROL'), user('bob', 'READ_ACP'), group(AUTHENTICATED_USERS, 'WRITE')), isUser)).toEqual({
      grants: [userGrant('alice', 'FULL_CONTROL'), userGrant('bob', 'READ_ACP'), { grantee: { type: 'Group', uri: AUTHENTICATED_USERS }, permission: 'WRITE' }],
    });
    expect(parseAccessControlPolicy(policy(), isUser)).toEqual({ grants: [] });
  });

  test.each([
    ['an unknown user id', user('_foo', 'READ'), 'InvalidArgument'],
    ['an e-mail grantee', `<Grantee ${XSI} xsi:type="AmazonCustomerByEmail"><EmailAddress>a@b.c</EmailAddress></Grantee><Permission>READ</Permission>`, 'UnresolvableGrantByEmailAddress'],
    ['an unknown permission', user('bob', 'DELETE'), 'MalformedACLError'],
    ['no permission', `<Grantee ${XSI} xsi:type="CanonicalUser"><ID>bob</ID></Grantee>`, 'MalformedACLError'],
    ['an empty grantee', '<Grantee></Grantee><Permission>READ</Permission>', 'MalformedACLError'],
  ])('%s -> %s', (_what, grant, code) => {
    expect(codeOf(() => parseAccessControlPolicy(policy(grant), isUser))).toBe(code);
  });

  test('GetBucketAcl lists exactly the stored grants: users with ID and DisplayName, groups by URI', () => {
    const xml = buildAccessControlPolicy('alice', { grants: [userGrant('bob', 'READ'), { grantee: { type: 'Group', uri: ALL_USERS }, permission: 'READ' }] });
    expect(xml).toContain('<Owner><ID>alice</ID><DisplayName>alice</DisplayName></Owner>');
    expect(xml).toContain('<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>bob</ID><DisplayName>bob</DisplayName></Grantee><Permission>READ</Permission></Grant>');
    expect(xml).toContain(`<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${ALL_USERS}</URI></Grantee>`);
    expect(xml.match(/<Grant>/g)).toHaveLength(2);
    // A canned ACL: its group grants, then the owner's FULL_CONTROL.
    expect(buildAccessControlPolicy('alice', 'public-read').match(/<Permission>(\w+)<\/Permission>/g)).toEqual(['<Permission>READ</Permission>', '<Permission>FULL_CONTROL</Permission>']);
  });
});

describe('the acl column', () => {
  test.each<[StoredAcl | undefined, string | null]>([
    [undefined, null], ['private', null], ['public-read', 'public-read'],
    [{ grants: [userGrant('bob', 'READ')] }, '{"grants":[{"id":"bob","permission":"READ"}]}'],
    [{ grants: [] }, '{"grants":[]}'],
  ])('%j <-> %s', (acl, column) => {
    expect(aclColumn(acl)).toBe(column);
    expect(storedAcl(column)).toEqual(acl ?? 'private');
  });

  test('values written before grants read as before; what cannot be read is private, never wider', () => {
    expect(storedAcl('authenticated-read')).toBe('authenticated-read');
    expect(storedAcl(null)).toBe('private');
    expect(storedAcl('something-else')).toBe('private');
    expect(storedAcl('{not json')).toBe('private');
    expect(storedAcl('{"grants":[{"uri":"http://example/x","permission":"READ"},{"id":"bob","permission":"ALL"},{"id":"bob","permission":"READ"}]}'))
      .toEqual({ grants: [userGrant('bob', 'READ')] });
  });
});

describe('Block Public Access and grants', () => {
  const blockAcls = { ...NO_BLOCK, blockPublicAcls: true };
  test('a grant to AllUsers or AuthenticatedUsers is public; to users or LogDelivery it is not', async () => {
    expect(isPublicAcl({ grants: [{ grantee: { type: 'Group', uri: ALL_USERS }, permission: 'WRITE_ACP' }] })).toBe(true);
    expect(isPublicAcl({ grants: [{ grantee: { type: 'Group', uri: AUTHENTICATED_USERS }, permission: 'READ' }] })).toBe(true);
    expect(isPublicAcl({ grants: [userGrant('bob', 'FULL_CONTROL'), { grantee: { type: 'Group', uri: LOG_DELIVERY }, permission: 'WRITE' }] })).toBe(false);
    expect(isPublicAcl('log-delivery-write')).toBe(false);
    expect(await codeOfAsync(() => checkAclAllowed({ grants: [{ grantee: { type: 'Group', uri: ALL_USERS }, permission: 'READ' }] }, async () => blockAcls))).toBe('AccessDenied');
    expect(await codeOfAsync(() => checkAclAllowed({ grants: [userGrant('bob', 'READ')] }, async () => blockAcls))).toBe('none');
  });
});

describe('decideAccess with grants', () => {
  const bucket = { name: 'b', owner: 'alice', region: 'us-east-1', createdAt: 0 };
  const bob = { owner: 'bob', admin: false };
  const carol = { owner: 'carol', admin: false };
  const q = (kind: AccessQuery['kind'], permission: AccessQuery['permission'], more: Partial<AccessQuery> = {}): AccessQuery => ({
    caller: bob, kind, permission, bucket, ...(kind.includes('Object') && { key: 'k' }), ...more,
  });
  const to = (who: string, ...perms: Array<'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL'>): StoredAcl => ({ grants: perms.map((p) => userGrant(who, p)) });
  const allowed = (query: AccessQuery): boolean => decideAccess(query).allowed;

  test.each([
    // [what, query, allowed]
    ['object READ gets it', q('GetObject', 'read', { objectAcl: () => to('bob', 'READ') }), true],
    ['object READ gets a version', q('GetObject', 'read', { versionId: 'v', objectAcl: () => to('bob', 'READ') }), true],
    ['object READ is bob\'s only', q('GetObject', 'read', { caller: carol, objectAcl: () => to('bob', 'READ') }), false],
    ['object READ does not read its ACL', q('GetObjectAcl', 'read', { objectAcl: () => to('bob', 'READ') }), false],
    ['object READ_ACP reads its ACL', q('GetObjectAcl', 'read', { objectAcl: () => to('bob', 'READ_ACP') }), true],
    ['object READ_ACP does not get it', q('GetObject', 'read', { objectAcl: () => to('bob', 'READ_ACP') }), false],
    ['object WRITE_ACP writes its ACL', q('PutObjectAcl', 'write', { objectAcl: () => to('bob', 'WRITE_ACP') }), true],
    ['object FULL_CONTROL reads it and its ACL', q('GetObjectAcl', 'read', { objectAcl: () => to('bob', 'FULL_CONTROL') }), true],
    ['object FULL_CONTROL does not put into the bucket', q('PutObject', 'write', { objectAcl: () => to('bob', 'FULL_CONTROL') }), false],
    ['object WRITE grants nothing (S3 has no object WRITE action)', q('PutObject', 'write', { objectAcl: () => to('bob', 'WRITE') }), false],
    ['bucket WRITE puts', q('PutObject', 'write', { bucketAcl: to('bob', 'WRITE') }), true],
    ['bucket WRITE deletes', q('DeleteObject', 'write', { bucketAcl: to('bob', 'WRITE') }), true],
    ['bucket WRITE does not tag', q('PutObjectTagging', 'write', { bucketAcl: to('bob', 'WRITE') }), false],
    ['bucket READ lists', q('ListObjectsV2', 'read', { bucketAcl: to('bob', 'READ') }), true],
    ['bucket READ does not open its objects', q('GetObject', 'read', { bucketAcl: to('bob', 'READ'), objectAcl: () => 'private' }), false],
    ['bucket READ_ACP reads the bucket ACL', q('GetBucketAcl', 'read', { bucketAcl: to('bob', 'READ_ACP') }), true],
    ['bucket READ does not read the bucket ACL', q('GetBucketAcl', 'read', { bucketAcl: to('bob', 'READ') }), false],
    ['bucket WRITE_ACP writes the bucket ACL', q('PutBucketAcl', 'write', { bucketAcl: to('bob', 'WRITE_ACP') }), true],
    ['bucket FULL_CONTROL does all four', q('PutBucketAcl', 'write', { bucketAcl: to('bob', 'FULL_CONTROL') }), true],
    ['bucket grants do not reach bucket configuration', q('PutBucketPolicy', 'owner', { bucketAcl: to('bob', 'FULL_CONTROL') }), false],
    ['AuthenticatedUsers READ_ACP: any signed caller', q('GetBucketAcl', 'read', { caller: carol, bucketAcl: { grants: [{ grantee: { type: 'Group', uri: AUTHENTICATED_USERS }, permission: 'READ_ACP' }] } }), true],
    ['AuthenticatedUsers READ_ACP: not anonymous', q('GetBucketAcl', 'read', { caller: null, bucketAcl: { grants: [{ grantee: { type: 'Group', uri: AUTHENTICATED_USERS }, permission: 'READ_ACP' }] } }), false],
    ['AllUsers WRITE: anonymous puts', q('PutObject', 'write', { caller: null, bucketAcl: { grants: [{ grantee: { type: 'Group', uri: ALL_USERS }, permission: 'WRITE' }] } }), true],
    ['IgnorePublicAcls keeps user grants', q('GetObject', 'read', { publicAccessBlock: { ...NO_BLOCK, ignorePublicAcls: true }, objectAcl: () => to('bob', 'READ') }), true],
    ['IgnorePublicAcls drops group grants', q('GetObject', 'read', { caller: null, publicAccessBlock: { ...NO_BLOCK, ignorePublicAcls: true }, objectAcl: () => 'public-read' }), false],
  ] as const)('%s', (_what, query, expected) => {
    expect(allowed(query)).toBe(expected);
  });

  test('a policy Deny beats a grant, but never locks the owner out of the bucket ACL', () => {
    const deny = parseBucketPolicy(JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'] }] }), 'b');
    expect(decideAccess(q('GetBucketAcl', 'read', { policy: deny, bucketAcl: to('bob', 'FULL_CONTROL') }))).toEqual({ allowed: false, why: 'explicit-deny' });
    const alice = { owner: 'alice', admin: false };
    expect(decideAccess(q('PutBucketAcl', 'write', { caller: alice, policy: deny }))).toEqual({ allowed: true, via: 'owner' });
    expect(decideAccess(q('GetBucketAcl', 'read', { caller: alice, policy: deny }))).toEqual({ allowed: true, via: 'owner' });
    expect(decideAccess(q('GetObject', 'read', { caller: alice, policy: deny })).allowed).toBe(false);
    // An ACL without the owner's own grant does not shut the owner out.
    expect(decideAccess(q('GetBucketAcl', 'read', { caller: alice, bucketAcl: { grants: [] } }))).toEqual({ allowed: true, via: 'owner' });
  });
});
