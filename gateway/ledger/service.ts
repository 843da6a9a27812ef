import type { AuditOutcome, OutcomeCounts } from '../meta/audit-store.js';
import type { ReportPayload } from '../reports/format.js';
import { toBigInt } from './params.js';

/**
 * What one store did in one era, from the signed report log. Settlement pays and slashes from
 * these records only, so anyone holding the log can recompute both.
 */
export interface EraServiceRecord {
  store: string;
  zone: string;
  storedByteHours: bigint;
  servedBytes: bigint;
  uptime: { samples: number; up: number };
  /** The gateway's own audits of the store in the era. */
  audits: OutcomeCounts;
  /** Drained for failing audits (an admin drain is not a loss). */
  lost: boolean;
}

/** One independent monitor's era: the challenges it ran and what each store answered. */
export interface MonitorRecord {
  monitor: string;
  challenges: number;
  results: Array<{ store: string; audits: OutcomeCounts }>;
}

/** Capacity and free bytes of a zone at the end of the era, for its multiplier. */
export interface ZoneCapacity {
  zone: string;
  capacityBytes: bigint;
  freeBytes: bigint;
}

export interface EraServiceInput {
  stores: EraServiceRecord[];
  monitors: MonitorRecord[];
  zones: ZoneCapacity[];
}

export const NO_SERVICE: Readonly<EraServiceInput> = Object.freeze({ stores: [], monitors: [], zones: [] });

export function zeroCounts(): OutcomeCounts {
  return { pass: 0, wrong: 0, missing: 0, timeout: 0, error: 0 };
}

export function addCounts(a: OutcomeCounts, b: Partial<OutcomeCounts>): OutcomeCounts {
  const out = { ...a };
  for (const k of Object.keys(out) as AuditOutcome[]) {
    const v = b[k];
    if (Number.isSafeInteger(v) && (v as number) > 0) out[k] += v as number;
  }
  return out;
}

/**
 * Fields the report payload must gain for the economy (all optional, so today's reports still
 * parse): bytes stored over the period as byte-hours and bytes served, as decimal strings or
 * safe integers, and `lost` when the store was drained for failing its audits. Until the
 * format has them a store earns nothing for storage or service and is never `lost`.
 */
export interface ReportServiceFields {
  storedByteHours?: string | number;
  servedBytes?: string | number;
  lost?: boolean;
}
/**
 * An entry of the report log as settlement reads it: a store's report (no `kind`), or an
 * entry of another kind (`monitor`: an independent monitor's signed results; `monitor-key`:
 * a monitor's key registered or revoked), whose own fields are read by monitorsFromReports.
 */
export type ServiceReport = ReportPayload & ReportServiceFields & { kind?: string };

/** The fields of a `monitor` entry of the report log that settlement reads (gateway/monitors/). */
export interface MonitorReportFields {
  kind: 'monitor';
  seq: number;
  monitor: string;
  periodStart: number;
  challenges: number;
  results: Array<{ store: string; audits: OutcomeCounts }>;
}

/** A store's own report: an entry without a kind. */
export function isStoreReport(p: { kind?: unknown }): boolean {
  return p.kind === undefined;
}

/**
 * Aggregate an era's report payloads into one record per store: audits, uptime samples,
 * byte-hours and bytes served summed; the zone of the store's latest report; lost if any
 * report says so. Reports whose periodStart is outside `window` (when given) are left out.
 * Invalid byte counts count as zero. The result is sorted by store.
 */
export function serviceFromReports(payloads: readonly ServiceReport[], window?: { start: number; end: number }): EraServiceRecord[] {
  const by = new Map<string, { rec: EraServiceRecord; latest: [number, number] }>();
  for (const p of payloads) {
    if (!isStoreReport(p)) continue;
    if (window !== undefined && (p.periodStart < window.start || p.periodStart >= window.end)) continue;
    let cur = by.get(p.node);
    if (cur === undefined) {
      cur = { rec: { store: p.node, zone: p.zone, storedByteHours: 0n, servedBytes: 0n, uptime: { samples: 0, up: 0 }, audits: zeroCounts(), lost: false }, latest: [-Infinity, -Infinity] };
      by.set(p.node, cur);
    }
    const r = cur.rec;
    r.audits = addCounts(r.audits, p.audits);
    r.uptime = { samples: r.uptime.samples + count(p.uptime?.samples), up: r.uptime.up + count(p.uptime?.up) };
    r.storedByteHours += nonNegative(p.storedByteHours);
    r.servedBytes += nonNegative(p.servedBytes);
    r.lost ||= p.lost === true;
    if (p.periodEnd > cur.latest[0] || (p.periodEnd === cur.latest[0] && p.seq > cur.latest[1])) {
      cur.latest = [p.periodEnd, p.seq];
      r.zone = p.zone;
    }
  }
  return [...by.values()].map((v) => v.rec).sort((a, b) => cmp(a.store, b.store));
}

