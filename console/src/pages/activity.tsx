import { admin } from '../api';
import { LineChart, type Series } from '../chart';
import { ErrorLine, formatBytes, useInterval, useLoad } from '../ui';

/** What GET /activity answers (gateway/console/activity.ts): one sample every `intervalMs`. */
interface Activity {
  intervalMs: number;
  samples: Array<{
    at: number;
    ops: Record<string, { requests: number; errors: number; bytesIn: number; bytesOut: number; latencySum: number }>;
    repairBytes: number;
  }>;
}

const PALETTE = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#65a30d', '#dc2626'];

function topOps(a: Activity, n: number): string[] {
  const total = new Map<string, number>();
  for (const s of a.samples) for (const [op, v] of Object.entries(s.ops)) total.set(op, (total.get(op) ?? 0) + v.requests);
  return [...total.entries()].sort((x, y) => y[1] - x[1]).slice(0, n).map(([op]) => op);
}

/** Requests/s, throughput, latency per operation and repair traffic over the last hour; refreshed every 10 s. */
export function ActivityPage() {
  const data = useLoad(() => admin<Activity>('GET', '/activity'), []);
  useInterval(data.reload, 10_000);
  const a = data.data;
  if (!a) return <section><h1>Activity</h1><ErrorLine error={data.error} /></section>;
  const secs = a.intervalMs / 1000;
  const ops = topOps(a, PALETTE.length);
  const per = (f: (o: Activity['samples'][number]['ops'][string]) => number | null): Series[] => ops.map((op, i) => ({
    name: op, color: PALETTE[i]!, points: a.samples.map((s) => {
      const o = s.ops[op];
      return { t: s.at, v: o ? f(o) : 0 };
    }),
  }));
  const sum = (f: (o: Activity['samples'][number]['ops'][string]) => number): Array<{ t: number; v: number }> =>
    a.samples.map((s) => ({ t: s.at, v: Object.values(s.ops).reduce((n, o) => n + f(o), 0) / secs }));
  return (
    <section>
      <h1>Activity</h1>
      <p class="muted">The last hour of this gateway's S3 requests, sampled every {secs} s from its own metrics (since it started, at most an hour).</p>
      <ErrorLine error={data.error} />
      {a.samples.length < 2 ? <p class="muted">Not enough samples yet: the first comes {secs} s after the gateway starts.</p> : (
        <div class="charts">
          <LineChart title="Requests per second, by operation" series={per((o) => o.requests / secs)} format={(v) => v.toFixed(v < 10 ? 1 : 0)} />
          <LineChart title="Throughput" format={(v) => `${formatBytes(v)}/s`} series={[
            { name: 'received', color: PALETTE[0]!, points: sum((o) => o.bytesIn) },
            { name: 'sent', color: PALETTE[2]!, points: sum((o) => o.bytesOut) },
          ]} />
          <LineChart title="Mean latency, by operation" series={per((o) => (o.requests ? (o.latencySum / o.requests) * 1000 : null))} format={(v) => `${v.toFixed(v < 10 ? 1 : 0)} ms`} />
          <LineChart title="Repair traffic" format={(v) => `${formatBytes(v)}/s`} series={[
            { name: 'read + written', color: PALETTE[3]!, points: a.samples.map((s) => ({ t: s.at, v: s.repairBytes / secs })) },
          ]} />
        </div>
      )}
    </section>
  );
}
