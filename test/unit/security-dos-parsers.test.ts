/**
 * Issue 9, denial of service: parsers of request headers (and of stored policies) that used
 * expressions which backtrack on long runs of one character. A request carries at most 16 KiB
 * of headers; the values here are longer so that the old quadratic expressions would take
 * minutes, past the test's timeout.
 */
import { createHmac } from 'node:crypto';
import { fixedContext } from '../../gateway/access/condition-context.js';
import { PolicyTemplate } from '../../gateway/access/policy-template.js';
import { verifyRequest, type SignedRequest } from '../../gateway/auth/sigv4.js';
import { parseRange } from '../../gateway/s3/headers.js';
import { codeOf } from '../helpers/errors.js';

test('a Range header of a long run of spaces is no range, at once', () => {
  const started = Date.now();
  expect(parseRange(`bytes=${' '.repeat(100_000)}x`, 100)).toBeNull();
  expect(parseRange(`bytes=1-${' '.repeat(100_000)}x`, 100)).toBeNull();
  expect(Date.now() - started).toBeLessThan(2_000);
  // What it read before, it still reads.
  expect(parseRange(' bytes = 1 - 5 ', 100)).toEqual({ start: 1, end: 5 });
  expect(parseRange('bytes=-5', 100)).toEqual({ start: 95, end: 99 });
  expect(parseRange('bytes=5-', 100)).toEqual({ start: 5, end: 99 });
  expect(parseRange('bytes=-', 100)).toBeNull();
});

describe('SigV2: a long run of whitespace in an x-amz-* header', () => {
  const AK = 'AKIAIOSFODNN7EXAMPLE';
  const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const DATE = 'Sat, 14 Mar 2026 15:09:26 GMT';
  const NOW = new Date('2026-03-14T15:09:26Z');
  const sign = (sts: string): string => createHmac('sha1', SECRET).update(sts).digest('base64');
  const verdict = (value: string, signedAs: string): string => {
    const req: SignedRequest = {
      method: 'PUT', rawPath: '/b/k', rawQuery: '',
      headers: { host: 'h', date: DATE, 'x-amz-meta-pad': value, authorization: `AWS ${AK}:${sign(`PUT\n\n\n${DATE}\nx-amz-meta-pad:${signedAs}\n/b/k`)}` },
    };
    return codeOf(() => verifyRequest(req, (id) => (id === AK ? SECRET : undefined), NOW));
  };

  test('is signed over at once (the old unfolding was quadratic in the run)', () => {
    const pad = `a${' \t'.repeat(100_000)}b`;
    expect(verdict(pad, pad)).toBe('none');
  });

  test('a run that holds a line break still signs as one space', () => {
    expect(verdict(' a \r\n\t b  c ', 'a b  c')).toBe('none');
    expect(verdict('a\n\nb', 'a b')).toBe('none');
    expect(verdict('a \t b', 'a b')).toBe('SignatureDoesNotMatch');
  });
});

test('a policy string of many unclosed ${ is read at once', () => {
  const text = '${'.repeat(200_000);
  expect(PolicyTemplate.parse(text, true).resolve(fixedContext({}))).toBe(text);
  // What it read before, it still reads: variables, fallbacks, escapes, and an unclosed tail as text.
  const t = PolicyTemplate.parse("arn:aws:s3:::b/${aws:username}/${s3:prefix, 'none'}/${*}/${x", true);
  expect(t.resolve(fixedContext({ 'aws:username': 'ann' }))).toBe('arn:aws:s3:::b/ann/none/*/${x');
  expect(t.resolve(fixedContext({}))).toBeUndefined();
});
