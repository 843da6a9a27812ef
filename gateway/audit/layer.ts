import type Koa from 'koa';
import type { AdminContext } from '../admin/context.js';
import type { Metrics } from '../metrics.js';
import type { PipelineContext } from '../pipeline/context.js';
import type { NodeMonitor } from '../repair/node-monitor.js';
import type { RepairWorker } from '../repair/worker.js';
import { reportRoutes } from '../reports/http.js';
import { ReportLog } from '../reports/log.js';
import { ReportPublisher, type ServiceSource } from '../reports/publisher.js';
import type { RootCredentials } from '../secrets.js';
import { ShardClient } from '../shards/client.js';
import type { GatewayKey } from '../shards/keys.js';
import type { PinBook } from '../shards/pins.js';
import { Snapshotter } from '../snapshot/snapshotter.js';
import type { JournalShipper } from '../journal/shipper.js';
import { Auditor } from './auditor.js';
import { trustConfig, type TrustConfig } from './config.js';
import { Scrubber } from './scrub.js';
import type { AuditStore } from '../meta/audit-store.js';
import type { BackgroundJob } from '../cluster/leased-job.js';

/** The second half of the trust layer: audits, scrub, signed reports, metadata snapshots. */
export interface AuditLayer {
  config: TrustConfig;
  store: AuditStore;
  auditor: Auditor;
  scrubber: Scrubber;
  reports: ReportLog;
  publisher: ReportPublisher;
  /** Only where the metadata ships snapshots (MetaStore.snapshots). */
  snapshotter: Snapshotter | undefined;
  /** The public report log and its key (mounted before the admin API). */
  publicRoutes: Koa.Middleware;
  /** Audits, scrub, reports and snapshots, started by the background (gateway/cluster/background.ts). */
  jobs: BackgroundJob[];
  /** Releases what the jobs share; the jobs are stopped before. */
  close(): Promise<void>;
}

export interface AuditLayerOptions {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  signingKey: GatewayKey;
  pins: PinBook;
  rootCredentials: RootCredentials;
  monitor?: NodeMonitor;
  repair?: RepairWorker;
  /** The metadata journal, whose replay starts where a snapshot says. */
  journal?: JournalShipper;
  metrics?: Metrics;
  log?: (line: string) => void;
  /** Bytes held and served per store, for the reports' service figures (the economy pays by them). */
  service?: ServiceSource;
}

/** Build audits, scrub, report publishing and snapshots (`jobs`, started by the background). */
export async function buildAuditLayer(ctx: PipelineContext, opts: AuditLayerOptions): Promise<AuditLayer> {
  const config = trustConfig(opts.env);
  const log = opts.log ?? ((line: string) => console.log(line));
  const nodes = ctx.meta.nodes;
  const store = ctx.meta.audit;
  await store.dropStaleRoots();
  // Its own small pools: challenges never queue behind uploads.
  const client = new ShardClient({ identity: opts.signingKey.tls, pins: opts.pins, connections: 2 });
  const results = opts.metrics?.counter('shardgate_audit_results_total', 'Audit challenges by node and outcome (pass, wrong, missing, timeout, error).');
  const scrubBad = opts.metrics?.counter('shardgate_scrub_bad_pieces_total', 'Pieces the scrub found damaged or missing, by node.');
  const auditor = new Auditor(ctx.meta, nodes, store, client, config, {
    results, log,
    onLost: () => opts.repair?.requestInBackground('drain'),
  });
  const scrubber = new Scrubber(ctx.meta, nodes, store, ctx.io, config.scrubRate, config.scrubIntervalMs, { bad: scrubBad, log });
  const reports = new ReportLog(ctx.meta.reports, opts.signingKey);
  const publisher = new ReportPublisher(nodes, store, opts.monitor, reports, config.reportPeriodMs, undefined, opts.service);
  const snapshots = ctx.meta.snapshots;
  const snapshotter = snapshots && new Snapshotter(ctx, snapshots, nodes, client, {
    dataDir: opts.dataDir, intervalMs: config.snapshotIntervalMs, kept: config.snapshotsKept, rootCredentials: opts.rootCredentials, pins: opts.pins, log,
    ...(opts.journal && { journal: opts.journal }),
  });
  opts.metrics?.collect(async () => [
    { name: 'shardgate_report_log_entries', help: 'Entries in the signed report log.', type: 'gauge', samples: [{ value: await reports.size() }] },
    { name: 'shardgate_scrub_pieces_checked_total', help: 'Pieces the scrub has checked since the gateway started.', type: 'counter', samples: [{ value: scrubber.stats.piecesChecked }] },
    { name: 'shardgate_lying_pieces_total', help: 'Pieces a shard-store served with a valid checksum that failed the proof against the root kept at write time, by node.', type: 'counter',
      samples: [...ctx.health.liesSeen()].map(([node, value]) => ({ labels: { node }, value })) },
  ]);
  const jobs: BackgroundJob[] = [auditor, scrubber, publisher, ...(snapshotter ? [snapshotter] : [])];
  return {
    config, store, auditor, scrubber, reports, publisher, snapshotter, jobs,
    publicRoutes: reportRoutes(reports, opts.signingKey.publicJwk),
    close: async () => {
      await client.close();
    },
  };
}

const layers = new WeakMap<AdminContext, AuditLayer>();

/**
 * Admin handlers get an AdminContext, which the first half of the trust layer defines; the
 * audit layer is attached to it here rather than by widening that interface.
 */
export function attachAuditLayer(admin: AdminContext, layer: AuditLayer): void {
  layers.set(admin, layer);
}

export function auditLayerOf(admin: AdminContext): AuditLayer | undefined {
  return layers.get(admin);
}
