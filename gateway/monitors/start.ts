import type Koa from 'koa';
import type { LedgerBook } from '../economy/book.js';
import { eraWindow } from '../ledger/index.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { ReportLog } from '../reports/log.js';
import { ShardClient } from '../shards/client.js';
import type { GatewayKey } from '../shards/keys.js';
import type { PinBook } from '../shards/pins.js';
import { monitorRoutes } from './http.js';
import { Monitors } from './service.js';

export interface MonitorsLayer {
  monitors: Monitors;
  /** The monitors' endpoints (mounted beside the public logs). */
  routes: Koa.Middleware;
  close(): Promise<void>;
}

/**
 * Independent monitors of a gateway: the registry read from the report log, the keys listed on
 * the stores, and the endpoints monitors use. With the economy on, statements of an era
 * already settled are refused (they would not count).
 */
export async function startMonitors(meta: MetaStore, reports: ReportLog, key: GatewayKey, pins: PinBook, book: LedgerBook | undefined): Promise<MonitorsLayer> {
  // Its own small pool: listing keys never queues behind uploads.
  const client = new ShardClient({ identity: key.tls, pins, connections: 1 });
  const monitors = new Monitors(meta.reports, reports, {
    gatewayKid: key.kid, nodes: meta.nodes, audit: meta.audit, pins, client,
    openSince: () => (book?.on ? eraWindow(book.current.state, book.current.settledEra + 1).start : undefined),
    log: (line) => console.log(line),
  });
  await monitors.sync();
  monitors.start();
  return {
    monitors,
    routes: monitorRoutes(monitors),
    close: async () => {
      await monitors.stop();
      await client.close();
    },
  };
}
