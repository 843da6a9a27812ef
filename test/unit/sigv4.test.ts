import { createHash, createHmac } from 'node:crypto';
import aws4 from 'aws4';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest, buildQueryString, extendedEncodeURIComponent } from '@smithy/core/protocols';
import { AuthError } from '../../gateway/auth/errors.js';
import { parseAmzDate } from '../../gateway/auth/credential.js';
import { signingKey } from '../../gateway/auth/signing.js';
import { parseAuthorizationHeader, verifyRequest, type AuthResult, type SignedRequest } from '../../gateway/auth/sigv4.js';
import { canonicalUriCandidates, headerReadings } from '../../gateway/auth/canonical.js';

// A fixed clock: every signature below is made at NOW and checked at NOW unless a test moves it.
const NOW = new Date('2026-03-14T15:09:26Z');
const AMZ_NOW = '20260314T150926Z';
const AK = 'AKIASHARDGATETEST01';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const secrets: Record<string, string> = { [AK]: SECRET, 'AK/with/slash': 'other secret' };
const lookup = (id: string) => secrets[id];
const HOST = '127.0.0.1:9000';

// Keys on the thresholds of encoding: space, unicode, and the characters that form/query
// encoders disagree on (+ & = " ! ' ( ) * ~).
const KEYS = ['plain.txt', 'with space', 'dir/sub dir/é日本.bin', 'a+b&c=d"e', "x!'()*~y", '100%25 literal', 'trailing/'];

const sha256Hex = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

/** The raw path an S3 SDK puts on the wire for a bucket and key (path-style). */
function wirePath(bucket: string, key: string): string {
  return `/${bucket}/${key.split('/').map(extendedEncodeURIComponent).join('/')}`;
}

function lowerHeaders(h: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = String(v);
  return out;
}

class NodeSha256 {
  private readonly h;
  constructor(secret?: string | Uint8Array | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuf(secret));
  }
  update(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBuf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {}
}
function toBuf(d: string | Uint8Array | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (d instanceof ArrayBuffer) return Buffer.from(d);
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

function sdkSigner(opts: { secret?: string; region?: string } = {}): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: AK, secretAccessKey: opts.secret ?? SECRET },
    region: opts.region ?? 'us-east-1',
    service: 's3',
    sha256: NodeSha256,
    // S3 signs the path as sent; the S3 client turns double encoding off.
    uriEscapePath: false,
  });
}

interface Built { method: string; path: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string }

/** Sign with the SDK's signer and return what the gateway would see on the wire. */
async function sdkSigned(b: Built, opts: { secret?: string; region?: string; host?: string } = {}): Promise<SignedRequest> {
  const body = b.body ?? '';
  const req = new HttpRequest({
    method: b.method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: b.path, query: b.query ?? {},
    headers: { host: opts.host ?? HOST, 'x-amz-content-sha256': sha256Hex(body), ...b.headers },
    body,
  });
  const signed = await sdkSigner(opts).sign(req, { signingDate: NOW });
  return { method: b.method, rawPath: b.path, rawQuery: buildQueryString(signed.query ?? {}), headers: lowerHeaders(signed.headers) };
}

