/**
 * What a malformed SigV2 Authorization header or a bad date answers, as S3 answers it (the
 * s3-tests auth_aws2 cases in test_headers.py): the header's shape first (400 InvalidArgument),
 * then the date (403 AccessDenied when unreadable, RequestTimeTooSkewed when far), then the key.
 */
import { createHmac } from 'node:crypto';
import { verifyRequest, type SignedRequest } from '../../gateway/auth/sigv4.js';
import { AuthError } from '../../gateway/auth/errors.js';
import { codeOf } from '../helpers/errors.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const lookup = (id: string) => (id === AK ? SECRET : undefined);
const NOW = new Date('2026-03-14T15:09:26Z');
const DATE = NOW.toUTCString();

function put(authorization: string | undefined, extra: Record<string, string> = {}): SignedRequest {
  return {
    method: 'PUT', rawPath: '/b/foo', rawQuery: '',
    headers: { host: '127.0.0.1:9000', date: DATE, ...extra, ...(authorization !== undefined && { authorization }) },
  };
}

/** A correct V2 signature over the request, as botocore's HmacV1Auth makes it (x-amz-date signed among the x-amz-* lines). */
function signed(extra: Record<string, string> = {}, key = AK): SignedRequest {
  const amz = Object.entries(extra).filter(([k]) => k.startsWith('x-amz-')).map(([k, v]) => `${k}:${v}\n`).join('');
  const dateLine = extra['x-amz-date'] !== undefined ? '' : DATE;
  const sig = createHmac('sha1', SECRET).update(`PUT\n\n\n${dateLine}\n${amz}/b/foo`).digest('base64');
  return put(`AWS ${key}:${sig}`, extra);
}

function error(req: SignedRequest): AuthError {
  try {
    verifyRequest(req, lookup, NOW);
  } catch (err) {
    if (err instanceof AuthError) return err;
    throw err;
  }
  throw new Error('expected an AuthError');
}

// compat: SigV2
describe('SigV2 Authorization header: malformed', () => {
  test.each(['AWS HAHAHA', 'AWS', `AWS ${AK}:`, `AWS ${AK}:a:b`, `AWS ${AK}`])('%j: 400 InvalidArgument, Expected AwsAccessKeyId:signature', (authorization) => {
    const e = error(put(authorization));
    expect([e.status, e.code, e.message]).toEqual([400, 'InvalidArgument', 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature']);
    expect(e.details).toEqual({ ArgumentName: 'Authorization', ArgumentValue: authorization });
  });

  test('a second space: 400 InvalidArgument, one and only one space', () => {
    const e = error(put(`AWS  ${AK}:c2ln`));
    expect([e.status, e.code, e.message]).toEqual([400, 'InvalidArgument', "Authorization header is invalid -- one and only one ' ' (space) required"]);
  });

  test('an empty key is a key nobody has: 403 InvalidAccessKeyId; an unknown one too', () => {
    expect(codeOf(() => verifyRequest(put('AWS :c2ln'), lookup, NOW))).toBe('InvalidAccessKeyId');
    expect(codeOf(() => verifyRequest(signed({}, 'AKIAIGR7ZNNBHC5BKSUB'), lookup, NOW))).toBe('InvalidAccessKeyId');
  });

  test('an empty Authorization header is an anonymous request', () => {
    expect(verifyRequest(put(''), lookup, NOW)).toBeNull();
    expect(verifyRequest(put('  '), lookup, NOW)).toBeNull();
  });
});

// compat: SigV2
describe('SigV2 dates, signed as boto3 signs them', () => {
  test.each([
    ['Bad Date', 'AccessDenied'],
    ['', 'AccessDenied'],
    ['Tue, 07 Jul 1950 21:53:04 GMT', 'AccessDenied'], // before the epoch: no date S3 reads
    ['Tue, 07 Jul 2010 21:53:04 GMT', 'RequestTimeTooSkewed'],
    ['Tue, 07 Jul 2030 21:53:04 GMT', 'RequestTimeTooSkewed'],
    ['Tue, 07 Jul 9999 21:53:04 GMT', 'RequestTimeTooSkewed'],
  ])('x-amz-date %j: 403 %s', (date, code) => {
    const e = error(signed({ 'x-amz-date': date }));
    expect([e.status, e.code]).toEqual([403, code]);
  });

  test('the date is judged before the key', () => {
    expect(codeOf(() => verifyRequest(signed({ 'x-amz-date': 'Bad Date' }, 'AKIAIGR7ZNNBHC5BKSUB'), lookup, NOW))).toBe('AccessDenied');
    expect(codeOf(() => verifyRequest(signed({ 'x-amz-date': 'Tue, 07 Jul 2010 21:53:04 GMT' }, 'AKIAIGR7ZNNBHC5BKSUB'), lookup, NOW))).toBe('RequestTimeTooSkewed');
  });

  test('a good date and signature pass', () => {
    expect(codeOf(() => verifyRequest(signed({ 'x-amz-date': DATE }), lookup, NOW))).toBe('none');
    expect(codeOf(() => verifyRequest(signed(), lookup, NOW))).toBe('none');
  });
});
