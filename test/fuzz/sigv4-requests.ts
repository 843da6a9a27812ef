/**
 * Generators of S3 requests as they arrive on the wire, and signers that are not ours
 * (`aws4` and the AWS SDK's SignatureV4), shared by the SigV4 and SigV2 fuzz targets.
 */
import { createHash, createHmac } from 'node:crypto';
import aws4 from 'aws4';
import fc from 'fast-check';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest, buildQueryString, extendedEncodeURIComponent } from '@smithy/core/protocols';
import type { SignedRequest } from '../../gateway/auth/sigv4.js';

export const NOW = new Date('2026-03-14T15:09:26Z');
export const AMZ_NOW = '20260314T150926Z';
export const AK = 'AKIAFUZZTEST00000001';
export const SECRET = 'fuzz/Secret+Key=0123456789abcdefABCDEF';
export const HOST = '127.0.0.1:9000';
export const lookup = (id: string): string | undefined => (id === AK ? SECRET : undefined);

export const sha256Hex = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

/** Node reads the request line and header values byte by byte (latin1): what a parser can be given. */
export function asWire(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** Header values as Node hands them over: no CR, LF or NUL (the HTTP parser refuses them), trimmed. */
export function asHeaderValue(s: string): string {
  return asWire(s).replace(/[\r\n\0]/g, '').replace(/^[ \t]+|[ \t]+$/g, '');
}

/** S3 keys: any Unicode text, rich in the characters encoders disagree on. */
export const s3Key: fc.Arbitrary<string> = fc.array(fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom(' ', '+', '&', '=', '%', '%20', '/', '//', '.', '..', "!'()*~", '"', '#', '?', ';', ':', '@', '$', ',', 'é', 'e\u0301', '日本', '\u{1f600}', '\t') },
), { minLength: 1, maxLength: 6 }).map((parts) => parts.join(''));

export const bucketName: fc.Arbitrary<string> = fc.constantFrom('bucket', 'my.bucket-01', 'b12');

/** The path an S3 SDK puts on the wire for a key (path-style). */
export function wirePath(bucket: string, key: string): string {
  return `/${bucket}/${key.split('/').map(extendedEncodeURIComponent).join('/')}`;
}

/** Query names a signed request may carry besides the auth ones (those are the parsers' business). */
const AUTH_PARAMS = /^(x-amz-(algorithm|credential|date|expires|signedheaders|signature|security-token|content-sha256)|awsaccesskeyid|signature|expires)$/i;
export const queryName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'uploads', 'uploadId', 'partNumber', 'versionId', 'acl', 'tagging', 'versions', 'response-content-type', 'encoding-type', 'start-after'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
).filter((n) => !AUTH_PARAMS.test(n));
export const queryValue: fc.Arbitrary<string> = fc.oneof(fc.constant(''), fc.string({ unit: 'binary', maxLength: 12 }), fc.constantFrom('a b', 'a+b', '/', 'é', '%', '&=', '*'));
export const queryParams: fc.Arbitrary<Record<string, string>> = fc.dictionary(queryName, queryValue, { maxKeys: 4 });

/** Header values every signer agrees on: printable ASCII and latin1 letters, inner runs of spaces and tabs. */
const headerText: fc.Arbitrary<string> = fc.array(fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.~!#$%&\'*+,/:;<=>?@[]^`{|}"()\\'.split('')), minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom(' ', '   ', '\t', ' \t ', 'é', 'ÿ', '©') },
), { minLength: 1, maxLength: 6 }).map((p) => p.join('').replace(/^[ \t]+|[ \t]+$/g, '')).filter((s) => s !== '');

const headerName: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^x-amz-meta-[a-z0-9-]{1,12}$/),
  fc.constantFrom('content-type', 'content-md5', 'x-amz-acl', 'x-amz-storage-class', 'x-amz-tagging', 'cache-control', 'range', 'if-match'),
);
export const signedHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(headerName, headerText, { maxKeys: 4 });

export const method: fc.Arbitrary<string> = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD');

