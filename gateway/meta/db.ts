import Database from 'better-sqlite3';
import { closeSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { securePrivateFolder } from '../secrets.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/**
 * The only place a metadata `Database` is opened. WAL lets readers (GET, LIST) run while a
 * write commits; `synchronous = FULL` because a commit is what acknowledges a client's write.
 * Its folder is the gateway's private data folder (0700, files 0600); the file is created
 * 0600 before SQLite opens it, as SQLite gives the -wal and -shm files the database's mode.
 */
export function openMetaDb(file: string): Db {
  securePrivateFolder(dirname(file));
  closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new Error(`metadata schema v${current} is newer than this shardgate (v${latest}); upgrade shardgate`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

/** Connections that commit with `synchronous = NORMAL` for good (group commit). */
const relaxedDbs = new WeakSet<Db>();

const immediateRunners = new WeakMap<Db, Database.Transaction<(fn: () => unknown) => unknown>>();

/**
 * `fn` in a BEGIN IMMEDIATE transaction (a savepoint inside one already open), through one
 * wrapper per database: better-sqlite3 builds four wrapper functions per db.transaction()
 * call, a cost every PUT and DELETE paid for nothing.
 */
export function immediate<T>(db: Db, fn: () => T): T {
  let run = immediateRunners.get(db);
  if (!run) immediateRunners.set(db, (run = db.transaction((f: () => unknown) => f())));
  return run.immediate(fn) as T;
}

/** `db` commits with `synchronous = NORMAL` from now on, and never goes back (group commit). */
export function relaxForGood(db: Db): void {
  db.pragma('synchronous = NORMAL');
  relaxedDbs.add(db);
}

/**
 * Run a write that must survive a crash of this process but not a power loss: committed
 * without its own fsync (the next durable commit's WAL fsync covers it). For bookkeeping
 * the event loop should not wait a disk flush for; never for what acknowledges a client.
 */
export function withoutFsync<T>(db: Db, fn: () => T): T {
  // Already NORMAL (group commit, gateway/meta/group-commit.ts): nothing to switch or restore.
  // Known without asking SQLite: the pragma is parsed anew on every call, and the write path
  // comes here for every blob.
  if (relaxedDbs.has(db) || (db.pragma('synchronous', { simple: true }) as number) <= 1) return fn();
  db.pragma('synchronous = NORMAL');
  try {
    return fn();
  } finally {
    db.pragma('synchronous = FULL');
  }
}
