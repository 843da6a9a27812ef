/**
 * A real PostgreSQL server for tests: Debian's postgresql-15 (what `.ci/run` installs), in a
 * fresh temp folder, on a free loopback port, stopped and removed when the test file ends.
 * One server per test file; `freshDatabase` gives each test a database of its own.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_BIN, PG_INSTALL_HINT, postgresInstalled, startLocalPostgres, type LocalPostgres } from '../../bench/local-postgres.js';
import { onClose } from './registry.js';

export { PG_BIN, postgresInstalled };

/**
 * Why tests that need PostgreSQL should skip, or undefined when they should run. In CI
 * (CI=true) they always run, so a missing server fails them loudly instead of hiding them.
 */
export function postgresSkipReason(): string | undefined {
  if (postgresInstalled() || process.env.CI === 'true' || process.env.CI === '1') return undefined;
  return `PostgreSQL is not installed at ${PG_BIN} (${PG_INSTALL_HINT}, or set SHARDGATE_PG_BIN)`;
}

export type PgServer = LocalPostgres;

/** Starts a server; it is stopped and its folder removed when the calling test file ends. */
export async function startPostgres(): Promise<PgServer> {
  if (!postgresInstalled()) {
    throw new Error(`PostgreSQL is needed by this test but is not installed at ${PG_BIN}: ${PG_INSTALL_HINT}`);
  }
  const server = await startLocalPostgres({
    prefix: 'shardgate-pg-',
    initdbArgs: ['--no-sync'],
    stopMode: 'immediate',
    // Durability is not under test here, speed is: a test database lives for seconds.
    // Several gateways' pools (16 connections each) share one server in multi-gateway tests.
    settings: [
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 300',
      'shared_buffers = 64MB',
      'max_pred_locks_per_transaction = 256',
    ],
  });
  onClose(server.stop, 'file');
  return server;
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
