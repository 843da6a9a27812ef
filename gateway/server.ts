import type Koa from 'koa';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { join } from 'node:path';
import { getEngine } from '../codec/engine.js';
import { buildApp } from './app.js';
import type { GatewayConfig } from './config.js';
import { openMetaStore } from './meta/open.js';
import { GarbageCollector } from './pipeline/collector.js';
import { JournalShipper } from './journal/shipper.js';
import { LifecycleWorker, lifecycleOptionsFromEnv } from './s3/lifecycle-worker.js';
import { gatewayInstanceId, startBackground } from './cluster/background.js';
import { leaseTimingFromEnv } from './cluster/leased-job.js';
import { syncRegistry } from './cluster/registry-sync.js';
import type { PipelineContext } from './pipeline/context.js';
import { ObservedHealth } from './repair/node-monitor.js';
import { buildTrustLayer } from './repair/trust-layer.js';
import { attachAuditLayer, buildAuditLayer } from './audit/layer.js';
import { HttpShardIO } from './pipeline/http-shard-io.js';
import { choosePlacement, notWritten } from './pipeline/placement.js';
import { startEconomy, type Economy } from './economy/start.js';
import { startMonitors } from './monitors/start.js';
import { loadMasterKey, loadRootCredentials, type RootCredentials } from './secrets.js';
import { loadOrCreateGatewayKey } from './shards/keys.js';
import { deferContinue, markUnmetExpectation } from './object/request-body.js';
import { readTlsFiles, reloadOnSighup } from './tls/server-certs.js';
import { logRefusal } from './access-log.js';
import { HttpLimiter } from './http-limits.js';
import { NotificationWorker } from './notify/worker.js';
import { notifyMetrics } from './notify/metrics.js';
import { createGatewayLog } from './log.js';
import { EventLoopLag, PieceLatency, registerRuntimeMetrics } from './runtime-metrics.js';

export interface RunningGateway {
  url: string;
  config: GatewayConfig;
  rootCredentials: RootCredentials;
  engineName: string;
  ctx: PipelineContext;
  server: Server;
  close(): Promise<void>;
}

/**
 * Open the metadata, keys and shard-store clients, clean up after a previous crash, and
 * serve S3 on the configured port.
 */
/** A write that has not committed within a day is dead, whichever gateway started it. */
const SHARED_STALE_WRITE_MS = 24 * 3600_000;

