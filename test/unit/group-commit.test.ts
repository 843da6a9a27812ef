import Database from 'better-sqlite3';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMetaDb, withoutFsync, type Db } from '../../gateway/meta/db.js';
import { GroupCommit } from '../../gateway/meta/group-commit.js';

describe('group commit', () => {
  let dir: string;
  let db: Db;
  let opened: GroupCommit[] = [];
  const groupCommit = (wal: string, file: string): GroupCommit => {
    const gc = new GroupCommit(db, wal, file);
    opened.push(gc);
    return gc;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
    db = openMetaDb(join(dir, 'meta.db'));
    db.exec('CREATE TABLE t (v INTEGER)');
  });
  afterEach(async () => {
    await Promise.all(opened.map((gc) => gc.close()));
    opened = [];
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (v: number): void => void db.prepare('INSERT INTO t (v) VALUES (?)').run(v);

  it('commits without a flush each; durable() flushes the WAL once for every waiter at that moment', async () => {
    const gc = groupCommit(join(dir, 'meta.db-wal'), join(dir, 'meta.db'));
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    await gc.durable();
    expect(gc.flushes).toBe(0); // nothing written, nothing to wait for
    // Eight requests commit, then all wait: one flush covers them, a second at most for late commits.
    const waits = Array.from({ length: 8 }, (_, i) => {
      insert(i);
      return gc.durable();
    });
    await Promise.all(waits);
    expect(gc.flushes).toBeGreaterThanOrEqual(1);
    expect(gc.flushes).toBeLessThanOrEqual(2);
    const before = gc.flushes;
    await gc.durable();
    expect(gc.flushes).toBe(before);
    insert(99);
    await gc.durable();
    expect(gc.flushes).toBe(before + 1);
  });

  it('a commit made while a flush runs waits for the next one', async () => {
    const gc = groupCommit(join(dir, 'meta.db-wal'), join(dir, 'meta.db'));
    insert(1);
    const first = gc.durable();
    insert(2); // after the first flush read its target
    const second = gc.durable();
    await Promise.all([first, second]);
    expect(gc.flushes).toBe(2);
  });

  it('keeps the WAL open between flushes, and flushes the new one when the path names another file', async () => {
    const wal = join(dir, 'meta.db-wal');
    const gc = groupCommit(wal, join(dir, 'meta.db'));
    insert(1);
    await gc.durable();
    insert(2);
    await gc.durable();
    expect(gc.flushes).toBe(2);
    // As when SQLite removed the WAL and made it again: the kept handle is let go, not flushed.
    renameSync(wal, `${wal}.old`);
    writeFileSync(wal, '');
    insert(3);
    await gc.durable();
    rmSync(wal);
    insert(4);
    await gc.durable(); // no WAL at all: the database file is flushed
    expect(gc.flushes).toBe(4);
  });

  it('a flush that fails rejects the waiters, so nothing is acknowledged', async () => {
    const gone = join(dir, 'no-such-dir');
    const gc = groupCommit(join(gone, 'x-wal'), join(gone, 'x'));
    insert(1);
    await expect(gc.durable()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('withoutFsync leaves a NORMAL connection NORMAL, and restores FULL otherwise', () => {
    const full = new Database(join(dir, 'other.db'));
    full.pragma('journal_mode = WAL');
    full.pragma('synchronous = FULL');
    withoutFsync(full, () => expect(full.pragma('synchronous', { simple: true })).toBe(1));
    expect(full.pragma('synchronous', { simple: true })).toBe(2);
    full.close();
    groupCommit(join(dir, 'meta.db-wal'), join(dir, 'meta.db'));
    withoutFsync(db, () => insert(3));
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
  });
});