/**
 * The monitors' records of an era from the report log: every `monitor` entry whose
 * periodStart falls in `window` (when given), one record per entry (normaliseService merges
 * a monitor's entries). The entries' signatures are checked where they enter the log and by
 * the offline verification, not here: this reads what the log holds.
 */
export function monitorsFromReports(payloads: readonly unknown[], window?: { start: number; end: number }): MonitorRecord[] {
  const out: MonitorRecord[] = [];
  for (const raw of payloads) {
    const p = raw as Partial<MonitorReportFields> | null;
    if (typeof p !== 'object' || p === null || p.kind !== 'monitor' || typeof p.monitor !== 'string') continue;
    if (typeof p.periodStart !== 'number') continue;
    if (window !== undefined && (p.periodStart < window.start || p.periodStart >= window.end)) continue;
    const results = Array.isArray(p.results) ? p.results.filter((r) => typeof r?.store === 'string' && typeof r.audits === 'object' && r.audits !== null) : [];
    out.push({ monitor: p.monitor, challenges: count(p.challenges), results: results.map((r) => ({ store: r.store, audits: addCounts(zeroCounts(), r.audits) })) });
  }
  return out;
}

function count(v: unknown): number {
  return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : 0;
}

function nonNegative(v: unknown): bigint {
  const b = toBigInt(v);
  return b !== undefined && b > 0n ? b : 0n;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The input as settlement reads it: records of one store merged (summed; the smallest zone
 * name; lost if any), monitors merged by id, zones by name; everything sorted, so the order
 * the records came in never matters. Missing or malformed counts read as zero: the records
 * come from a log, and a bad one must not stop an era.
 */
export function normaliseService(input: EraServiceInput): EraServiceInput {
  const stores = new Map<string, EraServiceRecord>();
  for (const r of input.stores) {
    const c = stores.get(r.store);
    if (c === undefined) {
      stores.set(r.store, { store: r.store, zone: String(r.zone), lost: r.lost === true, uptime: { samples: count(r.uptime?.samples), up: count(r.uptime?.up) }, audits: addCounts(zeroCounts(), r.audits ?? {}), storedByteHours: pos(r.storedByteHours), servedBytes: pos(r.servedBytes) });
      continue;
    }
    c.zone = cmp(String(r.zone), c.zone) < 0 ? String(r.zone) : c.zone;
    c.storedByteHours += pos(r.storedByteHours);
    c.servedBytes += pos(r.servedBytes);
    c.uptime = { samples: c.uptime.samples + count(r.uptime?.samples), up: c.uptime.up + count(r.uptime?.up) };
    c.audits = addCounts(c.audits, r.audits ?? {});
    c.lost ||= r.lost === true;
  }
  const monitors = new Map<string, MonitorRecord>();
  for (const m of input.monitors) {
    const c = monitors.get(m.monitor) ?? { monitor: m.monitor, challenges: 0, results: [] };
    c.challenges += count(m.challenges);
    c.results = [...c.results, ...(Array.isArray(m.results) ? m.results : [])];
    monitors.set(m.monitor, c);
  }
  for (const m of monitors.values()) {
    const per = new Map<string, OutcomeCounts>();
    for (const r of m.results) per.set(r.store, addCounts(per.get(r.store) ?? zeroCounts(), r.audits ?? {}));
    m.results = [...per.entries()].sort(([a], [b]) => cmp(a, b)).map(([store, audits]) => ({ store, audits }));
  }
  const zones = new Map<string, ZoneCapacity>();
  for (const z of input.zones) {
    const c = zones.get(z.zone);
    zones.set(z.zone, c === undefined ? { zone: z.zone, capacityBytes: pos(z.capacityBytes), freeBytes: pos(z.freeBytes) }
      : { zone: z.zone, capacityBytes: c.capacityBytes + pos(z.capacityBytes), freeBytes: c.freeBytes + pos(z.freeBytes) });
  }
  const sorted = <T>(m: Map<string, T>): T[] => [...m.entries()].sort(([a], [b]) => cmp(a, b)).map(([, v]) => v);
  return { stores: sorted(stores), monitors: sorted(monitors), zones: sorted(zones) };
}

function pos(v: bigint): bigint {
  return typeof v === 'bigint' && v > 0n ? v : 0n;
}
