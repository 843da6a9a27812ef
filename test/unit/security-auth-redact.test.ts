/**
 * SignatureDoesNotMatch shows the client what the gateway signed (StringToSign, and for SigV4
 * the CanonicalRequest), as S3 does, but never a secret the request carried: the SSE-C key and
 * its MD5, for the object and for a copy source, whether sent as headers or in a URL's query.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import aws4 from 'aws4';
import { AuthError } from '../../gateway/auth/errors.js';
import { verifyRequest, type SignedRequest } from '../../gateway/auth/sigv4.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const lookup = (id: string) => (id === AK ? SECRET : undefined);
const NOW = new Date('2026-03-14T15:09:26Z');
const DATE = 'Sat, 14 Mar 2026 15:09:26 GMT';

const key = randomBytes(32);
const copyKey = randomBytes(32);
const b64 = (b: Buffer) => b.toString('base64');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const SSE_C = {
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': b64(key),
  'x-amz-server-side-encryption-customer-key-md5': md5(key),
  'x-amz-copy-source-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-copy-source-server-side-encryption-customer-key': b64(copyKey),
  'x-amz-copy-source-server-side-encryption-customer-key-md5': md5(copyKey),
};
const SECRETS = [b64(key), md5(key), b64(copyKey), md5(copyKey), encodeURIComponent(b64(key)), encodeURIComponent(b64(copyKey))];

function mismatch(req: SignedRequest): Record<string, string> {
  try {
    verifyRequest(req, lookup, NOW);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe('SignatureDoesNotMatch');
    return { ...(err as AuthError).details };
  }
  throw new Error('expected SignatureDoesNotMatch');
}

function expectNoSecret(details: Record<string, string>): void {
  const all = JSON.stringify(details);
  for (const s of SECRETS) expect(all).not.toContain(s);
  expect(all).toContain('<redacted>');
}

test('SigV2 header auth: the StringToSign has every x-amz-* line, the key lines redacted', () => {
  const req: SignedRequest = {
    method: 'PUT', rawPath: '/b/k', rawQuery: '',
    headers: { host: 'h', date: DATE, 'x-amz-copy-source': '/src/o', ...SSE_C, authorization: `AWS ${AK}:${createHmac('sha1', 'wrong').update('x').digest('base64')}` },
  };
  const d = mismatch(req);
  expectNoSecret(d);
  expect(d.StringToSign).toContain('x-amz-copy-source:/src/o\n');
  expect(d.StringToSign).toContain('x-amz-server-side-encryption-customer-algorithm:AES256\n');
  expect(d.StringToSign).toContain('x-amz-server-side-encryption-customer-key:<redacted>\n');
  expect(d.StringToSign).toContain('x-amz-copy-source-server-side-encryption-customer-key-md5:<redacted>\n');
});

test('SigV2 presigned URL carrying the key in its query (botocore puts x-amz-* there)', () => {
  const q = new URLSearchParams({ AWSAccessKeyId: AK, Expires: String(Math.floor(NOW.getTime() / 1000) + 60), Signature: 'AAAA', ...SSE_C });
  const d = mismatch({ method: 'GET', rawPath: '/b/k', rawQuery: q.toString(), headers: { host: 'h' } });
  expectNoSecret(d);
});

test('SigV4 header auth: neither CanonicalRequest nor StringToSign shows the keys', () => {
  const signed = aws4.sign({
    host: 'h', method: 'PUT', path: '/b/k', service: 's3', region: 'us-east-1', body: '',
    headers: { 'X-Amz-Date': '20260314T150926Z', 'X-Amz-Content-Sha256': createHash('sha256').update('').digest('hex'), ...SSE_C },
  }, { accessKeyId: AK, secretAccessKey: 'wrong secret' });
  const headers = Object.fromEntries(Object.entries(signed.headers!).map(([k, v]) => [k.toLowerCase(), String(v)]));
  const d = mismatch({ method: 'PUT', rawPath: '/b/k', rawQuery: '', headers: { host: 'h', ...headers } });
  expectNoSecret(d);
  expect(d.CanonicalRequest).toContain('x-amz-server-side-encryption-customer-key:<redacted>\n');
  expect(d.CanonicalRequest).toContain('x-amz-server-side-encryption-customer-algorithm:AES256\n');
});

test('SigV4 presigned URL with the key as a query parameter', () => {
  const signed = aws4.sign({
    host: 'h', method: 'GET', path: `/b/k?X-Amz-Date=20260314T150926Z&X-Amz-Expires=60&${new URLSearchParams(SSE_C).toString()}`,
    service: 's3', region: 'us-east-1', signQuery: true,
  }, { accessKeyId: AK, secretAccessKey: 'wrong secret' });
  const p = signed.path!;
  const d = mismatch({ method: 'GET', rawPath: '/b/k', rawQuery: p.slice(p.indexOf('?') + 1), headers: { host: 'h' } });
  expectNoSecret(d);
});
