import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Access key secrets at rest: sealed with the master key (AES-256-GCM, random nonce, the
 * same shape as codec/keys.ts wrapKey), so a copy of meta.db alone cannot sign requests.
 * The access key id is bound in as associated data: a sealed secret copied onto another
 * key's row does not open. Format v1: 0x01 || nonce(12) || ciphertext || tag(16).
 */
const VERSION = 1;
const AAD_PREFIX = 'shardgate access key secret v1:';

export class SecretBoxError extends Error {
  code = 'ERR_SECRET_BOX';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretBoxError';
  }
}

export function sealSecret(master: Buffer, accessKeyId: string, secret: string): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', master, nonce);
  cipher.setAAD(Buffer.from(AAD_PREFIX + accessKeyId));
  const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, ct, cipher.getAuthTag()]);
}

export function openSecret(master: Buffer, accessKeyId: string, sealed: Buffer): string {
  if (sealed.length < 1 + 12 + 16 || sealed[0] !== VERSION) throw new SecretBoxError(`sealed secret of ${accessKeyId} has an unknown format`);
  const decipher = createDecipheriv('aes-256-gcm', master, sealed.subarray(1, 13));
  decipher.setAAD(Buffer.from(AAD_PREFIX + accessKeyId));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(13, sealed.length - 16)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new SecretBoxError(`the secret of ${accessKeyId} does not open: wrong master key?`, { cause: err });
  }
}
