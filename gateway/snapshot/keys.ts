import { createHmac, createPrivateKey, hkdfSync } from 'node:crypto';
import { gatewayKeyFromJwk, type GatewayKey } from '../shards/keys.js';

/**
 * Everything recovery needs is derived from the master key alone, so a gateway whose disk
 * is gone can find and read its last metadata snapshot:
 * - where the manifest is: the same shard id on every shard-store, HMAC(master, label);
 * - how to read it: AES-256-GCM under HKDF(master, label);
 * - how to be allowed to: an Ed25519 key from HKDF(master, label) that the running gateway
 *   registered with every store as a read-only recovery key (POST /trusted-keys); recovery
 *   proves it in the TLS handshake, as the gateway proves its own.
 */
export function manifestShardId(master: Buffer): string {
  return `${createHmac('sha256', master).update('shardgate snapshot manifest v1').digest('hex').slice(0, 32)}.0`;
}

export function manifestKey(master: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'shardgate snapshot manifest key v1', 32));
}

/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410), followed by the 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The read-only recovery key. */
export async function recoveryKey(master: Buffer): Promise<GatewayKey> {
  const seed = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'shardgate recovery token key v1', 32));
  const keyObject = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const key = await gatewayKeyFromJwk(keyObject.export({ format: 'jwk' }), '');
  // Stores register the public half without alg/use: the same key either way.
  return { ...key, publicJwk: { kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x, kid: key.kid } };
}
