import { S3Error } from '../../gateway/s3/errors.js';
import {
  bucketOfRequest, ENDPOINT_KINDS, endpointName, parseCopySource, parseEndpoint, permissionOf,
  type EndpointKind, type ParsedEndpoint, type Permission, type RouterOptions,
} from '../../gateway/s3/router.js';

/** `url` is the request target as sent: raw path, then the query. */
function route(method: string, url: string, headers: Record<string, string> = {}, host = '127.0.0.1:9000', options?: RouterOptions): ParsedEndpoint {
  const qi = url.indexOf('?');
  const rawPath = qi < 0 ? url : url.slice(0, qi);
  const query = new URLSearchParams(qi < 0 ? '' : url.slice(qi + 1));
  return parseEndpoint({ method, rawPath, query, headers, host }, options);
}

function errorOf(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return err;
    throw err;
  }
  throw new Error('did not throw');
}

const COPY = { 'x-amz-copy-source': '/src/dir/a%20b%2Bc?versionId=v1' };
const COPY_SOURCE = { bucket: 'src', key: 'dir/a b+c', versionId: 'v1' };

// Every kind, one request each, with the permission it needs. The test after this table
// checks that it names every kind the router knows.
const CASES: Array<[EndpointKind, Permission, string, string, Record<string, string>?, object?]> = [
  ['ListBuckets', 'authenticated', 'GET', '/'],
  ['CreateBucket', 'authenticated', 'PUT', '/b'],
  ['Options', 'none', 'OPTIONS', '/b/k'],
  ['HeadBucket', 'read', 'HEAD', '/b'],
  ['DeleteBucket', 'owner', 'DELETE', '/b'],
  ['GetBucketLocation', 'read', 'GET', '/b?location'],
  ['ListObjects', 'read', 'GET', '/b?prefix=p&marker=m&max-keys=5', {}, { prefix: 'p', marker: 'm', maxKeys: 5 }],
  ['ListObjectsV2', 'read', 'GET', '/b?list-type=2&prefix=a%20b&delimiter=%2F&max-keys=5000&continuation-token=t&start-after=s&fetch-owner=true&encoding-type=url', {},
    { prefix: 'a b', delimiter: '/', maxKeys: 1000, continuationToken: 't', startAfter: 's', fetchOwner: true, encodingType: 'url' }],
  ['ListObjectVersions', 'read', 'GET', '/b?versions&key-marker=k&version-id-marker=v', {}, { keyMarker: 'k', versionIdMarker: 'v', maxKeys: 1000, prefix: '' }],
  ['ListMultipartUploads', 'read', 'GET', '/b?uploads&max-uploads=3&upload-id-marker=u', {}, { maxUploads: 3, uploadIdMarker: 'u', prefix: '' }],
  ['DeleteObjects', 'write', 'POST', '/b?delete'],
  ['PostObject', 'write', 'POST', '/b', { 'content-type': 'multipart/form-data; boundary=x' }],
  ['GetBucketVersioning', 'read', 'GET', '/b?versioning'],
  ['PutBucketVersioning', 'owner', 'PUT', '/b?versioning'],
  ['GetBucketTagging', 'read', 'GET', '/b?tagging'],
  ['PutBucketTagging', 'owner', 'PUT', '/b?tagging'],
  ['DeleteBucketTagging', 'owner', 'DELETE', '/b?tagging'],
  ['GetBucketCors', 'owner', 'GET', '/b?cors'],
  ['PutBucketCors', 'owner', 'PUT', '/b?cors'],
  ['DeleteBucketCors', 'owner', 'DELETE', '/b?cors'],
  ['GetBucketAcl', 'read', 'GET', '/b?acl'],
  ['PutBucketAcl', 'write', 'PUT', '/b?acl'],
  ['GetBucketPolicy', 'owner', 'GET', '/b?policy'],
  ['PutBucketPolicy', 'owner', 'PUT', '/b?policy'],
  ['DeleteBucketPolicy', 'owner', 'DELETE', '/b?policy'],
  ['GetBucketPolicyStatus', 'owner', 'GET', '/b?policyStatus'],
  ['GetBucketLifecycleConfiguration', 'owner', 'GET', '/b?lifecycle'],
  ['PutBucketLifecycleConfiguration', 'owner', 'PUT', '/b?lifecycle'],
  ['DeleteBucketLifecycle', 'owner', 'DELETE', '/b?lifecycle'],
  ['GetObjectLockConfiguration', 'owner', 'GET', '/b?object-lock'],
  ['PutObjectLockConfiguration', 'owner', 'PUT', '/b?object-lock'],
  ['GetBucketEncryption', 'owner', 'GET', '/b?encryption'],
  ['PutBucketEncryption', 'owner', 'PUT', '/b?encryption'],
  ['DeleteBucketEncryption', 'owner', 'DELETE', '/b?encryption'],
  ['GetBucketWebsite', 'owner', 'GET', '/b?website'],
  ['PutBucketWebsite', 'owner', 'PUT', '/b?website'],
  ['DeleteBucketWebsite', 'owner', 'DELETE', '/b?website'],
  ['GetBucketLogging', 'owner', 'GET', '/b?logging'],
  ['PutBucketLogging', 'owner', 'PUT', '/b?logging'],
  ['GetBucketNotificationConfiguration', 'owner', 'GET', '/b?notification'],
  ['PutBucketNotificationConfiguration', 'owner', 'PUT', '/b?notification'],
  ['GetBucketReplication', 'owner', 'GET', '/b?replication'],
  ['PutBucketReplication', 'owner', 'PUT', '/b?replication'],
  ['DeleteBucketReplication', 'owner', 'DELETE', '/b?replication'],
  ['GetBucketRequestPayment', 'read', 'GET', '/b?requestPayment'],
  ['PutBucketRequestPayment', 'owner', 'PUT', '/b?requestPayment'],
  ['GetBucketAccelerateConfiguration', 'owner', 'GET', '/b?accelerate'],
  ['PutBucketAccelerateConfiguration', 'owner', 'PUT', '/b?accelerate'],
  ['GetBucketOwnershipControls', 'owner', 'GET', '/b?ownershipControls'],
  ['PutBucketOwnershipControls', 'owner', 'PUT', '/b?ownershipControls'],
  ['DeleteBucketOwnershipControls', 'owner', 'DELETE', '/b?ownershipControls'],
  ['GetPublicAccessBlock', 'owner', 'GET', '/b?publicAccessBlock'],
  ['PutPublicAccessBlock', 'owner', 'PUT', '/b?publicAccessBlock'],
  ['DeletePublicAccessBlock', 'owner', 'DELETE', '/b?publicAccessBlock'],
  ['GetObject', 'read', 'GET', '/b/k?versionId=v1&partNumber=2&response-content-type=text%2Fplain&response-cache-control=no-cache&x-id=GetObject', {},
    { versionId: 'v1', partNumber: 2, responseOverrides: { 'content-type': 'text/plain', 'cache-control': 'no-cache' } }],
  ['HeadObject', 'read', 'HEAD', '/b/k?response-expires=x', {}, { responseOverrides: { expires: 'x' } }],
  ['PutObject', 'write', 'PUT', '/b/k?x-id=PutObject'],
  ['CopyObject', 'write', 'PUT', '/b/k', COPY, { copySource: COPY_SOURCE }],
  ['DeleteObject', 'write', 'DELETE', '/b/k?versionId=null', {}, { versionId: 'null' }],
  ['CreateMultipartUpload', 'write', 'POST', '/b/k?uploads'],
  ['UploadPart', 'write', 'PUT', '/b/k?partNumber=10000&uploadId=u%2B1', {}, { uploadId: 'u+1', partNumber: 10000 }],
  ['UploadPartCopy', 'write', 'PUT', '/b/k?partNumber=1&uploadId=u', { ...COPY, 'x-amz-copy-source-range': 'bytes=0-9' },
    { uploadId: 'u', partNumber: 1, copySource: COPY_SOURCE, copySourceRange: { start: 0, end: 9 } }],
  ['CompleteMultipartUpload', 'write', 'POST', '/b/k?uploadId=u', {}, { uploadId: 'u' }],
  ['AbortMultipartUpload', 'write', 'DELETE', '/b/k?uploadId=u', {}, { uploadId: 'u' }],
  ['ListParts', 'read', 'GET', '/b/k?uploadId=u&max-parts=2000&part-number-marker=3', {}, { uploadId: 'u', maxParts: 1000, partNumberMarker: 3 }],
  ['GetObjectTagging', 'read', 'GET', '/b/k?tagging&versionId=v', {}, { versionId: 'v' }],
  ['PutObjectTagging', 'write', 'PUT', '/b/k?tagging'],
  ['DeleteObjectTagging', 'write', 'DELETE', '/b/k?tagging'],
  ['GetObjectAcl', 'read', 'GET', '/b/k?acl'],
  ['PutObjectAcl', 'write', 'PUT', '/b/k?acl'],
  ['GetObjectRetention', 'read', 'GET', '/b/k?retention'],
  ['PutObjectRetention', 'write', 'PUT', '/b/k?retention'],
  ['GetObjectLegalHold', 'read', 'GET', '/b/k?legal-hold'],
  ['PutObjectLegalHold', 'write', 'PUT', '/b/k?legal-hold'],
  ['GetObjectAttributes', 'read', 'GET', '/b/k?attributes'],
  ['RestoreObject', 'write', 'POST', '/b/k?restore'],
];

