/**
 * A PostgreSQL server for `npm run bench:meta`: the one at SHARDGATE_BENCH_PG_URL, or else
 * a local one (local-postgres.ts), as the tests start theirs, but with the settings
 * a production server keeps (fsync and synchronous commit on): commit rates mean something
 * only when a COMMIT is durable. Each measurement gets a database of its own, dropped after.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_BIN, PG_INSTALL_HINT, postgresInstalled, startLocalPostgres } from './local-postgres.js';
import { BenchError } from './procs.js';

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
  if (!postgresInstalled()) {
    throw new BenchError(`PostgreSQL is not installed at ${PG_BIN}: ${PG_INSTALL_HINT}, set SHARDGATE_PG_BIN, or point SHARDGATE_BENCH_PG_URL at a server`);
  }
  const sync = process.env.SHARDGATE_BENCH_PG_SYNC === 'off' ? 'off' : 'on';
  try {
    const server = await startLocalPostgres({
      prefix: 'shardgate-bench-pg-',
      settings: [
        // Three gateways' pools (16 connections each) and the bench's own.
        'max_connections = 200',
        'shared_buffers = 256MB',
        'max_pred_locks_per_transaction = 256',
        // SHARDGATE_BENCH_PG_SYNC=off: COMMIT returns before its WAL flush (crash-safe, but the
        // last commits may be lost), to see how much of a rate is the disk's flush latency.
        ...(sync === 'off' ? ['synchronous_commit = off'] : []),
      ],
    });
    return withDatabases(server.url, `PostgreSQL 15 started on port ${server.port} (fsync on, synchronous_commit ${sync})`, server.stop);
  } catch (err) {
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
