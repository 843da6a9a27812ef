import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RequestError } from './errors.js';
import { MAX_MONITOR_KEYS, MONITOR_OPS, type ShardOp } from './protocol.js';
import { trustedJwk, type TrustedKey } from './peers.js';

/**
 * The independent monitors' keys the gateway lists (PUT /monitor-keys), kept in the data
 * directory so a restarted store serves them before the gateway calls again. A monitor key
 * may only challenge and read the status (MONITOR_OPS): a monitor proves pieces are held, it
 * never reads, writes or deletes them.
 */
const FILE = 'monitor-keys.json';
const OPS: ReadonlySet<ShardOp> = new Set(MONITOR_OPS);

export async function loadMonitorKeys(dir: string): Promise<TrustedKey[]> {
  try {
    return toTrusted(JSON.parse(await readFile(join(dir, FILE), 'utf8')) as unknown);
  } catch {
    // No file (no monitors yet) or a damaged one: no monitor is served until the gateway lists them again.
    return [];
  }
}

/** Validate and persist (atomically) the whole list; the keys to serve from now on. */
export async function saveMonitorKeys(dir: string, body: unknown): Promise<TrustedKey[]> {
  const list = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list) || list.length > MAX_MONITOR_KEYS) throw new RequestError(400, 'ERR_BAD_KEY', `keys must be an array of at most ${MAX_MONITOR_KEYS} public Ed25519 JWKs`);
  let keys: TrustedKey[];
  try {
    keys = toTrusted(list);
  } catch (err) {
    throw new RequestError(400, 'ERR_BAD_KEY', (err as Error).message, { cause: err });
  }
  const tmp = join(dir, `${FILE}.tmp${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', 0o640);
  try {
    await fh.writeFile(JSON.stringify(list.map((j: Record<string, unknown>) => ({ kty: 'OKP', crv: 'Ed25519', x: j.x, ...(typeof j.kid === 'string' && { kid: j.kid }) })), null, 2));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, FILE)).catch(async (err: unknown) => {
    await unlink(tmp).catch(() => undefined);
    throw err;
  });
  return keys;
}

function toTrusted(list: unknown): TrustedKey[] {
  if (!Array.isArray(list)) throw new Error('not a list');
  return list.map((jwk: Record<string, unknown>) =>
    trustedJwk({ kty: jwk?.kty, crv: jwk?.crv, x: jwk?.x, d: jwk?.d, kid: typeof jwk?.kid === 'string' ? `monitor ${jwk.kid}` : undefined }, 'monitor key', OPS));
}