export interface RequestShape {
  method: string;
  bucket: string;
  key: string | undefined;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

export const requestShape: fc.Arbitrary<RequestShape> = fc.record({
  method, bucket: bucketName, key: fc.option(s3Key, { nil: undefined }), query: queryParams, headers: signedHeaders,
  body: fc.oneof(fc.constant(''), fc.string({ maxLength: 40 })),
});

export function pathOf(r: RequestShape): string {
  return r.key === undefined ? `/${r.bucket}` : wirePath(r.bucket, r.key);
}

function lowerHeaders(h: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = String(v);
  return out;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const toBuf = (d: SourceData): Buffer =>
  typeof d === 'string' ? Buffer.from(d, 'utf8') : d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(d.buffer, d.byteOffset, d.byteLength);

/** node:crypto in the shape the SDK's signer wants. */
export class NodeSha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuf(secret));
  }
  update(data: SourceData): void {
    this.h.update(toBuf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {}
}

const sdkSigner = new SignatureV4({
  credentials: { accessKeyId: AK, secretAccessKey: SECRET }, region: 'us-east-1', service: 's3', sha256: NodeSha256,
  // S3 signs the path as sent; the S3 client turns double encoding off.
  uriEscapePath: false,
});

/** Signed in the Authorization header by the AWS SDK's signer. */
export async function sdkSigned(r: RequestShape): Promise<SignedRequest> {
  const req = new HttpRequest({
    method: r.method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: pathOf(r), query: r.query,
    headers: { host: HOST, 'x-amz-content-sha256': sha256Hex(r.body), ...r.headers }, body: r.body,
  });
  const signed = await sdkSigner.sign(req, { signingDate: NOW });
  return { method: r.method, rawPath: pathOf(r), rawQuery: buildQueryString(signed.query ?? {}), headers: lowerHeaders(signed.headers) };
}

/** A presigned URL made by the AWS SDK's signer, as the S3 request presigner makes it. */
export async function sdkPresigned(r: RequestShape, expiresIn = 900): Promise<SignedRequest> {
  const req = new HttpRequest({
    method: r.method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: pathOf(r), query: r.query,
    headers: { host: HOST, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', ...r.headers },
  });
  const signed = await sdkSigner.presign(req, { signingDate: NOW, expiresIn });
  return { method: r.method, rawPath: pathOf(r), rawQuery: buildQueryString(signed.query ?? {}), headers: lowerHeaders(signed.headers) };
}

/** RFC 3986 encoding, as both signers put query parameters on the wire. */
function encodeQuery(q: Record<string, string>): string {
  return Object.entries(q).map(([k, v]) => `${extendedEncodeURIComponent(k)}=${extendedEncodeURIComponent(v)}`).join('&');
}

/** Signed by the `aws4` package, in the header or (presign) in the query. */
export function aws4Signed(r: RequestShape, opts: { presign?: boolean } = {}): SignedRequest {
  const query = { ...r.query, ...(opts.presign && { 'X-Amz-Date': AMZ_NOW, 'X-Amz-Expires': '600' }) };
  const qs = encodeQuery(query);
  const signed = aws4.sign({
    host: HOST, method: r.method, path: qs ? `${pathOf(r)}?${qs}` : pathOf(r), service: 's3', region: 'us-east-1',
    headers: { ...(opts.presign ? {} : { 'X-Amz-Date': AMZ_NOW, 'X-Amz-Content-Sha256': sha256Hex(r.body) }), ...r.headers },
    ...(opts.presign ? { signQuery: true } : { body: r.body }),
  }, { accessKeyId: AK, secretAccessKey: SECRET });
  const path = signed.path ?? '/';
  const q = path.indexOf('?');
  const headers = lowerHeaders((signed.headers ?? {}));
  headers.host ??= HOST;
  return { method: r.method, rawPath: q < 0 ? path : path.slice(0, q), rawQuery: q < 0 ? '' : path.slice(q + 1), headers };
}

/**
 * Whether the JavaScript signers sign this query as they send it. Both build their canonical
 * query in a plain object (@smithy/signature-v4 getCanonicalQuery; aws4's query parsing), where a
 * parameter named `__proto__` is taken as the prototype rather than stored: they sign the query
 * without it while the URL carries it. AWS refuses such a signature, and so does the gateway
 * (sigv4.fuzz.test.ts checks that it does); SDKs that keep parameters in a map sign it.
 */
export function jsSignersCoverQuery(query: Record<string, string>): boolean {
  return !Object.hasOwn(query, '__proto__');
}

export type SignerKind = 'sdk' | 'sdk-presign' | 'aws4' | 'aws4-presign';
export const signerKind: fc.Arbitrary<SignerKind> = fc.constantFrom('sdk', 'sdk-presign', 'aws4', 'aws4-presign');

/** Sign with one of the four ways a client signs with SigV4. */
export async function signWith(r: RequestShape, how: SignerKind): Promise<SignedRequest> {
  switch (how) {
    case 'sdk': return sdkSigned(r);
    case 'sdk-presign': return sdkPresigned(r);
    case 'aws4': return aws4Signed(r);
    case 'aws4-presign': return aws4Signed(r, { presign: true });
  }
}
