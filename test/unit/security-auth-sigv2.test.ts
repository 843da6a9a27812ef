/**
 * One SigV2 signature names exactly one resource: what the gateway serves for a signed request
 * is what was signed, whatever encoding tricks the sender plays with the path and the query.
 * Signatures are computed as botocore's HmacV1Auth/HmacV1QueryAuth compute them (the path as
 * sent, sub-resource values unescaped).
 */
import { createHmac } from 'node:crypto';
import { parseEndpoint } from '../../gateway/s3/router.js';
import { verifyRequest, type SignedRequest } from '../../gateway/auth/sigv4.js';
import { codeOf } from '../helpers/errors.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const lookup = (id: string) => (id === AK ? SECRET : undefined);
const NOW = new Date('2026-03-14T15:09:26Z');
const EXPIRES = String(Math.floor(NOW.getTime() / 1000) + 600);
const sign = (sts: string) => createHmac('sha1', SECRET).update(sts).digest('base64');

/** A V2 presigned GET of `path` (as sent), with sub-resources `subs` (decoded, in signing order). */
function presigned(path: string, subs = '', query = ''): SignedRequest {
  const sig = encodeURIComponent(sign(`GET\n\n\n${EXPIRES}\n${path}${subs ? `?${subs}` : ''}`));
  return { method: 'GET', rawPath: path, rawQuery: `${query ? `${query}&` : ''}AWSAccessKeyId=${AK}&Expires=${EXPIRES}&Signature=${sig}`, headers: { host: '127.0.0.1:9000' } };
}

const verdict = (req: SignedRequest): string => codeOf(() => verifyRequest(req, lookup, NOW));
/** The key and query the router reads from the same request. */
const routed = (req: SignedRequest) => {
  const query = new URLSearchParams(req.rawQuery);
  return { key: parseEndpoint({ method: req.method, rawPath: req.rawPath, query, headers: {} }).key, query };
};

describe('the path: signed as sent, never opened decoded', () => {
  test('a signature over key "a b" does not open key "a%20b"', () => {
    const url = presigned('/b/a%20b');
    expect(verdict(url)).toBe('none');
    expect(routed(url).key).toBe('a b');
    const other = { ...url, rawPath: '/b/a%2520b' };
    expect(routed(other).key).toBe('a%20b');
    expect(verdict(other)).toBe('SignatureDoesNotMatch');
  });

  test('nor the other way round: a signature over key "a%20b" does not open "a b"', () => {
    const url = presigned('/b/a%2520b');
    expect(verdict(url)).toBe('none');
    expect(verdict({ ...url, rawPath: '/b/a%20b' })).toBe('SignatureDoesNotMatch');
  });

  test('header auth too', () => {
    const DATE = 'Sat, 14 Mar 2026 15:09:26 GMT';
    const req: SignedRequest = { method: 'GET', rawPath: '/b/a%20b', rawQuery: '', headers: { host: 'h', date: DATE, authorization: `AWS ${AK}:${sign(`GET\n\n\n${DATE}\n/b/a%20b`)}` } };
    expect(verdict(req)).toBe('none');
    expect(verdict({ ...req, rawPath: '/b/a%2520b' })).toBe('SignatureDoesNotMatch');
  });

  test('a looser encoding of the same key still verifies: it names the same object', () => {
    const url = presigned('/b/f%28x%29%21.txt');
    const loose = { ...url, rawPath: '/b/f(x)!.txt' };
    expect(routed(loose).key).toBe(routed(url).key);
    expect(verdict(loose)).toBe('none');
  });
});

describe('sub-resources: decoded as the router decodes them', () => {
  test('an escaped sub-resource name is a sub-resource: versionI%64 is signed like versionId', () => {
    const url = presigned('/b/k');
    expect(verdict(url)).toBe('none');
    const old = { ...url, rawQuery: `versionI%64=v1&${url.rawQuery}` };
    expect(routed(old).query.get('versionId')).toBe('v1');
    expect(verdict(old)).toBe('SignatureDoesNotMatch');
  });

  test('response-content-typ%65 is an override the URL must have signed', () => {
    const url = presigned('/b/k');
    const html = { ...url, rawQuery: `response-content-typ%65=text%2Fhtml&${url.rawQuery}` };
    expect(routed(html).query.get('response-content-type')).toBe('text/html');
    expect(verdict(html)).toBe('SignatureDoesNotMatch');
  });

  test('a signed "+" in a value cannot be turned into a space, nor a space into "+"', () => {
    const plus = presigned('/b/k', 'response-content-type=image/svg+xml', 'response-content-type=image%2Fsvg%2Bxml');
    expect(verdict(plus)).toBe('none');
    const spaced = { ...plus, rawQuery: plus.rawQuery.replace('%2Bxml', '+xml') };
    expect(routed(spaced).query.get('response-content-type')).toBe('image/svg xml');
    expect(verdict(spaced)).toBe('SignatureDoesNotMatch');
    // A raw "+" that was signed as a space is the same value to both.
    const space = presigned('/b/k', 'response-content-type=a b', 'response-content-type=a+b');
    expect(routed(space).query.get('response-content-type')).toBe('a b');
    expect(verdict(space)).toBe('none');
  });
});

describe('presigned lifetime', () => {
  const at = (seconds: number): SignedRequest => {
    const expires = String(Math.floor(NOW.getTime() / 1000) + seconds);
    const sig = encodeURIComponent(sign(`GET\n\n\n${expires}\n/b/k`));
    return { method: 'GET', rawPath: '/b/k', rawQuery: `AWSAccessKeyId=${AK}&Expires=${expires}&Signature=${sig}`, headers: { host: 'h' } };
  };

  test('a week from now is the longest a V2 URL may run, as for SigV4 (with its clock-skew allowance)', () => {
    expect(verdict(at(7 * 24 * 3600))).toBe('none');
    expect(verdict(at(7 * 24 * 3600 + 15 * 60))).toBe('none');
    expect(verdict(at(7 * 24 * 3600 + 15 * 60 + 1))).toBe('AuthorizationQueryParametersError');
    expect(verdict(at(10 * 365 * 24 * 3600))).toBe('AuthorizationQueryParametersError');
  });

  test('measured from now: a URL made to run a year is refused until its last week (V2 does not say when it was made)', () => {
    const year = at(365 * 24 * 3600);
    const later = new Date(NOW.getTime() + 360 * 24 * 3600 * 1000);
    expect(codeOf(() => verifyRequest(year, lookup, NOW))).toBe('AuthorizationQueryParametersError');
    expect(codeOf(() => verifyRequest(year, lookup, later))).toBe('none');
  });
});
