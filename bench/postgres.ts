/**
 * A PostgreSQL server for `npm run bench:meta`: the one at SHARDGATE_BENCH_PG_URL, or else
 * Debian's postgresql-15 (SHARDGATE_PG_BIN elsewhere) started in a temp folder on a free
 * loopback port, as the tests start theirs (test/helpers/postgres.ts), but with the settings
 * a production server keeps (fsync and synchronous commit on): commit rates mean something
 * only when a COMMIT is durable. Each measurement gets a database of its own, dropped after.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { BenchError } from './procs.js';

const run = promisify(execFile);
const PG_BIN = process.env.SHARDGATE_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface BenchPg {
  /** Where it came from, for the printout. */
  label: string;
  /** A new empty database on the server; dropped by stop(). */
  database(): Promise<string>;
  stop(): Promise<void>;
}

export async function benchPostgres(): Promise<BenchPg> {
  const given = process.env.SHARDGATE_BENCH_PG_URL;
  if (given) return withDatabases(given, `SHARDGATE_BENCH_PG_URL (${new URL(given).host})`, async () => undefined);
  if (!existsSync(join(PG_BIN, 'initdb'))) {
    throw new BenchError(`PostgreSQL is not installed at ${PG_BIN}: apt-get install -y postgresql-15, set SHARDGATE_PG_BIN, or point SHARDGATE_BENCH_PG_URL at a server`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-bench-pg-'));
  const data = join(dir, 'data');
  const owner = postgresOwner();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const stopServer = async (): Promise<void> => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      await run(...asPostgres(join(PG_BIN, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-s'])).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', () => {
    if (existsSync(join(data, 'postmaster.pid'))) spawnSync(...asPostgres(join(PG_BIN, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-s']), { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await run(...asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']));
    writeFileSync(join(data, 'postgresql.auto.conf'), [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      // Three gateways' pools (16 connections each) and the bench's own.
      'max_connections = 200',
      'shared_buffers = 256MB',
      'max_pred_locks_per_transaction = 256',
      // SHARDGATE_BENCH_PG_SYNC=off: COMMIT returns before its WAL flush (crash-safe, but the
      // last commits may be lost), to see how much of a rate is the disk's flush latency.
      ...(process.env.SHARDGATE_BENCH_PG_SYNC === 'off' ? ['synchronous_commit = off'] : []),
      "log_min_messages = 'warning'",
      '',
    ].join('\n'));
    if (owner) chownSync(join(data, 'postgresql.auto.conf'), owner.uid, owner.gid);
    const port = await freePort();
    await run(...asPostgres(join(PG_BIN, 'pg_ctl'), ['start', '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-s', '-o', `-p ${port}`]));
    return withDatabases(`postgres://postgres@127.0.0.1:${port}/postgres`, `PostgreSQL 15 started on port ${port} (fsync on, synchronous_commit ${process.env.SHARDGATE_BENCH_PG_SYNC === 'off' ? 'off' : 'on'})`, stopServer);
  } catch (err) {
    await stopServer();
    throw new BenchError(`PostgreSQL did not start: ${(err as Error).message}`, { cause: err });
  }
}

function withDatabases(url: string, label: string, stopServer: () => Promise<void>): BenchPg {
  const made: string[] = [];
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    label,
    async database() {
      const name = `shardgate_bench_${randomBytes(5).toString('hex')}`;
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      made.push(name);
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async stop() {
      await admin(async (c) => {
        for (const name of made) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      }).catch(() => undefined);
      await stopServer();
    },
  };
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
  if (u.status !== 0 || g.status !== 0) throw new BenchError('running as root, and there is no `postgres` user to run PostgreSQL as');
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function asPostgres(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args];
  return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
}
