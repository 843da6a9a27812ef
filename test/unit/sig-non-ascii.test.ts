/**
 * Header values with bytes over 0x7F. Signers sign the UTF-8 of their string; botocore (and the
 * Go and Java SDKs, curl) then send those same UTF-8 bytes, while Node clients (the JS SDK) send
 * each character as one latin1 byte. Node hands the gateway either as a latin1 string, one
 * character per byte. Both must verify; any other value must not.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/core/protocols';
import { verifyRequest, type SignedRequest } from '../../gateway/auth/sigv4.js';
import { codeOf } from '../helpers/errors.js';

const NOW = new Date('2026-03-14T15:09:26Z');
const AK = 'AKIASHARDGATETEST01';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const lookup = (id: string) => (id === AK ? SECRET : undefined);

/** What Node gives the gateway for a value whose UTF-8 bytes were sent. */
const utf8OnWire = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

type Data = string | ArrayBuffer | ArrayBufferView;
const toBuf = (d: Data): Buffer =>
  typeof d === 'string' ? Buffer.from(d, 'utf8') : d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(d.buffer, d.byteOffset, d.byteLength);

class NodeSha256 {
  private readonly h;
  constructor(secret?: Data) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuf(secret));
  }
  update(data: Data): void {
    this.h.update(toBuf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {}
}

async function v4SignedFor(meta: string): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: AK, secretAccessKey: SECRET }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false,
  });
  const req = new HttpRequest({
    method: 'PUT', protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: '/b/k',
    headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-m': meta },
  });
  const signed = await signer.sign(req, { signingDate: NOW });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) out[k.toLowerCase()] = v;
  return out;
}

const put = (headers: Record<string, string>): SignedRequest => ({ method: 'PUT', rawPath: '/b/k', rawQuery: '', headers });

// compat: SigV4 non-ASCII metadata
describe('SigV4: non-ASCII header values', () => {
  test.each(['Hello World\u00e9', 'caf\u00e9 \u2603 \u{1f4c8}'])('%j sent as its UTF-8 bytes (botocore) verifies', async (meta) => {
    const headers = await v4SignedFor(meta);
    expect(codeOf(() => verifyRequest(put({ ...headers, 'x-amz-meta-m': utf8OnWire(meta) }), lookup, NOW))).toBe('none');
  });

  test('a Latin-1 value sent one byte a character (the JS SDK) verifies', async () => {
    const headers = await v4SignedFor('Hello World\u00e9');
    expect(codeOf(() => verifyRequest(put(headers), lookup, NOW))).toBe('none');
  });

  test('any other value is refused, and the error shows the value as sent', async () => {
    const headers = await v4SignedFor('Hello World\u00e9');
    let shown = '';
    expect(codeOf(() => {
      try {
        verifyRequest(put({ ...headers, 'x-amz-meta-m': utf8OnWire('Hello World\u00e8') }), lookup, NOW);
      } catch (err) {
        shown = (err as { details: Record<string, string> }).details.CanonicalRequest ?? '';
        throw err;
      }
    })).toBe('SignatureDoesNotMatch');
    expect(shown).toContain('x-amz-meta-m:Hello World\u00e8\n');
    // A lone 0xE9 is no UTF-8: it is read only as the one character it is.
    expect(codeOf(() => verifyRequest(put({ ...headers, 'x-amz-meta-m': 'Hello World\u00c3' }), lookup, NOW))).toBe('SignatureDoesNotMatch');
  });
});

// compat: SigV2
describe('SigV2: non-ASCII x-amz-* values', () => {
  const DATE = 'Sat, 14 Mar 2026 15:09:26 GMT';
  // botocore HmacV1Auth: HMAC-SHA1 over the UTF-8 of the string to sign.
  const sign = (meta: string) => createHmac('sha1', SECRET).update(`PUT\n\n\n${DATE}\nx-amz-meta-m:${meta}\n/b/k`, 'utf8').digest('base64');
  const v2 = (sent: string, signedAs: string) => put({ host: '127.0.0.1:9000', date: DATE, 'x-amz-meta-m': sent, authorization: `AWS ${AK}:${sign(signedAs)}` });

  test('UTF-8 bytes (botocore) and Latin-1 bytes (Node clients) verify; another value does not', () => {
    const meta = 'caf\u00e9 \u2603';
    expect(codeOf(() => verifyRequest(v2(utf8OnWire(meta), meta), lookup, NOW))).toBe('none');
    expect(codeOf(() => verifyRequest(v2('Hello World\u00e9', 'Hello World\u00e9'), lookup, NOW))).toBe('none');
    expect(codeOf(() => verifyRequest(v2(utf8OnWire('caf\u00e8 \u2603'), meta), lookup, NOW))).toBe('SignatureDoesNotMatch');
  });
});
