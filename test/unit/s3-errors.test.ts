import { defaultMessageOf, isS3ErrorCode, S3Error, statusOf, type S3ErrorCode } from '../../gateway/s3/errors.js';

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

describe('S3Error', () => {
  // The codes the gateway's operations answer with, and the status AWS S3 gives each.
  test.each<[S3ErrorCode, number]>([
    ['AccessDenied', 403], ['BadDigest', 400], ['BucketAlreadyExists', 409], ['BucketAlreadyOwnedByYou', 409],
    ['BucketNotEmpty', 409], ['EntityTooSmall', 400], ['EntityTooLarge', 400], ['IncompleteBody', 400],
    ['InternalError', 500], ['InvalidAccessKeyId', 403], ['InvalidArgument', 400], ['InvalidBucketName', 400],
    ['InvalidDigest', 400], ['InvalidPart', 400], ['InvalidPartOrder', 400], ['InvalidPartNumber', 416], ['InvalidRange', 416],
    ['InvalidRequest', 400], ['KeyTooLongError', 400], ['MalformedXML', 400], ['MetadataTooLarge', 400],
    ['MethodNotAllowed', 405], ['MissingContentLength', 411], ['NoSuchBucket', 404], ['NoSuchKey', 404],
    ['NoSuchUpload', 404], ['NotImplemented', 501], ['NotModified', 304], ['PreconditionFailed', 412],
    ['RequestTimeTooSkewed', 403], ['SignatureDoesNotMatch', 403], ['ServiceUnavailable', 503], ['SlowDown', 503],
    ['XAmzContentSHA256Mismatch', 400], ['AuthorizationHeaderMalformed', 400], ['AuthorizationQueryParametersError', 400],
    ['InvalidStorageClass', 400], ['InvalidLocationConstraint', 400], ['IllegalLocationConstraintException', 400],
    ['TooManyBuckets', 400], ['RequestTimeout', 400], ['NoSuchVersion', 404], ['InvalidURI', 400],
  ])('%s is %i', (code, status) => {
    const err = new S3Error(code);
    expect(err.status).toBe(status);
    expect(statusOf(code)).toBe(status);
    expect(err.code).toBe(code);
    expect(err.message).toBe(defaultMessageOf(code));
    expect(err.expose).toBe(status < 500);
  });

  test('isS3ErrorCode knows the table, not Object.prototype', () => {
    expect(isS3ErrorCode('NoSuchKey')).toBe(true);
    expect(isS3ErrorCode('NoSuchThing')).toBe(false);
    expect(isS3ErrorCode('toString')).toBe(false);
  });

  test('constructor forms: message string, options, or both', () => {
    const cause = new Error('low');
    expect(new S3Error('InvalidArgument', 'bad').message).toBe('bad');
    const a = new S3Error('InvalidArgument', 'bad', { extra: { ArgumentName: 'x' }, cause });
    expect([a.message, a.extra, a.cause]).toEqual(['bad', { ArgumentName: 'x' }, cause]);
    const b = new S3Error('NoSuchKey', { extra: { Key: 'k' }, resource: '/b/k', headers: { 'x-amz-x': '1' } });
    expect([b.message, b.resource, b.headers]).toEqual([defaultMessageOf('NoSuchKey'), '/b/k', { 'x-amz-x': '1' }]);
    expect(b).toBeInstanceOf(Error);
    expect(b.name).toBe('S3Error');
  });

  test('NoSuchKey document: no namespace, extra elements before RequestId, escaped', () => {
    const err = new S3Error('NoSuchKey', { extra: { Key: 'a&<b> "c"' } });
    expect(err.toXml('req-1', undefined, 'host-1')).toBe(`${HEAD}<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>`
      + '<Key>a&amp;&lt;b&gt; &quot;c&quot;</Key><RequestId>req-1</RequestId><HostId>host-1</HostId></Error>');
  });

  test('Resource: the argument wins over the one set on the error; HostId only when given', () => {
    const err = new S3Error('NoSuchBucket', { extra: { BucketName: 'b' }, resource: '/b' });
    expect(err.toXml('r')).toBe(`${HEAD}<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>`
      + '<BucketName>b</BucketName><Resource>/b</Resource><RequestId>r</RequestId></Error>');
    expect(err.toXml('r', '/other')).toContain('<Resource>/other</Resource>');
  });

  test('SignatureDoesNotMatch carries what the client needs to debug its signer, in order', () => {
    const err = new S3Error('SignatureDoesNotMatch', {
      extra: { AWSAccessKeyId: 'AK', StringToSign: 'AWS4-HMAC-SHA256\n2026', SignatureProvided: 'sig', CanonicalRequest: 'GET\n/\n' },
    });
    expect(err.toXml('r')).toBe(`${HEAD}<Error><Code>SignatureDoesNotMatch</Code><Message>${defaultMessageOf('SignatureDoesNotMatch')}</Message>`
      + '<AWSAccessKeyId>AK</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n2026</StringToSign><SignatureProvided>sig</SignatureProvided>'
      + '<CanonicalRequest>GET\n/\n</CanonicalRequest><RequestId>r</RequestId></Error>');
  });

  test('a 5xx never shows its internal message', () => {
    const err = new S3Error('InternalError', 'sqlite: database is locked at /var/lib/x');
    expect(err.expose).toBe(false);
    expect(err.toXml('r')).toBe(`${HEAD}<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>r</RequestId></Error>`);
  });
});
