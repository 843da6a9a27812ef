/**
 * Bucket policies (gateway/access/policy*.ts, cidr.ts): any document parses to a policy or
 * MalformedPolicy/NotImplemented; any parsed policy evaluates any request in bounded time; the
 * wildcard matcher agrees with a reference matcher; policy variables substitute literally; IP
 * addresses and CIDR blocks agree with a bitwise reference.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, parseIp } from '../../gateway/access/cidr.js';
import { fixedContext, NO_CONDITION_KEYS } from '../../gateway/access/condition-context.js';
import { evaluatePolicy, parseBucketPolicy, type BucketPolicy } from '../../gateway/access/policy.js';
import { parseDate } from '../../gateway/access/policy-conditions.js';
import { PolicyTemplate } from '../../gateway/access/policy-template.js';
import { wildcardMatch } from '../../gateway/access/wildcard.js';
import { isPublicPolicy } from '../../gateway/access/public-access-block.js';
import { S3Error } from '../../gateway/s3/errors.js';
import { check, hostileString, mutated, outcome, valueOf } from './fuzz.js';

const BUCKET = 'bucket';

/** Literal text of a pattern: any characters, regular-expression syntax included, no wildcards. */
const literal = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'ab/.+^$()[]{}|\\-:é日 '.split('')), maxLength: 6 }),
  fc.constantFrom('logs/', 'a.b', '(x)', '[a-z]', 'a|b', '\\d', '$1', '^', '日本', '\n'),
);

/** A `*`/`?` pattern with at most `stars` stars, as written in a policy (variables optional). */
function pattern(stars: number, variables: boolean): fc.Arbitrary<string> {
  const wild = fc.constantFrom('*', '?', '??');
  const variable = fc.constantFrom('${aws:username}', '${*}', '${?}', '${$}', "${aws:username, 'anon'}", '${s3:prefix}', '${aws:userid}', '${', '${}');
  return fc.array(fc.oneof({ weight: 4, arbitrary: literal }, { weight: 2, arbitrary: wild }, { weight: variables ? 1 : 0, arbitrary: variable }), { maxLength: 6 })
    .map((parts) => {
      let left = stars;
      return parts.filter((p) => !p.includes('*') || p.startsWith('${') || left-- > 0).join('');
    });
}

const principal = fc.oneof(
  fc.constant('*'),
  fc.array(fc.constantFrom('alice', 'bob', '*', 'arn:aws:iam::123456789012:user/alice', 'arn:aws:iam::1:root', 'arn:aws:iam::1:user/path/to/bob', 'bad id!', ''), { minLength: 1, maxLength: 3 })
    .map((ids) => ({ AWS: ids.length === 1 ? ids[0] : ids })),
  fc.jsonValue({ maxDepth: 2 }),
);

const action = fc.oneof(fc.constantFrom('s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:*', '*', 's3:Get*', 's3:?etObject', 's3:DeleteObjectVersion', 'S3:getobject', 'iam:PassRole', 's3:'), hostileString(2));

function resource(stars: number): fc.Arbitrary<string> {
  return fc.oneof(
    pattern(stars, true).map((p) => `arn:aws:s3:::${BUCKET}/${p}`),
    fc.constantFrom(`arn:aws:s3:::${BUCKET}`, 'arn:aws:s3:::buck*', 'arn:aws:s3:::other/*', 'arn:aws:s3:::*/*', 'arn:aws:s3:::', 'arn:aws:s3:::bucket/'),
    hostileString(3).map((s) => `arn:aws:s3:::${s}`),
  );
}

const OPERATORS = ['StringEquals', 'StringNotEquals', 'StringLike', 'StringNotLike', 'StringEqualsIgnoreCase', 'NumericLessThan', 'NumericEquals', 'DateGreaterThan',
  'DateLessThanEquals', 'Bool', 'IpAddress', 'NotIpAddress', 'ArnLike', 'ArnNotEquals', 'Null', 'ForAnyValue:StringLike', 'ForAllValues:StringEquals', 'StringLikeIfExists',
  'NumericGreaterThanIfExists', 'BinaryEquals', 'StringFancy', 'ForAnyValue:Null'];
