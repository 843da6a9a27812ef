import { createHmac, createPrivateKey, hkdfSync } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { TOKEN_ALG } from '../../shard-store/protocol.js';
import type { GatewayKey } from '../shards/keys.js';

/**
 * Everything recovery needs is derived from the master key alone, so a gateway whose disk
 * is gone can find and read its last metadata snapshot:
 * - where the manifest is: the same shard id on every shard-store, HMAC(master, label);
 * - how to read it: AES-256-GCM under HKDF(master, label);
 * - how to be allowed to: an Ed25519 key from HKDF(master, label) that the running gateway
 *   registered with every store as a read-only recovery key (POST /trusted-keys).
 */
export function manifestShardId(master: Buffer): string {
  return `${createHmac('sha256', master).update('shardgate snapshot manifest v1').digest('hex').slice(0, 32)}.0`;
}

export function manifestKey(master: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'shardgate snapshot manifest key v1', 32));
}

/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410), followed by the 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The read-only recovery key, as a signer for shard-store tokens. */
export async function recoveryKey(master: Buffer): Promise<GatewayKey> {
  const seed = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'shardgate recovery token key v1', 32));
  const keyObject = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = keyObject.export({ format: 'jwk' }) as JWK;
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  publicJwk.kid = await calculateJwkThumbprint(publicJwk);
  const privateKey = await importJWK({ ...jwk, alg: TOKEN_ALG }, TOKEN_ALG);
  if (privateKey instanceof Uint8Array) throw new Error('recovery key is not asymmetric');
  return { kid: publicJwk.kid, privateKey, publicJwk, publicKeyFile: '' };
}
