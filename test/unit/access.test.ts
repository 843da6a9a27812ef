/**
 * The access decision (gateway/access/*) without a server: policy parsing and evaluation,
 * the order owner / Deny / Allow / ACL, CORS matching, and sealed key secrets.
 */
import { randomBytes } from 'node:crypto';
import { decideAccess, type AccessQuery } from '../../gateway/access/authorize.js';
import { parseCannedAcl } from '../../gateway/access/canned-acl.js';
import { corsHeaders, matchPreflight, type CorsRule } from '../../gateway/access/cors-rules.js';
import { evaluatePolicy, parseBucketPolicy } from '../../gateway/access/policy.js';
import { openSecret, sealSecret } from '../../gateway/access/secret-box.js';
import { parseCorsConfiguration } from '../../gateway/s3/cors.js';
import { codeOf } from '../helpers/errors.js';

const bucket = { name: 'b', owner: 'alice', region: 'us-east-1', createdAt: 0 };

describe('bucket policy', () => {
  const policy = parseBucketPolicy(JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::123456789012:user/bob', 'carol'] }, Action: 's3:Get*', Resource: 'arn:aws:s3:::b/docs/*' },
      { Effect: 'Deny', Principal: '*', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/docs/private*'] },
    ],
  }), 'b');

  test.each([
    ['bob', 's3:GetObject', 'arn:aws:s3:::b/docs/a', 'allow'],
    ['carol', 's3:getobject', 'arn:aws:s3:::b/docs/a', 'allow'], // actions are case-insensitive
    ['bob', 's3:GetObject', 'arn:aws:s3:::b/docs/private-1', 'deny'],
    [null, 's3:GetObject', 'arn:aws:s3:::b/docs/private-1', 'deny'],
    [null, 's3:GetObject', 'arn:aws:s3:::b/docs/a', 'none'],
    ['dave', 's3:GetObject', 'arn:aws:s3:::b/docs/a', 'none'],
    ['bob', 's3:PutObject', 'arn:aws:s3:::b/docs/a', 'none'],
    ['bob', 's3:GetObject', 'arn:aws:s3:::b/other', 'none'],
  ] as const)('%s %s %s -> %s', (principal, action, resource, verdict) => {
    expect(evaluatePolicy(policy, { principal, action, resource })).toBe(verdict);
  });

  test.each([
    ['not json', 'MalformedPolicy'],
    ['[]', 'MalformedPolicy'],
    [JSON.stringify({ Version: '2099-01-01', Statement: [] }), 'MalformedPolicy'],
    [JSON.stringify({ Statement: [] }), 'MalformedPolicy'],
    [JSON.stringify({ Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' } }), 'MalformedPolicy'],
    [JSON.stringify({ Statement: { Effect: 'Allow', Principal: '*', Action: 'iam:Pass', Resource: 'arn:aws:s3:::b/*' } }), 'MalformedPolicy'],
    [JSON.stringify({ Statement: { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::other/*' } }), 'MalformedPolicy'],
    [JSON.stringify({ Statement: { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', Condition: { StringSortOf: { 'aws:userid': 'x' } } } }), 'MalformedPolicy'],
    [JSON.stringify({ Statement: { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', Condition: { StringEquals: { 'aws:PrincipalArn': 'x' } } } }), 'NotImplemented'],
  ])('%s is refused with %s', (text, code) => {
    expect(codeOf(() => parseBucketPolicy(text, 'b'))).toBe(code);
  });
});

describe('decideAccess', () => {
  const base: AccessQuery = { caller: { owner: 'bob', admin: false }, kind: 'GetObject', permission: 'read', bucket, key: 'k' };
  const allowBob = parseBucketPolicy(JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 's3:*', Resource: 'arn:aws:s3:::b/*' }] }), 'b');
  const denyAll = parseBucketPolicy(JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'] }] }), 'b');

  test('the owner and the root user may; another user may not', () => {
    expect(decideAccess({ ...base, caller: { owner: 'alice', admin: false } })).toEqual({ allowed: true, via: 'owner' });
    expect(decideAccess({ ...base, caller: { owner: 'root', admin: true } })).toEqual({ allowed: true, via: 'owner' });
    expect(decideAccess(base)).toEqual({ allowed: false, why: 'no-grant' });
  });

  test('a policy Allow grants; an explicit Deny beats ownership, on configuration too, but never locks the owner out of the policy', () => {
    expect(decideAccess({ ...base, policy: allowBob })).toEqual({ allowed: true, via: 'policy' });
    const alice = { ...base, caller: { owner: 'alice', admin: false }, key: undefined, permission: 'owner' as const };
    expect(decideAccess({ ...base, caller: alice.caller, policy: denyAll })).toEqual({ allowed: false, why: 'explicit-deny' });
    for (const kind of ['PutBucketPolicy', 'GetBucketPolicy', 'DeleteBucketPolicy', 'GetBucketAcl'] as const) {
      expect(decideAccess({ ...alice, kind, policy: denyAll }).allowed, kind).toBe(true);
    }
    // Denying s3:PutBucketVersioning guards versioning against the owner's own keys, as on S3.
    const guard = parseBucketPolicy(JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: ['s3:PutBucketVersioning', 's3:PutLifecycleConfiguration'], Resource: 'arn:aws:s3:::b' }] }), 'b');
    expect(decideAccess({ ...alice, kind: 'PutBucketVersioning', policy: guard })).toEqual({ allowed: false, why: 'explicit-deny' });
    expect(decideAccess({ ...alice, kind: 'DeleteBucketLifecycle', policy: guard })).toEqual({ allowed: false, why: 'explicit-deny' });
    expect(decideAccess({ ...alice, kind: 'GetBucketVersioning', permission: 'read', policy: guard })).toEqual({ allowed: true, via: 'owner' });
    expect(decideAccess({ ...alice, kind: 'PutBucketCors', policy: guard })).toEqual({ allowed: true, via: 'owner' });
    // Configuration stays the owner's: an Allow does not open it to others.
    expect(decideAccess({ ...base, kind: 'PutBucketPolicy', permission: 'owner', key: undefined, policy: allowBob }).allowed).toBe(false);
  });

  test('anonymous: public-read object for reads, public-read bucket for listing, nothing else', () => {
    const anon = { ...base, caller: null };
    expect(decideAccess(anon)).toEqual({ allowed: false, why: 'anonymous' });
    expect(decideAccess({ ...anon, objectAcl: () => 'public-read' })).toEqual({ allowed: true, via: 'acl' });
    // A public-read bucket lists; its objects need their own public-read ACL, as on AWS S3.
    expect(decideAccess({ ...anon, kind: 'HeadObject', bucketAcl: 'public-read', objectAcl: () => 'private' }).allowed).toBe(false);
    expect(decideAccess({ ...anon, kind: 'HeadObject', bucketAcl: 'public-read', objectAcl: () => 'public-read' }).allowed).toBe(true);
    expect(decideAccess({ ...anon, kind: 'ListObjectsV2', key: undefined, bucketAcl: 'public-read' }).allowed).toBe(true);
    expect(decideAccess({ ...anon, kind: 'PutObject', permission: 'write', bucketAcl: 'public-read', objectAcl: () => 'public-read' }).allowed).toBe(false);
    expect(decideAccess({ ...anon, kind: 'ListBuckets', permission: 'authenticated', bucket: undefined }).allowed).toBe(false);
    expect(decideAccess({ ...anon, kind: 'Options', permission: 'none' }).allowed).toBe(true);
    expect(decideAccess({ ...anon, objectAcl: () => 'public-read', policy: denyAll })).toEqual({ allowed: false, why: 'explicit-deny' });
    // A READ grant covers the object's versions.
    expect(decideAccess({ ...anon, versionId: 'v1', objectAcl: () => 'public-read' })).toEqual({ allowed: true, via: 'acl' });
  });

  test('public-read-write opens writes into the bucket; authenticated-read opens reads to any signed caller', () => {
    const anon = { ...base, caller: null };
    const put = { ...anon, kind: 'PutObject' as const, permission: 'write' as const };
    expect(decideAccess({ ...put, bucketAcl: 'public-read-write' }).allowed).toBe(true);
    expect(decideAccess({ ...put, kind: 'DeleteObject', bucketAcl: 'public-read-write' }).allowed).toBe(true);
    expect(decideAccess({ ...put, kind: 'PutObjectTagging', bucketAcl: 'public-read-write' }).allowed).toBe(false);
    expect(decideAccess({ ...put, bucketAcl: 'public-read' }).allowed).toBe(false);
    expect(decideAccess({ ...anon, kind: 'ListObjectsV2', key: undefined, bucketAcl: 'public-read-write' }).allowed).toBe(true);
    const list = { ...base, kind: 'ListObjectsV2' as const, key: undefined, bucketAcl: 'authenticated-read' as const };
    expect(decideAccess(list).allowed).toBe(true);
    expect(decideAccess({ ...list, caller: null }).allowed).toBe(false);
    expect(decideAccess({ ...base, objectAcl: () => 'authenticated-read' }).allowed).toBe(true);
    expect(decideAccess({ ...anon, objectAcl: () => 'authenticated-read' }).allowed).toBe(false);
  });

  test('Block Public Access: IgnorePublicAcls voids ACL grants; RestrictPublicBuckets keeps anonymous callers out of a public policy', () => {
    const anon = { ...base, caller: null };
    const block = { blockPublicAcls: false, ignorePublicAcls: true, blockPublicPolicy: false, restrictPublicBuckets: false };
    expect(decideAccess({ ...anon, objectAcl: () => 'public-read' }).allowed).toBe(true);
    expect(decideAccess({ ...anon, objectAcl: () => 'public-read', publicAccessBlock: block }).allowed).toBe(false);
    expect(decideAccess({ ...anon, kind: 'ListObjectsV2', key: undefined, bucketAcl: 'public-read', publicAccessBlock: block }).allowed).toBe(false);
    const publicPolicy = parseBucketPolicy(JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] }), 'b');
    const restrict = { ...block, ignorePublicAcls: false, restrictPublicBuckets: true };
    expect(decideAccess({ ...anon, policy: publicPolicy }).allowed).toBe(true);
    expect(decideAccess({ ...anon, policy: publicPolicy, publicAccessBlock: restrict }).allowed).toBe(false);
    expect(decideAccess({ ...base, policy: publicPolicy, publicAccessBlock: restrict }).allowed).toBe(true);
  });

  test('a request naming a version is its own action: denying DeleteObjectVersion keeps versions, even from the owner', () => {
    const protect = parseBucketPolicy(JSON.stringify({ Statement: [
      { Effect: 'Deny', Principal: '*', Action: ['s3:DeleteObjectVersion', 's3:PutObjectVersionAcl'], Resource: 'arn:aws:s3:::b/*' },
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' },
    ] }), 'b');
    const alice = { ...base, caller: { owner: 'alice', admin: false }, kind: 'DeleteObject' as const, permission: 'write' as const, policy: protect };
    expect(decideAccess(alice).allowed).toBe(true); // a delete marker
    expect(decideAccess({ ...alice, versionId: 'v1' })).toEqual({ allowed: false, why: 'explicit-deny' });
    expect(decideAccess({ ...alice, kind: 'PutObjectAcl', versionId: 'v1' })).toEqual({ allowed: false, why: 'explicit-deny' });
    expect(decideAccess({ ...alice, kind: 'PutObjectAcl' }).allowed).toBe(true);
    // s3:GetObject does not grant s3:GetObjectVersion, as on S3.
    expect(decideAccess({ ...base, caller: null, policy: protect }).allowed).toBe(true);
    expect(decideAccess({ ...base, caller: null, policy: protect, versionId: 'v1' }).allowed).toBe(false);
  });
});

describe('canned ACL header', () => {
  test.each([
    ['private', 'private'], ['public-read', 'public-read'], ['bucket-owner-full-control', 'private'],
  ])('%s -> %s', (v, acl) => expect(parseCannedAcl(v)).toBe(acl));
  test('the five kept canned ACLs parse; bucket-owner-* are private here', () => {
    expect(['private', 'public-read', 'public-read-write', 'authenticated-read', 'log-delivery-write', 'bucket-owner-full-control'].map((v) => parseCannedAcl(v)))
      .toEqual(['private', 'public-read', 'public-read-write', 'authenticated-read', 'log-delivery-write', 'private']);
  });

  test('unsupported and unknown values', () => {
    expect(codeOf(() => parseCannedAcl('aws-exec-read'))).toBe('NotImplemented');
    expect(codeOf(() => parseCannedAcl('nonsense'))).toBe('InvalidArgument');
  });
});

describe('CORS', () => {
  const rules: CorsRule[] = parseCorsConfiguration(`<CORSConfiguration>
    <CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
      <AllowedHeader>X-Amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>30</MaxAgeSeconds></CORSRule>
    <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>
  </CORSConfiguration>`);

  test('first matching rule by origin, method and every requested header', () => {
    expect(matchPreflight(rules, 'https://app.example.com', 'PUT', ['x-amz-date'])).toBe(rules[0]);
    expect(matchPreflight(rules, 'https://app.example.com', 'PUT', ['authorization'])).toBeUndefined();
    expect(matchPreflight(rules, 'https://other.org', 'GET', [])).toBe(rules[1]);
    expect(matchPreflight(rules, 'https://other.org', 'DELETE', [])).toBeUndefined();
    expect(corsHeaders(rules[1]!, 'https://other.org')['access-control-allow-origin']).toBe('*');
    expect(corsHeaders(rules[0]!, 'https://app.example.com', ['x-amz-date'])).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-headers': 'x-amz-date',
      'access-control-expose-headers': 'ETag', 'access-control-max-age': '30', 'access-control-allow-credentials': 'true',
    });
  });

  test('bad documents', () => {
    expect(codeOf(() => parseCorsConfiguration('<CORSConfiguration></CORSConfiguration>'))).toBe('MalformedXML');
    expect(codeOf(() => parseCorsConfiguration('<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>'))).toBe('MalformedXML');
    expect(codeOf(() => parseCorsConfiguration('<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>'))).toBe('InvalidRequest');
  });

  test('AllowedHeader and ExposeHeader must be header names: what Node cannot send never gets stored', () => {
    const rule = (inner: string): string => `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>${inner}</CORSRule></CORSConfiguration>`;
    for (const bad of ['日本', 'a&#x1;b', 'x y', 'a:b', '', 'a"b']) {
      expect(codeOf(() => parseCorsConfiguration(rule(`<ExposeHeader>${bad}</ExposeHeader>`))), bad).toBe('InvalidRequest');
      expect(codeOf(() => parseCorsConfiguration(rule(`<AllowedHeader>${bad}</AllowedHeader>`))), bad).toBe('InvalidRequest');
    }
    expect(parseCorsConfiguration(rule('<AllowedHeader>*</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>x-amz-request-id</ExposeHeader>'))[0])
      .toMatchObject({ allowedHeaders: ['*', 'x-amz-*'], exposeHeaders: ['x-amz-request-id'] });
    // A rule stored before names were checked: the names Node could not send are left out.
    const stored: CorsRule = { allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: ['日本', 'ETag', 'a\u0001'] };
    expect(corsHeaders(stored, 'https://a.example')['access-control-expose-headers']).toBe('ETag');
  });
});

describe('sealed secrets', () => {
  test('open with the same master key and key id only', () => {
    const master = randomBytes(32);
    const sealed = sealSecret(master, 'SGKEY1', 'the secret');
    expect(sealed.includes(Buffer.from('the secret'))).toBe(false);
    expect(openSecret(master, 'SGKEY1', sealed)).toBe('the secret');
    expect(() => openSecret(master, 'SGKEY2', sealed)).toThrow(expect.objectContaining({ code: 'ERR_SECRET_BOX' }));
    expect(() => openSecret(randomBytes(32), 'SGKEY1', sealed)).toThrow(expect.objectContaining({ code: 'ERR_SECRET_BOX' }));
  });
});
