import type Koa from 'koa';
import { countBodies } from './body-counts.js';

/**
 * A small Prometheus registry and text exposition (format 0.0.4):
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 * Counters and histograms are kept here; gauges are read from their source at scrape time
 * (node states, backlog), so they are never stale.
 */
export type Labels = Record<string, string>;

export interface Sample {
  labels?: Labels;
  value: number;
}

export interface GaugeFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Sample[];
}

const labelKey = (labels: Labels): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function formatLabels(labels: Labels | undefined, extra?: [string, string]): string {
  const parts = Object.entries(labels ?? {}).map(([k, v]) => `${k}="${escape(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escape(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    const cur = this.values.get(k);
    if (cur) cur.value += by;
    else this.values.set(k, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }

  /** Every label set and its value so far. */
  entries(): Array<{ labels: Labels; value: number }> {
    return [...this.values.values()].map(({ labels, value }) => ({ labels, value }));
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { labels, value } of this.values.values()) out.push(`${this.name}${formatLabels(labels)} ${formatValue(value)}`);
  }
}

/** Latency buckets in seconds, from a cached small GET to a multi-GiB upload. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

interface HistogramSeries {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[] = LATENCY_BUCKETS) {}

  observe(labels: Labels, value: number): void {
    this.add(this.seriesOf(labels), value);
  }

  /** Every label set's count and sum so far. */
  totals(): Array<{ labels: Labels; count: number; sum: number }> {
    return [...this.series.values()].map(({ labels, count, sum }) => ({ labels, count, sum }));
  }

  /** An observer of one label set, for hot paths: it skips the lookup by labels. */
  bind(labels: Labels): (value: number) => void {
    const s = this.seriesOf(labels);
    return (value) => this.add(s, value);
  }

  private seriesOf(labels: Labels): HistogramSeries {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }));
    return s;
  }

  private add(s: HistogramSeries, value: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${formatLabels(s.labels, ['le', formatValue(b)])} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${formatLabels(s.labels, ['le', '+Inf'])} ${s.count}`);
      out.push(`${this.name}_sum${formatLabels(s.labels)} ${s.sum}`, `${this.name}_count${formatLabels(s.labels)} ${s.count}`);
    }
  }
}

export class Metrics {
  readonly requests = new Counter('shardgate_s3_requests_total', 'S3 requests by operation and HTTP status.');
  readonly latency = new Histogram('shardgate_s3_request_duration_seconds', 'Time from request start to the last response byte, by S3 operation.');
  readonly bytesIn = new Counter('shardgate_s3_received_bytes_total', 'Bytes received from S3 clients (headers and bodies), by operation.');
  readonly bytesOut = new Counter('shardgate_s3_sent_bytes_total', 'Bytes sent to S3 clients (headers and bodies), by operation.');
  readonly clientDisconnects = new Counter(
    'shardgate_s3_client_disconnects_total', 'S3 requests whose client closed the connection or broke HTTP framing mid-request, by operation.',
  );
  /**
   * The part of a write's latency spent after its handler, making what it changed durable:
   * the metadata WAL flush and the journal entry on the shard-stores (app.ts). Shared by
   * concurrent writes (group commit), so under load it is a large share of a small PUT.
   */
  readonly durableWait = new Histogram(
    'shardgate_write_durable_wait_seconds',
    'Time a write request waited, after its handler, for its metadata to be durable (WAL flush and metadata journal entry on the shard-stores), by S3 operation.',
  );
  private readonly owned: Array<Counter | Histogram> = [this.requests, this.latency, this.bytesIn, this.bytesOut, this.clientDisconnects, this.durableWait];
  private readonly collectors: Array<() => GaugeFamily[] | Promise<GaugeFamily[]>> = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.owned.push(c);
    return c;
  }

  /** A counter made with counter(), by its name. */
  counterNamed(name: string): Counter | undefined {
    return this.owned.find((m): m is Counter => m instanceof Counter && m.name === name);
  }

  /** Adds a counter or histogram kept elsewhere (gateway/runtime-metrics.ts) to the exposition. */
  register(m: Counter | Histogram): void {
    this.owned.push(m);
  }

  /** Families computed at each scrape (a long computation yields to the event loop: return a promise). */
  collect(fn: () => GaugeFamily[] | Promise<GaugeFamily[]>): void {
    this.collectors.push(fn);
  }

  observeRequest(operation: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    this.requests.inc({ operation, code: String(status) });
    this.latency.observe({ operation }, seconds);
    if (bytesIn > 0) this.bytesIn.inc({ operation }, bytesIn);
    if (bytesOut > 0) this.bytesOut.inc({ operation }, bytesOut);
  }

  async render(): Promise<string> {
    const out: string[] = [];
    for (const m of this.owned) m.render(out);
    for (const fn of this.collectors) {
      for (const f of await fn()) {
        out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
        for (const s of f.samples) out.push(`${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
      }
    }
    return out.join('\n') + '\n';
  }
}

/**
 * Koa middleware counting every S3 request once its response is over (the body included),
 * by the operation the S3 handler put in `koa.state.operation`. Bytes are the bodies' (as S3
 * counts them): the socket's counters miss a small body, which Node reads with the headers.
 * Admin and metrics requests are not S3 operations and are not counted.
 */
export function requestMetrics(metrics: Metrics): Koa.Middleware {
  return async (koa, next) => {
    const started = process.hrtime.bigint();
    const counts = countBodies(koa.req, koa.res);
    koa.res.once('close', () => {
      if (koa.state.admin) return;
      const operation = koa.state.operation as string | undefined;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeRequest(operation ?? 'Unknown', koa.status, seconds, counts.in, counts.out);
    });
    await next();
  };
}
