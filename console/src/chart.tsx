export interface Series {
  name: string;
  color: string;
  /** v null: no value at t (a gap, e.g. no request to average). */
  points: Array<{ t: number; v: number | null }>;
}

const W = 560;
const H = 180;
const PAD = { l: 64, r: 8, t: 8, b: 22 };

/** A plain SVG line chart: time across, one line a series, the top value and times labelled. */
export function LineChart({ title, series, format }: { title: string; series: Series[]; format: (v: number) => string }) {
  const all = series.flatMap((s) => s.points);
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t));
  const vmax = Math.max(0, ...all.map((p) => p.v ?? 0)) || 1;
  const x = (t: number): number => PAD.l + ((t - t0) / (t1 - t0 || 1)) * (W - PAD.l - PAD.r);
  const y = (v: number): number => H - PAD.b - (v / vmax) * (H - PAD.t - PAD.b);
  const path = (s: Series): string => {
    let d = '';
    let pen = false;
    for (const p of s.points) {
      if (p.v === null) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
      pen = true;
    }
    return d;
  };
  const time = (t: number): string => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
        <line x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} class="axis" />
        <line x1={PAD.l} y1={PAD.t} x2={W - PAD.r} y2={PAD.t} class="grid" />
        <line x1={PAD.l} y1={(PAD.t + H - PAD.b) / 2} x2={W - PAD.r} y2={(PAD.t + H - PAD.b) / 2} class="grid" />
        <text x={PAD.l - 4} y={PAD.t + 4} text-anchor="end">{format(vmax)}</text>
        <text x={PAD.l - 4} y={(PAD.t + H - PAD.b) / 2 + 4} text-anchor="end">{format(vmax / 2)}</text>
        <text x={PAD.l - 4} y={H - PAD.b} text-anchor="end">0</text>
        <text x={PAD.l} y={H - 4}>{time(t0)}</text>
        <text x={W - PAD.r} y={H - 4} text-anchor="end">{time(t1)}</text>
        {series.map((s) => <path key={s.name} d={path(s)} stroke={s.color} fill="none" stroke-width="1.5" />)}
      </svg>
      <ul class="legend">
        {series.map((s) => <li key={s.name}><span class="swatch" style={{ background: s.color }} />{s.name}</li>)}
      </ul>
    </figure>
  );
}
