/**
 * A POST policy is the signature of a form: every field it does not name is refused, except
 * those S3 exempts (the file, the policy and its signature fields, x-ignore-*), and every
 * constraint it states holds.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/HTTPPOSTForms.html
 */
import { checkPostPolicy, parsePostPolicy } from '../../gateway/s3/post-policy.js';
import { S3Error } from '../../gateway/s3/errors.js';

const now = new Date('2029-01-01T00:00:00Z');
const policyOf = (conditions: unknown[]) => parsePostPolicy(Buffer.from(JSON.stringify({ expiration: '2030-01-01T00:00:00Z', conditions })).toString('base64'));

function refusal(conditions: unknown[], fields: Record<string, string>): string {
  try {
    checkPostPolicy(policyOf(conditions), new Map(Object.entries(fields)), 'bk', now);
  } catch (err) {
    expect(err).toBeInstanceOf(S3Error);
    expect([(err as S3Error).code, (err as S3Error).status]).toEqual(['AccessDenied', 403]);
    return (err as S3Error).message;
  }
  return 'none';
}

const V4 = {
  policy: 'p', 'x-amz-signature': 's', 'x-amz-algorithm': 'AWS4-HMAC-SHA256', 'x-amz-credential': 'AK/20290101/us-east-1/s3/aws4_request', 'x-amz-date': '20290101T000000Z',
};
const V4_CONDITIONS = [{ 'x-amz-algorithm': V4['x-amz-algorithm'] }, { 'x-amz-credential': V4['x-amz-credential'] }, { 'x-amz-date': V4['x-amz-date'] }, ['starts-with', '$key', 'up/']];

test.each([
  ['acl', 'public-read'],
  ['x-amz-meta-owner', 'mallory'],
  ['x-amz-storage-class', 'GLACIER'],
  ['tagging', '<Tagging/>'],
  ['success_action_redirect', 'https://evil.example/'],
  ['content-type', 'text/html'],
  ['cache-control', 'no-cache'],
  ['x-amz-grant-read', 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'],
  ['x-amz-object-lock-mode', 'COMPLIANCE'],
  ['x-amz-website-redirect-location', '/elsewhere'],
])('a field the policy does not name (%s) is refused by name', (name, value) => {
  expect(refusal(V4_CONDITIONS, { ...V4, key: 'up/a', [name]: value })).toBe(`Invalid according to Policy: Extra input fields: ${name}`);
});

test('the fields S3 exempts need no condition: file, policy, the signature fields, x-ignore-*, and checksums of the file', () => {
  expect(refusal(V4_CONDITIONS, { ...V4, key: 'up/a', file: '', 'x-ignore-tracking': '1', 'x-amz-checksum-crc32': 'AAAAAA==' })).toBe('none');
  expect(refusal([['starts-with', '$key', 'up/']], { policy: 'p', awsaccesskeyid: 'AK', signature: 's', key: 'up/a' })).toBe('none');
});

test('SigV4 forms: x-amz-algorithm, x-amz-credential and x-amz-date must be in the policy, as S3 requires', () => {
  expect(refusal([['starts-with', '$key', 'up/']], { ...V4, key: 'up/a' })).toBe('Invalid according to Policy: Extra input fields: x-amz-algorithm, x-amz-credential, x-amz-date');
});

test('several content-length-range conditions all hold: the narrowest range, not the last', () => {
  const range = checkPostPolicy(policyOf([['content-length-range', 0, 10], { key: 'k' }, ['content-length-range', 5, 1_000_000]]), new Map([['policy', 'p'], ['key', 'k']]), 'bk', now);
  expect(range).toEqual({ min: 5, max: 10 });
});
