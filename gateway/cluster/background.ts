import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { MetaStore } from '../meta/meta-store.js';
import { LeasedJob, type BackgroundJob, type LeaseTiming } from './leased-job.js';

/** The lease under which one gateway of a cluster runs all background work. */
export const BACKGROUND_LEASE = 'background';

/** This process as a lease holder: readable in `admin` output, unique across restarts. */
export function gatewayInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface Background {
  /** True while this gateway runs the background work (always, on a backend of one gateway). */
  readonly leading: boolean;
  readonly holder: string;
  stop(): Promise<void>;
}

/**
 * The one place the gateway's background work starts: repair, node monitoring, audits, scrub,
 * reports, snapshots, lifecycle, collection and notification delivery, in that order. On
 * SQLite the gateway is alone and runs them from the start. On a database several gateways
 * share, they run on whichever gateway holds the `background` lease, and move to another
 * within ttl + renew when it dies; `standBy` is told when this gateway does not run them (so
 * that what the admin API asks of them is left for the holder to pick up).
 */
export function startBackground(meta: MetaStore, jobs: readonly BackgroundJob[], opts: {
  holder: string;
  timing: LeaseTiming;
  standBy?: () => void;
  log?: (line: string) => void;
}): Background {
  const group: BackgroundJob = {
    start: () => { for (const j of jobs) j.start(); },
    // Stopped in the reverse order: repair and audits before the clients they use.
    stop: async () => { for (const j of [...jobs].reverse()) await j.stop(); opts.standBy?.(); },
  };
  if (meta.backend === 'sqlite') {
    group.start();
    return { leading: true, holder: opts.holder, stop: () => group.stop() };
  }
  opts.standBy?.();
  const log = opts.log ?? ((line: string) => console.log(line));
  const leased = new LeasedJob(meta.leases, BACKGROUND_LEASE, opts.holder, () => {
    log(`background work (repair, audits, scrub, reports, lifecycle, collection, notifications) runs on this gateway (${opts.holder})`);
    return group;
  }, opts.timing, log);
  leased.start();
  return {
    get leading() { return leased.active; },
    holder: opts.holder,
    stop: () => leased.stop(),
  };
}
