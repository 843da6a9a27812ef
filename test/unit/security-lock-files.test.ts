/**
 * The gateway's data folder is locked down on start: the folder 0700, each secret or metadata
 * file 0600, whatever an older release left; other files, symbolic links and the public key
 * are left as they are.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMetaDb } from '../../gateway/meta/db.js';
import { ensurePrivateDir, securePrivateFolder } from '../../gateway/secrets.js';

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);
let root: string;
beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'sg-files-')); });
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(process.platform === 'win32')('the data folder', () => {
  test('a new folder and metadata are owner-only, the WAL and shared memory too', () => {
    const dir = join(root, 'a', 'gateway');
    const db = openMetaDb(join(dir, 'meta.db'));
    db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1)');
    for (const f of ['meta.db', 'meta.db-wal', 'meta.db-shm']) expect(mode(join(dir, f)), f).toBe('600');
    expect(mode(dir)).toBe('700');
    db.close();
  });

  test('an older folder is tightened, and the log names what changed; other files are left alone', () => {
    const dir = join(root, 'gw');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const files: Record<string, number> = {
      'meta.db': 0o644, 'meta.db-wal': 0o644, 'master.key': 0o640, 'root-credentials.json': 0o644, 'gateway-key.jwk': 0o600,
      'gateway-key.pub.jwk': 0o644, 'meta.db.before-recover-1700000000000': 0o644, 'notes.txt': 0o644, 'run.sh': 0o755,
    };
    for (const [name, m] of Object.entries(files)) {
      writeFileSync(join(dir, name), 'x');
      chmodSync(join(dir, name), m);
    }
    const outside = join(root, 'outside.txt');
    writeFileSync(outside, 'x');
    chmodSync(outside, 0o644);
    symlinkSync(outside, join(dir, 'master.key.link'));
    const log: string[] = [];
    securePrivateFolder(dir, (l) => log.push(l));
    expect(mode(dir)).toBe('700');
    for (const f of ['meta.db', 'meta.db-wal', 'master.key', 'root-credentials.json', 'gateway-key.jwk', 'meta.db.before-recover-1700000000000']) expect(mode(join(dir, f)), f).toBe('600');
    expect([mode(join(dir, 'gateway-key.pub.jwk')), mode(join(dir, 'notes.txt')), mode(join(dir, 'run.sh')), mode(outside)]).toEqual(['644', '644', '755', '644']);
    expect(log).toEqual([
      expect.stringMatching(/^tightened .*gw from mode 755 to 700/),
      expect.stringMatching(/^tightened 5 file\(s\) in .*gw to owner-only \(600\): .*master\.key \(was 640\)/),
    ]);
    // Nothing more to say the next time.
    log.length = 0;
    securePrivateFolder(dir, (l) => log.push(l));
    ensurePrivateDir(dir, (l) => log.push(l));
    expect(log).toEqual([]);
  });
});
