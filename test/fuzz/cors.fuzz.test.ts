/**
 * Bucket CORS (gateway/s3/cors.ts, gateway/access/cors-rules.ts): configurations accepted by
 * PutBucketCors, matched against any preflight and actual request: the answer never throws,
 * takes bounded time, agrees with a reference matcher, and every header it would send is one
 * Node can send.
 */
import { validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corsHeaders, matchPreflight, matchRequest, type CorsRule } from '../../gateway/access/cors-rules.js';
import { parseCorsConfiguration } from '../../gateway/s3/cors.js';
import { S3Error } from '../../gateway/s3/errors.js';
import { escapeXmlText } from '../../gateway/s3/xml.js';
import { check, codeOf, hostileString, outcome, valueOf } from './fuzz.js';

const METHODS = ['GET', 'PUT', 'HEAD', 'POST', 'DELETE'];

/** Case-insensitive `*` (and `?`) matching, linear: the reference for origins and headers. */
function like(p: string, v: string): boolean {
  const a = p.toLowerCase();
  const b = v.toLowerCase();
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < b.length) {
    if (pi < a.length && (a[pi] === '?' || (a[pi] !== '*' && a[pi] === b[vi]))) {
      pi++;
      vi++;
    } else if (pi < a.length && a[pi] === '*') {
      star = pi++;
      mark = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++mark;
    } else {
      return false;
    }
  }
  while (a[pi] === '*') pi++;
  return pi === a.length;
}

/** Origins and header names: ASCII, as browsers send them. */
const originText = fc.oneof(
  fc.constantFrom('http://a.example', 'https://b.example.com', 'http://localhost:8080', 'null', 'https://x.y.example.com', 'HTTP://A.EXAMPLE'),
  fc.string({ unit: fc.constantFrom(...'abc.:/-*?'.split('')), maxLength: 16 }),
);
const headerToken = fc.string({ unit: fc.constantFrom(...'abcxyz-0123*?'.split('')), minLength: 1, maxLength: 12 });

/** A rule's patterns: origins with at most one `*` (PutBucketCors refuses more), headers with at most `stars`. */
function rule(stars: number): fc.Arbitrary<CorsRule> {
  const capped = (max: number) => (s: string): string => {
    let left = max;
    return s.replace(/\*/g, () => (left-- > 0 ? '*' : ''));
  };
  return fc.record({
    allowedOrigins: fc.array(fc.oneof(fc.constant('*'), originText.map(capped(1))), { minLength: 1, maxLength: 3 }),
    allowedMethods: fc.uniqueArray(fc.constantFrom(...METHODS), { minLength: 1, maxLength: 5 }),
    allowedHeaders: fc.array(headerToken.map(capped(stars)), { maxLength: 3 }),
    exposeHeaders: fc.array(fc.stringMatching(/^[A-Za-z0-9-]{1,10}$/), { maxLength: 2 }),
    maxAgeSeconds: fc.option(fc.nat(1e9 - 1), { nil: undefined }),
  }, { requiredKeys: ['allowedOrigins', 'allowedMethods', 'allowedHeaders', 'exposeHeaders'] });
}

const request = fc.record({
  origin: originText.map((o) => o.replace(/[*?]/g, 'x')),
  method: fc.constantFrom(...METHODS, 'PATCH', 'get'),
  headers: fc.array(headerToken.map((h) => h.replace(/[*?]/g, 'x')), { maxLength: 4 }),
});

function headersAreSendable(h: Record<string, string>): void {
  for (const [name, value] of Object.entries(h)) validateHeaderValue(name, value);
}