describe('every endpoint kind: parse and permission', () => {
  test.each(CASES)('%s needs %s (%s %s)', (kind, permission, method, url, headers = {}, fields = {}) => {
    const parsed = route(method, url, headers);
    expect(parsed.endpoint).toMatchObject({ kind, ...fields });
    expect(endpointName(parsed.endpoint)).toBe(kind);
    expect(permissionOf(parsed.endpoint)).toBe(permission);
  });

  test('the table covers every kind the router declares', () => {
    expect(new Set(CASES.map((c) => c[0]))).toEqual(new Set(ENDPOINT_KINDS));
    expect(CASES).toHaveLength(ENDPOINT_KINDS.length);
  });

  test('defaults of optional parameters', () => {
    expect(route('GET', '/b').endpoint).toEqual({ kind: 'ListObjects', prefix: '', maxKeys: 1000, marker: '' });
    expect(route('GET', '/b?list-type=2').endpoint).toEqual({ kind: 'ListObjectsV2', prefix: '', maxKeys: 1000, fetchOwner: false });
    expect(route('GET', '/b/k?uploadId=u').endpoint).toEqual({ kind: 'ListParts', uploadId: 'u' });
    expect(route('GET', '/b/k').endpoint).toEqual({ kind: 'GetObject', responseOverrides: {} });
    expect(route('GET', '/?max-buckets=10&prefix=a&continuation-token=t&bucket-region=r').endpoint)
      .toEqual({ kind: 'ListBuckets', maxBuckets: 10, prefix: 'a', continuationToken: 't', bucketRegion: 'r' });
  });
});

