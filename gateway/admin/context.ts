import type { NodePins } from '../meta/node-pins.js';
import type { NodeStore } from '../meta/nodes.js';
import type { Background } from '../cluster/background.js';
import type { MetaStore } from '../meta/store.js';
import type { MetricsHistory } from '../metrics-history.js';
import type { Metrics } from '../metrics.js';
import type { NodeMonitor } from '../repair/node-monitor.js';
import type { RepairWorker } from '../repair/worker.js';
import type { RootCredentials } from '../secrets.js';
import type { ShardNode } from '../shards/client.js';
import type { LedgerBook } from '../economy/book.js';
import type { Monitors } from '../monitors/service.js';

/** What admin handlers work with; built once per gateway process (gateway/server.ts). */
export interface AdminContext {
  rootCredentials: RootCredentials;
  meta: MetaStore;
  nodes: NodeStore;
  /** The shard-stores' pinned TLS keys. */
  pins: NodePins;
  monitor: NodeMonitor;
  repair: RepairWorker;
  metrics: Metrics;
  /** The last hour of the request metrics, for the console's activity charts. */
  activity?: MetricsHistory;
  /** SHARDGATE_METRICS_TOKEN: a bearer token that may read the metrics (and nothing else). */
  metricsToken: string | undefined;
  /** Make a node that just joined addressable by the data path. */
  registerNode(node: ShardNode): void;
  /** The provider economy (gateway/economy/), set once it is started; off without a genesis. */
  economy?: LedgerBook;
  /** Whether this gateway runs the background work now, and under which holder name (cluster/background.ts). */
  background?: Background;
  /** Independent monitors (gateway/monitors/), set once they are started. */
  monitors?: Monitors;
}

/** One admin request after authentication: path parameters, query and the JSON body. */
export interface AdminRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface AdminResponse {
  status?: number;
  body: unknown;
}

/**
 * One admin endpoint. Families of endpoints live in their own file (nodes.ts, repair.ts)
 * and are listed in routes.ts; a new family (audits, reports, recovery) adds its file and
 * one line there.
 */
export interface AdminRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Under /_shardgate/admin/v1, with `:name` parameters, e.g. `/nodes/:id/state`. */
  path: string;
  /** Names the endpoint in logs, e.g. `ListNodes`. */
  name: string;
  handle(req: AdminRequest, ctx: AdminContext): AdminResponse | Promise<AdminResponse>;
}
