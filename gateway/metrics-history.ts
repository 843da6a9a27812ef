import type { Metrics } from './metrics.js';

/** One operation's traffic during one interval. */
export interface OperationActivity {
  requests: number;
  /** Answers with a 5xx status. */
  errors: number;
  bytesIn: number;
  bytesOut: number;
  /** Seconds of latency summed over the interval's requests (mean: latencySum / requests). */
  latencySum: number;
}

export interface ActivitySample {
  /** End of the interval, ms since the epoch. */
  at: number;
  ops: Record<string, OperationActivity>;
  /** Repair traffic (read + written) during the interval. */
  repairBytes: number;
}

export interface ActivityView {
  intervalMs: number;
  samples: ActivitySample[];
}

interface Totals {
  ops: Map<string, OperationActivity>;
  repairBytes: number;
}

const REPAIR_BYTES = 'shardgate_repair_bytes_total';

/**
 * The last hour of the gateway's own request metrics, as differences between samples taken
 * every `intervalMs`: what the console's activity charts draw, without a Prometheus server.
 * A fixed ring (360 samples of 10 s) of a few dozen operations each: some hundred KB at most.
 */
export class MetricsHistory {
  private readonly samples: ActivitySample[] = [];
  private last: Totals;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly metrics: Metrics, readonly intervalMs = 10_000, private readonly keep = 360) {
    this.last = this.totals();
  }

  start(): void {
    this.timer ??= setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  view(): ActivityView {
    return { intervalMs: this.intervalMs, samples: [...this.samples] };
  }

  /** Take one sample now (the timer's tick; tests call it directly). */
  sample(now = Date.now()): void {
    const cur = this.totals();
    const ops: Record<string, OperationActivity> = {};
    for (const [op, c] of cur.ops) {
      const p = this.last.ops.get(op);
      const d: OperationActivity = {
        requests: c.requests - (p?.requests ?? 0), errors: c.errors - (p?.errors ?? 0), bytesIn: c.bytesIn - (p?.bytesIn ?? 0),
        bytesOut: c.bytesOut - (p?.bytesOut ?? 0), latencySum: c.latencySum - (p?.latencySum ?? 0),
      };
      if (d.requests || d.bytesIn || d.bytesOut) ops[op] = d;
    }
    this.samples.push({ at: now, ops, repairBytes: cur.repairBytes - this.last.repairBytes });
    if (this.samples.length > this.keep) this.samples.shift();
    this.last = cur;
  }

  private totals(): Totals {
    const ops = new Map<string, OperationActivity>();
    const of = (op: string | undefined): OperationActivity => {
      const k = op ?? 'Unknown';
      let a = ops.get(k);
      if (!a) ops.set(k, (a = { requests: 0, errors: 0, bytesIn: 0, bytesOut: 0, latencySum: 0 }));
      return a;
    };
    const m = this.metrics;
    for (const { labels, value } of m.requests.entries()) {
      const a = of(labels.operation);
      a.requests += value;
      if (Number(labels.code) >= 500) a.errors += value;
    }
    for (const { labels, value } of m.bytesIn.entries()) of(labels.operation).bytesIn += value;
    for (const { labels, value } of m.bytesOut.entries()) of(labels.operation).bytesOut += value;
    for (const { labels, sum } of m.latency.totals()) of(labels.operation).latencySum += sum;
    const repair = m.counterNamed(REPAIR_BYTES)?.entries() ?? [];
    return { ops, repairBytes: repair.reduce((n, e) => n + e.value, 0) };
  }
}