describe('bucket and key', () => {
  test.each([
    ['/', undefined, undefined],
    ['/b', 'b', undefined],
    ['/b/', 'b', undefined],
    ['/b/k', 'b', 'k'],
    ['/b/dir/sub/k', 'b', 'dir/sub/k'],
    ['/b//k', 'b', '/k'], // a key may begin with a slash
    ['/b/a+b', 'b', 'a+b'], // + in a path is a literal plus
    ['/b/a%2Bb%20c', 'b', 'a+b c'],
    ['/b/%C3%A9%26%3F%23%25', 'b', 'é&?#%'],
    ['/b/dir/', 'b', 'dir/'],
    ['/b/%20', 'b', ' '],
  ])('path style %s', (path, bucket, key) => {
    const parsed = route('GET', path);
    expect([parsed.bucket, parsed.key, parsed.style]).toEqual([bucket, key, 'path']);
  });

  test.each([
    ['bucket.s3.localhost:9000', '/k', 'bucket', 'k'],
    ['bucket.localhost', '/', 'bucket', undefined],
    ['my.dotted.bucket.s3.localhost', '/a/b', 'my.dotted.bucket', 'a/b'],
    ['BUCKET.S3.LOCALHOST.', '/k', 'bucket', 'k'], // host names are case-insensitive; trailing dot
    ['b.storage.example.com:443', '/k', 'b', 'k'],
  ])('virtual-hosted style: %s', (host, path, bucket, key) => {
    const parsed = route('GET', path, {}, host, { baseDomains: ['storage.example.com'] });
    expect([parsed.bucket, parsed.key, parsed.style]).toEqual([bucket, key, 'virtual-hosted']);
  });

  test.each([
    ['localhost:9000'], ['s3.localhost'], ['127.0.0.1:9000'], ['10.0.0.1'], ['[::1]:9000'], ['other.example.org'],
  ])('path style for %s', (host) => {
    const parsed = route('GET', '/b/k', {}, host);
    expect([parsed.bucket, parsed.key, parsed.style]).toEqual(['b', 'k', 'path']);
  });

  test('no Host at all: path style', () => {
    expect(parseEndpoint({ method: 'GET', rawPath: '/b/k', query: new URLSearchParams(), headers: {} }).bucket).toBe('b');
  });

  test('bad percent-encoding is InvalidURI', () => {
    expect(errorOf(() => route('GET', '/b/%E0%A4%A')).code).toBe('InvalidURI');
    expect(errorOf(() => route('GET', '/b/%FF')).code).toBe('InvalidURI');
    expect(errorOf(() => route('GET', '//k')).code).toBe('InvalidURI');
  });

  test('keys over 1024 bytes are KeyTooLongError', () => {
    expect(route('PUT', `/b/${'k'.repeat(1024)}`).key).toHaveLength(1024);
    expect(errorOf(() => route('PUT', `/b/${'k'.repeat(1025)}`)).code).toBe('KeyTooLongError');
    expect(errorOf(() => route('GET', `/b/${'%C3%A9'.repeat(513)}`)).code).toBe('KeyTooLongError');
  });
});

