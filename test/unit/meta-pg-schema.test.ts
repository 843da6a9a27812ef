import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMetaDb } from '../../gateway/meta/db.js';
import { PgDb } from '../../gateway/meta/pg/db.js';
import { MetaSchemaTooNewError, migratePg, pgSchemaVersion } from '../../gateway/meta/pg/migrate.js';
import { MetaUnreachableError, openPg } from '../../gateway/meta/pg/open.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../gateway/meta/pg/schema.js';
import { freshDatabase, postgresSkipReason, startPostgres, type PgServer } from '../helpers/postgres.js';

const skip = postgresSkipReason();

describe.skipIf(skip)(`PostgreSQL metadata schema${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: PgServer;
  const open: PgDb[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((db) => db.close()));
  });
  const openHere = async (url: string): Promise<PgDb> => {
    const db = await openPg(url, { max: 4 });
    open.push(db);
    return db;
  };

  it('creates the SQLite tables and columns, without the journal and snapshots', async () => {
    const db = await openHere(await freshDatabase(server.url));
    const pgCols = await db.read((sql) =>
      sql.query<{ t: string; c: string }>(
        `SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()`,
      ),
    );
    const dir = mkdtempSync(join(tmpdir(), 'pg-schema-'));
    try {
      const lite = openMetaDb(join(dir, 'meta.db'));
      const tables = (lite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as Array<{ name: string }>)
        .map((r) => r.name)
        // SQLite-only: the journal shipped to the stores, snapshots, and the id high-water mark
        // (PostgreSQL's sequences never hand out an id twice).
        .filter((t) => !['journal_changes', 'journal_entries', 'snapshots', 'id_high_water'].includes(t));
      const liteCols = tables.flatMap((t) => (lite.pragma(`table_info(${t})`) as Array<{ name: string }>).map((c) => `${t}.${c.name}`));
      lite.close();
      const have = pgCols.map((r) => `${r.t}.${r.c}`).filter((c) => !c.startsWith('schema_version.'));
      // bucket_usage.slot: PostgreSQL spreads a bucket's count over rows (schema.ts).
      expect(have.sort()).toEqual([...liteCols, 'bucket_usage.slot'].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records the version, and a second open applies nothing', async () => {
    const url = await freshDatabase(server.url);
    const db = await openHere(url);
    expect(await pgSchemaVersion(db)).toBe(PG_SCHEMA_VERSION);
    expect(await migratePg(db)).toBe(PG_SCHEMA_VERSION);
    const rows = await db.read((sql) => sql.query('SELECT version FROM schema_version'));
    expect(rows).toEqual(PG_MIGRATIONS.map((m) => ({ version: m.version })));
  });

  it('gateways starting together migrate once and all open', async () => {
    const url = await freshDatabase(server.url);
    const dbs = await Promise.all([1, 2, 3, 4].map(() => openHere(url)));
    for (const db of dbs) expect(await pgSchemaVersion(db)).toBe(PG_SCHEMA_VERSION);
  });

  it('a migration cut short runs again from its first statement', async () => {
    const url = await freshDatabase(server.url);
    const db = new PgDb(url, { max: 2 });
    open.push(db);
    const half = PG_MIGRATIONS[0]!.statements.slice(0, 7);
    await migratePg(db, [{ version: 1, name: 'cut short', statements: half }]).catch(() => undefined);
    await db.write((sql) => sql.run('DELETE FROM schema_version'));
    expect(await migratePg(db)).toBe(PG_SCHEMA_VERSION);
  });

  it('refuses a database a newer shardgate migrated, saying so', async () => {
    const url = await freshDatabase(server.url);
    const db = await openHere(url);
    await db.write((sql) => sql.run(`INSERT INTO schema_version(version, name, applied_at) VALUES ($1, 'from the future', 0)`, [PG_SCHEMA_VERSION + 1]));
    const err = await openPg(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetaSchemaTooNewError);
    expect((err as Error).message).toMatch(/newer than this shardgate knows.*upgrade/);
  });

  it('says what to check when the server cannot be reached', async () => {
    const port = new URL(server.url).port;
    const down = `postgres://postgres:hunter2@127.0.0.1:${Number(port) === 1 ? 2 : 1}/x`;
    const err = await openPg(down, { connectTimeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MetaUnreachableError);
    expect((err as Error).message).toMatch(/runs and listens/);
    expect((err as Error).message).not.toContain('hunter2');
    const u = new URL(server.url);
    u.pathname = '/no_such_database';
    const missing = await openPg(u.toString()).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/CREATE DATABASE/);
  });

  it('refuses a database not encoded in UTF-8', async () => {
    const admin = new PgDb(server.url, { max: 1 });
    open.push(admin);
    await admin.query(`CREATE DATABASE latin TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`);
    const u = new URL(server.url);
    u.pathname = '/latin';
    await expect(openPg(u.toString())).rejects.toThrow(/encoded LATIN1; create it with ENCODING 'UTF8'/);
  });

  it('orders text bytewise, as SQLite does and S3 lists', async () => {
    const db = await openHere(await freshDatabase(server.url));
    const keys = ['a', 'B', 'é', 'z', 'a/b', 'a-b', 'Z', '~', '日本'];
    await db.write(async (sql) => {
      for (const k of keys) await sql.run('INSERT INTO trust_state(key, value) VALUES ($1, $1)', [k]);
    });
    const got = await db.read((sql) => sql.query<{ key: string }>('SELECT key FROM trust_state ORDER BY key'));
    const bytewise = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(got.map((r) => r.key)).toEqual(bytewise);
  });

  it('gives row ids from sequences', async () => {
    const db = await openHere(await freshDatabase(server.url));
    const ids = await db.write(async (sql) => {
      const a = await sql.one<{ id: number }>(`INSERT INTO audits(node_id, at, shard_id, outcome) VALUES ('n', 1, 's', 'pass') RETURNING id`);
      const b = await sql.one<{ id: number }>(`INSERT INTO audits(node_id, at, shard_id, outcome) VALUES ('n', 2, 's', 'pass') RETURNING id`);
      return [a!.id, b!.id];
    });
    expect(typeof ids[0]).toBe('number');
    expect(ids[1]).toBeGreaterThan(ids[0]!);
  });
});
