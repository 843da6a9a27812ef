import type { AdminContext } from '../admin/context.js';
import { MetricsHistory } from '../metrics-history.js';
import { Metrics } from '../metrics.js';
import type { PipelineContext } from '../pipeline/context.js';
import type { RootCredentials } from '../secrets.js';
import { ShardClient, type ShardNode } from '../shards/client.js';
import type { GatewayKey } from '../shards/keys.js';
import type { NodePins } from '../meta/node-pins.js';
import { repairConfig } from './config.js';
import { DEFAULT_MONITOR_OPTIONS, NodeMonitor, ObservedHealth } from './node-monitor.js';
import { RepairWorker } from './worker.js';
import type { BackgroundJob } from '../cluster/leased-job.js';

export interface TrustLayer {
  admin: AdminContext;
  metrics: Metrics;
  monitor: NodeMonitor;
  repair: RepairWorker;
  /** Node monitoring and repair, started by the background (gateway/cluster/background.ts). */
  jobs: BackgroundJob[];
  /** Releases what the jobs share; the jobs are stopped before. */
  close(): Promise<void>;
}

/**
 * The background side of the gateway: node monitoring, the repair worker and metrics, and
 * the context the admin API works with. Built after the pipeline, closed before it; its jobs
 * run where the background does (gateway/cluster/background.ts).
 */
export function buildTrustLayer(ctx: PipelineContext, opts: {
  signingKey: GatewayKey;
  pins: NodePins;
  rootCredentials: RootCredentials;
  env: NodeJS.ProcessEnv;
  registerNode: (node: ShardNode) => void;
}): TrustLayer {
  const cfg = repairConfig(opts.env);
  const nodes = ctx.meta.nodes;
  const repairs = ctx.meta.repairs;
  const metrics = new Metrics();
  // Its own small pools: status probes and HEAD checks never queue behind uploads.
  const client = new ShardClient({ identity: opts.signingKey.tls, pins: opts.pins, connections: 2 });
  let repair: RepairWorker | undefined;
  const monitor = new NodeMonitor(ctx.meta, nodes, repairs, client, DEFAULT_MONITOR_OPTIONS, {
    onOffline: () => repair?.nodeOffline(),
    log: (line) => console.log(line),
    livePieces: async () => (await repair!.assess()).liveHeld,
  });
  repair = new RepairWorker(ctx, nodes, repairs, monitor, cfg, metrics);
  const worker = repair;
  const jobs: BackgroundJob[] = [{
    start: () => {
      monitor.start(ctx.health instanceof ObservedHealth ? ctx.health : undefined);
      // The first round learns who is up before the first scheduled pass can count on it.
      void monitor.probeAll().catch(() => undefined);
    },
    stop: () => monitor.stop(),
  }, worker];
  const activity = new MetricsHistory(metrics);
  activity.start();
  const admin: AdminContext = {
    rootCredentials: opts.rootCredentials, meta: ctx.meta, nodes, pins: opts.pins, monitor, repair, metrics, activity,
    metricsToken: opts.env.SHARDGATE_METRICS_TOKEN || undefined, registerNode: opts.registerNode,
  };
  return {
    admin, metrics, monitor, repair: worker, jobs,
    close: async () => {
      activity.stop();
      await client.close();
    },
  };
}
