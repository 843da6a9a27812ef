import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { RequestError } from './errors.js';
import { RECOVERY_OPS, type ShardOp } from './protocol.js';
import { trustedJwk, type TrustedKey } from './peers.js';

/**
 * Read-only keys a trusted gateway registered (POST /trusted-keys), kept in the data
 * directory so they outlive restarts: when the gateway's disk is lost, so is its own key,
 * and `shardgate admin recover` connects with a key derived from the master key instead.
 * Such keys may only read (RECOVERY_OPS).
 */
const FILE = 'recovery-keys.json';
const OPS: ReadonlySet<ShardOp> = new Set(RECOVERY_OPS);

export async function loadRecoveryKeys(dir: string): Promise<TrustedKey[]> {
  let list: JWK[];
  try {
    list = JSON.parse(await readFile(join(dir, FILE), 'utf8')) as JWK[];
  } catch {
    return [];
  }
  const out: TrustedKey[] = [];
  for (const jwk of Array.isArray(list) ? list : []) {
    try {
      out.push(toTrusted(jwk));
    } catch {
      // a damaged entry only costs the recovery path that key
    }
  }
  return out;
}

/** Validate, persist (atomically) and return a newly registered key. */
export async function addRecoveryKey(dir: string, value: unknown): Promise<TrustedKey> {
  const jwk = value as JWK;
  if (typeof value !== 'object' || value === null || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || jwk.d !== undefined) {
    throw new RequestError(400, 'ERR_BAD_KEY', 'jwk must be a public Ed25519 JWK');
  }
  const key = toTrusted(jwk);
  const existing = await readList(dir);
  if (!existing.some((k) => k.x === jwk.x)) {
    existing.push({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: key.kid });
    const tmp = join(dir, `${FILE}.tmp${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o640);
    try {
      await fh.writeFile(JSON.stringify(existing, null, 2));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, FILE)).catch(async (err: unknown) => {
      await unlink(tmp).catch(() => undefined);
      throw err;
    });
  }
  return key;
}

async function readList(dir: string): Promise<JWK[]> {
  try {
    const list = JSON.parse(await readFile(join(dir, FILE), 'utf8')) as unknown;
    return Array.isArray(list) ? (list as JWK[]) : [];
  } catch {
    return [];
  }
}

function toTrusted(jwk: JWK): TrustedKey {
  try {
    return trustedJwk({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwk.kid }, 'recovery key', OPS);
  } catch (err) {
    throw new RequestError(400, 'ERR_BAD_KEY', (err as Error).message, { cause: err });
  }
}
