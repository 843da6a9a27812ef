/** Event-loop delay and per-store piece latency, as the gateway's registry renders them. */
import { Metrics } from '../../gateway/metrics.js';
import { EventLoopLag, PieceLatency, registerRuntimeMetrics } from '../../gateway/runtime-metrics.js';

describe('runtime metrics', () => {
  test('piece latency: one histogram series per store and operation, le buckets cumulative', async () => {
    const metrics = new Metrics();
    const pieces = new PieceLatency();
    const lag = new EventLoopLag();
    try {
      registerRuntimeMetrics(metrics, { lag, pieces, droppedLogLines: () => 3 });
      pieces.observe('ss00', 'put', 0.004);
      pieces.observe('ss00', 'put', 0.02);
      pieces.observe('ss01', 'get', 0.0002);
      const text = await metrics.render();
      expect(text).toContain('# TYPE shardgate_store_request_duration_seconds histogram');
      expect(text).toContain('shardgate_store_request_duration_seconds_bucket{node="ss00",op="put",le="0.005"} 1');
      expect(text).toContain('shardgate_store_request_duration_seconds_bucket{node="ss00",op="put",le="0.025"} 2');
      expect(text).toContain('shardgate_store_request_duration_seconds_bucket{node="ss00",op="put",le="+Inf"} 2');
      expect(text).toContain('shardgate_store_request_duration_seconds_count{node="ss00",op="put"} 2');
      expect(text).toContain('shardgate_store_request_duration_seconds_bucket{node="ss01",op="get",le="0.0005"} 1');
      expect(text).not.toContain('op="delete"');
      expect(text).toContain('shardgate_log_dropped_lines_total 3');
    } finally {
      lag.stop();
    }
  });

  test('event-loop delay: a blocked loop shows in the maximum; quantiles are in seconds', async () => {
    // A window longer than the test: the current one is reported.
    const lag = new EventLoopLag(600_000);
    try {
      await new Promise((r) => setTimeout(r, 50));
      const until = Date.now() + 120;
      while (Date.now() < until) { /* hold the loop */ }
      await new Promise((r) => setTimeout(r, 50));
      const [family] = lag.families();
      expect(family!.name).toBe('shardgate_event_loop_delay_seconds');
      const q = Object.fromEntries(family!.samples.map((s) => [s.labels!.quantile, s.value]));
      expect(Object.keys(q).sort()).toEqual(['0.5', '0.99', '1']);
      // Held for 120 ms: at least one sample was that late, less the 10 ms sampling period.
      expect(q['1']).toBeGreaterThanOrEqual(0.1);
      expect(q['0.5']).toBeLessThanOrEqual(q['0.99']);
      expect(q['0.99']).toBeLessThanOrEqual(q['1']);
    } finally {
      lag.stop();
    }
  });
});
