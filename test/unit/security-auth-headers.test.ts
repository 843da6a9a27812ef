/**
 * Headers the signature does not cover are refused, for every form of authentication: SigV4
 * header and query, SigV2 header and query. Requests are signed by real signers (the AWS SDK's
 * SignatureV4, the aws4 package, botocore's V2 algorithm) and then tampered with as the
 * holder of a URL or a captured request would.
 */
import { createHash, createHmac } from 'node:crypto';
import aws4 from 'aws4';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest, buildQueryString } from '@smithy/core/protocols';
import { AuthError } from '../../gateway/auth/errors.js';
import { headersSignedInQuery, verifyRequest, type SignedRequest } from '../../gateway/auth/sigv4.js';
import { codeOf } from '../helpers/errors.js';

const NOW = new Date('2026-03-14T15:09:26Z');
const AMZ_NOW = '20260314T150926Z';
const AK = 'AKIASHARDGATETEST01';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const lookup = (id: string) => (id === AK ? SECRET : undefined);
const HOST = '127.0.0.1:9000';
const sha256Hex = (b: string) => createHash('sha256').update(b).digest('hex');

function lower(h: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), String(v)]));
}

class NodeSha256 {
  private readonly h;
  constructor(secret?: string | Uint8Array | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', buf(secret));
  }
  update(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): void {
    this.h.update(buf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {}
}
function buf(d: string | Uint8Array | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (d instanceof ArrayBuffer) return Buffer.from(d);
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

const signer = new SignatureV4({ credentials: { accessKeyId: AK, secretAccessKey: SECRET }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false });

/**
 * A presigned URL as the JS SDK's S3 presigner makes it: UNSIGNED-PAYLOAD and every x-amz-*
 * header hoisted into the query.
 */
async function sdkPresigned(method: string, path: string, headers: Record<string, string> = {}, query: Record<string, string> = {}): Promise<SignedRequest> {
  const req = new HttpRequest({
    method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query, headers: { host: HOST, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', ...headers },
  });
  const signed = await signer.presign(req, { signingDate: NOW, expiresIn: 900 });
  return { method, rawPath: path, rawQuery: buildQueryString(signed.query ?? {}), headers: lower(signed.headers) };
}

/** A request signed in its Authorization header by the SDK's signer. */
async function sdkSigned(method: string, path: string, headers: Record<string, string> = {}): Promise<SignedRequest> {
  const req = new HttpRequest({
    method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path, query: {},
    headers: { host: HOST, 'x-amz-content-sha256': sha256Hex(''), ...headers },
  });
  const signed = await signer.sign(req, { signingDate: NOW });
  return { method, rawPath: path, rawQuery: '', headers: lower(signed.headers) };
}

/** A presigned URL made by aws4 with given headers signed (they stay headers, as botocore keeps them). */
function aws4Presigned(method: string, path: string, headers: Record<string, string> = {}): SignedRequest {
  const signed = aws4.sign({
    host: HOST, method, path: `${path}?X-Amz-Date=${AMZ_NOW}&X-Amz-Expires=600`, service: 's3', region: 'us-east-1', signQuery: true, headers,
  }, { accessKeyId: AK, secretAccessKey: SECRET });
  const p = signed.path!;
  const q = p.indexOf('?');
  return { method, rawPath: p.slice(0, q), rawQuery: p.slice(q + 1), headers: { host: HOST, ...lower(headers) } };
}

function denied(req: SignedRequest, now = NOW): AuthError {
  try {
    verifyRequest(req, lookup, now);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error('expected the request to be refused');
}

const with_ = (req: SignedRequest, headers: Record<string, string>): SignedRequest => ({ ...req, headers: { ...req.headers, ...headers } });

describe('SigV4 presigned URLs: x-amz-* headers the URL did not sign', () => {
  test('a PUT URL turned into a public copy is refused, naming every header', async () => {
    const url = await sdkPresigned('PUT', '/mine/upload.bin');
    expect(codeOf(() => verifyRequest(url, lookup, NOW))).toBe('none');
    const e = denied(with_(url, { 'x-amz-copy-source': '/other-bucket/secret', 'x-amz-acl': 'public-read' }));
    expect(e.code).toBe('AccessDenied');
    expect(e.status).toBe(403);
    expect(e.message).toBe('There were headers present in the request which were not signed');
    expect(e.details).toEqual({ HeadersNotSigned: 'x-amz-acl, x-amz-copy-source' });
  });

  test.each([
    ['x-amz-grant-full-control', 'id="mallory"'],
    ['x-amz-server-side-encryption-customer-algorithm', 'AES256'],
    ['x-amz-object-lock-mode', 'COMPLIANCE'],
    ['x-amz-object-lock-retain-until-date', '2999-01-01T00:00:00Z'],
    ['x-amz-object-lock-legal-hold', 'ON'],
    ['x-amz-tagging', 'a=b'],
    ['x-amz-meta-owner', 'mallory'],
    ['x-amz-storage-class', 'GLACIER'],
    ['x-amz-website-redirect-location', 'https://evil.example/'],
    ['x-amz-bypass-governance-retention', 'true'],
    ['x-amz-date', AMZ_NOW],
  ])('%s alone is refused', async (name, value) => {
    const url = await sdkPresigned('PUT', '/mine/k');
    expect(denied(with_(url, { [name]: value })).details.HeadersNotSigned).toBe(name);
  });

  test('a presigned UploadPart cannot become UploadPartCopy', async () => {
    const part = await sdkPresigned('PUT', '/mine/k', {}, { partNumber: '1', uploadId: 'u1' });
    expect(codeOf(() => verifyRequest(part, lookup, NOW))).toBe('none');
    const e = denied(with_(part, { 'x-amz-copy-source': '/other/secret', 'x-amz-copy-source-range': 'bytes=0-10' }));
    expect(e.details.HeadersNotSigned).toBe('x-amz-copy-source, x-amz-copy-source-range');
  });

  test('what the URL signed in its query counts as signed, with the same value only', async () => {
    // The JS SDK hoists x-amz-* headers into the query: the holder need not send them...
    const url = await sdkPresigned('PUT', '/mine/k', { 'x-amz-acl': 'public-read', 'x-amz-meta-color': 'blue' });
    expect(url.rawQuery).toContain('x-amz-acl=public-read');
    expect(url.rawQuery).toContain('x-amz-meta-color=blue');
    expect(codeOf(() => verifyRequest(url, lookup, NOW))).toBe('none');
    // ...may repeat them...
    expect(codeOf(() => verifyRequest(with_(url, { 'x-amz-acl': 'public-read' }), lookup, NOW))).toBe('none');
    // ...but not contradict them.
    expect(denied(with_(url, { 'x-amz-acl': 'private', 'x-amz-meta-color': 'blue' })).details.HeadersNotSigned).toBe('x-amz-acl');
    // Applied as headers, without the URL's own parameters.
    expect([...headersSignedInQuery(url.rawQuery)]).toEqual([['x-amz-acl', 'public-read'], ['x-amz-meta-color', 'blue']]);
  });

  test('headers the URL signed as headers (botocore, aws4) pass; one more does not', () => {
    const url = aws4Presigned('GET', '/mine/k', { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' });
    expect(codeOf(() => verifyRequest(url, lookup, NOW))).toBe('none');
    expect(denied(with_(url, { 'x-amz-server-side-encryption-customer-key': 'a2V5' })).details.HeadersNotSigned).toBe('x-amz-server-side-encryption-customer-key');
  });

  test('x-amz-content-sha256 may go unlisted: it is the payload hash the signature covers', async () => {
    const url = await sdkPresigned('PUT', '/mine/k');
    expect(codeOf(() => verifyRequest(with_(url, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }), lookup, NOW))).toBe('none');
    // Another value than the URL's is not what was signed.
    expect(denied(with_(url, { 'x-amz-content-sha256': sha256Hex('other') })).details.HeadersNotSigned).toBe('x-amz-content-sha256');
    // A URL without one takes the header's as its payload hash: bound by the signature.
    const bare = { ...url, rawQuery: url.rawQuery.replace(/X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&?/, '') };
    expect(codeOf(() => verifyRequest(with_(bare, { 'x-amz-content-sha256': sha256Hex('other') }), lookup, NOW))).toBe('SignatureDoesNotMatch');
  });

  test('the checksum values a JS SDK URL carries are not applied, the others are', async () => {
    const url = await sdkPresigned('PUT', '/mine/k', { 'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-sdk-checksum-algorithm': 'CRC32', 'x-amz-tagging': 'a=1' });
    expect([...headersSignedInQuery(url.rawQuery).keys()]).toEqual(['x-amz-tagging']);
  });
});

describe('SigV4 Authorization header: x-amz-* headers left out of SignedHeaders', () => {
  test('a header added after signing is refused by name', async () => {
    const req = await sdkSigned('PUT', '/mine/k', { 'x-amz-meta-a': '1' });
    expect(codeOf(() => verifyRequest(req, lookup, NOW))).toBe('none');
    const e = denied(with_(req, { 'x-amz-copy-source': '/other/secret', 'x-amz-grant-read': 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' }));
    expect([e.code, e.details.HeadersNotSigned]).toEqual(['AccessDenied', 'x-amz-copy-source, x-amz-grant-read']);
  });

  test('a signer that leaves an x-amz-* header out of SignedHeaders is refused too', () => {
    const signed = aws4.sign({
      host: HOST, method: 'PUT', path: '/mine/k', service: 's3', region: 'us-east-1', body: '',
      headers: { 'X-Amz-Date': AMZ_NOW, 'X-Amz-Content-Sha256': sha256Hex('') },
    }, { accessKeyId: AK, secretAccessKey: SECRET });
    const req: SignedRequest = { method: 'PUT', rawPath: '/mine/k', rawQuery: '', headers: { host: HOST, ...lower(signed.headers!) } };
    expect(codeOf(() => verifyRequest(req, lookup, NOW))).toBe('none');
    expect(denied(with_(req, { 'x-amz-acl': 'public-read' })).details.HeadersNotSigned).toBe('x-amz-acl');
  });
});

describe('SigV2: every x-amz-* header is in the string to sign', () => {
  const DATE = 'Sat, 14 Mar 2026 15:09:26 GMT';
  const v2 = (sts: string) => createHmac('sha1', SECRET).update(sts).digest('base64');

  test('header auth: an added header breaks the signature', () => {
    const req: SignedRequest = {
      method: 'PUT', rawPath: '/mine/k', rawQuery: '',
      headers: { host: HOST, date: DATE, authorization: `AWS ${AK}:${v2(`PUT\n\n\n${DATE}\n/mine/k`)}` },
    };
    expect(codeOf(() => verifyRequest(req, lookup, NOW))).toBe('none');
    expect(codeOf(() => verifyRequest(with_(req, { 'x-amz-copy-source': '/other/secret' }), lookup, NOW))).toBe('SignatureDoesNotMatch');
  });

  test('presigned: a header the URL did not carry is not signed', () => {
    const expires = String(Math.floor(NOW.getTime() / 1000) + 600);
    const sig = encodeURIComponent(v2(`PUT\n\n\n${expires}\nx-amz-meta-a:1\n/mine/k`));
    const req: SignedRequest = { method: 'PUT', rawPath: '/mine/k', rawQuery: `AWSAccessKeyId=${AK}&Expires=${expires}&Signature=${sig}&x-amz-meta-a=1`, headers: { host: HOST } };
    expect(codeOf(() => verifyRequest(req, lookup, NOW))).toBe('none');
    const e = denied(with_(req, { 'x-amz-copy-source': '/other/secret', 'x-amz-acl': 'public-read' }));
    expect([e.code, e.status, e.details.HeadersNotSigned]).toEqual(['AccessDenied', 403, 'x-amz-acl, x-amz-copy-source']);
    // The URL's own value may be repeated as a header; another value is not what was signed
    // and is never applied (the query's value wins).
    expect(codeOf(() => verifyRequest(with_(req, { 'x-amz-meta-a': '1' }), lookup, NOW))).toBe('none');
    expect(headersSignedInQuery(req.rawQuery).get('x-amz-meta-a')).toBe('1');
  });
});

describe('SigV4: a signed "+" is read as "+"', () => {
  test('a query signed with a literal plus says so, so the gateway reads it that way', async () => {
    const r = new HttpRequest({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: '/mine', query: { prefix: 'a+b/' }, headers: { host: HOST, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } });
    const signed = await signer.presign(r, { signingDate: NOW, expiresIn: 900 });
    const url: SignedRequest = { method: 'GET', rawPath: '/mine', rawQuery: buildQueryString(signed.query ?? {}), headers: { host: HOST } };
    expect(url.rawQuery).toContain('prefix=a%2Bb%2F');
    expect(verifyRequest(url, lookup, NOW)!.plusIsLiteral).toBeUndefined();
    const raw = { ...url, rawQuery: url.rawQuery.replace('a%2Bb', 'a+b') };
    expect(verifyRequest(raw, lookup, NOW)!.plusIsLiteral).toBe(true);
    // A value signed with a space and sent with "+" is a space to both.
    const r2 = new HttpRequest({ ...r, query: { prefix: 'a b/' } });
    const spaced = await signer.presign(r2, { signingDate: NOW, expiresIn: 900 });
    const sent = { ...url, rawQuery: buildQueryString(spaced.query ?? {}).replace('a%20b', 'a+b') };
    expect(verifyRequest(sent, lookup, NOW)!.plusIsLiteral).toBeUndefined();
  });
});

describe('aws-chunked uploads: the framing headers are signed too', () => {
  test('x-amz-trailer and x-amz-decoded-content-length added to a signed streaming upload are refused', async () => {
    const req = await sdkSigned('PUT', '/mine/k', { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked' });
    expect(codeOf(() => verifyRequest(req, lookup, NOW))).toBe('none');
    const e = denied(with_(req, { 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': '5' }));
    expect(e.details.HeadersNotSigned).toBe('x-amz-decoded-content-length, x-amz-trailer');
    // Signed, they pass (every SDK signs them).
    const signed = await sdkSigned('PUT', '/mine/k', {
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': '5',
    });
    expect(codeOf(() => verifyRequest(signed, lookup, NOW))).toBe('none');
  });
});

describe('SigV4: the query is decoded for the signature as the router decodes it', () => {
  test('a value with a stray "%" cannot be re-sent half-decoded', async () => {
    const r = new HttpRequest({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: '/mine', query: { prefix: 'a%2Bb%' }, headers: { host: HOST, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } });
    const signed = await signer.presign(r, { signingDate: NOW, expiresIn: 900 });
    const url: SignedRequest = { method: 'GET', rawPath: '/mine', rawQuery: buildQueryString(signed.query ?? {}), headers: { host: HOST } };
    expect(codeOf(() => verifyRequest(url, lookup, NOW))).toBe('none');
    // Sent raw, the router reads "a+b%": not the prefix that was signed.
    const raw = { ...url, rawQuery: url.rawQuery.replace('prefix=a%252Bb%25', 'prefix=a%2Bb%') };
    expect(new URLSearchParams(raw.rawQuery).get('prefix')).toBe('a+b%');
    expect(codeOf(() => verifyRequest(raw, lookup, NOW))).toBe('SignatureDoesNotMatch');
  });
});