/** Presign as the S3 request presigner does: X-Amz-Content-Sha256=UNSIGNED-PAYLOAD hoisted into the query. */
async function sdkPresigned(b: Built, expiresIn = 900, signingDate = NOW): Promise<SignedRequest> {
  const req = new HttpRequest({
    method: b.method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: b.path, query: b.query ?? {},
    headers: { host: HOST, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', ...b.headers },
  });
  const signed = await sdkSigner().presign(req, { signingDate, expiresIn });
  return { method: b.method, rawPath: b.path, rawQuery: buildQueryString(signed.query ?? {}), headers: lowerHeaders(signed.headers) };
}

/** Sign with the `aws4` package (a different implementation of the same spec). */
function aws4Signed(b: Built, opts: { presign?: boolean; secret?: string } = {}): SignedRequest {
  const body = b.body ?? '';
  const query = new URLSearchParams(b.query ?? {});
  if (opts.presign) {
    query.set('X-Amz-Date', AMZ_NOW);
    query.set('X-Amz-Expires', '600');
  }
  const qs = query.toString().replace(/\+/g, '%20');
  const signed = aws4.sign({
    host: HOST, method: b.method, path: qs ? `${b.path}?${qs}` : b.path, service: 's3', region: 'us-east-1',
    headers: { ...(opts.presign ? {} : { 'X-Amz-Date': AMZ_NOW, 'X-Amz-Content-Sha256': sha256Hex(body) }), ...b.headers },
    ...(opts.presign ? { signQuery: true } : { body }),
  }, { accessKeyId: AK, secretAccessKey: opts.secret ?? SECRET });
  const path = signed.path ?? '/';
  const q = path.indexOf('?');
  const headers = lowerHeaders((signed.headers ?? {}));
  headers.host ??= HOST;
  return { method: b.method, rawPath: q < 0 ? path : path.slice(0, q), rawQuery: q < 0 ? '' : path.slice(q + 1), headers };
}

function authError(fn: () => unknown): AuthError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error('expected an AuthError');
}

function ok(req: SignedRequest, now = NOW): AuthResult {
  const r = verifyRequest(req, lookup, now);
  expect(r).not.toBeNull();
  return r!;
}

