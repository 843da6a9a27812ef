import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { identityFromKey, type TlsIdentity } from '../../wire/identity.js';

/** JOSE name of the key's algorithm (Ed25519 signatures): the signed reports use it. */
export const KEY_ALG = 'EdDSA';

export const GATEWAY_KEY_FILE = 'gateway-key.jwk';
export const GATEWAY_PUBLIC_KEY_FILE = 'gateway-key.pub.jwk';

/**
 * The gateway's Ed25519 key: its TLS identity towards the shard-stores (mutual TLS) and the
 * signer of the public report log.
 */
export interface GatewayKey {
  /** JWK thumbprint; reports carry it so a verifier trusting several gateways picks the right key. */
  kid: string;
  privateKey: CryptoKey;
  /** What shard-stores are configured with (`--trusted-key`, SHARDGATE_TRUSTED_KEYS). */
  publicJwk: JWK;
  publicKeyFile: string;
  /** The same key as a TLS client certificate. */
  tls: TlsIdentity;
}

/** A GatewayKey from an Ed25519 private JWK (`name`: what its TLS certificate says it is). */
export async function gatewayKeyFromJwk(privateJwk: JWK, publicKeyFile: string, name = 'shardgate gateway'): Promise<GatewayKey> {
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, alg: KEY_ALG, use: 'sig' };
  publicJwk.kid = privateJwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  const privateKey = await importJWK({ ...privateJwk, alg: KEY_ALG }, KEY_ALG);
  if (privateKey instanceof Uint8Array) throw new GatewayKeyError('the gateway key is not an asymmetric key');
  const tls = identityFromKey(createPrivateKey({ key: privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' }), name);
  return { kid: publicJwk.kid, privateKey, publicJwk, publicKeyFile, tls };
}

/** Gateway key problems (unreadable or wrong-type key file); the CLI prints them as one line. */
export class GatewayKeyError extends Error {
  code = 'ERR_CONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Load the gateway key from `dir`, creating it on first start: `gateway-key.jwk` (private,
 * mode 0600) and `gateway-key.pub.jwk`. Files appear whole or not at all (written aside and
 * hard-linked into place), so two gateways starting at once end up sharing one key.
 */
export function loadOrCreateGatewayKey(dir: string): Promise<GatewayKey> {
  return loadOrCreateSigningKey(dir, GATEWAY_KEY_FILE, GATEWAY_PUBLIC_KEY_FILE, 'shardgate gateway');
}

/**
 * An Ed25519 key kept in `dir` as `privateFile` (mode 0600) and `publicFile`, made on first
 * use, the same way as the gateway's: an independent monitor keeps its own this way.
 */
export async function loadOrCreateSigningKey(dir: string, privateFile: string, publicFile: string, name: string): Promise<GatewayKey> {
  await mkdir(dir, { recursive: true });
  const privatePath = join(dir, privateFile);
  const publicPath = join(dir, publicFile);
  let privateJwk = await readJwk(privatePath);
  if (!privateJwk) {
    const { privateKey } = await generateKeyPair(KEY_ALG, { crv: 'Ed25519', extractable: true });
    const jwk = await exportJWK(privateKey);
    jwk.kid = await calculateJwkThumbprint(jwk);
    jwk.alg = KEY_ALG;
    jwk.use = 'sig';
    await writeOnce(privatePath, jwk, 0o600);
    // Another process may have won the race: use whatever is on disk now.
    privateJwk = (await readJwk(privatePath))!;
  }
  if (privateJwk.kty !== 'OKP' || privateJwk.crv !== 'Ed25519' || typeof privateJwk.d !== 'string') {
    throw new GatewayKeyError(`${privatePath} is not an Ed25519 private JWK; move it away to let a new key be made`);
  }
  const key = await gatewayKeyFromJwk(privateJwk, publicPath, name);
  if (!(await readJwk(publicPath))) await writeOnce(publicPath, key.publicJwk, 0o644);
  return key;
}

async function readJwk(path: string): Promise<JWK | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null;
    throw new GatewayKeyError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as JWK;
  } catch (err) {
    throw new GatewayKeyError(`${path} is not JSON; restore it from a backup or move it away`, { cause: err });
  }
}

async function writeOnce(path: string, jwk: JWK, mode: number): Promise<void> {
  const tmp = `${path}.tmp${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(`${JSON.stringify(jwk, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp);
  }
}
