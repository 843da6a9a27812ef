/**
 * The actions a request needs besides its own (Object Lock, ACL and tagging headers, the
 * governance bypass), decided by decideAccess like any action: the owner holds them unless a
 * Deny says otherwise, another user only through a policy Allow, never through an ACL.
 */
import { BYPASS_GOVERNANCE, objectWriteActions } from '../../gateway/access/actions.js';
import { decideAccess, type AccessQuery } from '../../gateway/access/authorize.js';
import { parseBucketPolicy } from '../../gateway/access/policy.js';

const bucket = { name: 'b', owner: 'alice', region: 'us-east-1', createdAt: 0 };
const policy = (statements: object[]): ReturnType<typeof parseBucketPolicy> => parseBucketPolicy(JSON.stringify({ Statement: statements }), 'b');

describe('objectWriteActions', () => {
  test.each([
    [{}, []],
    [{ acl: 'private' as const }, []],
    [{ acl: 'public-read' as const }, ['s3:PutObjectAcl']],
    [{ acl: { grants: [] } }, ['s3:PutObjectAcl']],
    [{ tags: true }, ['s3:PutObjectTagging']],
    [{ retention: true }, ['s3:PutObjectRetention']],
    [{ legalHold: true }, ['s3:PutObjectLegalHold']],
    [{ acl: 'authenticated-read' as const, tags: true, retention: true, legalHold: true }, ['s3:PutObjectAcl', 's3:PutObjectTagging', 's3:PutObjectRetention', 's3:PutObjectLegalHold']],
  ])('%j needs %j', (extras, actions) => {
    expect(objectWriteActions(extras)).toEqual(actions);
  });
});

describe('decideAccess of an action beside the request\'s own', () => {
  const base: AccessQuery = { caller: { owner: 'bob', admin: false }, kind: 'DeleteObject', permission: 'write', bucket, key: 'k', versionId: 'v1', action: BYPASS_GOVERNANCE };
  const writer = policy([{ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: ['s3:PutObject', 's3:DeleteObjectVersion'], Resource: 'arn:aws:s3:::b/*' }]);

  test('a user allowed to delete versions is not allowed to bypass retention', () => {
    expect(decideAccess({ ...base, action: undefined, policy: writer })).toEqual({ allowed: true, via: 'policy' });
    expect(decideAccess({ ...base, policy: writer })).toEqual({ allowed: false, why: 'no-grant' });
    expect(decideAccess({ ...base, kind: 'PutObject', versionId: undefined, action: 's3:PutObjectRetention', policy: writer })).toEqual({ allowed: false, why: 'no-grant' });
  });

  test('a policy grants it, by name or wildcard; a Deny takes it from the owner and the root user too', () => {
    const granted = policy([{ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:BypassGovernance*', Resource: 'arn:aws:s3:::b/k' }]);
    expect(decideAccess({ ...base, policy: granted })).toEqual({ allowed: true, via: 'policy' });
    expect(decideAccess({ ...base, key: 'other', policy: granted }).allowed).toBe(false);
    expect(decideAccess({ ...base, caller: { owner: 'alice', admin: false } })).toEqual({ allowed: true, via: 'owner' });
    const deny = policy([{ Effect: 'Deny', Principal: '*', Action: 's3:BypassGovernanceRetention', Resource: 'arn:aws:s3:::b/*' }]);
    expect(decideAccess({ ...base, caller: { owner: 'alice', admin: false }, policy: deny })).toEqual({ allowed: false, why: 'explicit-deny' });
    expect(decideAccess({ ...base, caller: { owner: 'root', admin: true }, policy: deny })).toEqual({ allowed: false, why: 'explicit-deny' });
  });

  test('no ACL grants the lock actions, not even FULL_CONTROL on the bucket', () => {
    const acl = { grants: [{ grantee: { type: 'CanonicalUser' as const, id: 'bob' }, permission: 'FULL_CONTROL' as const }] };
    expect(decideAccess({ ...base, bucketAcl: acl, objectAcl: () => acl }).allowed).toBe(false);
    expect(decideAccess({ ...base, kind: 'PutObject', action: 's3:PutObjectLegalHold', bucketAcl: acl, objectAcl: () => acl }).allowed).toBe(false);
  });

  test('the owner-always-repairs exemption is for the request\'s own action only', () => {
    const deny = policy([{ Effect: 'Deny', Principal: '*', Action: 's3:PutObjectAcl', Resource: 'arn:aws:s3:::b/*' }]);
    expect(decideAccess({ ...base, kind: 'PutBucketAcl', permission: 'write', caller: { owner: 'alice', admin: false }, action: 's3:PutObjectAcl', policy: deny }).allowed).toBe(false);
  });
});
