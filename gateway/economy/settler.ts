import type { EraSummary } from '../ledger/index.js';
import type { AuditStore } from '../meta/audit-store.js';
import type { NodeStore } from '../meta/nodes.js';
import type { ReportStore } from '../meta/reports.js';
import { eraWindow } from '../ledger/index.js';
import type { LedgerBook } from './book.js';
import type { SettlementRecord } from './records.js';

/** Where the report publisher's current period starts (gateway/reports/publisher.ts): every report of an earlier period is published. */
const REPORTS_PERIOD_KEY = 'reports.periodStart';

export interface EraSettlerOptions {
  /** Who pays each era's fee (an operator account name); none: no fee events. */
  operator?: string;
  /** How often to look for an era to settle (default: a quarter era, 250 ms to 60 s). */
  tickMs?: number;
  log?: (line: string) => void;
  onSettled?: (summary: EraSummary) => void;
}

/**
 * Settles eras once they are over and their reports are published: in order, each once (the
 * book records the settlement in the signed log; a second gateway that tries the same era
 * finds the tail moved, reads the record, and has nothing left to do). start()/stop() so that
 * a lease can run it on one gateway of several.
 */
export class EraSettler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly book: LedgerBook,
    private readonly nodes: NodeStore,
    private readonly audit: AuditStore,
    private readonly reports: ReportStore,
    private readonly opts: EraSettlerOptions = {},
  ) {}

  start(): void {
    this.stopped = false;
    const every = this.opts.tickMs ?? this.defaultTick();
    this.timer = setInterval(() => {
      if (this.running || this.stopped) return;
      this.running = this.tick()
        .catch((err: unknown) => (this.opts.log ?? console.error)(`ledger: settlement: ${(err as Error).message}`))
        .finally(() => (this.running = undefined));
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private defaultTick(): number {
    const eraMs = this.book.on ? Number(this.book.current.state.params.eraMs) : 60_000;
    return Math.max(250, Math.min(60_000, Math.floor(eraMs / 4)));
  }

  /** Settle every era that is due, in order; the summaries of those settled now. */
  async tick(now = Date.now()): Promise<EraSummary[]> {
    await this.book.sync();
    const done: EraSummary[] = [];
    while (this.book.on && !this.stopped) {
      const v = this.book.current;
      const window = eraWindow(v.state, v.settledEra + 1);
      if (now < window.end) break;
      // Reports whose period starts in the era must all be in the log first: they are its service.
      const published = Number(await this.audit.getState(REPORTS_PERIOD_KEY) ?? Number.NaN);
      if (!(published >= window.end)) break;
      const operator = this.opts.operator;
      const summary = await this.book.settleNext({
        zones: await this.zones(), reportsThrough: (await this.reports.tail())?.seq ?? 0, now, ...(operator !== undefined && { operator }),
      });
      if (!summary) break;
      done.push(summary);
      this.opts.onSettled?.(summary);
      this.opts.log?.(`ledger: era ${summary.era} settled: ${summary.rewardsPaid} paid, ${summary.slashed} slashed, ${summary.burned} burned`);
    }
    return done;
  }

  /** Capacity and free bytes of each zone at the end of the era, from the stores' last /status answers. */
  private async zones(): Promise<SettlementRecord['zones']> {
    const by = new Map<string, { capacity: bigint; free: bigint }>();
    for (const n of await this.nodes.list()) {
      if (n.state === 'removed') continue;
      const z = by.get(n.zone) ?? { capacity: 0n, free: 0n };
      z.capacity += BigInt(Math.max(0, Math.floor(n.capacity ?? 0)));
      z.free += BigInt(Math.max(0, Math.floor(n.freeBytes ?? 0)));
      by.set(n.zone, z);
    }
    return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([zone, z]) => ({ zone, capacityBytes: String(z.capacity), freeBytes: String(z.free) }));
  }
}
