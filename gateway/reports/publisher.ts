import type { NodeMonitor } from '../repair/node-monitor.js';
import type { NodeStore } from '../meta/nodes.js';
import type { AuditStore } from '../meta/audit-store.js';
import type { ReportLog } from './log.js';
import type { ReportEntry } from './format.js';

const PERIOD_KEY = 'reports.periodStart';

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

  constructor(
    private readonly nodes: NodeStore,
    private readonly audits: AuditStore,
    private readonly monitor: NodeMonitor | undefined,
    private readonly log: ReportLog,
    private readonly periodMs: number,
    private readonly sampleMs = Math.max(250, Math.min(10_000, Math.floor(periodMs / 20))),
  ) {}

  start(): void {
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
      // A node removed during the period is still reported for it: its last audits matter most.
      const reported = (await this.nodes.list()).filter((n) => n.state !== 'removed' || (n.stateSince ?? 0) >= start || this.samples.has(n.id));
      const reports = [];
      for (const n of reported) {
        const s = this.samples.get(n.id) ?? { samples: 0, up: 0 };
        reports.push({
          node: n.id, zone: n.zone, periodStart: start, periodEnd: end, audits: await this.audits.counts(n.id, start, end),
          uptime: { samples: s.samples, up: s.up, ratio: s.samples ? Math.round((s.up / s.samples) * 10_000) / 10_000 : 0 },
          score: n.score, state: n.state, issuedAt: now,
        });
      }
      const entries = await this.log.append(reports);
      this.samples.clear();
      await this.audits.setState(PERIOD_KEY, String(end));
      return entries;
    })().finally(() => (this.publishing = undefined));
    return this.publishing;
  }
}
