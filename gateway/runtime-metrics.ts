import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Histogram, type GaugeFamily, type Metrics } from './metrics.js';

/**
 * The gateway process's own health, for operators: how late the event loop runs, and how long
 * each shard-store takes to answer piece operations. Kept apart from the S3 request metrics
 * (metrics.ts), which they register with.
 */

/** Piece operations, as the piece protocol names them (shard-store/batch-frames.ts BatchOp), in lower case. */
export type PieceOp = 'put' | 'get' | 'delete' | 'head';

/** From a small read answered from the store's cache to a large write waiting for its fdatasync. */
export const PIECE_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Time from sending a piece operation to its store until its answer arrives (shards/link.ts),
 * by store id and operation: a slow or failing disk shows as one store's latency rising. Only
 * answered operations are timed; those lost with their connection are counted by the repair
 * and health metrics. Labels are bounded: store ids are configured, operations are four.
 */
export class PieceLatency {
  readonly histogram = new Histogram(
    'shardgate_store_request_duration_seconds',
    'Time from sending a piece operation to a shard-store to its answer, by node (the store id, as in shardgate_node_state) and op (put, get, delete, head).',
    PIECE_LATENCY_BUCKETS,
  );

  private readonly bound = new Map<string, (seconds: number) => void>();

  /** Called for every piece operation (16 per object written): one map lookup, no label work. */
  observe(store: string, op: PieceOp, seconds: number): void {
    const k = `${op} ${store}`;
    let observe = this.bound.get(k);
    if (!observe) this.bound.set(k, (observe = this.histogram.bind({ node: store, op })));
    observe(seconds);
  }
}

/** Event-loop delay is sampled with this timer resolution. */
const RESOLUTION_MS = 10;
/** Reported over the last complete window of this length, whoever scrapes and however often. */
export const EVENT_LOOP_WINDOW_MS = 15_000;

interface DelayWindow {
  p50: number;
  p99: number;
  max: number;
}

/**
 * How late the event loop runs (node:perf_hooks monitorEventLoopDelay): the median, the 99th
 * percentile and the maximum, in seconds, over the last complete 15-second window (over the
 * current one until the first completes). A fixed window rather than "since the last scrape":
 * several scrapers (Prometheus, the console) then see the same numbers. The sampling timer's
 * own period is taken off, so an idle loop reads 0.
 */
export class EventLoopLag {
  private readonly h: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private last: DelayWindow | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(windowMs = EVENT_LOOP_WINDOW_MS) {
    this.h.enable();
    this.timer = setInterval(() => {
      this.last = this.read();
      this.h.reset();
    }, windowMs);
    this.timer.unref();
  }

  private read(): DelayWindow {
    // An empty histogram answers NaN or a huge minimum: report a quiet loop instead.
    if (this.h.count === 0) return { p50: 0, p99: 0, max: 0 };
    const lateBy = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS) / 1e3;
    return { p50: lateBy(this.h.percentile(50)), p99: lateBy(this.h.percentile(99)), max: lateBy(this.h.max) };
  }

  families(): GaugeFamily[] {
    const w = this.last ?? this.read();
    return [{
      name: 'shardgate_event_loop_delay_seconds', type: 'gauge',
      help: `How late the gateway's event loop ran, by quantile (0.5, 0.99, 1 for the maximum), over the last ${EVENT_LOOP_WINDOW_MS / 1000} s window.`,
      samples: [{ labels: { quantile: '0.5' }, value: w.p50 }, { labels: { quantile: '0.99' }, value: w.p99 }, { labels: { quantile: '1' }, value: w.max }],
    }];
  }

  stop(): void {
    clearInterval(this.timer);
    this.h.disable();
  }
}

/** Registers both with the gateway's metrics, plus the count of log lines stdout could not take. */
export function registerRuntimeMetrics(metrics: Metrics, parts: { lag: EventLoopLag; pieces: PieceLatency; droppedLogLines: () => number }): void {
  metrics.register(parts.pieces.histogram);
  metrics.collect(() => [...parts.lag.families(), {
    name: 'shardgate_log_dropped_lines_total', type: 'counter', samples: [{ value: parts.droppedLogLines() }],
    help: 'Log lines dropped because stdout did not take them fast enough (a stalled pipe or terminal).',
  }]);
}