const KEYS = ['aws:SourceIp', 'aws:username', 'aws:userid', 'aws:UserAgent', 'aws:Referer', 'aws:CurrentTime', 'aws:EpochTime', 'aws:SecureTransport', 's3:prefix', 's3:max-keys',
  's3:x-amz-acl', 's3:ExistingObjectTag/team', 's3:RequestObjectTagKeys', 'aws:SourceVpce', 'aws:PrincipalArn', 'aws:unknownKey', ''];
const VALUES = ['10.0.0.0/8', '192.168.1.1', '::1', '2001:db8::/32', '::ffff:10.0.0.0/104', '0.0.0.0/0', '10.0.0.0/33', '2030-01-01T00:00:00Z', '1700000000', '100', '-1.5e3', 'true',
  'FALSE', 'a*b', 'logs/*', '${aws:username}', 'arn:aws:s3:::bucket/*', 'arn:aws:iam::*:user/a?', 'public-read'];

function conditionBlock(stars: number): fc.Arbitrary<unknown> {
  const value = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...VALUES) }, { weight: 2, arbitrary: pattern(stars, true) }, { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)) });
  return fc.dictionary(fc.constantFrom(...OPERATORS), fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(value, fc.array(value, { maxLength: 3 })), { maxKeys: 2 }), { maxKeys: 2 });
}

function statement(stars: number): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    Sid: fc.string({ maxLength: 6 }),
    Effect: fc.constantFrom('Allow', 'Deny', 'allow', ''),
    principal: fc.tuple(fc.constantFrom('Principal', 'NotPrincipal'), principal),
    action: fc.tuple(fc.constantFrom('Action', 'NotAction'), fc.oneof(action, fc.array(action, { minLength: 1, maxLength: 3 }))),
    resource: fc.tuple(fc.constantFrom('Resource', 'NotResource'), fc.oneof(resource(stars), fc.array(resource(stars), { minLength: 1, maxLength: 3 }))),
    Condition: conditionBlock(stars),
  }, { requiredKeys: ['Effect', 'principal', 'action', 'resource'] }).map(({ principal: [pk, pv], action: [ak, av], resource: [rk, rv], ...rest }) => ({ ...rest, [pk]: pv, [ak]: av, [rk]: rv }));
}

function policyText(stars: number): fc.Arbitrary<string> {
  return fc.record({
    Version: fc.constantFrom('2012-10-17', '2008-10-17', '2012-10-18', undefined),
    Statement: fc.oneof(statement(stars), fc.array(statement(stars), { maxLength: 4 })),
  }, { requiredKeys: ['Statement'] }).map((p) => JSON.stringify(p));
}

