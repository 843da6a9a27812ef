/**
 * How many small-object commits per second the PostgreSQL metadata takes with 16 in flight on
 * a fresh database: the first backup of a new user. Printed, never asserted on (the machine
 * is shared and loaded); what is asserted is that every PUT succeeds and the counts are exact.
 */
import type { PgDb } from '../../gateway/meta/pg/db.js';
import { openPg } from '../../gateway/meta/pg/open.js';
import { pgMetaStoreOn } from '../../gateway/meta/pg/open-store.js';
import type { PgMetaStore } from '../../gateway/meta/pg/store.js';
import { blobId, object, writingBlob } from '../helpers/meta-cases/fixtures.js';
import { freshDatabase, postgresSkipReason, startPostgres, type PgServer } from '../helpers/postgres.js';

const skip = postgresSkipReason();
const IN_FLIGHT = 16;
const PUTS = 800;

describe.skipIf(skip)(`PostgreSQL small-PUT commit rate${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: PgServer;
  let template = '';
  const open: Array<{ db: PgDb; meta: PgMetaStore }> = [];
  beforeAll(async () => {
    server = await startPostgres();
    template = await freshDatabase(server.url);
    await (await openPg(template, { max: 1 })).close();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.meta.close()));
  });

  /** `gateways` stores (pools of 16) on one fresh database, buckets b0..b{buckets-1} in it. */
  async function gatewaysOn(gateways: number, buckets: number): Promise<Array<{ db: PgDb; meta: PgMetaStore }>> {
    const url = await freshDatabase(server.url, template);
    const out = [];
    for (let i = 0; i < gateways; i++) {
      const db = await openPg(url, { max: IN_FLIGHT });
      const s = { db, meta: pgMetaStoreOn(db) };
      open.push(s);
      out.push(s);
    }
    for (let b = 0; b < buckets; b++) await out[0]!.meta.createBucket(`b${b}`, 'root', 'us-east-1');
    return out;
  }

  /**
   * PUTS small PUTs as the gateway makes them (a 'writing' blob, then the commit that makes
   * it live), IN_FLIGHT at a time per gateway, keys spread over the buckets.
   */
  async function measure(label: string, gateways: number, buckets: number): Promise<void> {
    const stores = await gatewaysOn(gateways, buckets);
    let next = 0;
    let failed = 0;
    let firstError: unknown;
    const started = performance.now();
    const worker = async (meta: PgMetaStore): Promise<void> => {
      for (let i = next++; i < PUTS; i = next++) {
        const blob = blobId(`${i.toString(36)}-`);
        try {
          await writingBlob(meta, blob, 100);
          await meta.commitObject(object(`b${i % buckets}`, `photos/${i}.jpg`, { blob, size: 100 }));
        } catch (err) {
          failed++;
          firstError ??= err;
        }
      }
    };
    await Promise.all(stores.flatMap(({ meta }) => Array.from({ length: IN_FLIGHT }, () => worker(meta))));
    const seconds = (performance.now() - started) / 1000;
    const retries = stores.reduce((n, s) => n + s.db.stats.retries, 0);
    console.log(`[put-rate] ${label}: ${Math.round((PUTS - failed) / seconds)} commits/s, ${PUTS - failed}/${PUTS} ok, ${failed} failed, ` +
      `${retries} retries, ${gateways * IN_FLIGHT} in flight`);
    if (firstError) console.log(`[put-rate] ${label}: first failure: ${(firstError as Error).message}`);
    expect(failed).toBe(0);
    // New keys under row locks: nothing to collide on, so nothing runs twice.
    expect(retries).toBe(0);
    let used = 0;
    for (let b = 0; b < buckets; b++) used += (await stores[0]!.meta.quotas.get(`b${b}`))!.used;
    expect(used).toBe(PUTS * 100);
  }

  it('one gateway, one bucket', () => measure('1 gateway, 1 bucket', 1, 1));
  it('one gateway, 16 buckets', () => measure('1 gateway, 16 buckets', 1, 16));
  it('two gateways, one bucket', () => measure('2 gateways, 1 bucket', 2, 1));
});
