import type { NodeMonitor } from '../repair/node-monitor.js';
import type { NodeInfo, NodeStore } from '../meta/nodes.js';
import type { ReportEntry, ReportServiceFields } from './format.js';
import type { AuditStore } from '../meta/audit-store.js';
import type { ReportLog } from './log.js';

const PERIOD_KEY = 'reports.periodStart';
const HOUR_MS = 3_600_000n;

/**
 * Where a report's service figures come from (the economy pays by them, gateway/ledger/service.ts):
 * bytes each store holds by the metadata (what the gateway placed there, which a store cannot
 * inflate as it could a /status answer), and piece bytes the gateway read from each store, by
 * its own count, since it started.
 */
export interface ServiceSource {
  bytesHeld(): Promise<Map<string, number>>;
  bytesRead(): ReadonlyMap<string, number>;
}

/** Why the auditor drains a store it treats as lost (an admin drain is not a loss). */
export const LOST_REASON_PREFIX = 'failed audits';

/**
 * Publishes one signed report per node per period: the period's audit outcomes (from the
 * audits table) and its uptime, sampled here every `sampleMs` (up = the node answers its
 * status probes and is not offline). Samples live in memory: a restart loses at most the
 * current period's uptime samples, never an audit result.
 */
export class ReportPublisher {
  private readonly samples = new Map<string, { samples: number; up: number }>();
  private timers: NodeJS.Timeout[] = [];
  private publishing: Promise<ReportEntry[]> | undefined;
  /** Bytes held at the start of the current period and bytes read until then, per store (unknown after a restart). */
  private heldAtStart: Map<string, number> | undefined;
  private readAtStart = new Map<string, number>();

  constructor(
    private readonly nodes: NodeStore,
    private readonly audits: AuditStore,
    private readonly monitor: NodeMonitor | undefined,
    private readonly log: ReportLog,
    private readonly periodMs: number,
    private readonly sampleMs = Math.max(250, Math.min(10_000, Math.floor(periodMs / 20))),
    private readonly service?: ServiceSource,
  ) {}

  start(): void {
    this.timers = [];
    const failed = (err: unknown): void => console.error('reports:', (err as Error).message);
    // The first period starts with the first start (only this publisher writes the key).
    void (async () => {
      if ((await this.audits.getState(PERIOD_KEY)) === undefined) await this.audits.setState(PERIOD_KEY, String(Date.now()));
    })().catch(failed);
    const every = (ms: number, fn: () => Promise<void>): void => {
      const t = setInterval(() => void fn().catch(failed), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.sampleMs, () => this.sample());
    every(Math.min(this.periodMs, 60_000), async () => {
      if (Date.now() >= (await this.periodStart()) + this.periodMs) await this.publish();
    });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.publishing?.catch(() => undefined);
  }

  private async periodStart(): Promise<number> {
    return Number((await this.audits.getState(PERIOD_KEY)) ?? Date.now());
  }

  /**
   * A store's service in the period: bytes held integrated over it in byte-hours (the mean of
   * what it held at the start and at the end, times the period: the metadata is read once per
   * period, not per write; after a restart the start is taken as the end), bytes the gateway
   * read from it, and whether the auditor drained it as lost.
   */
  private serviceFields(n: NodeInfo, s: { held: Map<string, number>; read: Map<string, number> }, start: number, end: number): ReportServiceFields {
    const now = BigInt(s.held.get(n.id) ?? 0);
    const before = this.heldAtStart === undefined ? now : BigInt(this.heldAtStart.get(n.id) ?? 0);
    const read = (s.read.get(n.id) ?? 0) - (this.readAtStart.get(n.id) ?? 0);
    return {
      storedByteHours: String(((before + now) * BigInt(end - start)) / (2n * HOUR_MS)),
      servedBytes: String(Math.max(0, read)),
      lost: (n.state === 'draining' || n.state === 'removed') && (n.stateReason ?? '').startsWith(LOST_REASON_PREFIX),
    };
  }

  /** Record whether each node is up right now. */
  async sample(): Promise<void> {
    for (const n of await this.nodes.list()) {
      if (n.state === 'removed') continue;
      const s = this.samples.get(n.id) ?? { samples: 0, up: 0 };
      s.samples++;
      const answering = this.monitor ? this.monitor.consecutiveFailures(n.id) === 0 : true;
      if (n.state !== 'offline' && answering) s.up++;
      this.samples.set(n.id, s);
    }
  }

  /** Close the current period now: one report per node, appended to the log. */
  publish(now = Date.now()): Promise<ReportEntry[]> {
    this.publishing ??= (async () => {
      const start = await this.periodStart();
      const end = Math.max(now, start + 1);
      await this.sample();
      const service = this.service && { held: await this.service.bytesHeld(), read: new Map(this.service.bytesRead()) };
      // A node removed during the period is still reported for it: its last audits matter most.
      const reported = (await this.nodes.list()).filter((n) => n.state !== 'removed' || (n.stateSince ?? 0) >= start || this.samples.has(n.id));
      const reports = [];
      for (const n of reported) {
        const s = this.samples.get(n.id) ?? { samples: 0, up: 0 };
        reports.push({
          node: n.id, zone: n.zone, periodStart: start, periodEnd: end, audits: await this.audits.counts(n.id, start, end),
          uptime: { samples: s.samples, up: s.up, ratio: s.samples ? Math.round((s.up / s.samples) * 10_000) / 10_000 : 0 },
          score: n.score, state: n.state, issuedAt: now,
          ...(service && this.serviceFields(n, service, start, end)),
        });
      }
      const entries = await this.log.append(reports);
      this.samples.clear();
      if (service) {
        this.heldAtStart = service.held;
        this.readAtStart = service.read;
      }
      await this.audits.setState(PERIOD_KEY, String(end));
      return entries;
    })().finally(() => (this.publishing = undefined));
    return this.publishing;
  }
}
