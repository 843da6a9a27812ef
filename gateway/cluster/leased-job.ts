import type { LeaseStore } from '../meta/leases.js';

/** A background job as the gateway runs it: started once its lease is held, stopped when lost. */
export interface BackgroundJob {
  start(): void;
  stop(): Promise<void>;
}

export interface LeaseTiming {
  /** How long a lease lasts without renewal: a dead holder's job moves within ttl + renew. */
  ttlMs: number;
  /** How often the holder renews and the others try to take over. */
  renewMs: number;
}

/** 30 s leases renewed every 10 s: a job whose gateway died runs again elsewhere within 40 s. */
export const DEFAULT_LEASE_TIMING: LeaseTiming = { ttlMs: 30_000, renewMs: 10_000 };

export function leaseTimingFromEnv(env: NodeJS.ProcessEnv): LeaseTiming {
  const ttl = Number(env.SHARDGATE_LEASE_TTL_MS);
  if (!Number.isFinite(ttl) || ttl <= 0) return DEFAULT_LEASE_TIMING;
  return { ttlMs: ttl, renewMs: Math.max(50, Math.floor(ttl / 3)) };
}

/**
 * Runs `job` on this gateway only while it holds the lease `name`. A job is made anew
 * (`create`) each time the lease is won, so what a previous holder left half done is picked
 * up from the database (cursors, queues), never from memory. When renewal fails (the
 * database unreachable) the job stops before the lease can have run out, so two gateways never
 * run it at once.
 */
export class LeasedJob {
  private timer: NodeJS.Timeout | undefined;
  private running: BackgroundJob | undefined;
  private heldSince = 0;
  private lastRenewal = 0;
  private tick: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly leases: LeaseStore,
    readonly name: string,
    private readonly holder: string,
    private readonly create: () => BackgroundJob,
    private readonly timing: LeaseTiming = DEFAULT_LEASE_TIMING,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** True while this gateway runs the job. */
  get active(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick;
    await this.lose();
    await this.leases.release(this.name, this.holder).catch(() => undefined);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.tick = this.renew().finally(() => {
        if (!this.stopped) this.schedule(this.timing.renewMs);
      });
    }, ms);
    this.timer.unref?.();
  }

  private async renew(): Promise<void> {
    const asked = Date.now();
    let held: boolean;
    try {
      held = await this.leases.acquire(this.name, this.holder, this.timing.ttlMs);
    } catch (err) {
      // Cannot tell whether the lease still stands: stop while it surely does.
      if (this.running && Date.now() - this.lastRenewal > this.timing.ttlMs - this.timing.renewMs) {
        this.log(`lease ${this.name}: cannot renew (${(err as Error).message}); stopping the job until it can`);
        await this.lose();
      }
      return;
    }
    if (this.stopped) return;
    if (!held) {
      if (this.running) this.log(`lease ${this.name}: taken over by another gateway; stopping the job here`);
      await this.lose();
      return;
    }
    this.lastRenewal = asked;
    if (!this.running) {
      this.heldSince = asked;
      this.running = this.create();
      this.running.start();
    }
  }

  private async lose(): Promise<void> {
    const job = this.running;
    this.running = undefined;
    if (job) await job.stop();
  }

  /** Since when this gateway has held the lease (0 when it does not). */
  get since(): number {
    return this.running ? this.heldSince : 0;
  }
}
