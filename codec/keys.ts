import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { CodecArgumentError, DecryptError } from './errors.js';

/**
 * Data keys: every blob gets a fresh random 256-bit key, stored only wrapped by the
 * gateway's master key (AES-256-GCM, random nonce). Format v1: 0x01 || nonce(12) || ct(32) || tag(16).
 */
const WRAP_VERSION = 1;
const WRAP_AAD = Buffer.from('shardgate data key v1');
export const KEY_BYTES = 32;

export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function wrapKey(master: Buffer, dataKey: Buffer): Buffer {
  if (master.length !== KEY_BYTES || dataKey.length !== KEY_BYTES) throw new CodecArgumentError('keys must be 32 bytes');
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', master, nonce);
  cipher.setAAD(WRAP_AAD);
  const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return Buffer.concat([Buffer.from([WRAP_VERSION]), nonce, ct, cipher.getAuthTag()]);
}

export function unwrapKey(master: Buffer, wrapped: Buffer): Buffer {
  if (wrapped.length !== 1 + 12 + KEY_BYTES + 16 || wrapped[0] !== WRAP_VERSION) {
    throw new DecryptError('wrapped key has an unknown format');
  }
  const decipher = createDecipheriv('aes-256-gcm', master, wrapped.subarray(1, 13));
  decipher.setAAD(WRAP_AAD);
  decipher.setAuthTag(wrapped.subarray(13 + KEY_BYTES));
  try {
    return Buffer.concat([decipher.update(wrapped.subarray(13, 13 + KEY_BYTES)), decipher.final()]);
  } catch (err) {
    throw new DecryptError('data key does not unwrap: wrong master key?', { cause: err });
  }
}

/**
 * SSE-C: a blob's data key wrapped twice, first by the master key (the v1 format above),
 * then by a key derived from the customer's key, so neither the gateway's master key nor
 * the customer key alone recovers it. The customer key is never stored: only a random
 * per-object salt (the HKDF salt) and a salted HMAC of the key, to tell a wrong key apart
 * from damage. Format v2: 0x02 || nonce(12) || AES-256-GCM_kek(v1 wrap)(61) || tag(16).
 */
const CUSTOMER_WRAP_VERSION = 2;
const CUSTOMER_WRAP_AAD = Buffer.from('shardgate data key v2 sse-c');
const CUSTOMER_KEK_INFO = Buffer.from('shardgate sse-c key-encryption key v1');
const CUSTOMER_CHECK_LABEL = Buffer.from('shardgate sse-c key check v1');
const V1_LENGTH = 1 + 12 + KEY_BYTES + 16;
export const CUSTOMER_SALT_BYTES = 16;

export function newCustomerSalt(): Buffer {
  return randomBytes(CUSTOMER_SALT_BYTES);
}

/** The key-encryption key of one object: HKDF-SHA256(customer key, salt). */
export function deriveCustomerKek(customerKey: Buffer, salt: Buffer): Buffer {
  if (customerKey.length !== KEY_BYTES) throw new CodecArgumentError('customer key must be 32 bytes');
  return Buffer.from(hkdfSync('sha256', customerKey, salt, CUSTOMER_KEK_INFO, KEY_BYTES));
}

/** HMAC-SHA256 keyed by the customer key over a label and the object's salt: what tells a wrong key. */
export function customerKeyCheck(customerKey: Buffer, salt: Buffer): Buffer {
  return createHmac('sha256', customerKey).update(CUSTOMER_CHECK_LABEL).update(salt).digest();
}

/** True when `customerKey` is the key whose check value is `expected` (constant time). */
export function customerKeyMatches(customerKey: Buffer, salt: Buffer, expected: Buffer): boolean {
  const actual = customerKeyCheck(customerKey, salt);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function wrapKeyForCustomer(master: Buffer, kek: Buffer, dataKey: Buffer): Buffer {
  if (kek.length !== KEY_BYTES) throw new CodecArgumentError('keys must be 32 bytes');
  const inner = wrapKey(master, dataKey);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(CUSTOMER_WRAP_AAD);
  const ct = Buffer.concat([cipher.update(inner), cipher.final()]);
  return Buffer.concat([Buffer.from([CUSTOMER_WRAP_VERSION]), nonce, ct, cipher.getAuthTag()]);
}

/** Whether a wrapped data key needs the customer's key too (SSE-C): then only the customer can decrypt. */
export function isCustomerWrapped(wrapped: Buffer): boolean {
  return wrapped[0] === CUSTOMER_WRAP_VERSION;
}

export function unwrapKeyForCustomer(master: Buffer, kek: Buffer, wrapped: Buffer): Buffer {
  if (wrapped.length !== 1 + 12 + V1_LENGTH + 16 || wrapped[0] !== CUSTOMER_WRAP_VERSION) {
    throw new DecryptError('wrapped key is not a customer-key (SSE-C) wrap');
  }
  const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(1, 13));
  decipher.setAAD(CUSTOMER_WRAP_AAD);
  decipher.setAuthTag(wrapped.subarray(13 + V1_LENGTH));
  let inner: Buffer;
  try {
    inner = Buffer.concat([decipher.update(wrapped.subarray(13, 13 + V1_LENGTH)), decipher.final()]);
  } catch (err) {
    throw new DecryptError('data key does not unwrap: wrong customer key?', { cause: err });
  }
  return unwrapKey(master, inner);
}