/** Policies that parse: every part well-typed, conditions with values of their operator's kind. */
function validPolicyText(stars: number): fc.Arbitrary<string> {
  const string = fc.oneof(pattern(stars, true), fc.constantFrom('alice', 'logs/', 'public-read', ''));
  const family = fc.oneof(
    fc.tuple(fc.constantFrom('StringEquals', 'StringNotEquals', 'StringLike', 'StringNotLike', 'StringEqualsIgnoreCase', 'ForAnyValue:StringLike', 'ForAllValues:StringNotLike', 'StringLikeIfExists'),
      fc.constantFrom('aws:username', 'aws:UserAgent', 'aws:Referer', 's3:prefix', 's3:x-amz-acl', 's3:ExistingObjectTag/team', 's3:RequestObjectTagKeys', 'aws:userid'), string),
    fc.tuple(fc.constantFrom('NumericLessThan', 'NumericGreaterThanEquals', 'NumericNotEquals'), fc.constantFrom('s3:max-keys', 'aws:EpochTime'), fc.double({ noNaN: true, noDefaultInfinity: true }).map(String)),
    fc.tuple(fc.constantFrom('DateGreaterThan', 'DateLessThanEquals', 'DateNotEquals'), fc.constantFrom('aws:CurrentTime', 'aws:EpochTime'), fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString())),
    fc.tuple(fc.constantFrom('Bool', 'Null'), fc.constantFrom('aws:SecureTransport', 'aws:username', 's3:x-amz-acl'), fc.constantFrom('true', 'false')),
    fc.tuple(fc.constantFrom('IpAddress', 'NotIpAddress'), fc.constant('aws:SourceIp'), fc.constantFrom('10.0.0.0/8', '192.168.1.1', '::1', '2001:db8::/32', '::ffff:10.0.0.0/104', '0.0.0.0/0')),
    fc.tuple(fc.constantFrom('ArnLike', 'ArnNotEquals'), fc.constant('aws:SourceArn'), pattern(stars, true).map((p) => `arn:aws:s3:::${p}`)),
  );
  const condition = fc.array(family, { maxLength: 3 }).map((cs) => {
    const out: Record<string, Record<string, string>> = {};
    for (const [op, key, value] of cs) (out[op] ??= {})[key] = value;
    return out;
  });
  const st = fc.record({
    Effect: fc.constantFrom('Allow', 'Deny'),
    principal: fc.oneof(fc.constant('*'), fc.constantFrom('alice', 'arn:aws:iam::1:user/bob', 'arn:aws:iam::1:root').map((id) => ({ AWS: id }))),
    notPrincipal: fc.boolean(),
    action: fc.tuple(fc.constantFrom('Action', 'NotAction'), fc.array(fc.constantFrom('s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:*', '*', 's3:Get*', 's3:?etObject'), { minLength: 1, maxLength: 3 })),
    // A resource is one line (MalformedPolicy otherwise); keys with line breaks are matched by wildcards.
    resource: fc.tuple(fc.constantFrom('Resource', 'NotResource'), fc.array(pattern(stars, true).filter((p) => !p.includes('\n')).map((p) => `arn:aws:s3:::${BUCKET}/${p}`), { minLength: 1, maxLength: 3 })),
    Condition: condition,
  }).map(({ principal: pv, notPrincipal, action: [ak, av], resource: [rk, rv], Effect, Condition }) => ({
    Effect, [notPrincipal && Effect === 'Deny' ? 'NotPrincipal' : 'Principal']: pv, [ak]: av, [rk]: rv, ...(Object.keys(Condition).length && { Condition }),
  }));
  return fc.record({ Version: fc.constantFrom('2012-10-17', '2008-10-17'), Statement: fc.array(st, { minLength: 1, maxLength: 4 }) }).map((p) => JSON.stringify(p));
}

const ALLOWED = [S3Error] as const;

/** Requests to evaluate: who, what, which key (up to S3's 1024 bytes), and the condition keys they carry. */
const query = fc.record({
  principal: fc.constantFrom(null, 'alice', 'bob', 'root'),
  action: fc.constantFrom('s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:DeleteObjectVersion', 's3:GetBucketPolicy'),
  key: fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.tuple(fc.constantFrom('a', 'ab', '/', 'logs/', '.'), fc.integer({ min: 1, max: 1024 })).map(([s, n]) => s.repeat(n).slice(0, 1024))),
  context: fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(fc.constantFrom(...VALUES, '10.1.2.3', 'alice', '2026-03-14T15:09:26Z'), fc.string({ maxLength: 8 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 })), { maxKeys: 5 }),
});

interface Query { principal: string | null; action: string; key: string; context: Record<string, string | string[]> }

function evaluateAll(policy: BucketPolicy, q: Query): void {
  const ctx = fixedContext(q.context);
  for (const resource of [`arn:aws:s3:::${BUCKET}/${q.key}`, `arn:aws:s3:::${BUCKET}`]) {
    const verdict = evaluatePolicy(policy, { principal: q.principal, action: q.action, resource, context: ctx });
    expect(['allow', 'deny', 'none']).toContain(verdict);
  }
  isPublicPolicy(policy);
}

