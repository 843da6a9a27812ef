import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class ConfigError extends Error {
  code = 'ERR_CONFIG';
}

/**
 * The master key wraps every data key. It lives in SHARDGATE_MASTER_KEY (64 hex chars or
 * base64 of 32 bytes), in the file SHARDGATE_MASTER_KEY_FILE, or in `<dir>/master.key`
 * (created on first start, mode 0600) — never in the metadata database.
 */
export function loadMasterKey(dir: string, env: NodeJS.ProcessEnv): { key: Buffer; source: string; created: boolean } {
  const inline = env.SHARDGATE_MASTER_KEY;
  if (inline) return { key: decodeKey(inline, 'SHARDGATE_MASTER_KEY'), source: 'SHARDGATE_MASTER_KEY', created: false };
  const file = env.SHARDGATE_MASTER_KEY_FILE ?? join(dir, 'master.key');
  if (existsSync(file)) return { key: decodeKey(readFileSync(file, 'utf8').trim(), file), source: file, created: false };
  if (env.SHARDGATE_MASTER_KEY_FILE) throw new ConfigError(`master key file ${file} does not exist`);
  mkdirSync(dir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, source: file, created: true };
}

function decodeKey(text: string, where: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new ConfigError(`${where}: the master key must be 32 bytes (64 hex characters or base64)`);
  return key;
}

export interface RootCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  source: 'env' | 'file' | 'generated';
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Root credentials: SHARDGATE_ROOT_USER / SHARDGATE_ROOT_PASSWORD when set; otherwise the
 * pair generated on first start and kept in `<dir>/root-credentials.json` (mode 0600).
 * No well-known default password, so a forgotten setting never leaves an open door.
 */
export function loadRootCredentials(dir: string, env: NodeJS.ProcessEnv): RootCredentials {
  const user = env.SHARDGATE_ROOT_USER;
  const pass = env.SHARDGATE_ROOT_PASSWORD;
  if (user || pass) {
    if (!user || !pass) throw new ConfigError('set both SHARDGATE_ROOT_USER and SHARDGATE_ROOT_PASSWORD, or neither');
    if (user.length < 3) throw new ConfigError('SHARDGATE_ROOT_USER must be at least 3 characters');
    if (pass.length < 8) throw new ConfigError('SHARDGATE_ROOT_PASSWORD must be at least 8 characters');
    return { accessKeyId: user, secretAccessKey: pass, source: 'env' };
  }
  const file = join(dir, 'root-credentials.json');
  if (existsSync(file)) {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    return { ...j, source: 'file' };
  }
  mkdirSync(dir, { recursive: true });
  const id = Array.from(randomBytes(20), (b) => ALNUM[b % ALNUM.length]).join('');
  const secret = randomBytes(30).toString('base64').replace(/[+/=]/g, '').slice(0, 40);
  writeFileSync(file, JSON.stringify({ accessKeyId: id, secretAccessKey: secret }, null, 2) + '\n', { mode: 0o600 });
  return { accessKeyId: id, secretAccessKey: secret, source: 'generated' };
}
