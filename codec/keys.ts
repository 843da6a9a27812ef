import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
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