describe('verifyRequest: Authorization header', () => {
  it.each(KEYS)('accepts a PUT signed by the SDK signer, key %j', async (key) => {
    const req = await sdkSigned({ method: 'PUT', path: wirePath('bucket', key), body: 'hello', headers: { 'content-type': 'text/plain' } });
    const r = ok(req);
    expect(r).toMatchObject({ accessKeyId: AK, region: 'us-east-1', presigned: false, payload: { kind: 'sha256', hex: sha256Hex('hello') } });
    expect(r.signing!.scope).toBe('20260314/us-east-1/s3/aws4_request');
    expect(r.signing!.amzDate).toBe(AMZ_NOW);
  });

  it.each(KEYS)('accepts a PUT signed by aws4, key %j', (key) => {
    const r = ok(aws4Signed({ method: 'PUT', path: wirePath('bucket', key), body: 'hello' }));
    expect(r.payload).toEqual({ kind: 'sha256', hex: sha256Hex('hello') });
  });

  it('accepts query parameters with reserved characters and empty values (ListObjectsV2, ?uploads)', async () => {
    const query = { 'list-type': '2', prefix: 'a b+c&d=e/é', delimiter: '/', 'continuation-token': 'x*y~z', uploads: '' };
    ok(await sdkSigned({ method: 'GET', path: '/bucket', query }));
    ok(aws4Signed({ method: 'GET', path: '/bucket', query: { 'list-type': '2', prefix: 'a b+c&d=e/é', delimiter: '/' } }));
  });

  it('reads `+` in the query as a space, as S3 does, and also accepts a signed literal plus', async () => {
    const spaced = await sdkSigned({ method: 'GET', path: '/bucket', query: { prefix: 'a b' } });
    expect(spaced.rawQuery).toBe('prefix=a%20b');
    ok({ ...spaced, rawQuery: 'prefix=a+b' });
    const plus = await sdkSigned({ method: 'GET', path: '/bucket', query: { prefix: 'a+b' } });
    ok({ ...plus, rawQuery: 'prefix=a+b' });
  });

  it('accepts virtual-hosted-style hosts with a port, and any region in the scope', async () => {
    const r = ok(await sdkSigned({ method: 'GET', path: '/key' }, { host: 'bucket.s3.local:8443', region: 'eu-west-3' }));
    expect(r.region).toBe('eu-west-3');
    expect(r.signing!.scope).toBe('20260314/eu-west-3/s3/aws4_request');
  });

  it('accepts a client that signs the RFC 3986 path but sends reserved characters raw', async () => {
    const req = await sdkSigned({ method: 'GET', path: wirePath('bucket', "it's (1).txt") });
    expect(req.rawPath).toBe('/bucket/it%27s%20%281%29.txt');
    ok({ ...req, rawPath: "/bucket/it's%20(1).txt" });
  });

  it('signs repeated headers joined by a comma (pass req.headersDistinct)', async () => {
    // What the client signs for `x-amz-meta-tag: a` twice, with inner whitespace collapsed.
    const req = await sdkSigned({ method: 'PUT', path: '/bucket/k', headers: { 'x-amz-meta-tag': 'a,b   c' } });
    const distinct: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) distinct[k] = [v as string];
    distinct['x-amz-meta-tag'] = ['  a ', 'b c'];
    ok({ ...req, headers: distinct });
  });

  it('refuses a tampered method, path, query, signed header or payload hash: SignatureDoesNotMatch', async () => {
    const req = await sdkSigned({ method: 'PUT', path: '/bucket/k', query: { tagging: '' }, body: 'x', headers: { 'x-amz-meta-a': '1' } });
    ok(req);
    const tampered: SignedRequest[] = [
      { ...req, method: 'POST' },
      { ...req, rawPath: '/bucket/K' },
      { ...req, rawQuery: 'acl=' },
      { ...req, headers: { ...req.headers, 'x-amz-meta-a': '2' } },
      { ...req, headers: { ...req.headers, 'x-amz-content-sha256': sha256Hex('y') } },
      { ...req, headers: { ...req.headers, host: 'evil:9000' } },
    ];
    for (const t of tampered) {
      const err = authError(() => verifyRequest(t, lookup, NOW));
      expect(err.code).toBe('SignatureDoesNotMatch');
      expect(err.status).toBe(403);
      expect(err.details.CanonicalRequest).toContain('\n');
    }
    // The error shows what we signed, without SSE-C keys.
    const ssec = await sdkSigned({ method: 'GET', path: '/bucket/k', headers: { 'x-amz-server-side-encryption-customer-key': 'c2VjcmV0' } });
    const err = authError(() => verifyRequest({ ...ssec, method: 'HEAD' }, lookup, NOW));
    expect(err.details.CanonicalRequest).toContain('x-amz-server-side-encryption-customer-key:<redacted>\n');
    expect(JSON.stringify(err.details)).not.toContain('c2VjcmV0');
    // Unsigned headers may change freely.
    ok({ ...req, headers: { ...req.headers, 'user-agent': 'other' } });
  });

  it('refuses a wrong secret (SignatureDoesNotMatch) and an unknown key (InvalidAccessKeyId)', async () => {
    const wrong = await sdkSigned({ method: 'GET', path: '/bucket' }, { secret: 'not the secret' });
    expect(authError(() => verifyRequest(wrong, lookup, NOW)).code).toBe('SignatureDoesNotMatch');
    const unknown = await sdkSigned({ method: 'GET', path: '/bucket' });
    const err = authError(() => verifyRequest(unknown, () => undefined, NOW));
    expect([err.code, err.status]).toEqual(['InvalidAccessKeyId', 403]);
  });

  it('allows 15 minutes of clock skew either way, no more: RequestTimeTooSkewed', async () => {
    const req = await sdkSigned({ method: 'GET', path: '/bucket' });
    const at = (ms: number) => new Date(NOW.getTime() + ms);
    ok(req, at(15 * 60_000));
    ok(req, at(-15 * 60_000));
    for (const skew of [15 * 60_000 + 1000, -(15 * 60_000 + 1000)]) {
      const err = authError(() => verifyRequest(req, lookup, at(skew)));
      expect([err.code, err.status]).toEqual(['RequestTimeTooSkewed', 403]);
    }
  });

  it('refuses malformed Authorization headers: AuthorizationHeaderMalformed (400)', async () => {
    const req = await sdkSigned({ method: 'GET', path: '/bucket' });
    const auth = req.headers.authorization as string;
    const cases = [
      auth.replace(/, Signature=[0-9a-f]+/, ''),
      auth.replace('SignedHeaders=', 'Headers='),
      auth.replace(`${AK}/20260314`, `${AK}/2026031`),
      auth.replace('/s3/', '/ec2/'),
      auth.replace('aws4_request', 'aws5_request'),
      auth.replace(/Signature=[0-9a-f]+/, 'Signature=abc'),
      auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=x-amz-date'),
      auth.replace(`${AK}/20260314`, `${AK}/20260315`), // scope date is not the x-amz-date day
    ];
    for (const bad of cases) {
      const err = authError(() => verifyRequest({ ...req, headers: { ...req.headers, authorization: bad } }, lookup, NOW));
      expect([bad, err.code, err.status]).toEqual([bad, 'AuthorizationHeaderMalformed', 400]);
    }
  });

  it('requires x-amz-content-sha256 (InvalidRequest) and a known value (InvalidArgument)', async () => {
    const req = await sdkSigned({ method: 'GET', path: '/bucket' });
    const { ['x-amz-content-sha256']: _omit, ...without } = req.headers;
    const missing = authError(() => verifyRequest({ ...req, headers: without }, lookup, NOW));
    expect([missing.code, missing.status, missing.message]).toEqual(['InvalidRequest', 400, 'Missing required header for this request: x-amz-content-sha256']);
    const bad = authError(() => verifyRequest({ ...req, headers: { ...req.headers, 'x-amz-content-sha256': 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD' } }, lookup, NOW));
    expect(bad.code).toBe('InvalidArgument');
  });

  it('reads the payload mode from x-amz-content-sha256', async () => {
    const modes: Array<[string, unknown]> = [
      ['UNSIGNED-PAYLOAD', { kind: 'unsigned' }],
      ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { kind: 'streaming', signed: true, trailer: false }],
      ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', { kind: 'streaming', signed: true, trailer: true }],
      ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', { kind: 'streaming', signed: false, trailer: true }],
    ];
    for (const [value, mode] of modes) {
      const r = ok(await sdkSigned({ method: 'PUT', path: '/bucket/k', headers: { 'x-amz-content-sha256': value } }));
      expect(r.payload).toMatchObject(mode as object);
      if (r.payload.kind === 'streaming' && r.payload.signed) expect(r.payload.seedSignature).toBe(r.signature);
    }
  });

  it('sends SigV2 to its own verifier and refuses header and query auth together (InvalidArgument)', async () => {
    const date = NOW.toUTCString();
    const v2 = authError(() => verifyRequest({ method: 'GET', rawPath: '/b', rawQuery: '', headers: { host: HOST, date, authorization: `AWS ${AK}:c2lnbmF0dXJl` } }, lookup, NOW));
    expect(v2.code).toBe('SignatureDoesNotMatch');
    const v2q = authError(() => verifyRequest({ method: 'GET', rawPath: '/b', rawQuery: `AWSAccessKeyId=${AK}&Expires=1&Signature=x`, headers: { host: HOST } }, lookup, NOW));
    expect([v2q.code, v2q.message]).toEqual(['AccessDenied', 'Request has expired']);
    const other = authError(() => verifyRequest({ method: 'GET', rawPath: '/b', rawQuery: '', headers: { host: HOST, authorization: 'Bearer x' } }, lookup, NOW));
    expect(other.code).toBe('InvalidRequest');
    const req = await sdkSigned({ method: 'GET', path: '/bucket' });
    const both = authError(() => verifyRequest({ ...req, rawQuery: 'X-Amz-Signature=abc' }, lookup, NOW));
    expect(both.code).toBe('InvalidArgument');
  });

  it('returns null for an anonymous request', () => {
    expect(verifyRequest({ method: 'GET', rawPath: '/bucket/k', rawQuery: 'versionId=1', headers: { host: HOST } }, lookup, NOW)).toBeNull();
  });

  it('caches derived signing keys per (secret, date, region)', () => {
    const a = signingKey(SECRET, '20260314', 'us-east-1');
    expect(signingKey(SECRET, '20260314', 'us-east-1')).toBe(a);
    expect(signingKey(SECRET, '20260314', 'eu-west-1')).not.toBe(a);
    // The AWS documentation's example key derivation.
    expect(signingKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam').toString('hex'))
      .toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  it('splits the access key id from the scope at the last four fields', async () => {
    const signer = new SignatureV4({ credentials: { accessKeyId: 'AK/with/slash', secretAccessKey: 'other secret' }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false });
    const signed = await signer.sign(new HttpRequest({ method: 'GET', hostname: '127.0.0.1', path: '/b', headers: { host: HOST, 'x-amz-content-sha256': sha256Hex('') } }), { signingDate: NOW });
    expect(ok({ method: 'GET', rawPath: '/b', rawQuery: '', headers: lowerHeaders(signed.headers) }).accessKeyId).toBe('AK/with/slash');
  });
});

describe('verifyRequest: presigned URLs', () => {
  it.each(KEYS)('accepts a URL presigned by the SDK signer, key %j', async (key) => {
    const r = ok(await sdkPresigned({ method: 'GET', path: wirePath('bucket', key), query: { 'response-content-type': 'text/plain; charset=utf-8' } }));
    expect(r).toMatchObject({ accessKeyId: AK, presigned: true, payload: { kind: 'unsigned' } });
    expect(r.expiresAt?.toISOString()).toBe('2026-03-14T15:24:26.000Z');
  });

  it.each(KEYS)('accepts a URL presigned by aws4, key %j', (key) => {
    const r = ok(aws4Signed({ method: 'PUT', path: wirePath('bucket', key) }, { presign: true }));
    expect(r.presigned).toBe(true);
  });

  it('signs headers the URL user must send (content-type, x-amz-meta-*), refuses them changed', async () => {
    const req = await sdkPresigned({ method: 'PUT', path: '/bucket/k', headers: { 'content-type': 'image/png' } });
    expect(req.rawQuery).toContain('X-Amz-SignedHeaders=content-type%3Bhost');
    ok(req);
    expect(authError(() => verifyRequest({ ...req, headers: { ...req.headers, 'content-type': 'text/html' } }, lookup, NOW)).code)
      .toBe('SignatureDoesNotMatch');
  });

  it('takes the payload hash from X-Amz-Content-Sha256 when the URL carries one', async () => {
    const req = await sdkPresigned({ method: 'PUT', path: '/bucket/k', headers: { 'X-Amz-Content-Sha256': sha256Hex('abc') } });
    expect(ok(req).payload).toEqual({ kind: 'sha256', hex: sha256Hex('abc') });
  });

  it('expires: AccessDenied "Request has expired" one second after X-Amz-Expires', async () => {
    const req = await sdkPresigned({ method: 'GET', path: '/bucket/k' }, 60);
    ok(req, new Date(NOW.getTime() + 60_000));
    const err = authError(() => verifyRequest(req, lookup, new Date(NOW.getTime() + 61_000)));
    expect([err.code, err.status, err.message]).toEqual(['AccessDenied', 403, 'Request has expired']);
  });

  it('accepts a 7-day URL, refuses a longer one: AuthorizationQueryParametersError', async () => {
    const week = await sdkPresigned({ method: 'GET', path: '/bucket/k' }, 604800);
    ok(week, new Date(NOW.getTime() + 604800_000 - 1000));
    const longer = week.rawQuery.replace('X-Amz-Expires=604800', 'X-Amz-Expires=604801');
    const err = authError(() => verifyRequest({ ...week, rawQuery: longer }, lookup, NOW));
    expect([err.code, err.status]).toEqual(['AuthorizationQueryParametersError', 400]);
  });

  it('refuses a URL dated in the future beyond the skew: AccessDenied', async () => {
    const req = await sdkPresigned({ method: 'GET', path: '/bucket/k' }, 3600, new Date(NOW.getTime() + 20 * 60_000));
    expect(authError(() => verifyRequest(req, lookup, NOW)).code).toBe('AccessDenied');
  });

  it('refuses malformed query parameters: AuthorizationQueryParametersError', async () => {
    const req = await sdkPresigned({ method: 'GET', path: '/bucket/k' });
    const mangle = [
      (q: string) => q.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1'),
      (q: string) => q.replace(/&?X-Amz-Date=[^&]+/, ''),
      (q: string) => q.replace(/X-Amz-Date=[^&]+/, 'X-Amz-Date=2026-03-14'),
      (q: string) => q.replace('%2Fs3%2F', '%2Fsqs%2F'),
      (q: string) => q.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=-1'),
    ];
    for (const m of mangle) {
      const rawQuery = m(req.rawQuery);
      expect(rawQuery).not.toBe(req.rawQuery);
      expect(authError(() => verifyRequest({ ...req, rawQuery }, lookup, NOW)).code).toBe('AuthorizationQueryParametersError');
    }
    const sig = authError(() => verifyRequest({ ...req, rawQuery: req.rawQuery.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000') }, lookup, NOW));
    expect(sig.code).toBe('SignatureDoesNotMatch');
  });
});

describe('the shortcuts of the common case', () => {
  // parseAuthorizationHeader reads the form SDKs send in one match, anything else field by field.
  it('reads an Authorization header the same in the form SDKs send and in looser ones', () => {
    const sig = 'ab'.repeat(32);
    const sdk = `AWS4-HMAC-SHA256 Credential=${AK}/20260314/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`;
    const expected = parseAuthorizationHeader(sdk);
    expect(expected).toEqual({
      credential: { accessKeyId: AK, date: '20260314', region: 'us-east-1', service: 's3', scope: '20260314/us-east-1/s3/aws4_request' },
      signedHeaders: ['host', 'x-amz-date'], signature: sig,
    });
    for (const loose of [
      sdk.replace(/, /g, ','), sdk.replace(/, /g, ' ,  '), sdk.replace('Credential', ' Credential'),
      `AWS4-HMAC-SHA256 Signature=${sig}, SignedHeaders=host;x-amz-date, Credential=${AK}/20260314/us-east-1/s3/aws4_request`,
      `${sdk},`,
    ]) expect(parseAuthorizationHeader(loose)).toEqual(expected);
    // Fields repeated: the general reader takes the last, as before.
    expect(parseAuthorizationHeader(`${sdk}, Signature=${'cd'.repeat(32)}`).signature).toBe('cd'.repeat(32));
  });

  it('gives a path of unreserved characters one canonical form, and others their re-encoding too', () => {
    expect(canonicalUriCandidates('/bucket/dir/a-b_c.d~e/')).toEqual(['/bucket/dir/a-b_c.d~e/']);
    expect(canonicalUriCandidates('/bucket/a%20b')).toEqual(['/bucket/a%20b']);
    expect(canonicalUriCandidates("/bucket/x!'()*")).toEqual(["/bucket/x!'()*", '/bucket/x%21%27%28%29%2A']);
    expect(canonicalUriCandidates('/bucket/a%2fb')).toEqual(['/bucket/a%2fb', '/bucket/a%2Fb']);
  });

  it('gives headers of printable ASCII one reading, and a UTF-8 value two', () => {
    const ascii = { host: ['h'], 'x-amz-meta-a': ['plain\tvalue ~'] };
    expect(headerReadings(ascii)).toEqual([ascii]);
    const utf8 = { host: ['h'], 'x-amz-meta-a': [Buffer.from('é', 'utf8').toString('latin1')] };
    expect(headerReadings(utf8)).toEqual([{ host: ['h'], 'x-amz-meta-a': ['é'] }, utf8]);
  });
});

describe('parseAmzDate', () => {
  // Date.UTC reads years 0-99 as 1900-1999; a date parsed must be the one written or none.
  test.each([
    ['20260314T150926Z', '2026-03-14T15:09:26.000Z'],
    ['00000808T000000Z', '0000-08-08T00:00:00.000Z'],
    ['00990101T235959Z', '0099-01-01T23:59:59.000Z'],
    ['00000229T000000Z', '0000-02-29T00:00:00.000Z'],
  ])('%s is %s', (value, iso) => {
    expect(parseAmzDate(value)?.toISOString()).toBe(iso);
  });

  test.each(['20261314T000000Z', '20260230T000000Z', '20260314T250000Z', '20260314T006000Z', '20260314T000060Z', '19000229T000000Z', '2026-03-14T00:00:00Z'])('%s is refused', (value) => {
    expect(parseAmzDate(value)).toBeUndefined();
  });
});