describe('bucket policies: a policy or S3Error; any request evaluated in bounded time', () => {
  it('parseBucketPolicy on any document, damaged or not', () => {
    const text = fc.oneof({ weight: 4, arbitrary: mutated(policyText(2), 3) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)) }, { weight: 1, arbitrary: hostileString(10) });
    check(fc.property(text, (t) => {
      outcome(() => parseBucketPolicy(t, BUCKET), ALLOWED);
    }));
  });

  it('evaluatePolicy and isPublicPolicy answer for any policy and request (patterns of up to two stars)', () => {
    check(fc.property(validPolicyText(2), query, (t, q) => {
      const p = valueOf(outcome(() => parseBucketPolicy(t, BUCKET), ALLOWED));
      valueOf(outcome(() => evaluateAll(p, q), []));
    }));
  });

  // Backtracking regular expressions took seconds to hours on these (issue 9 item 2); the sizes
  // are those where they took seconds, so a regression fails rather than hangs.
  it('evaluatePolicy answers in bounded time for patterns of many stars against long keys', () => {
    const stars = fc.tuple(fc.integer({ min: 3, max: 4 }), fc.constantFrom('a', 'ab')).map(([n, s]) => `${`*${s}`.repeat(n)}b`);
    check(fc.property(stars, fc.integer({ min: 600, max: 1000 }), fc.constantFrom('Resource', 'StringLike'), (p, n, where) => {
      const st = where === 'Resource'
        ? { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/${p}` }
        : { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/*`, Condition: { StringLike: { 'aws:UserAgent': p } } };
      const policy = valueOf(outcome(() => parseBucketPolicy(JSON.stringify({ Version: '2012-10-17', Statement: st }), BUCKET), ALLOWED));
      const key = 'a'.repeat(n);
      outcome(() => evaluatePolicy(policy, { principal: null, action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/${key}`, context: fixedContext({ 'aws:UserAgent': key }) }), []);
    }), 0.1, { endOnFailure: true });
  });
});

// ---------------------------------------------------------------------------------------
// Wildcards against a reference matcher

/** `*` any run, `?` any one UTF-16 unit, everything else itself: a linear-time reference. */
function referenceGlob(p: string, v: string, same: (a: string, b: string) => boolean = (a, b) => a === b): boolean {
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && same(p[pi]!, v[vi]!)))) {
      pi++;
      vi++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++mark;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

describe('wildcards', () => {
  const bmp = (chars: string) => fc.string({ unit: fc.constantFrom(...chars.split('')), maxLength: 10 });
  const globChars = 'ab*?.+^$()[]{}|\\/\n-é日';

  it('wildcardMatch agrees with a reference matcher (any characters, regular-expression syntax included)', () => {
    check(fc.property(bmp(globChars), bmp('ab.+^$()[]{}|\\/\n-é日'), (p, v) => {
      expect(valueOf(outcome(() => wildcardMatch(p, v), []))).toBe(referenceGlob(p, v));
    }));
  });

  it('wildcardMatch ignoring case agrees with the reference on ASCII', () => {
    check(fc.property(bmp('aAbB*?.-'), bmp('aAbB.-'), (p, v) => {
      expect(wildcardMatch(p, v, true)).toBe(referenceGlob(p, v, (a, b) => a.toLowerCase() === b.toLowerCase()));
    }));
  });

  it('a pattern matches itself with its wildcards taken literally, and a value that fills them', () => {
    check(fc.property(bmp(globChars), (p) => {
      expect(wildcardMatch(p, p)).toBe(true);
      expect(wildcardMatch(p, p.replaceAll('*', 'xyz').replaceAll('?', 'q'))).toBe(true);
    }));
  });

  it('a policy variable is substituted literally: only that value matches', () => {
    const user = fc.string({ unit: 'binary', maxLength: 10 });
    check(fc.property(user, user, fc.string({ maxLength: 6 }), (u, other, rest) => {
      const t = PolicyTemplate.parse(`arn:aws:s3:::${BUCKET}/home/\${aws:username}/*`, true);
      const ctx = fixedContext({ 'aws:username': u });
      expect(t.like(`arn:aws:s3:::${BUCKET}/home/${u}/${rest}`, ctx)).toBe(true);
      expect(t.like(`arn:aws:s3:::${BUCKET}/home/${other}/${rest}`, ctx)).toBe(`${other}/${rest}`.startsWith(`${u}/`));
      expect(t.like(`arn:aws:s3:::${BUCKET}/home/${u}/${rest}`, NO_CONDITION_KEYS)).toBe(false);
    }));
  });

  it('PolicyTemplate parses and resolves any text', () => {
    check(fc.property(pattern(2, true), fc.boolean(), fc.dictionary(fc.constantFrom(...KEYS), fc.string({ maxLength: 5 })), fc.string({ maxLength: 20 }), (text, variables, values, v) => {
      const t = valueOf(outcome(() => PolicyTemplate.parse(text, variables), []));
      outcome(() => t.resolve(fixedContext(values)), []);
      outcome(() => t.like(v, fixedContext(values), true), []);
    }));
  });
});

// ---------------------------------------------------------------------------------------
// IP addresses and CIDR blocks, against bytes

const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const v4Text = (b: Uint8Array): string => [...b].join('.');
function v6Text(b: Uint8Array, compress: boolean): string {
  const words = Array.from({ length: 8 }, (_, i) => ((b[i * 2]! << 8) | b[i * 2 + 1]!).toString(16));
  const full = words.join(':');
  if (!compress) return full;
  // The longest run of zero words, written as `::`.
  const m = /(?:^|:)(0(?::0)+)(?::|$)/.exec(full);
  return m ? full.replace(m[1]!, '').replace(/:{3,}/, '::').replace(/^:(?!:)/, '::').replace(/(?<!:):$/, '::') : full;
}
const isMapped = (b: Uint8Array): boolean => b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

function bitsEqual(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (((a[i >> 3]! >> (7 - (i & 7))) & 1) !== ((b[i >> 3]! >> (7 - (i & 7))) & 1)) return false;
  return true;
}

describe('IP addresses and CIDR blocks', () => {
  it('parseIp and parseCidr never throw', () => {
    const text = fc.oneof(mutated(fc.constantFrom('10.0.0.0/8', '2001:db8::/32', '::ffff:1.2.3.4', 'fe80::1%eth0', '1.2.3.4/32'), 3), hostileString(4));
    check(fc.property(text, (t) => {
      outcome(() => parseIp(t), []);
      outcome(() => parseCidr(t), []);
    }));
  });

  it('addresses parse to their bytes, and blocks contain exactly the addresses that share their prefix', () => {
    check(fc.property(fc.oneof(v4.map((b) => [4, b] as const), v6.filter((b) => !isMapped(b)).map((b) => [6, b] as const)), fc.nat(128), fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }),
      ([family, bytes], bits, compress, other) => {
        const text = family === 4 ? v4Text(bytes) : v6Text(bytes, compress);
        const ip = valueOf(outcome(() => parseIp(text), []));
        expect(ip).toEqual({ family, bytes: Uint8Array.from(bytes) });
        const prefix = bits % (bytes.length * 8 + 1);
        const block = valueOf(outcome(() => parseCidr(`${text}/${prefix}`), []))!;
        expect(block.prefix).toBe(prefix);
        const candidate = { family, bytes: Uint8Array.from(other.subarray(0, bytes.length)) } as const;
        expect(cidrContains(block, candidate)).toBe(bitsEqual(bytes, candidate.bytes, prefix));
        expect(cidrContains(block, ip!)).toBe(true);
      }));
  });

  it('condition dates and numbers parse or are undefined', () => {
    check(fc.property(fc.oneof(hostileString(4), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.double().map(String)), (t) => {
      const d = valueOf(outcome(() => parseDate(t), []));
      if (d !== undefined) expect(Number.isNaN(d)).toBe(false);
    }));
  });
});