describe('refusals', () => {
  test.each([
    ['PATCH', '/b/k'], ['TRACE', '/'], ['PUT', '/'], ['DELETE', '/'], ['POST', '/'], ['HEAD', '/'], ['POST', '/b/k'],
    ['PATCH', '/b'], ['POST', '/b?tagging'], ['PUT', '/b?delete'], ['PUT', '/b?location'], ['GET', '/b?delete'],
    ['POST', '/b/k?tagging'], ['GET', '/b/k?uploads'], ['DELETE', '/b/k?attributes'],
  ])('%s %s is MethodNotAllowed', (method, url) => {
    const err = errorOf(() => route(method, url));
    expect([err.code, err.status]).toEqual(['MethodNotAllowed', 405]);
    expect(err.extra.Method).toBe(method);
  });

  test.each([
    ['GET', '/b?analytics&id=x'], ['PUT', '/b?inventory&id=x'], ['GET', '/b?metrics'], ['GET', '/b?intelligent-tiering'],
    ['POST', '/b/k?select&select-type=2'], ['GET', '/b/k?torrent'], ['PUT', '/b/k?renameObject'], ['GET', '/b/k?versioning'],
  ])('%s %s is NotImplemented', (method, url) => {
    expect(errorOf(() => route(method, url)).code).toBe('NotImplemented');
  });

  test.each([
    ['partNumber 0', 'PUT', '/b/k?partNumber=0&uploadId=u'],
    ['partNumber 10001', 'PUT', '/b/k?partNumber=10001&uploadId=u'],
    ['partNumber not a number', 'PUT', '/b/k?partNumber=one&uploadId=u'],
    ['partNumber negative', 'GET', '/b/k?partNumber=-1'],
    ['partNumber fractional', 'HEAD', '/b/k?partNumber=1.5'],
    ['UploadPart without partNumber', 'PUT', '/b/k?uploadId=u'],
    ['UploadPart without uploadId', 'PUT', '/b/k?partNumber=1'],
    ['empty versionId', 'GET', '/b/k?versionId='],
    ['negative max-keys', 'GET', '/b?max-keys=-1'],
    ['max-keys not a number', 'GET', '/b?list-type=2&max-keys=ten'],
    ['max-buckets 0', 'GET', '/?max-buckets=0'],
    ['unknown encoding-type', 'GET', '/b?encoding-type=base64'],
    ['unknown list-type', 'GET', '/b?list-type=3'],
  ])('InvalidArgument: %s', (_why, method, url) => {
    expect(errorOf(() => route(method, url)).code).toBe('InvalidArgument');
  });

  test('partNumber error names the argument as AWS does', () => {
    expect(errorOf(() => route('PUT', '/b/k?partNumber=0&uploadId=u')).extra).toEqual({ ArgumentName: 'partNumber', ArgumentValue: '0' });
  });

  test('GetObject with both partNumber and Range is InvalidRequest', () => {
    expect(errorOf(() => route('GET', '/b/k?partNumber=1', { range: 'bytes=0-1' })).code).toBe('InvalidRequest');
  });

  test('a subresource wins over unknown parameters, which are ignored as AWS S3 does', () => {
    expect(route('GET', '/b?cachebuster=1&X-Amz-Signature=s').endpoint.kind).toBe('ListObjects');
    expect(route('PUT', '/b/k?uploadId=u&partNumber=1&tagging').endpoint.kind).toBe('UploadPart');
  });
});