describe('CORS matching', () => {
  it('preflight and actual requests are answered by the first rule a reference matcher picks, with sendable headers', () => {
    check(fc.property(fc.array(rule(2), { minLength: 1, maxLength: 4 }), request, (rules, r) => {
      const pre = valueOf(outcome(() => matchPreflight(rules, r.origin, r.method, r.headers), []));
      const act = valueOf(outcome(() => matchRequest(rules, r.origin, r.method), []));
      const originOk = (x: CorsRule): boolean => x.allowedOrigins.some((o) => o === '*' || like(o, r.origin));
      expect(act).toBe(rules.find((x) => originOk(x) && x.allowedMethods.includes(r.method)));
      expect(pre).toBe(rules.find((x) => originOk(x) && x.allowedMethods.includes(r.method) && r.headers.every((h) => x.allowedHeaders.some((p) => like(p, h)))));
      if (pre) headersAreSendable(corsHeaders(pre, r.origin, r.headers));
      if (act) headersAreSendable(corsHeaders(act, r.origin));
    }));
  });

  // Stored rules hold at most one wildcard per AllowedHeader (as in AWS S3), yet matching does
  // not rely on it: it is linear in the header whatever the pattern.
  it('a preflight is answered in bounded time for header patterns of many stars', () => {
    const stars = fc.tuple(fc.integer({ min: 3, max: 4 }), fc.constantFrom('a', 'ab')).map(([n, s]) => `${`*${s}`.repeat(n)}b`);
    check(fc.property(stars, fc.integer({ min: 600, max: 1000 }), (p, n) => {
      const put = outcome(() => parseCorsConfiguration(
        `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>${p}</AllowedHeader></CORSRule></CORSConfiguration>`), [S3Error]);
      expect(codeOf(put)).toBe('InvalidRequest');
      const rules: CorsRule[] = [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [p], exposeHeaders: [] }];
      outcome(() => matchPreflight(rules, 'http://a.example', 'GET', ['a'.repeat(n)]), []);
    }), 0.1, { endOnFailure: true });
  });
});

describe('CORS configurations from PutBucketCors', () => {
  /** A CORSConfiguration document with any text in its free-text elements. */
  const document = fc.record({
    id: fc.option(fc.string({ unit: 'binary', maxLength: 10 }), { nil: undefined }),
    origin: fc.oneof(fc.constantFrom('*', 'http://*.example.com'), hostileString(2)),
    header: fc.oneof(fc.constantFrom('*', 'x-amz-*', 'content-type'), fc.string({ unit: 'binary', maxLength: 8 })),
    expose: fc.oneof(fc.constantFrom('ETag', 'x-amz-request-id'), fc.string({ unit: 'binary', maxLength: 8 })),
    maxAge: fc.option(fc.oneof(fc.nat(1e9).map(String), hostileString(2)), { nil: undefined }),
  }).map((d) => `<CORSConfiguration><CORSRule>${d.id !== undefined ? `<ID>${escapeXmlText(d.id)}</ID>` : ''}<AllowedOrigin>${escapeXmlText(d.origin)}</AllowedOrigin>`
    + `<AllowedMethod>GET</AllowedMethod><AllowedHeader>${escapeXmlText(d.header)}</AllowedHeader><ExposeHeader>${escapeXmlText(d.expose)}</ExposeHeader>`
    + `${d.maxAge !== undefined ? `<MaxAgeSeconds>${escapeXmlText(d.maxAge)}</MaxAgeSeconds>` : ''}</CORSRule></CORSConfiguration>`);

  it('every accepted configuration matches any request without throwing', () => {
    check(fc.property(document, request, (xml, r) => {
      const parsed = outcome(() => parseCorsConfiguration(xml), [S3Error]);
      if (!parsed.ok) return;
      outcome(() => matchPreflight(parsed.value, r.origin, 'GET', r.headers), []);
      const act = valueOf(outcome(() => matchRequest(parsed.value, r.origin, 'GET'), []));
      if (act) outcome(() => corsHeaders(act, r.origin, r.headers), []);
    }));
  });

  // ExposeHeader once accepted any text, e.g. "日本" or "a\u0001" (as &#x1;), which Node refuses
  // to send in Access-Control-Expose-Headers: every request with a matching Origin was a 500.
  it('every header an accepted configuration makes is one Node can send', () => {
    check(fc.property(document, request, (xml, r) => {
      const parsed = outcome(() => parseCorsConfiguration(xml), [S3Error]);
      if (!parsed.ok) return;
      const act = matchRequest(parsed.value, r.origin, 'GET');
      if (act) headersAreSendable(corsHeaders(act, r.origin));
    }));
  });
});
