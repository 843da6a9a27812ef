/**
 * A throwaway PostgreSQL server: Debian's postgresql-15 (SHARDGATE_PG_BIN elsewhere),
 * initialised in a temp folder and started on a free loopback port with trust auth, for the
 * benches (bench/postgres.ts) and the tests (test/helpers/postgres.ts), which differ only in
 * the settings they give it. Stopped and removed by stop(), and at the latest when the process
 * exits.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the server binaries are; SHARDGATE_PG_BIN points elsewhere (another version, a Mac). */
export const PG_BIN = process.env.SHARDGATE_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const PG_INSTALL_HINT = 'apt-get install -y --no-install-recommends postgresql-15';

export function postgresInstalled(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
}

export interface LocalPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth on loopback). */
  url: string;
  port: number;
  stop: () => Promise<void>;
}

export interface LocalPostgresOptions {
  /** Of the temp folder's name. */
  prefix: string;
  /** Lines of postgresql.auto.conf besides where it listens. */
  settings: string[];
  /** More initdb arguments (--no-sync for a server whose durability is not under test). */
  initdbArgs?: string[];
  /** pg_ctl's shutdown mode for stop(). */
  stopMode?: 'fast' | 'immediate';
}

// A server whose process dies before it is stopped must not outlive it.
const running = new Set<{ dir: string; data: string }>();
process.once('exit', () => {
  for (const s of running) {
    spawnSync(...asPostgres(join(PG_BIN, 'pg_ctl'), ['stop', '-D', s.data, '-m', 'immediate', '-s']), { stdio: 'ignore' });
    rmSync(s.dir, { recursive: true, force: true });
  }
});

export async function startLocalPostgres(opts: LocalPostgresOptions): Promise<LocalPostgres> {
  if (!postgresInstalled()) throw new Error(`PostgreSQL is not installed at ${PG_BIN}: ${PG_INSTALL_HINT}, or set SHARDGATE_PG_BIN`);
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  const data = join(dir, 'data');
  const entry = { dir, data };
  running.add(entry);
  const stop = async (mode = opts.stopMode ?? 'fast'): Promise<void> => {
    if (!running.delete(entry)) return;
    if (existsSync(join(data, 'postmaster.pid'))) {
      await run(...asPostgres(join(PG_BIN, 'pg_ctl'), ['stop', '-D', data, '-m', mode, '-s'])).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const owner = postgresOwner();
    if (owner) chownSync(dir, owner.uid, owner.gid);
    await run(...asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', ...(opts.initdbArgs ?? [])]));
    const conf = join(data, 'postgresql.auto.conf');
    writeFileSync(conf, ["listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`, ...opts.settings, "log_min_messages = 'warning'", ''].join('\n'));
    if (owner) chownSync(conf, owner.uid, owner.gid);
    const port = await startOnFreePort(data, join(dir, 'server.log'));
    let stopped: Promise<void> | undefined;
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop: () => (stopped ??= stop()) };
  } catch (err) {
    await stop('immediate');
    throw err;
  }
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

/** PostgreSQL refuses to run as root: as root, its tools run as the `postgres` user. */
function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (u.status !== 0 || g.status !== 0) {
    throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as (the postgresql-15 package creates it)');
  }
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function asPostgres(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args];
  return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
}
