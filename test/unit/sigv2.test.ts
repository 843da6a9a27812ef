/**
 * Signature Version 2 against known answers: the AWS documentation's example and requests
 * signed by botocore's HmacV1Auth / HmacV1QueryAuth (what boto3 and aws-cli v1 presign with).
 */
import { createHmac } from 'node:crypto';
import { verifyRequest, type SignedRequest } from '../../gateway/auth/sigv4.js';
import { codeOf } from '../helpers/errors.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const lookup = (id: string) => (id === AK ? SECRET : undefined);
const DATE = 'Tue, 27 Mar 2007 19:36:42 +0000';
const AT = new Date(DATE);


describe('SigV2 Authorization header', () => {
  test('the AWS documentation example (virtual-hosted: the bucket from the Host leads the resource)', () => {
    const req: SignedRequest = {
      method: 'GET', rawPath: '/photos/puppy.jpg', rawQuery: '', hostBucket: 'awsexamplebucket1',
      headers: { host: 'awsexamplebucket1.us-west-1.s3.amazonaws.com', date: DATE, authorization: `AWS ${AK}:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=` },
    };
    const r = verifyRequest(req, lookup, AT)!;
    expect(r).toMatchObject({ accessKeyId: AK, signatureVersion: 2, presigned: false, payload: { kind: 'unsigned' } });
  });

  test('signs Content-MD5, Content-Type, x-amz-* headers and sub-resources, as botocore does', () => {
    const put: SignedRequest = {
      method: 'PUT', rawPath: '/bucket/a%20key%2Bplus.txt', rawQuery: 'acl',
      headers: {
        host: '127.0.0.1:9000', date: DATE, 'content-type': 'text/plain', 'content-md5': 'XrY7u+Ae7tCTyyK7j1rNww==',
        'x-amz-meta-color': 'blue', 'x-amz-acl': 'public-read', authorization: `AWS ${AK}:8rtx4cJPCWz7J1C4I0yFMjYsjUM=`,
      },
    };
    expect(codeOf(() => verifyRequest(put, lookup, AT))).toBe('none');
    // Any signed part changed: refused.
    expect(codeOf(() => verifyRequest({ ...put, headers: { ...put.headers, 'x-amz-acl': 'private' } }, lookup, AT))).toBe('SignatureDoesNotMatch');
    expect(codeOf(() => verifyRequest({ ...put, rawQuery: '' }, lookup, AT))).toBe('SignatureDoesNotMatch');
    // Query parameters that are not sub-resources are not signed.
    const get: SignedRequest = {
      method: 'GET', rawPath: '/bucket/k', rawQuery: 'versionId=abc&response-content-disposition=attachment%3B%20filename%3D%22x.txt%22&prefix=p',
      headers: { host: '127.0.0.1:9000', date: DATE, authorization: `AWS ${AK}:hT+otNbnn5p+JaD/ywde0klSx+M=` },
    };
    expect(codeOf(() => verifyRequest(get, lookup, AT))).toBe('none');
    expect(codeOf(() => verifyRequest({ ...get, rawQuery: get.rawQuery.replace('prefix=p', 'prefix=q') }, lookup, AT))).toBe('none');
    expect(codeOf(() => verifyRequest({ ...get, rawQuery: get.rawQuery.replace('versionId=abc', 'versionId=abd') }, lookup, AT))).toBe('SignatureDoesNotMatch');
  });

  test('a path-style bucket request signed as /bucket/ (botocore) or /bucket', () => {
    for (const resource of ['/v2bucket/', '/v2bucket']) {
      const sig = createHmac('sha1', SECRET).update(`PUT\n\n\n${DATE}\n${resource}`).digest('base64');
      const req: SignedRequest = { method: 'PUT', rawPath: '/v2bucket', rawQuery: '', headers: { host: 'h', date: DATE, authorization: `AWS ${AK}:${sig}` } };
      expect(codeOf(() => verifyRequest(req, lookup, AT))).toBe('none');
    }
  });

  test('unknown key, skewed clock, malformed header', () => {
    const req: SignedRequest = { method: 'GET', rawPath: '/b', rawQuery: '', headers: { host: 'h', date: DATE, authorization: 'AWS NOPE:abc=' } };
    expect(codeOf(() => verifyRequest(req, lookup, AT))).toBe('InvalidAccessKeyId');
    const sts = `GET\n\n\n${DATE}\n/b`;
    const sig = createHmac('sha1', SECRET).update(sts).digest('base64');
    const good = { ...req, headers: { ...req.headers, authorization: `AWS ${AK}:${sig}` } };
    expect(codeOf(() => verifyRequest(good, lookup, AT))).toBe('none');
    expect(codeOf(() => verifyRequest(good, lookup, new Date(AT.getTime() + 16 * 60_000)))).toBe('RequestTimeTooSkewed');
    expect(codeOf(() => verifyRequest({ ...req, headers: { ...req.headers, authorization: 'AWS nocolon' } }, lookup, AT))).toBe('InvalidArgument');
    // x-amz-date carries the time, and the Date line is then empty.
    const amz = { method: 'GET', rawPath: '/b', rawQuery: '', headers: { host: 'h', 'x-amz-date': DATE } };
    const amzSig = createHmac('sha1', SECRET).update(`GET\n\n\n\nx-amz-date:${DATE}\n/b`).digest('base64');
    expect(codeOf(() => verifyRequest({ ...amz, headers: { ...amz.headers, authorization: `AWS ${AK}:${amzSig}` } }, lookup, AT))).toBe('none');
  });
});

describe('SigV2 presigned URLs', () => {
  const NOW = new Date(1795533624 * 1000 - 60_000);

  test('a GET with a response override, as generate_presigned_url makes it', () => {
    const req: SignedRequest = {
      method: 'GET', rawPath: '/bucket/posted/hello.txt',
      rawQuery: `response-content-disposition=attachment%3B%20filename%3D%22x.txt%22&AWSAccessKeyId=${AK}&Signature=r1eKTvZpyz3KG%2F1sdjjKCySEv0g%3D&Expires=1795533624`,
      headers: { host: '127.0.0.1:9000' },
    };
    expect(verifyRequest(req, lookup, NOW)).toMatchObject({ accessKeyId: AK, presigned: true, signatureVersion: 2, expiresAt: new Date(1795533624 * 1000) });
    expect(codeOf(() => verifyRequest(req, lookup, new Date(1795533625 * 1000)))).toBe('AccessDenied');
    expect(codeOf(() => verifyRequest({ ...req, rawPath: '/bucket/posted/other.txt' }, lookup, NOW))).toBe('SignatureDoesNotMatch');
  });

  test('a PUT whose Content-Type and x-amz-acl botocore moved into the query', () => {
    const req: SignedRequest = {
      method: 'PUT', rawPath: '/bucket/up',
      rawQuery: `AWSAccessKeyId=${AK}&Signature=fYD9l4vM1hpXrUvxdnxlt%2F2kq1s%3D&content-type=image%2Fpng&x-amz-acl=public-read&Expires=1795533624`,
      headers: { host: '127.0.0.1:9000', 'content-type': 'image/png' },
    };
    expect(codeOf(() => verifyRequest(req, lookup, NOW))).toBe('none');
    expect(codeOf(() => verifyRequest({ ...req, rawQuery: req.rawQuery.replace('public-read', 'private') }, lookup, NOW))).toBe('SignatureDoesNotMatch');
  });
});
