/**
 * Issue 9, regex denial of service: every `*`/`?` pattern a bucket owner stores (policy
 * resources and actions, StringLike and ArnLike values, CORS origins and headers) is matched
 * by gateway/access/wildcard.ts, which never backtracks, and stored patterns have a capped
 * number of wildcards. The integration test (test/integration/security-dos-regex.test.ts)
 * sends the attack through a real gateway.
 */
import { fixedContext } from '../../gateway/access/condition-context.js';
import { matchPreflight } from '../../gateway/access/cors-rules.js';
import { clauseHolds, parseConditions } from '../../gateway/access/policy-conditions.js';
import { parseCidr, parseIp } from '../../gateway/access/cidr.js';
import { evaluatePolicy, parseBucketPolicy } from '../../gateway/access/policy.js';
import { MAX_PATTERN_WILDCARDS, Wildcard, wildcardMatch } from '../../gateway/access/wildcard.js';
import { parseCorsConfiguration } from '../../gateway/s3/cors.js';
import { codeOf } from '../helpers/errors.js';

/** The definition, by dynamic programming over code points: the reference the matcher must agree with. */
function reference(pattern: string, value: string): boolean {
  const p = [...pattern];
  const v = [...value];
  let row = Array<boolean>(v.length + 1).fill(false);
  row[0] = true;
  for (const c of p) {
    const next = Array<boolean>(v.length + 1).fill(false);
    if (c === '*') {
      let any = false;
      for (let j = 0; j <= v.length; j++) next[j] = any ||= row[j]!;
    } else {
      for (let j = 1; j <= v.length; j++) next[j] = row[j - 1]! && (c === '?' || c === v[j - 1]);
    }
    row = next;
  }
  return row[v.length]!;
}

/**
 * Deterministic pseudo-random patterns of 25 to 75 characters (state sets of one to three
 * words, so the carries between words are exercised), each with a value made from it with a
 * few changes, so that about one in five matches.
 */
function* cases(n: number): Generator<[string, string]> {
  let seed = 7;
  const rnd = (k: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % k;
  };
  for (let i = 0; i < n; i++) {
    const pattern = Array.from({ length: 25 + rnd(50) }, () => ['a', 'a', 'a', 'b', '?', '*'][rnd(rnd(20) === 0 ? 6 : 5)]!).join('');
    let value = '';
    for (const c of pattern) {
      if (c === '*') value += 'ab'.slice(0, rnd(3)).repeat(rnd(3));
      else if (c === '?') value += rnd(9) ? 'b' : '😀';
      else value += rnd(30) ? c : 'b';
    }
    yield [pattern, value];
  }
}

