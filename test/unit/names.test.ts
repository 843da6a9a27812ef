import { S3Error } from '../../gateway/s3/errors.js';
import { bucketNameProblem, checkBucketName, checkObjectKey, isValidBucketName, MAX_KEY_BYTES } from '../../gateway/s3/names.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
}

describe('bucket names (AWS general-purpose rules)', () => {
  test.each([
    'abc', // shortest allowed
    'a'.repeat(63), // longest allowed
    'my-bucket.example.com',
    '0123456789',
    'a-b',
    'xn-a', // only the exact xn-- prefix is reserved
    'bucket-s3alias1', // only the exact suffix is reserved
    '1.2.3', // not four numbers: not an IP address
    '1.2.3.4a',
  ])('%s is valid', (name) => {
    expect(bucketNameProblem(name)).toBeUndefined();
    expect(isValidBucketName(name)).toBe(true);
    expect(() => checkBucketName(name)).not.toThrow();
  });

  test.each([
    ['ab', 'too short'],
    ['a'.repeat(64), 'too long'],
    ['', 'empty'],
    ['My-Bucket', 'upper case'],
    ['my_bucket', 'underscore'],
    ['my bucket', 'space'],
    ['-bucket', 'starts with a hyphen'],
    ['bucket-', 'ends with a hyphen'],
    ['.bucket', 'starts with a dot'],
    ['bucket.', 'ends with a dot'],
    ['my..bucket', 'adjacent dots'],
    ['192.168.5.4', 'IP address'],
    ['xn--bucket', 'xn-- prefix'],
    ['sthree-bucket', 'sthree- prefix'],
    ['amzn-s3-demo-bucket', 'amzn-s3-demo- prefix'],
    ['bucket-s3alias', '-s3alias suffix'],
    ['bucket--ol-s3', '--ol-s3 suffix'],
    ['bucket.mrap', '.mrap suffix'],
    ['bucket--x-s3', '--x-s3 suffix'],
    ['bucket--table-s3', '--table-s3 suffix'],
    ['bücket', 'non-ASCII'],
  ])('%s is invalid (%s)', (name) => {
    expect(isValidBucketName(name)).toBe(false);
    let err: unknown;
    try {
      checkBucketName(name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(S3Error);
    expect((err as S3Error).code).toBe('InvalidBucketName');
    expect((err as S3Error).extra).toEqual({ BucketName: name });
  });
});

describe('object keys', () => {
  test.each([
    ['one byte', 'a'],
    ['1024 ASCII bytes', 'k'.repeat(MAX_KEY_BYTES)],
    // 341 × 3-byte "€" = 1023 bytes, + 1 = 1024: on the limit in UTF-8 bytes, not characters.
    ['1024 UTF-8 bytes', '€'.repeat(341) + 'x'],
    ['special characters', ` &+-é"'<>?#%\\{}^~[]\`|\u0001 `],
    ['slashes only', '//'],
    ['astral code point', '😀'],
  ])('%s is accepted', (_why, key) => {
    expect(codeOf(() => checkObjectKey(key))).toBeUndefined();
  });

  test.each([
    ['1025 ASCII bytes', 'k'.repeat(MAX_KEY_BYTES + 1), 'KeyTooLongError'],
    ['1025 UTF-8 bytes in 342 characters', '€'.repeat(341) + 'xx', 'KeyTooLongError'],
    ['empty', '', 'InvalidArgument'],
    ['lone surrogate (not encodable as UTF-8)', 'a\ud800b', 'InvalidArgument'],
  ])('%s is refused', (_why, key, code) => {
    expect(codeOf(() => checkObjectKey(key))).toBe(code);
  });

  test('KeyTooLongError says how long', () => {
    try {
      checkObjectKey('€'.repeat(400));
    } catch (err) {
      expect((err as S3Error).extra).toEqual({ Size: '1200', MaxSizeAllowed: '1024' });
      return;
    }
    throw new Error('did not throw');
  });
});