export async function startGateway(cfg: GatewayConfig, env: NodeJS.ProcessEnv, opts: {
  dataDir: string;
  /** Where the metadata lives: a postgres:// URL, or unset for SQLite under the data folder. */
  meta?: string;
}): Promise<RunningGateway> {
  const startedAt = Date.now();
  const instanceId = gatewayInstanceId();
  // SQLite under the data folder, unless SHARDGATE_META_URL / --meta names a shared database.
  const meta = await openMetaStore(opts.meta || join(opts.dataDir, 'meta.db'));
  // Commits share WAL flushes; every answer waits for its own (gateway/app.ts).
  meta.enableGroupCommit();
  const master = loadMasterKey(opts.dataDir, env);
  if (master.created) console.log(`created master key ${master.source}: back it up, no object can be read without it`);
  const rootCredentials = loadRootCredentials(opts.dataDir, env);
  const signingKey = await loadOrCreateGatewayKey(opts.dataDir);
  // A store that is down at start keeps the zone it last reported, for the zone rules.
  const known = meta.nodes;
  const pins = await meta.nodePins();
  for (const s of cfg.shardStores) {
    await meta.upsertNode({ id: s.id, url: s.url, zone: (await known.get(s.id))?.zone ?? 'zone-1' });
    if (s.pin) await pins.set(s.id, s.pin);
  }
  // Shard-stores speak TLS only now: addresses registered by an older release move to https.
  for (const n of await meta.listNodes()) {
    if (n.url.startsWith('http://')) await meta.upsertNode({ id: n.id, url: `https://${n.url.slice('http://'.length)}`, zone: n.zone });
  }
  const pieceLatency = new PieceLatency();
  const io = new HttpShardIO(signingKey.tls, pins, cfg.writeStallMs, (store, op, seconds) => pieceLatency.observe(store, op, seconds));
  for (const n of await meta.listNodes()) io.setNode({ id: n.id, url: n.url, zone: n.zone });
  // Other gateways join stores and pin keys in the shared registry too.
  const stopSync = meta.backend === 'sqlite' ? () => undefined : syncRegistry(meta, pins, (n) => io.setNode(n));
  const engine = getEngine();
  const health = new ObservedHealth();

  let economy: Economy | undefined;
  const ledgerStatus = (id: string): { ledger?: 'active' | 'pending' } => {
    const status = economy?.book.status(id);
    return status === undefined ? {} : { ledger: status };
  };
  const ctx: PipelineContext = {
    meta, io, engine, health, masterKey: master.key,
    segmentSize: cfg.segmentSize, writeQuorum: cfg.writeQuorum, lateAckMs: 2_000,
    hedgeMs: cfg.hedgeMs, readTimeoutMs: cfg.readTimeoutMs,
    place: async () => {
      // Stores pending in the economy take no new pieces (pipeline/placement.ts); with the economy off, no store is.
      const nodes = (await meta.listNodes()).map((n) => ({ id: n.id, zone: n.zone, state: n.state, weight: n.score * (n.freeBytes ?? 1), ...ledgerStatus(n.id) }));
      return { nodes: choosePlacement(nodes), offline: notWritten(nodes) };
    },
    // Repair honours activation as placement does (repair/targets.ts).
    ledgerStatus: (id) => economy?.book.status(id),
  };

  // Writes the previous process left half done can never be committed now. On a database
  // other gateways share, 'writing' blobs younger than a day may be theirs, still under way.
  const swept = await meta.sweepStaleWrites(meta.backend === 'sqlite' ? startedAt : startedAt - SHARED_STALE_WRITE_MS);
  if (swept) console.log(`discarding ${swept} unfinished write(s) from before the restart`);
  // Learn each store's zone and free space before placing anything; from then on the node
  // monitor (trust layer) keeps them current with its own /status probes.
  await io.refreshStatus(meta);
  // Every acknowledged change also reaches the shard-stores before its answer (gateway/journal/).
  // Only a backend that ships its journal has one (SQLite); a shared database keeps its own copies.
  const journal = meta.journal && new JournalShipper(ctx, meta.journal);
  if (journal) {
    meta.attachJournal(() => journal.flush());
    journal.start();
  }
  const gc = new GarbageCollector(ctx);
  const lifecycle = new LifecycleWorker(meta, lifecycleOptionsFromEnv(env));
  const trust = buildTrustLayer(ctx, { signingKey, pins, rootCredentials, env, registerNode: (n) => io.setNode(n) });

  const audit = await buildAuditLayer(ctx, {
    dataDir: opts.dataDir, env, signingKey, pins, ...(journal && { journal }), rootCredentials, monitor: trust.monitor, repair: trust.repair, metrics: trust.metrics,
    service: { bytesHeld: () => meta.ledger.bytesHeld(), bytesRead: () => io.bytesRead() },
  });
  attachAuditLayer(trust.admin, audit);
  // The provider economy: off unless a genesis is configured (SHARDGATE_LEDGER_GENESIS) or logged.
  economy = await startEconomy(meta, signingKey, env, { metrics: trust.metrics });
  trust.admin.economy = economy.book;
  // Independent monitors: registered in the report log, their statements appended to it.
  const monitors = await startMonitors(meta, audit.reports, signingKey, pins, economy.book);
  trust.admin.monitors = monitors.monitors;
  trust.metrics.collect(() => [{
    name: 'shardgate_piece_ops_total', type: 'counter', samples: [{ value: io.pieceStats().ops }],
    help: 'Piece operations (put, get, head, delete) sent to the shard-stores.',
  }, {
    name: 'shardgate_piece_batches_total', type: 'counter', samples: [{ value: io.pieceStats().batches }],
    help: 'Batches the piece operations travelled in (one write to one store each); under load, far fewer than the operations.',
  }, {
    name: 'shardgate_piece_channel_ops_total', type: 'counter', samples: [{ value: io.pieceStats().channelOps }],
    help: 'Piece reads and writes sent over piece channels (tagged, not encrypted; SHARDGATE_PIECE_CHANNEL) instead of TLS.',
  }, {
    name: 'shardgate_meta_flushes_total', type: 'counter', samples: [{ value: meta.flushCount() }],
    help: 'Metadata WAL flushes (group commit); with concurrent writes, fewer than the writes acknowledged.',
  }, {
    name: 'shardgate_journal_entries_total', type: 'counter', samples: [{ value: journal?.entries ?? 0 }],
    help: 'Metadata journal entries written to the shard-stores; with concurrent writes, fewer than the writes acknowledged.',
  }]);

  // Bucket event notifications: queued with each write's commit, delivered from the background.
  const notifications = new NotificationWorker(meta, cfg.notify, cfg.region, notifyMetrics(trust.metrics, meta.notifications, cfg.notify.webhooks.map((w) => w.id)));
  const background = startBackground(meta, [
    ...trust.jobs, ...audit.jobs, economy.settler, lifecycle, gc,
    { start: () => void notifications.start().catch((err: unknown) => console.error('notifications:', (err as Error).message)), stop: () => notifications.stop() },
  ], { holder: instanceId, timing: leaseTimingFromEnv(env), standBy: () => trust.repair.standBy() });
  trust.admin.background = background;

  const log = createGatewayLog(cfg.log);
  const lag = new EventLoopLag();
  registerRuntimeMetrics(trust.metrics, { lag, pieces: pieceLatency, droppedLogLines: log.dropped });

  const app = buildApp(ctx, {
    config: cfg, rootCredentials, admin: trust.admin, metrics: trust.metrics, publicRoutes: chain(chain(audit.publicRoutes, economy.publicRoutes), monitors.routes), log: log.logger,
  });
  // Timeouts, body rate and the connection cap are the limiter's (http-limits.ts), for HTTP and HTTPS alike.
  const limiter = new HttpLimiter(cfg.http, (req, res, err) => logRefusal(log.logger, req, res, err.code));
  const handle = limiter.wrap(app.callback());
  const server: Server = cfg.tls
    ? createHttpsServer({ ...readTlsFiles(cfg.tls), minVersion: 'TLSv1.2' }, handle)
    : createServer(handle);
  limiter.attach(server);
  const stopReloading = cfg.tls ? reloadOnSighup(server as unknown as TlsServer, cfg.tls) : () => undefined;
  // Expect: 100-continue is answered by the handler once it reads the body (request-body.ts).
  server.on('checkContinue', (req, res) => {
    deferContinue(req);
    void handle(req, res);
  });
  // Any other expectation: the app answers with an S3 error document, not Node's bare 417.
  server.on('checkExpectation', (req, res) => {
    markUnmetExpectation(req);
    void handle(req, res);
  });
  server.listen(cfg.port, cfg.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const shownHost = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;

  let closed: Promise<void> | undefined;
  return {
    url: `${cfg.tls ? 'https' : 'http'}://${shownHost}:${port}`, config: { ...cfg, port }, rootCredentials, engineName: engine.name, ctx, server,
    close: () => closed ??= (async () => {
      // Finish in-flight requests (bounded), then release everything.
      stopReloading();
      const done = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 10_000);
      await done;
      clearTimeout(force);
      await background.stop();
      stopSync();
      await monitors.close();
      await audit.close();
      await trust.close();
      await journal?.stop();
      await io.close();
      await meta.close();
      lag.stop();
      // The last requests' lines, before the process exits (cli/banner.ts onShutdownSignals).
      log.flush();
    })(),
  };
}

/** Two middlewares as one: the second runs when the first passes the request on. */
function chain(a: Koa.Middleware, b: Koa.Middleware): Koa.Middleware {
  return (koa, next) => a(koa, () => b(koa, next));
}