describe('wildcard matcher', () => {
  test.each([
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['a*', 'abc', true],
    ['a*', 'ba', false],
    ['*c', 'abc', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXcYb', false],
    ['*a*a*a*b', 'a'.repeat(50), false],
    ['home/*', 'home/a\nb', true], // `*` spans newlines, as the old `s` flag did
    ['a.c', 'abc', false], // only * and ? are special
    ['x[y]+(z)', 'x[y]+(z)', true],
    ['?', '😀', true], // one character is one code point
    ['??', '😀', false],
  ])('%j matches %j: %s', (pattern, value, expected) => {
    expect(wildcardMatch(pattern, value)).toBe(expected);
    expect(reference(pattern, value)).toBe(expected);
  });

  test('agrees with the definition on many generated cases', () => {
    let matched = 0;
    for (const [pattern, value] of cases(8_000)) {
      const want = reference(pattern, value);
      if (Wildcard.compile(pattern).matches(value) !== want) throw new Error(`${JSON.stringify(pattern)} vs ${JSON.stringify(value)}: expected ${want}`);
      if (want) matched++;
    }
    expect(matched).toBeGreaterThan(800);
  });

  test('ignores case when asked', () => {
    expect(wildcardMatch('https://*.Example.com', 'HTTPS://www.example.COM', true)).toBe(true);
    expect(wildcardMatch('https://*.Example.com', 'HTTPS://www.example.COM')).toBe(false);
  });

  test('literal pieces (substituted policy variables) hold no wildcards', () => {
    const w = Wildcard.fromParts([{ text: 'home/', literal: false }, { text: '*', literal: true }, { text: '/*', literal: false }]);
    expect(w.matches('home/*/x')).toBe(true);
    expect(w.matches('home/alice/x')).toBe(false);
  });

  test('the attack patterns answer at once for the longest values a request can carry', () => {
    // A backtracking RegExp of `*a*a*a*b` took 36 s for 1,000 characters; 16 wildcards, for ever.
    const value = 'a'.repeat(16 * 1024);
    const started = Date.now();
    for (const pattern of ['*a*a*a*b', `${'*a'.repeat(MAX_PATTERN_WILDCARDS)}b`, `${'?*'.repeat(200)}b`]) {
      expect(wildcardMatch(pattern, value)).toBe(false);
      expect(wildcardMatch(pattern, value, true)).toBe(false);
    }
    // Generous: the point is seconds-to-hours against milliseconds.
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('stored patterns', () => {
  const policy = (statement: Record<string, unknown>): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', ...statement }] });
  const many = '*a'.repeat(MAX_PATTERN_WILDCARDS + 1);

  test('a policy resource, action or StringLike/ArnLike value with too many wildcards is MalformedPolicy', () => {
    expect(codeOf(() => parseBucketPolicy(policy({ Resource: `arn:aws:s3:::b/${many}` }), 'b'))).toBe('MalformedPolicy');
    expect(codeOf(() => parseBucketPolicy(policy({ Resource: 'arn:aws:s3:::b/*', Action: `s3:${many}` }), 'b'))).toBe('MalformedPolicy');
    for (const op of ['StringLike', 'StringNotLike', 'ArnLike', 'ForAnyValue:StringLikeIfExists']) {
      expect(codeOf(() => parseBucketPolicy(policy({ Resource: 'arn:aws:s3:::b/*', Condition: { [op]: { 'aws:Referer': many } } }), 'b'))).toBe('MalformedPolicy');
    }
    // At the cap, accepted.
    const ok = '*a'.repeat(MAX_PATTERN_WILDCARDS / 2);
    expect(parseBucketPolicy(policy({ Resource: `arn:aws:s3:::b/${ok}${ok}`, Condition: { StringLike: { 'aws:Referer': `${ok}${ok}` } } }), 'b').statements).toHaveLength(1);
  });

  test('an attack pattern in a stored policy is evaluated at once against a long key', () => {
    const p = parseBucketPolicy(policy({ Resource: 'arn:aws:s3:::b/*a*a*a*a*a*a*a*a*b', Condition: { StringLike: { 'aws:Referer': '*a*a*a*a*a*a*b' } } }), 'b');
    const started = Date.now();
    expect(evaluatePolicy(p, { principal: null, action: 's3:GetObject', resource: `arn:aws:s3:::b/${'a'.repeat(1024)}` })).toBe('none');
    const clause = parseConditions({ StringLike: { 'aws:Referer': '*a*a*a*a*a*a*b' } }, true, () => {})[0]!;
    expect(clauseHolds(clause, fixedContext({ 'aws:referer': 'a'.repeat(16_000) }))).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test('ArnLike matches part by part, and a substituted value is literal', () => {
    const holds = (value: string, keys: Record<string, string>): boolean =>
      parseConditions({ ArnLike: { 'aws:SourceArn': value } }, true, () => {}).every((c) => clauseHolds(c, fixedContext(keys)));
    expect(holds('arn:aws:s3:::bucket/*', { 'aws:sourcearn': 'arn:aws:s3:::bucket/a:b' })).toBe(true);
    expect(holds('arn:aws:s3:::bu*', { 'aws:sourcearn': 'arn:aws:sqs:::bucket' })).toBe(false);
    expect(holds('arn:aws:s3:::${aws:username}', { 'aws:sourcearn': 'arn:aws:s3:::x', 'aws:username': '*' })).toBe(false);
    expect(holds('arn:aws:s3:::${aws:username}', { 'aws:sourcearn': 'arn:aws:s3:::*', 'aws:username': '*' })).toBe(true);
  });

  test('a CORS AllowedHeader with more than one wildcard is refused, as AWS S3 does', () => {
    const cors = (header: string): string => `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>${header}</AllowedHeader></CORSRule></CORSConfiguration>`;
    expect(codeOf(() => parseCorsConfiguration(cors('*a*a*a*b')))).toBe('InvalidRequest');
    expect(parseCorsConfiguration(cors('x-amz-*'))[0]!.allowedHeaders).toEqual(['x-amz-*']);
  });

  test('CORS matching is linear even for the patterns stored before the cap', () => {
    const rules = [{ allowedOrigins: ['*a*a*a*a*a*b'], allowedMethods: ['GET'], allowedHeaders: ['*a*a*a*a*a*b'], exposeHeaders: [] }];
    const started = Date.now();
    expect(matchPreflight(rules, 'a'.repeat(8000), 'GET', ['a'.repeat(8000)])).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

// A request carries at most 16 KiB of headers; the values here are longer so that the old
// quadratic expressions would take tens of seconds, not the fraction of one they took then.
describe('other expressions that read request values', () => {
  test('a long run of digits is no number, at once (NumericEquals on s3:max-keys)', () => {
    const clause = parseConditions({ NumericLessThan: { 's3:max-keys': '100' } }, true, () => {})[0]!;
    const started = Date.now();
    expect(clauseHolds(clause, fixedContext({ 's3:max-keys': `${'1'.repeat(100_000)}x` }))).toBe(false);
    expect(clauseHolds(clause, fixedContext({ 's3:max-keys': '1.5e1' }))).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test('an address with a long zone part is read at once (IpAddress on any key)', () => {
    const started = Date.now();
    expect(parseIp(`${'%'.repeat(100_000)}\nx`)).toBeUndefined();
    expect(parseIp('fe80::1%eth0')).toEqual(parseIp('fe80::1'));
    expect(parseCidr('10.0.0.0/8')).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

test('a pattern as long as a whole policy compiles and matches', () => {
  const long = 'k'.repeat(200_000);
  expect(wildcardMatch(long, long)).toBe(true);
  expect(wildcardMatch(`${long}*`, `${long}x`)).toBe(true);
  expect(wildcardMatch(`?${long}`, `x${long}`)).toBe(true);
});