describe('bucketOfRequest: the bucket of a request the router may refuse', () => {
  test.each([
    ['/b/k?uploadId=x&partNumber=zero', '127.0.0.1:9000', 'b'],
    ['/b%20x/%ZZ', '127.0.0.1:9000', 'b x'],
    ['/%ZZ/k', '127.0.0.1:9000', undefined],
    ['/', '127.0.0.1:9000', undefined],
    ['//k', '127.0.0.1:9000', undefined],
    ['/k', 'vb.localhost:9000', 'vb'],
  ])('%s (Host %s) -> %s', (rawPath, host, bucket) => {
    expect(bucketOfRequest({ rawPath, host })).toBe(bucket);
  });
});

describe('x-amz-copy-source', () => {
  test.each([
    ['src/k', { bucket: 'src', key: 'k' }],
    ['/src/k', { bucket: 'src', key: 'k' }],
    ['src/dir/k%3Fx%20y+z', { bucket: 'src', key: 'dir/k?x y+z' }],
    ['src/k?versionId=abc', { bucket: 'src', key: 'k', versionId: 'abc' }],
  ])('%s', (header, expected) => {
    expect(parseCopySource(header)).toEqual(expected);
  });

  test.each(['src', 'src/', '/k', '', 'src/%FF', 'src/k?versionId='])('%j is InvalidArgument', (header) => {
    expect(errorOf(() => parseCopySource(header)).code).toBe('InvalidArgument');
  });

  test('an invalid copy-source range is InvalidArgument', () => {
    expect(errorOf(() => route('PUT', '/b/k?partNumber=1&uploadId=u', { ...COPY, 'x-amz-copy-source-range': 'bytes=9-0' })).code).toBe('InvalidArgument');
  });
});
