/**
 * The Grafana dashboard in docs/grafana queries only metrics the gateway exports: a renamed
 * or removed metric fails here, not silently on an operator's screen. (The integration test
 * test/integration/access-log.test.ts checks the same against a running gateway's scrape.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Metrics } from '../../gateway/metrics.js';
import { EventLoopLag, PieceLatency, registerRuntimeMetrics } from '../../gateway/runtime-metrics.js';
import { DASHBOARD, dashboardExprs, dashboardMetricNames } from '../helpers/dashboard.js';

const GATEWAY = resolve(import.meta.dirname, '../../gateway');

/** Metric names written as string literals in the gateway's sources (where every family is named). */
function namesInSources(dir: string): Set<string> {
  const names = new Set<string>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) for (const n of namesInSources(p)) names.add(n);
    else if (e.name.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/['"`](shardgate_[a-z0-9_]+)['"`]/g)) names.add(m[1]!);
  }
  return names;
}

describe('Grafana dashboard', () => {
  test('is a dashboard with a data-source variable and PromQL in every panel', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { title: string; uid: string; templating: { list: Array<{ type: string }> } };
    expect(dash.title).toBe('shardgate');
    expect(dash.templating.list.some((v) => v.type === 'datasource')).toBe(true);
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThan(10);
    for (const e of exprs) expect(e).toMatch(/shardgate_/);
  });

  test('queries only metrics the gateway exports', () => {
    const exported = namesInSources(GATEWAY);
    expect(dashboardMetricNames().filter((n) => !exported.has(n))).toEqual([]);
  });

  test('its request, latency and runtime series are rendered by the gateway\'s registry', async () => {
    const metrics = new Metrics();
    const lag = new EventLoopLag();
    try {
      registerRuntimeMetrics(metrics, { lag, pieces: new PieceLatency(), droppedLogLines: () => 0 });
      const text = await metrics.render();
      const rendered = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
      for (const n of ['shardgate_s3_requests_total', 'shardgate_s3_request_duration_seconds', 'shardgate_s3_received_bytes_total', 'shardgate_s3_sent_bytes_total',
        'shardgate_event_loop_delay_seconds', 'shardgate_store_request_duration_seconds', 'shardgate_write_durable_wait_seconds']) {
        expect(dashboardMetricNames()).toContain(n);
        expect(rendered.has(n), n).toBe(true);
      }
    } finally {
      lag.stop();
    }
  });
});
