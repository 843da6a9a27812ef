import { S3Error } from '../../gateway/s3/errors.js';
import {
  contentRange, DEFAULT_CONTENT_TYPE, extractObjectHeaders, extractUserMetadata, formatHttpDate, formatIsoDate, headerOf,
  MAX_USER_METADATA_BYTES, objectResponseHeaders, parseCopySourceRange, parseHttpDate, parseRange, quoteEtag, unquoteEtag,
  userMetadataHeaders, userMetadataSize, withoutAwsChunked,
} from '../../gateway/s3/headers.js';

function thrown(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('parseRange, as AWS S3 answers', () => {
  // A 100-byte object: offsets 0..99.
  test.each([
    ['no header: whole object', undefined, null],
    ['first byte', 'bytes=0-0', { start: 0, end: 0 }],
    ['closed range', 'bytes=10-19', { start: 10, end: 19 }],
    ['last byte exactly', 'bytes=99-99', { start: 99, end: 99 }],
    ['end past the object is clamped to size-1', 'bytes=90-1000', { start: 90, end: 99 }],
    ['huge end is clamped', 'bytes=0-99999999999999999999', { start: 0, end: 99 }],
    ['open range', 'bytes=95-', { start: 95, end: 99 }],
    ['suffix', 'bytes=-10', { start: 90, end: 99 }],
    ['suffix as long as the object', 'bytes=-100', { start: 0, end: 99 }],
    ['suffix longer than the object: whole object', 'bytes=-500', { start: 0, end: 99 }],
    ['unit is case-insensitive, spaces tolerated', ' Bytes = 1 - 2 ', { start: 1, end: 2 }],
    ['several ranges are ignored: whole object', 'bytes=0-1,5-6', null],
    ['trailing comma counts as several ranges', 'bytes=0-1,', null],
    ['another unit is ignored', 'items=0-1', null],
    ['missing unit is ignored', '0-1', null],
    ['end before start is ignored', 'bytes=5-1', null],
    ['no numbers is ignored', 'bytes=-', null],
    ['garbage is ignored', 'bytes=a-b', null],
    ['negative start is ignored', 'bytes=--1', null],
    ['empty header is ignored', '', null],
  ])('%s (%s)', (_why, header, expected) => {
    expect(parseRange(header, 100)).toEqual(expected);
  });

  test.each([
    ['start at the size', 'bytes=100-'],
    ['start past the size', 'bytes=200-300'],
    ['zero-length suffix', 'bytes=-0'],
  ])('416 InvalidRange: %s (%s)', (_why, header) => {
    const err = thrown(() => parseRange(header, 100));
    expect(err.code).toBe('InvalidRange');
    expect(err.status).toBe(416);
    expect(err.extra).toEqual({ RangeRequested: header, ActualObjectSize: '100' });
    expect(err.headers).toEqual({ 'content-range': 'bytes */100' });
  });

  // AWS S3 refuses any satisfiable-looking range on a zero-byte object, but still ignores malformed ones.
  test.each(['bytes=0-', 'bytes=0-0', 'bytes=-1', 'bytes=-0'])('zero-byte object: %s is 416', (header) => {
    expect(thrown(() => parseRange(header, 0)).code).toBe('InvalidRange');
  });
  test.each(['bytes=0-1,2-3', 'bytes=x', 'bytes=3-1'])('zero-byte object: malformed %s is ignored', (header) => {
    expect(parseRange(header, 0)).toBeNull();
  });

  test('Content-Range of a 206', () => {
    expect(contentRange({ start: 90, end: 99 }, 100)).toBe('bytes 90-99/100');
  });
});

describe('parseCopySourceRange', () => {
  test('bytes=first-last only', () => {
    expect(parseCopySourceRange(undefined)).toBeUndefined();
    expect(parseCopySourceRange('bytes=0-5242879')).toEqual({ start: 0, end: 5242879 });
    for (const bad of ['bytes=5-', 'bytes=-5', 'bytes=5-1', 'bytes=0-1,2-3', 'items=0-1']) {
      expect(thrown(() => parseCopySourceRange(bad)).code).toBe('InvalidArgument');
    }
  });
});

describe('dates', () => {
  const t = Date.UTC(2026, 10, 24, 12, 56, 42, 7);
  test('RFC 1123 for headers, ISO 8601 with milliseconds for XML', () => {
    expect(formatHttpDate(t)).toBe('Tue, 24 Nov 2026 12:56:42 GMT');
    expect(formatHttpDate(new Date(t))).toBe('Tue, 24 Nov 2026 12:56:42 GMT');
    expect(formatIsoDate(t)).toBe('2026-11-24T12:56:42.007Z');
    expect(formatIsoDate(Date.UTC(2026, 0, 1))).toBe('2026-01-01T00:00:00.000Z');
  });
  test('parseHttpDate: RFC 1123, RFC 850 and asctime; junk is undefined', () => {
    const whole = Date.UTC(2026, 10, 24, 12, 56, 42);
    expect(parseHttpDate('Tue, 24 Nov 2026 12:56:42 GMT')?.getTime()).toBe(whole);
    expect(parseHttpDate('Tuesday, 24-Nov-26 12:56:42 GMT')?.getTime()).toBe(whole);
    expect(parseHttpDate('Tue Nov 24 12:56:42 2026 GMT')?.getTime()).toBe(whole);
    expect(parseHttpDate('not a date')).toBeUndefined();
    expect(parseHttpDate('')).toBeUndefined();
    expect(parseHttpDate(undefined)).toBeUndefined();
  });
});

test('ETags: quoted once, unquoted once', () => {
  expect(quoteEtag('abc')).toBe('"abc"');
  expect(quoteEtag('"abc"')).toBe('"abc"');
  expect(quoteEtag('abc-3')).toBe('"abc-3"');
  expect(unquoteEtag(' "abc" ')).toBe('abc');
  expect(unquoteEtag('abc')).toBe('abc');
});

describe('stored object headers', () => {
  test('kept as sent; aws-chunked is a transfer detail and is dropped from Content-Encoding', () => {
    expect(extractObjectHeaders({
      'content-type': 'text/plain; charset=utf-8', 'content-encoding': 'aws-chunked,gzip', 'cache-control': 'max-age=60',
      'content-disposition': 'attachment; filename="a b.txt"', 'content-language': 'fr', expires: 'not a date', 'x-other': '1',
    })).toEqual({
      contentType: 'text/plain; charset=utf-8', contentEncoding: 'gzip', cacheControl: 'max-age=60',
      contentDisposition: 'attachment; filename="a b.txt"', contentLanguage: 'fr', expires: 'not a date',
    });
    expect(extractObjectHeaders({ 'content-encoding': 'aws-chunked' })).toEqual({});
    expect(extractObjectHeaders({})).toEqual({});
  });

  test('Content-Encoding keeps its spelling: only aws-chunked codings are taken out', () => {
    // The PutObject system metadata row: Content-Encoding as sent.
    expect(withoutAwsChunked('deflate, gzip')).toBe('deflate, gzip');
    expect(withoutAwsChunked('deflate,gzip')).toBe('deflate,gzip');
    expect(withoutAwsChunked('br ,  GZIP')).toBe('br ,  GZIP');
    expect(withoutAwsChunked('aws-chunked, deflate, gzip')).toBe('deflate, gzip');
    expect(withoutAwsChunked('deflate, AWS-Chunked, gzip')).toBe('deflate, gzip');
    expect(withoutAwsChunked('gzip,aws-chunked')).toBe('gzip');
    expect(withoutAwsChunked('aws-chunked')).toBe('');
    expect(extractObjectHeaders({ 'content-encoding': ['deflate, gzip'] })).toEqual({ contentEncoding: 'deflate, gzip' });
  });

  test('response headers: default content type, response-* overrides win', () => {
    expect(objectResponseHeaders({})).toEqual({ 'content-type': DEFAULT_CONTENT_TYPE });
    expect(objectResponseHeaders({ contentType: 'text/plain', cacheControl: 'no-cache', expires: 'x' }, { 'content-type': 'image/png', 'content-disposition': 'inline' }))
      .toEqual({ 'content-type': 'image/png', 'cache-control': 'no-cache', expires: 'x', 'content-disposition': 'inline' });
  });

  test('headerOf joins repeated headers', () => {
    expect(headerOf({ a: ['1', '2'] }, 'a')).toBe('1, 2');
    expect(headerOf({}, 'a')).toBeUndefined();
  });
});

describe('user metadata', () => {
  test('x-amz-meta-* names lower-cased without the prefix, and back', () => {
    const meta = extractUserMetadata({ 'x-amz-meta-Color': 'blue', 'x-amz-meta-empty': '', 'content-type': 'x', 'x-amz-metadata-directive': 'COPY' });
    expect(meta).toEqual({ color: 'blue', empty: '' });
    expect(userMetadataHeaders(meta)).toEqual({ 'x-amz-meta-color': 'blue', 'x-amz-meta-empty': '' });
  });

  test('2 KB limit: names (without prefix) plus values, in UTF-8 bytes', () => {
    // "k" + 2047 bytes = 2048: exactly on the limit.
    expect(userMetadataSize(extractUserMetadata({ 'x-amz-meta-k': 'v'.repeat(2047) }))).toBe(MAX_USER_METADATA_BYTES);
    const over = thrown(() => extractUserMetadata({ 'x-amz-meta-k': 'v'.repeat(2048) }));
    expect(over.code).toBe('MetadataTooLarge');
    expect(over.extra).toEqual({ Size: '2049', MaxSizeAllowed: '2048' });
    // Split over two headers, and counted in bytes: 1024 × "é" is 2048 bytes.
    expect(thrown(() => extractUserMetadata({ 'x-amz-meta-a': 'é'.repeat(1000), 'x-amz-meta-b': 'x'.repeat(100) })).code).toBe('MetadataTooLarge');
  });

  test('UTF-8 values arrive as latin1 strings from Node: decoded on the way in', () => {
    const wire = Buffer.from('☃ é', 'utf8').toString('latin1');
    const meta = extractUserMetadata({ 'x-amz-meta-snow': wire, 'x-amz-meta-latin': '\u00e9' });
    // A lone 0xE9 byte is not UTF-8: kept as received.
    expect(meta).toEqual({ snow: '☃ é', latin: 'é' });
    expect(userMetadataSize(meta)).toBe(4 + 6 + 5 + 2);
  });

  // compat: SigV4 non-ASCII metadata
  test('values go back as Latin-1 when it can spell them, else as an RFC 2047 encoded-word', () => {
    expect(userMetadataHeaders({ a: 'plain', e: 'Hello World\u00e9', snow: '☃ é', nl: 'a\nb' })).toEqual({
      'x-amz-meta-a': 'plain',
      'x-amz-meta-e': 'Hello World\u00e9',
      'x-amz-meta-snow': `=?UTF-8?B?${Buffer.from('☃ é').toString('base64')}?=`,
      'x-amz-meta-nl': `=?UTF-8?B?${Buffer.from('a\nb').toString('base64')}?=`,
    });
  });

  test('an empty metadata name is refused', () => {
    expect(thrown(() => extractUserMetadata({ 'x-amz-meta-': 'v' })).code).toBe('InvalidArgument');
  });
});
