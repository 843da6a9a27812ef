import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { onClose } from './registry.js';

/**
 * A real PostgreSQL server for tests: Debian's postgresql-15 (what `.ci/run` installs), in a
 * fresh temp folder, on a free loopback port, stopped and removed when the test file ends.
 * One server per test file; `freshDatabase` gives each test a database of its own.
 */

const run = promisify(execFile);

/** Where the server binaries are; SHARDGATE_PG_BIN points elsewhere (another version, a Mac). */
export const PG_BIN = process.env.SHARDGATE_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const INSTALL_HINT = 'apt-get install -y --no-install-recommends postgresql-15';

export function postgresInstalled(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
}

/**
 * Why tests that need PostgreSQL should skip, or undefined when they should run. In CI
 * (CI=true) they always run, so a missing server fails them loudly instead of hiding them.
 */
export function postgresSkipReason(): string | undefined {
  if (postgresInstalled() || process.env.CI === 'true' || process.env.CI === '1') return undefined;
  return `PostgreSQL is not installed at ${PG_BIN} (${INSTALL_HINT}, or set SHARDGATE_PG_BIN)`;
}

export interface PgServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth on loopback). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

// A server whose test process dies before its afterAll must not outlive it.
const running = new Set<{ dir: string; data: string }>();
process.once('exit', () => {
  for (const s of running) {
    spawnSync(...asPostgres(join(PG_BIN, 'pg_ctl'), ['stop', '-D', s.data, '-m', 'immediate', '-s']), { stdio: 'ignore' });
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** Starts a server; it is stopped and its folder removed when the calling test file ends. */
export async function startPostgres(): Promise<PgServer> {
  if (!postgresInstalled()) {
    throw new Error(`PostgreSQL is needed by this test but is not installed at ${PG_BIN}: ${INSTALL_HINT}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const owner = postgresOwner();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const entry = { dir, data };
  running.add(entry);
  try {
    await run(...asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']));
    // Durability is not under test here, speed is: a test database lives for seconds.
    // Several gateways' pools (16 connections each) share one server in multi-gateway tests.
    writeFileSync(
      join(data, 'postgresql.auto.conf'),
      [
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 300',
        'shared_buffers = 64MB',
        'max_pred_locks_per_transaction = 256',
        "log_min_messages = 'warning'",
        '',
      ].join('\n'),
    );
    if (owner) chownSync(join(data, 'postgresql.auto.conf'), owner.uid, owner.gid);
    const port = await startOnFreePort(data, log);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => (stopped ??= stopServer(entry));
    onClose(stop, 'file');
    return { url, port, stop };
  } catch (err) {
    await stopServer(entry);
    throw err;
  }
}

/**
 * A new database on the server at `url`; returns its URL. Empty, or a copy of `template` (the
 * URL of a database nobody is connected to), which is much faster than migrating each one.
 */
export async function freshDatabase(url: string, template?: string): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const from = template === undefined ? '' : ` TEMPLATE ${client.escapeIdentifier(new URL(template).pathname.slice(1))}`;
    await client.query(`CREATE DATABASE ${name}${from}`);
  } finally {
    await client.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function startOnFreePort(data: string, log: string): Promise<number> {
  // The port is free when we ask and may be taken before the server binds it: try again.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await run(...asPostgres(join(PG_BIN, 'pg_ctl'), ['start', '-D', data, '-l', log, '-w', '-t', '60', '-s', '-o', `-p ${port}`]));
      return port;
    } catch (err) {
      if (attempt >= 3) {
        const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
        throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${tail}`, { cause: err });
      }
    }
  }
}

async function stopServer(entry: { dir: string; data: string }): Promise<void> {
  if (!running.delete(entry)) return;
  if (existsSync(join(entry.data, 'postmaster.pid'))) {
    await run(...asPostgres(join(PG_BIN, 'pg_ctl'), ['stop', '-D', entry.data, '-m', 'immediate', '-s'])).catch(() => undefined);
  }
  rmSync(entry.dir, { recursive: true, force: true });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user. */
function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) {
    throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as (the postgresql-15 package creates it)');
  }
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function asPostgres(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args];
  return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
}
