import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { identityFromKey, newIdentityKey, privateKeyFrom, type TlsIdentity } from '../wire/identity.js';
import { StoreError } from './errors.js';

export const STORE_KEY_FILE = 'store-key.pem';

/**
 * The store's own TLS key, made on first start and kept in its data folder (mode 0600): the
 * gateway pins it, so a store keeps it for life. A new disk is a new store to the gateway
 * (`shardgate admin join` pins its new key).
 */
export async function loadOrCreateStoreIdentity(dir: string, id: string): Promise<TlsIdentity> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, STORE_KEY_FILE);
  let pem = await readOrNull(path);
  if (pem === null) {
    const tmp = `${path}.tmp${randomBytes(6).toString('hex')}`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(newIdentityKey().export({ type: 'pkcs8', format: 'pem' }));
      await fh.sync();
    } finally {
      await fh.close();
    }
    // Whole or not at all; two processes on one folder end up with the same key.
    await link(tmp, path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    }).finally(() => unlink(tmp));
    pem = (await readOrNull(path))!;
  }
  try {
    return identityFromKey(privateKeyFrom(pem), `shard-store ${id}`);
  } catch (err) {
    throw new StoreError(`${path} is not an Ed25519 private key; move it away to make a new one (the gateway must then pin it again)`, { cause: err });
  }
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
