import type { MetaStore } from '../meta-store.js';
import { PgAuditStore } from './audit-store.js';
import { PgCompletedUploadStore } from './completed-uploads.js';
import type { PgDb, PgDbOptions } from './db.js';
import { PgLeaseStore } from './leases.js';
import { PgLedgerLogStore } from './ledger-log.js';
import { PgNodePins } from './node-pins.js';
import { PgNodeStore } from './nodes.js';
import { PgNotificationStore } from './notifications.js';
import { openPg } from './open.js';
import { PgBucketQuotaStore } from './quota.js';
import { PgRepairStore } from './repair.js';
import { PgReportStore } from './reports.js';
import { PgSseCStore } from './sse-c.js';
import { PgMetaStore } from './store.js';

/**
 * The metadata of a gateway on the PostgreSQL database at `url` (postgres://…), shared with
 * every other gateway pointed at it: the schema brought up to date (migrate.ts), then the
 * store with its concern stores, all on one pool.
 */
export async function openPgMetaStore(url: string, opts: PgDbOptions = {}): Promise<MetaStore> {
  return pgMetaStoreOn(await openPg(url, opts));
}

/** The store on a database already open and migrated; closing the store closes `db`. */
export function pgMetaStoreOn(db: PgDb): PgMetaStore {
  return new PgMetaStore(db, {
    nodes: new PgNodeStore(db),
    repairs: new PgRepairStore(db),
    audit: new PgAuditStore(db),
    sseC: new PgSseCStore(db),
    completedUploads: new PgCompletedUploadStore(db),
    reports: new PgReportStore(db),
    quotas: new PgBucketQuotaStore(db),
    notifications: new PgNotificationStore(db),
    ledger: new PgLedgerLogStore(db),
    leases: new PgLeaseStore(db),
    nodePins: (log) => PgNodePins.open(db, log),
  });
}
