/**
 * Bucket policy Conditions, NotPrincipal / NotAction / NotResource and policy variables, as IAM
 * evaluates them (gateway/access/policy-conditions.ts, policy.ts), the condition keys built from
 * a request (request-context.ts), and which conditioned policies count as public.
 */
import { decideAccess } from '../../gateway/access/authorize.js';
import { cidrContains, parseCidr, parseIp } from '../../gateway/access/cidr.js';
import { fixedContext, NO_CONDITION_KEYS } from '../../gateway/access/condition-context.js';
import { clauseHolds, parseConditions } from '../../gateway/access/policy-conditions.js';
import { evaluatePolicy, parseBucketPolicy } from '../../gateway/access/policy.js';
import { isPublicPolicy } from '../../gateway/access/public-access-block.js';
import { conditionContext, keySupport, postObjectFacts, requestFacts, type RequestFacts } from '../../gateway/access/request-context.js';
import { codeOf } from '../helpers/errors.js';

/** One condition block against fixed keys. */
function holds(condition: Record<string, Record<string, unknown>>, keys: Record<string, string | string[]>, variables = true): boolean {
  const ctx = fixedContext(keys);
  return parseConditions(condition, variables, () => {}).every((c) => clauseHolds(c, ctx));
}

describe('condition operators', () => {
  test.each([
    // [operator, policy value(s), request value, expected]
    ['StringEquals', 'abc', 'abc', true],
    ['StringEquals', 'abc', 'ABC', false],
    ['StringEquals', ['x', 'abc'], 'abc', true], // several values: any one (OR)
    ['StringNotEquals', ['x', 'abc'], 'abc', false],
    ['StringNotEquals', ['x', 'y'], 'abc', true],
    ['StringEqualsIgnoreCase', 'abc', 'ABC', true],
    ['StringNotEqualsIgnoreCase', 'abc', 'ABC', false],
    ['StringLike', 'home/*', 'home/a/b', true],
    ['StringLike', 'home/?', 'home/ab', false],
    ['StringLike', 'a.c', 'abc', false], // only * and ? are wildcards
    ['StringNotLike', 'public*', 'private', true],
    ['NumericEquals', '10', '10.0', true],
    ['NumericNotEquals', 10, '10', false],
    ['NumericLessThan', '100', '99', true],
    ['NumericLessThan', '100', '100', false],
    ['NumericLessThanEquals', '100', '100', true],
    ['NumericGreaterThan', '100', '101', true],
    ['NumericGreaterThanEquals', '100', '99', false],
    ['NumericEquals', '10', 'ten', false], // a request value that is no number matches nothing
    ['DateLessThan', '2030-01-01T00:00:00Z', '2029-12-31T23:59:59Z', true],
    ['DateGreaterThan', '2030-01-01T00:00:00Z', '2029-12-31T23:59:59Z', false],
    ['DateEquals', '2030-01-01T00:00:00Z', '1893456000', true], // epoch seconds and ISO 8601 compare
    ['DateNotEquals', '1893456000', '2030-01-01T00:00:00Z', false],
    ['DateLessThanEquals', '2030-01-01', '2030-01-01T00:00:00Z', true],
    ['DateGreaterThanEquals', '2030-01-01T00:00:00Z', '2030-01-01T00:00:01Z', true],
    ['Bool', 'true', 'true', true],
    ['Bool', true, 'false', false],
    ['Bool', 'false', 'FALSE', true],
    ['IpAddress', '10.0.0.0/8', '10.20.30.40', true],
    ['IpAddress', '10.0.0.0/8', '11.0.0.1', false],
    ['IpAddress', '192.0.2.7', '192.0.2.7', true], // a bare address is a /32
    ['IpAddress', '10.0.0.0/8', '::ffff:10.1.2.3', true], // how a dual-stack socket reports IPv4
    ['IpAddress', '2001:db8::/32', '2001:db8:ffff::1', true],
    ['IpAddress', '2001:db8::/33', '2001:db8:ffff::1', false],
    ['IpAddress', '2001:db8::/32', '10.0.0.1', false],
    ['NotIpAddress', ['10.0.0.0/8', '192.168.0.0/16'], '192.168.1.1', false],
    ['NotIpAddress', '10.0.0.0/8', '127.0.0.1', true],
    ['ArnEquals', 'arn:aws:s3:::b/*', 'arn:aws:s3:::b/key', true],
    ['ArnLike', 'arn:aws:iam::*:user/bob', 'arn:aws:iam::123:user/bob', true],
    ['ArnLike', 'arn:aws:iam::*:user/bob', 'arn:aws:iam::123:user/bobby', false],
    ['ArnLike', 'arn:aws:iam::*:user/bob', 'not-an-arn', false],
    ['ArnNotEquals', 'arn:aws:s3:::b', 'arn:aws:s3:::c', true],
    ['ArnNotLike', 'arn:aws:s3:::b*', 'arn:aws:s3:::bucket', false],
  ] as const)('%s %j against %j -> %s', (op, values, got, expected) => {
    expect(holds({ [op]: { 'aws:UserAgent': values } }, { 'aws:useragent': got })).toBe(expected);
  });

  test('keys AND, operators AND, values OR; key names are case-insensitive', () => {
    const both = { StringEquals: { 'aws:UserAgent': ['a', 'b'], 'AWS:REFERER': 'r' }, Bool: { 'aws:SecureTransport': 'true' } };
    expect(holds(both, { 'aws:useragent': 'b', 'aws:referer': 'r', 'aws:securetransport': 'true' })).toBe(true);
    expect(holds(both, { 'aws:useragent': 'b', 'aws:referer': 'x', 'aws:securetransport': 'true' })).toBe(false);
    expect(holds(both, { 'aws:useragent': 'b', 'aws:referer': 'r', 'aws:securetransport': 'false' })).toBe(false);
    expect(holds({ stringequals: { 'aws:userid': 'u' } }, { 'aws:userid': 'u' })).toBe(true); // operator names too
  });

  test('an absent key: false, except IfExists, Null, the negated operators and ForAllValues', () => {
    const none = {};
    expect(holds({ StringEquals: { 'aws:Referer': 'r' } }, none)).toBe(false);
    expect(holds({ StringLike: { 'aws:Referer': '*' } }, none)).toBe(false);
    expect(holds({ NumericLessThan: { 's3:max-keys': '10' } }, none)).toBe(false);
    expect(holds({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, none)).toBe(false);
    expect(holds({ StringEqualsIfExists: { 'aws:Referer': 'r' } }, none)).toBe(true);
    expect(holds({ StringEqualsIfExists: { 'aws:Referer': 'r' } }, { 'aws:referer': 'x' })).toBe(false); // present: tested as usual
    expect(holds({ StringNotEquals: { 'aws:Referer': 'r' } }, none)).toBe(true);
    expect(holds({ StringNotLike: { 'aws:Referer': 'r*' } }, none)).toBe(true);
    expect(holds({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, none)).toBe(true);
    expect(holds({ ArnNotLike: { 'aws:SourceArn': 'arn:*' } }, none)).toBe(true);
    expect(holds({ 'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': 'a' } }, none)).toBe(true);
    expect(holds({ 'ForAnyValue:StringEquals': { 's3:RequestObjectTagKeys': 'a' } }, none)).toBe(false);
    expect(holds({ 'ForAnyValue:StringNotEquals': { 's3:RequestObjectTagKeys': 'a' } }, none)).toBe(false);
  });

  test('Null tests presence', () => {
    expect(holds({ Null: { 's3:x-amz-server-side-encryption': 'true' } }, {})).toBe(true);
    expect(holds({ Null: { 's3:x-amz-server-side-encryption': true } }, { 's3:x-amz-server-side-encryption': 'AES256' })).toBe(false);
    expect(holds({ Null: { 's3:x-amz-server-side-encryption': 'false' } }, { 's3:x-amz-server-side-encryption': 'AES256' })).toBe(true);
    expect(holds({ Null: { 's3:x-amz-server-side-encryption': 'false' } }, {})).toBe(false);
  });

  test('ForAnyValue / ForAllValues over a multivalued key', () => {
    const keys = { 's3:RequestObjectTagKeys': ['project', 'owner'] };
    expect(holds({ 'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['project', 'owner', 'cost'] } }, keys)).toBe(true);
    expect(holds({ 'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['project'] } }, keys)).toBe(false);
    expect(holds({ 'ForAnyValue:StringEquals': { 's3:RequestObjectTagKeys': ['owner'] } }, keys)).toBe(true);
    expect(holds({ 'ForAnyValue:StringEquals': { 's3:RequestObjectTagKeys': ['cost'] } }, keys)).toBe(false);
    expect(holds({ 'ForAnyValue:StringNotEquals': { 's3:RequestObjectTagKeys': ['owner'] } }, keys)).toBe(true); // project is not owner
    expect(holds({ 'ForAllValues:StringNotEquals': { 's3:RequestObjectTagKeys': ['owner'] } }, keys)).toBe(false);
    expect(holds({ 'ForAllValues:StringLike': { 's3:RequestObjectTagKeys': ['pro*', 'ow?er'] } }, keys)).toBe(true);
    expect(holds({ 'forallvalues:StringLikeIfExists': { 's3:RequestObjectTagKeys': ['x'] } }, {})).toBe(true);
  });

  test('policy variables in condition values, with fallbacks and escapes (2012-10-17 only)', () => {
    const own = { StringLike: { 's3:prefix': 'home/${aws:username}/*' } };
    expect(holds(own, { 's3:prefix': 'home/bob/docs', 'aws:username': 'bob' })).toBe(true);
    expect(holds(own, { 's3:prefix': 'home/eve/docs', 'aws:username': 'bob' })).toBe(false);
    expect(holds(own, { 's3:prefix': 'home/bob/docs' })).toBe(false); // no value: matches nothing
    expect(holds({ StringEquals: { 's3:prefix': "${aws:username, 'guest'}" } }, { 's3:prefix': 'guest' })).toBe(true);
    // A substituted value is literal: a user called `*` does not become a wildcard.
    expect(holds({ StringLike: { 's3:prefix': '${aws:useragent}' } }, { 's3:prefix': 'abc', 'aws:useragent': '*' })).toBe(false);
    expect(holds({ StringEquals: { 's3:prefix': 'a${*}b${$}' } }, { 's3:prefix': 'a*b$' })).toBe(true);
    expect(holds({ StringEquals: { 's3:prefix': 'x${aws:username}' } }, { 's3:prefix': 'x${aws:username}', 'aws:username': 'bob' }, false)).toBe(true);
  });

  test.each([
    [{ StringSortOf: { 'aws:userid': 'x' } }, 'Invalid Condition type'],
    [{ NullIfExists: { 'aws:userid': 'true' } }, 'Invalid Condition type'],
    [{ NumericEquals: { 's3:max-keys': 'ten' } }, 'Invalid numeric'],
    [{ DateLessThan: { 'aws:CurrentTime': 'tomorrow' } }, 'Invalid date'],
    [{ Bool: { 'aws:SecureTransport': 'yes' } }, 'Invalid boolean'],
    [{ IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } }, 'Invalid IP'],
    [{ IpAddress: { 'aws:SourceIp': 'localhost' } }, 'Invalid IP'],
    [{ Null: { 'aws:userid': 'maybe' } }, 'Invalid value for Null'],
    [{ StringEquals: { 'aws:userid': [] } }, 'has no values'],
    [{ StringEquals: { 'aws:userid': { a: 1 } } }, 'values must be'],
    [{ StringEquals: 'x' }, 'must map condition keys'],
  ] as const)('%j is malformed (%s)', (condition, message) => {
    expect(() => parseConditions(condition, true, () => {})).toThrow(message);
  });
});

describe('CIDR blocks', () => {
  test('IPv4, IPv6, mapped and compressed forms', () => {
    expect(parseIp('::ffff:127.0.0.1')).toEqual({ family: 4, bytes: Uint8Array.from([127, 0, 0, 1]) });
    expect(parseIp('::1')?.bytes[15]).toBe(1);
    expect(parseIp('fe80::1%eth0')?.family).toBe(6);
    expect(parseCidr('::ffff:10.0.0.0/104')).toMatchObject({ family: 4, prefix: 8 });
    expect(parseCidr('0.0.0.0/0')?.prefix).toBe(0);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('203.0.113.9')!)).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/9')!, parseIp('10.127.255.255')!)).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/9')!, parseIp('10.128.0.0')!)).toBe(false);
    expect(cidrContains(parseCidr('2001:db8:0:0:1::/80')!, parseIp('2001:db8::1:0:0:5')!)).toBe(true);
    expect(parseCidr('10.0.0.1/8/1')).toBeUndefined();
    expect(parseCidr('10.0.0.1/x')).toBeUndefined();
  });
});

const doc = (...statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const ask = (principal: string | null, action: string, resource: string, keys: Record<string, string | string[]> = {}) =>
  ({ principal, action, resource, context: fixedContext(keys) });

describe('NotPrincipal, NotAction, NotResource', () => {
  test('NotPrincipal denies everyone but those named; with Allow it is malformed', () => {
    const p = parseBucketPolicy(doc(
      { Effect: 'Deny', NotPrincipal: { AWS: ['arn:aws:iam::1:user/bob', 'arn:aws:iam::1:root'] }, Action: 's3:*', Resource: 'arn:aws:s3:::b/*' },
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' },
    ), 'b');
    expect(evaluatePolicy(p, ask('bob', 's3:GetObject', 'arn:aws:s3:::b/k'))).toBe('allow');
    expect(evaluatePolicy(p, ask('root', 's3:GetObject', 'arn:aws:s3:::b/k'))).toBe('allow');
    expect(evaluatePolicy(p, ask('carol', 's3:GetObject', 'arn:aws:s3:::b/k'))).toBe('deny');
    expect(evaluatePolicy(p, ask(null, 's3:GetObject', 'arn:aws:s3:::b/k'))).toBe('deny');
    expect(codeOf(() => parseBucketPolicy(doc({ Effect: 'Allow', NotPrincipal: { AWS: 'bob' }, Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b' }), 'b'))).toBe('MalformedPolicy');
  });

  test('NotAction and NotResource match everything else', () => {
    const p = parseBucketPolicy(doc(
      { Effect: 'Allow', Principal: { AWS: 'bob' }, NotAction: ['s3:Delete*', 's3:Put*'], Resource: 'arn:aws:s3:::b/*' },
      { Effect: 'Deny', Principal: { AWS: 'bob' }, Action: 's3:GetObject', NotResource: 'arn:aws:s3:::b/public/*' },
    ), 'b');
    expect(evaluatePolicy(p, ask('bob', 's3:GetObject', 'arn:aws:s3:::b/public/x'))).toBe('allow');
    expect(evaluatePolicy(p, ask('bob', 's3:GetObject', 'arn:aws:s3:::b/private/x'))).toBe('deny');
    expect(evaluatePolicy(p, ask('bob', 's3:GetObjectTagging', 'arn:aws:s3:::b/private/x'))).toBe('allow');
    expect(evaluatePolicy(p, ask('bob', 's3:DeleteObject', 'arn:aws:s3:::b/public/x'))).toBe('none');
  });

  test.each([
    [{ Effect: 'Allow', Principal: '*', NotPrincipal: { AWS: 'bob' }, Action: 's3:*', Resource: 'arn:aws:s3:::b' }],
    [{ Effect: 'Allow', Principal: '*', Action: 's3:*', NotAction: 's3:Get*', Resource: 'arn:aws:s3:::b' }],
    [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::b', NotResource: 'arn:aws:s3:::b/x' }],
    [{ Effect: 'Allow', Principal: '*', Action: 's3:*' }],
    [{ Effect: 'Deny', NotPrincipal: { AWS: 'bob' }, NotAction: 'iam:*', Resource: 'arn:aws:s3:::b' }],
    [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::b', Condition: { Bogus: { 'aws:SourceIp': '1.2.3.4' } } }],
    [{ Effect: 'Allow', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::b', Condition: [] }],
  ])('malformed: %j', (statement) => {
    expect(codeOf(() => parseBucketPolicy(doc(statement), 'b'))).toBe('MalformedPolicy');
  });

  test('keys the gateway cannot evaluate are refused, keys that are never present here are accepted', () => {
    const withKey = (key: string) => doc({ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::b/*', Condition: { StringEquals: { [key]: 'x' } } });
    expect(codeOf(() => parseBucketPolicy(withKey('aws:PrincipalArn'), 'b'))).toBe('NotImplemented');
    expect(codeOf(() => parseBucketPolicy(withKey('s3:TlsVersion'), 'b'))).toBe('NotImplemented');
    expect(codeOf(() => parseBucketPolicy(doc({ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: 'arn:aws:s3:::b/*', Condition: { BinaryEquals: { 'aws:userid': 'eA==' } } }), 'b'))).toBe('NotImplemented');
    expect(() => parseBucketPolicy(withKey('aws:SourceVpce'), 'b')).not.toThrow();
    expect(() => parseBucketPolicy(withKey('s3:ExistingObjectTag/Project'), 'b')).not.toThrow();
    expect(keySupport('S3:X-AMZ-ACL')).toBe('supplied');
    expect(keySupport('s3:ExistingObjectTag/')).toBe('unknown');
  });

  test('policy variables in Resource; a 2008-10-17 policy reads them as text', () => {
    const home = { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/home/${aws:username}/*' };
    const p = parseBucketPolicy(doc(home), 'b');
    expect(evaluatePolicy(p, ask('bob', 's3:GetObject', 'arn:aws:s3:::b/home/bob/x', { 'aws:username': 'bob' }))).toBe('allow');
    expect(evaluatePolicy(p, ask('bob', 's3:GetObject', 'arn:aws:s3:::b/home/eve/x', { 'aws:username': 'bob' }))).toBe('none');
    expect(evaluatePolicy(p, ask(null, 's3:GetObject', 'arn:aws:s3:::b/home/bob/x'))).toBe('none');
    const old = parseBucketPolicy(JSON.stringify({ Version: '2008-10-17', Statement: [home] }), 'b');
    expect(evaluatePolicy(old, ask('bob', 's3:GetObject', 'arn:aws:s3:::b/home/${aws:username}/x', { 'aws:username': 'bob' }))).toBe('allow');
  });
});

describe('statements with conditions', () => {
  const policy = parseBucketPolicy(doc(
    { Sid: 'tls', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    { Sid: 'office', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] } } },
    { Sid: 'sse', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::b/*', Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } },
  ), 'b');

  test.each([
    [{ 'aws:SecureTransport': 'false', 'aws:SourceIp': '10.1.1.1' }, 's3:GetObject', 'deny'],
    [{ 'aws:SecureTransport': 'true', 'aws:SourceIp': '10.1.1.1' }, 's3:GetObject', 'allow'],
    [{ 'aws:SecureTransport': 'true', 'aws:SourceIp': '2001:db8::9' }, 's3:GetObject', 'allow'],
    [{ 'aws:SecureTransport': 'true', 'aws:SourceIp': '192.0.2.1' }, 's3:GetObject', 'none'],
    [{ 'aws:SecureTransport': 'true' }, 's3:PutObject', 'deny'],
    [{ 'aws:SecureTransport': 'true', 's3:x-amz-server-side-encryption': 'AES256' }, 's3:PutObject', 'none'],
  ] as const)('%j %s -> %s', (keys, action, verdict) => {
    expect(evaluatePolicy(policy, ask(null, action, 'arn:aws:s3:::b/k', keys))).toBe(verdict);
  });

  test('without a context every key is absent', () => {
    expect(evaluatePolicy(policy, { principal: null, action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' })).toBe('none');
    expect(NO_CONDITION_KEYS.values('aws:sourceip')).toBeUndefined();
  });

  test('decideAccess reads the keys for the action it evaluates, and the owner is denied too', () => {
    const bucket = { name: 'b', owner: 'alice', region: 'us-east-1', createdAt: 0 };
    const seen: string[] = [];
    const conditions = (action: string) => {
      seen.push(action);
      return fixedContext({ 'aws:SecureTransport': 'false' });
    };
    const q = { caller: { owner: 'alice', admin: false }, kind: 'GetObject', permission: 'read', bucket, key: 'k', policy, conditions } as const;
    expect(decideAccess(q)).toEqual({ allowed: false, why: 'explicit-deny' });
    expect(seen).toEqual(['s3:GetObject']);
  });
});

describe('request context', () => {
  const facts = (over: Partial<RequestFacts> = {}): RequestFacts => requestFacts({
    headers: {
      'user-agent': 'backup/1.0', referer: 'https://example.com/', 'x-amz-acl': 'bucket-owner-full-control',
      'x-amz-copy-source': '/src/public%2Fa%20b.txt?versionId=v1', 'x-amz-tagging': 'project=x&owner=bob',
      'x-amz-server-side-encryption': 'AES256', 'x-amz-object-lock-mode': 'GOVERNANCE',
    },
    query: new URLSearchParams('prefix=home/&delimiter=/&max-keys=10'),
    transport: { encrypted: false, remoteAddress: '::ffff:127.0.0.1', forwardedProto: undefined },
    auth: { signatureVersion: 4, presigned: false },
    now: new Date('2030-01-01T00:00:00.000Z'),
    ...over,
  });
  const bob = { owner: 'bob', admin: false };

  test('keys from the connection, the caller and the headers', () => {
    const ctx = conditionContext(facts(), { caller: bob, action: 's3:PutObject' });
    const v = (k: string) => ctx.values(k);
    expect(v('aws:SecureTransport')).toEqual(['false']); // plain HTTP, loopback or not
    expect(v('aws:SourceIp')).toEqual(['127.0.0.1']);
    expect(v('aws:UserAgent')).toEqual(['backup/1.0']);
    expect(v('aws:Referer')).toEqual(['https://example.com/']);
    expect(v('aws:CurrentTime')).toEqual(['2030-01-01T00:00:00Z']);
    expect(v('aws:EpochTime')).toEqual(['1893456000']);
    expect(v('aws:username')).toEqual(['bob']);
    expect(v('aws:userid')).toEqual(['bob']);
    expect(v('aws:PrincipalType')).toEqual(['User']);
    expect(v('s3:x-amz-acl')).toEqual(['bucket-owner-full-control']);
    expect(v('s3:x-amz-copy-source')).toEqual(['src/public/a b.txt']);
    expect(v('s3:x-amz-server-side-encryption')).toEqual(['AES256']);
    expect(v('s3:x-amz-metadata-directive')).toBeUndefined();
    expect(v('s3:object-lock-mode')).toEqual(['GOVERNANCE']);
    expect(v('s3:signatureversion')).toEqual(['AWS4-HMAC-SHA256']);
    expect(v('s3:authType')).toEqual(['REST-HEADER']);
    expect(v('s3:RequestObjectTag/project')).toEqual(['x']);
    expect(v('s3:RequestObjectTag/Project')).toBeUndefined(); // tag keys keep their case
    expect(v('s3:RequestObjectTagKeys')).toEqual(['project', 'owner']);
    expect(v('s3:prefix')).toBeUndefined(); // list keys only for the list actions
  });

  test('list keys, TLS, anonymous and presigned callers, form uploads', () => {
    const list = conditionContext(facts(), { caller: null, action: 's3:ListBucket' });
    expect([list.values('s3:prefix'), list.values('s3:delimiter'), list.values('s3:max-keys')]).toEqual([['home/'], ['/'], ['10']]);
    expect(list.values('aws:username')).toBeUndefined();
    expect(list.values('aws:PrincipalType')).toEqual(['Anonymous']);
    const tls = conditionContext(facts({ transport: { encrypted: false, remoteAddress: '10.0.0.1', forwardedProto: 'https' } }), { caller: null, action: 's3:GetObject' });
    expect(tls.values('aws:SecureTransport')).toEqual(['true']);
    const presigned = conditionContext(facts({ auth: { signatureVersion: 2, presigned: true } }), { caller: { owner: 'root', admin: true }, action: 's3:GetObject' });
    expect([presigned.values('s3:signatureversion'), presigned.values('s3:authtype'), presigned.values('aws:principaltype')]).toEqual([['AWS'], ['REST-QUERY-STRING'], ['Account']]);
    const form = conditionContext(postObjectFacts(facts(), new Map([['acl', 'public-read'], ['tagging', 'a=1'], ['x-amz-algorithm', 'AWS4-HMAC-SHA256']])), { caller: bob, action: 's3:PutObject' });
    expect([form.values('s3:authType'), form.values('s3:x-amz-acl'), form.values('s3:RequestObjectTag/a'), form.values('s3:signatureversion')])
      .toEqual([['POST'], ['public-read'], ['1'], ['AWS4-HMAC-SHA256']]);
  });

  test('s3:ExistingObjectTag is looked up once, and only for the actions S3 evaluates it for', () => {
    let lookups = 0;
    const existingTags = () => {
      lookups++;
      return [{ key: 'security', value: 'public' }];
    };
    const get = conditionContext(facts(), { caller: bob, action: 's3:GetObject', existingTags });
    expect(get.values('s3:ExistingObjectTag/security')).toEqual(['public']);
    expect(get.values('s3:existingobjecttag/foo')).toBeUndefined();
    expect(lookups).toBe(1);
    const put = conditionContext(facts(), { caller: bob, action: 's3:PutObject', existingTags });
    expect(put.values('s3:ExistingObjectTag/security')).toBeUndefined();
    expect(lookups).toBe(1);
    const none = conditionContext(facts(), { caller: bob, action: 's3:GetObject' });
    expect(none.values('s3:ExistingObjectTag/security')).toBeUndefined();
    expect(conditionContext(facts(), { caller: bob, action: 's3:GetObjectVersion', versionId: 'v1' }).values('s3:VersionId')).toEqual(['v1']);
  });
});

describe('public policies', () => {
  const allow = (condition?: object, principal: unknown = '*') => parseBucketPolicy(doc({
    Effect: 'Allow', Principal: principal, Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b', ...(condition && { Condition: condition }),
  }), 'b');

  test.each([
    [undefined, true],
    [{ IpAddress: { 'aws:SourceIp': '10.0.0.0/32' } }, false],
    [{ IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] } }, false],
    [{ IpAddress: { 'aws:SourceIp': '0.0.0.0/1' } }, true], // too wide to limit anything
    [{ IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '::/0'] } }, true],
    [{ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, true],
    [{ IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } }, true],
    [{ StringEquals: { 'aws:SourceVpce': 'vpce-1' } }, false],
    [{ StringLike: { 'aws:SourceVpce': 'vpce-*' } }, true],
    [{ StringEquals: { 'aws:userid': 'bob' } }, false],
    [{ StringEquals: { 'aws:UserAgent': 'x' } }, true],
    [{ Bool: { 'aws:SecureTransport': 'true' } }, true],
  ] as const)('%j -> public %s', (condition, expected) => {
    expect(isPublicPolicy(allow(condition))).toBe(expected);
  });

  test('a named principal is not public', () => {
    expect(isPublicPolicy(allow(undefined, { AWS: 'bob' }))).toBe(false);
  });
});
