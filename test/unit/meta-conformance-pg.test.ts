/** The metadata conformance suite on PostgreSQL 15: a real server, a fresh database per test. */
import type { MetaStore } from '../../gateway/meta/meta-store.js';
import { openPg } from '../../gateway/meta/pg/open.js';
import { openPgMetaStore } from '../../gateway/meta/pg/open-store.js';
import { describeMetaConformance, describeMetaRaces } from '../helpers/meta-conformance.js';
import { freshDatabase, postgresSkipReason, startPostgres, type PgServer } from '../helpers/postgres.js';

const skip = postgresSkipReason();

describe.skipIf(skip)(`PostgreSQL${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: PgServer;
  let template = '';
  beforeAll(async () => {
    server = await startPostgres();
    // Migrated once; each test gets a copy.
    template = await freshDatabase(server.url);
    await (await openPg(template, { max: 1 })).close();
  });
  const fresh = (): Promise<string> => freshDatabase(server.url, template);
  const close = (meta: MetaStore): Promise<void> => meta.close();

  describeMetaConformance('PostgreSQL', async () => openPgMetaStore(await fresh(), { max: 4 }), close);
  // Two gateways: two pools on one new database, with a gateway's 16 connections each, so
  // that 32 racers are all in the database at once.
  describeMetaRaces('PostgreSQL, two gateways', async () => {
    const url = await fresh();
    return [await openPgMetaStore(url, { max: 16 }), await openPgMetaStore(url, { max: 16 })];
  }, close);
});
