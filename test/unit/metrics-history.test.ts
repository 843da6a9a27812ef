/** The activity history behind the console's charts (gateway/metrics-history.ts). */
import { MetricsHistory } from '../../gateway/metrics-history.js';
import { Metrics } from '../../gateway/metrics.js';

describe('MetricsHistory', () => {
  test('each sample holds what happened since the one before, per operation, and the repair traffic', () => {
    const m = new Metrics();
    m.observeRequest('PutObject', 200, 0.1, 1000, 0); // before the history starts: never counted
    const repair = m.counter('shardgate_repair_bytes_total', 'repair traffic');
    const h = new MetricsHistory(m, 10_000);
    m.observeRequest('PutObject', 200, 0.2, 500, 0);
    m.observeRequest('PutObject', 503, 0.3, 0, 200);
    m.observeRequest('GetObject', 200, 0.05, 0, 4096);
    repair.inc({ direction: 'read' }, 300);
    repair.inc({ direction: 'write' }, 200);
    h.sample(10_000);
    m.observeRequest('GetObject', 404, 0.01, 0, 100);
    h.sample(20_000);
    h.sample(30_000);
    const { intervalMs, samples } = h.view();
    expect(intervalMs).toBe(10_000);
    expect(samples).toHaveLength(3);
    expect(samples[0]!.at).toBe(10_000);
    expect(samples[0]!.repairBytes).toBe(500);
    expect(samples[0]!.ops.PutObject).toMatchObject({ requests: 2, errors: 1, bytesIn: 500, bytesOut: 200 });
    expect(samples[0]!.ops.PutObject!.latencySum).toBeCloseTo(0.5);
    expect(samples[0]!.ops.GetObject).toMatchObject({ requests: 1, errors: 0, bytesOut: 4096 });
    // A 4xx is the client's: it is not an error of the gateway's.
    expect(samples[1]!.ops).toEqual({ GetObject: { requests: 1, errors: 0, bytesIn: 0, bytesOut: 100, latencySum: expect.closeTo(0.01) } });
    expect(samples[1]!.repairBytes).toBe(0);
    expect(samples[2]!.ops).toEqual({});
  });

  test('keeps only the last hour (a fixed ring)', () => {
    const m = new Metrics();
    const h = new MetricsHistory(m, 10_000, 360);
    for (let i = 1; i <= 400; i++) h.sample(i * 10_000);
    const { samples } = h.view();
    expect(samples).toHaveLength(360);
    expect(samples[0]!.at).toBe(41 * 10_000);
    expect(samples.at(-1)!.at).toBe(400 * 10_000);
  });
});
