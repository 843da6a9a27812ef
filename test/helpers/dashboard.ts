import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DASHBOARD = resolve(import.meta.dirname, '../../docs/grafana/shardgate-dashboard.json');

interface Panel {
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

/** Every PromQL expression of the Grafana dashboard (rows' panels included). */
export function dashboardExprs(file = DASHBOARD): string[] {
  const dash = JSON.parse(readFileSync(file, 'utf8')) as { panels: Panel[] };
  const out: string[] = [];
  const walk = (ps: readonly Panel[]): void => {
    for (const p of ps) {
      for (const t of p.targets ?? []) if (t.expr) out.push(t.expr);
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  return out;
}

/** The metric families the dashboard queries: a histogram's _bucket, _sum and _count series are its family. */
export function dashboardMetricNames(file = DASHBOARD): string[] {
  const names = dashboardExprs(file).flatMap((e) => [...e.matchAll(/\bshardgate_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')));
  return [...new Set(names)].sort();
}
