/** SSE-C without sockets: the double key wrap (codec/keys.ts) and the header parse (gateway/s3/sse-c.ts). */
import { createHash, randomBytes } from 'node:crypto';
import {
  customerKeyCheck, customerKeyMatches, deriveCustomerKek, newCustomerSalt, newDataKey, unwrapKey, unwrapKeyForCustomer,
  wrapKey, wrapKeyForCustomer,
} from '../../codec/keys.js';
import { S3Error } from '../../gateway/s3/errors.js';
import { checkSseCTransport, newSseC, parseCustomerKey, readerFor, uploadWrap, wrapFor } from '../../gateway/s3/sse-c.js';
import { codeOf } from '../helpers/errors.js';

const master = Buffer.alloc(32, 7);
const customer = Buffer.alloc(32, 9);

function headersFor(key: Buffer, md5 = createHash('md5').update(key).digest('base64')): Record<string, string> {
  return {
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': key.toString('base64'),
    'x-amz-server-side-encryption-customer-key-md5': md5,
  };
}

function s3Code(fn: () => unknown): { code: string; status: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return { code: err.code, status: err.status, message: err.message };
    throw err;
  }
  throw new Error('expected an S3Error');
}

describe('customer-key wrap', () => {
  test('needs both the master key and the customer key', () => {
    const salt = newCustomerSalt();
    const kek = deriveCustomerKek(customer, salt);
    const dataKey = newDataKey();
    const wrapped = wrapKeyForCustomer(master, kek, dataKey);
    expect(unwrapKeyForCustomer(master, kek, wrapped).equals(dataKey)).toBe(true);
    expect(() => unwrapKeyForCustomer(master, deriveCustomerKek(Buffer.alloc(32, 1), salt), wrapped)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPT' }));
    expect(() => unwrapKeyForCustomer(Buffer.alloc(32, 1), kek, wrapped)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPT' }));
    expect(() => unwrapKey(master, wrapped)).toThrow(expect.objectContaining({ code: 'ERR_DECRYPT' }));
    // A master-only wrap is not taken for a customer wrap.
    expect(() => unwrapKeyForCustomer(master, kek, wrapKey(master, dataKey))).toThrow(expect.objectContaining({ code: 'ERR_DECRYPT' }));
  });

  test('the salt separates objects under one customer key; the check tells the key', () => {
    const a = newCustomerSalt();
    const b = newCustomerSalt();
    expect(deriveCustomerKek(customer, a).equals(deriveCustomerKek(customer, b))).toBe(false);
    expect(customerKeyCheck(customer, a).equals(customerKeyCheck(customer, b))).toBe(false);
    expect(customerKeyMatches(customer, a, customerKeyCheck(customer, a))).toBe(true);
    expect(customerKeyMatches(Buffer.alloc(32, 1), a, customerKeyCheck(customer, a))).toBe(false);
  });
});

describe('SSE-C headers', () => {
  test('a valid key parses, and never shows in JSON', () => {
    const ck = parseCustomerKey(headersFor(customer))!;
    expect(ck.md5).toBe(createHash('md5').update(customer).digest('base64'));
    expect(JSON.stringify(ck)).not.toContain(customer.toString('base64'));
    expect(parseCustomerKey({})).toBeUndefined();
  });

  test.each([
    ['no algorithm', { ...headersFor(customer), 'x-amz-server-side-encryption-customer-algorithm': undefined }, /valid encryption algorithm/],
    ['bad algorithm', { ...headersFor(customer), 'x-amz-server-side-encryption-customer-algorithm': 'aws:kms' }, /Supported value: AES256/],
    ['no key', { ...headersFor(customer), 'x-amz-server-side-encryption-customer-key': undefined }, /appropriate secret key/],
    ['31-byte key', headersFor(randomBytes(31)), /secret key was invalid/],
    ['not base64', { ...headersFor(customer), 'x-amz-server-side-encryption-customer-key': '!'.repeat(44) }, /secret key was invalid/],
    ['no MD5', { ...headersFor(customer), 'x-amz-server-side-encryption-customer-key-md5': undefined }, /client calculated MD5/],
    ['wrong MD5', headersFor(customer, Buffer.alloc(16).toString('base64')), /did not match/],
  ])('%s: 400 InvalidArgument', (_name, headers, message) => {
    const e = s3Code(() => parseCustomerKey(headers));
    expect([e.code, e.status]).toEqual(['InvalidArgument', 400]);
    expect(e.message).toMatch(message);
  });

  test('reads and multipart parts check the key against the stored parameters', () => {
    const ck = parseCustomerKey(headersFor(customer))!;
    const other = parseCustomerKey(headersFor(Buffer.alloc(32, 1)))!;
    const sse = newSseC(ck);
    expect(JSON.stringify({ ...sse, salt: sse.salt.toString('base64'), keyHmac: sse.keyHmac.toString('base64') })).not.toContain(customer.toString('base64'));
    const dataKey = newDataKey();
    const wrapped = wrapFor(sse, ck)(master, dataKey);
    expect(readerFor(sse, ck)!(master, wrapped).equals(dataKey)).toBe(true);
    expect(readerFor(null, undefined)).toBeUndefined();
    expect(s3Code(() => readerFor(sse, undefined)).code).toBe('InvalidRequest');
    expect(s3Code(() => readerFor(sse, other))).toMatchObject({ code: 'AccessDenied', status: 403 });
    expect(s3Code(() => readerFor(null, ck)).code).toBe('InvalidRequest');
    expect(uploadWrap(sse, ck, true)).toBeTypeOf('function');
    expect(uploadWrap(sse, undefined, false)).toBeUndefined();
    expect(s3Code(() => uploadWrap(sse, other, true))).toMatchObject({ code: 'InvalidRequest', status: 400 });
    expect(s3Code(() => uploadWrap(sse, undefined, true))).toMatchObject({ code: 'InvalidRequest', status: 400 });
    expect(s3Code(() => uploadWrap(null, ck, true))).toMatchObject({ code: 'InvalidRequest', status: 400 });
  });
});

describe('SSE-C transport rule', () => {
  const key = { 'x-amz-server-side-encryption-customer-algorithm': ['AES256'] };
  const plain = { encrypted: false, remoteAddress: '10.0.0.7', forwardedProto: undefined };
  test('a customer key over plain HTTP from another machine is refused, as on AWS', () => {
    expect(codeOf(() => checkSseCTransport(key, plain))).toBe('InvalidRequest');
    expect(codeOf(() => checkSseCTransport({ 'x-amz-copy-source-server-side-encryption-customer-key': ['k'] }, plain))).toBe('InvalidRequest');
    expect(codeOf(() => checkSseCTransport(key, { ...plain, forwardedProto: 'http' }))).toBe('InvalidRequest');
  });
  test('TLS, a TLS proxy that says so, loopback, or no key at all pass', () => {
    expect(codeOf(() => checkSseCTransport(key, { ...plain, encrypted: true }))).toBe('none');
    expect(codeOf(() => checkSseCTransport(key, { ...plain, forwardedProto: 'https' }))).toBe('none');
    expect(codeOf(() => checkSseCTransport(key, { ...plain, forwardedProto: 'HTTPS, https' }))).toBe('none');
    // A chain is secure only if every hop it lists is.
    expect(codeOf(() => checkSseCTransport(key, { ...plain, forwardedProto: 'HTTPS, http' }))).toBe('InvalidRequest');
    for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(codeOf(() => checkSseCTransport(key, { ...plain, remoteAddress }))).toBe('none');
    expect(codeOf(() => checkSseCTransport({ 'content-type': ['x'] }, plain))).toBe('none');
  });
});
