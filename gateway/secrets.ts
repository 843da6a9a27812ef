import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
  if (existsSync(file)) {
    // The operator's own file is the operator's to set; say so when others can read it.
    if (env.SHARDGATE_MASTER_KEY_FILE && !isWindows && (statSync(file).mode & 0o077) !== 0) {
      console.warn(`warning: the master key file ${file} is readable by other users (mode ${modeText(statSync(file).mode)}): chmod 600 it`);
    }
    return { key: decodeKey(readFileSync(file, 'utf8').trim(), file), source: file, created: false };
  }
  if (env.SHARDGATE_MASTER_KEY_FILE) throw new ConfigError(`master key file ${file} does not exist`);
  ensurePrivateDir(dir);
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
  ensurePrivateDir(dir);
  const id = Array.from(randomBytes(20), (b) => ALNUM[b % ALNUM.length]).join('');
  const secret = randomBytes(30).toString('base64').replace(/[+/=]/g, '').slice(0, 40);
  writeFileSync(file, JSON.stringify({ accessKeyId: id, secretAccessKey: secret }, null, 2) + '\n', { mode: 0o600 });
  return { accessKeyId: id, secretAccessKey: secret, source: 'generated' };
}

const isWindows = process.platform === 'win32';
const modeText = (mode: number): string => (mode & 0o777).toString(8).padStart(3, '0');

/**
 * Create `dir` (and its parents) so that only its owner may enter it: 0700. A folder that
 * exists with wider rights (an older release, the default umask) is tightened, and the log
 * says so. Everything under it is then out of other users' reach, whatever its own mode.
 */
export function ensurePrivateDir(dir: string, log: (line: string) => void = console.log): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (isWindows) return;
  const mode = statSync(dir).mode;
  if ((mode & 0o077) === 0) return;
  chmodSync(dir, mode & 0o700);
  log(`tightened ${dir} from mode ${modeText(mode)} to ${modeText(mode & 0o700)}: it holds secrets and metadata`);
}

/**
 * The files of a gateway's data folder that hold secrets or metadata: the metadata (meta.db,
 * its -wal/-shm/-journal, copies kept or made by recovery and snapshots), the master key, the
 * root credentials and the signing key. Not the public key, which the shard-stores are given;
 * and nothing else, should the folder be one the operator also uses for other files.
 */
const PRIVATE_FILES = /^(?:meta\.db(?:-wal|-shm|-journal)?|meta\.db\.(?:before-recover-\d+|recover[0-9a-f]+)|master\.key|root-credentials\.json|gateway-key\.jwk(?:\.tmp[0-9a-f]+)?|snapshot-[0-9a-f]+\.db\.tmp(?:-journal|-wal)?)$/;

/**
 * The gateway's data folder: owner-only (0700), and each of its secret or metadata files
 * (PRIVATE_FILES) owner-only (0600). A folder or files an older release created readable by
 * others are tightened, and the log says so.
 */
export function securePrivateFolder(dir: string, log: (line: string) => void = console.log): void {
  ensurePrivateDir(dir, log);
  if (isWindows) return;
  const tightened: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!PRIVATE_FILES.test(name)) continue;
    const path = join(dir, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    // Symbolic links are left alone: chmod would change what they point to.
    if (!st?.isFile() || (st.mode & 0o077) === 0) continue;
    chmodSync(path, st.mode & 0o600);
    tightened.push(`${name} (was ${modeText(st.mode)})`);
  }
  if (tightened.length) log(`tightened ${tightened.length} file(s) in ${dir} to owner-only (600): ${tightened.join(', ')}`);
}
