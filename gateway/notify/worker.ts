import { Agent, request } from 'undici';
import type { NotifyConfig, WebhookTarget } from '../config.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { QueuedEvent } from '../meta/notifications.js';
import { deadline } from '../deadline.js';
import { eventMessage } from './event.js';
import type { NotifyCounters } from './metrics.js';

/** How often the queues are held to SHARDGATE_NOTIFY_MAX_PENDING (a count per target costs a scan). */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * The delay before retry number `attempt` (1 for the first retry): `first` doubling per
 * attempt up to `max`, then drawn from its upper half, so that targets coming back are not
 * hit by every queued event at the same instant.
 */
export function backoffMs(attempt: number, first: number, max: number, random: () => number = Math.random): number {
  const full = Math.min(max, first * 2 ** Math.min(attempt - 1, 40));
  return Math.round(full / 2 + random() * (full / 2));
}

/**
 * Delivers queued bucket events (the outbox in MetaStore.notifications) to the webhook
 * targets, at least once: an event leaves the queue only once its target answered 2xx, so a
 * gateway killed mid-delivery sends it again after its restart. Each target has its own lane
 * with bounded concurrency, so a slow or dead target delays only its own events. Order is not
 * kept: the sequencer tells consumers which of two events on a key came last.
 */
export class NotificationWorker {
  private lanes: Lane[] = [];
  private agent: Agent | undefined;
  private stopping = new AbortController();
  private listening = false;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly meta: MetaStore, private readonly cfg: NotifyConfig, private readonly region: string, private readonly counters: NotifyCounters,
    private readonly log: (line: string) => void = console.error,
  ) {}

  async start(): Promise<void> {
    // Made anew at each start: a gateway that lost the background lease and won it back
    // delivers again with fresh connections.
    const { cfg, meta, region, counters, log } = this;
    const stopping = new AbortController();
    this.stopping = stopping;
    const agent = new Agent({ connections: cfg.concurrency, headersTimeout: cfg.timeoutMs, bodyTimeout: cfg.timeoutMs, connectTimeout: cfg.timeoutMs });
    this.agent = agent;
    this.lanes = cfg.webhooks.map((t) => new Lane(t, meta, cfg, region, counters, agent, stopping.signal, log));
    const configured = new Set(this.cfg.webhooks.map((w) => w.id));
    for (const [target, n] of await this.meta.notifications.pendingByTarget()) {
      if (!configured.has(target)) this.log(`notifications: ${n} event(s) wait for webhook target ${target}, which is not configured (SHARDGATE_NOTIFY_WEBHOOK_${target})`);
    }
    // Queues of every target, configured or not (a target removed from the configuration keeps its events).
    await this.prune();
    if (stopping.signal.aborted) return; // stopped while starting
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    if (this.lanes.length === 0) return;
    if (!this.listening) this.meta.notifications.onQueued(() => this.kick());
    this.listening = true;
    this.timer = setInterval(() => this.kick(), this.cfg.intervalMs);
    this.timer.unref();
    this.kick();
  }

  private kick(): void {
    for (const lane of this.lanes) lane.kick();
  }

  /**
   * A target that is down for good, or was removed, must not fill the gateway's disk: past
   * maxPending events, the oldest are dropped, counted and said. Writes never wait for it.
   */
  async prune(): Promise<void> {
    try {
      for (const [target, n] of await this.meta.notifications.pendingByTarget()) {
        if (n <= this.cfg.maxPending) continue;
        const dropped = await this.meta.notifications.dropOldest(target, this.cfg.maxPending);
        if (dropped === 0) continue;
        this.counters.dropped.inc({ target }, dropped);
        this.log(`notifications: ${target}: ${dropped} undelivered event(s) dropped, oldest first: the queue passed SHARDGATE_NOTIFY_MAX_PENDING (${this.cfg.maxPending})`);
      }
    } catch (err) {
      this.log(`notifications: could not trim the queues now (${(err as Error).message}); will retry`);
    }
  }

  /** Stop taking events and abandon deliveries under way (they stay queued and go again after a restart). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    this.stopping.abort();
    await Promise.all(this.lanes.map((l) => l.idle()));
    this.lanes = [];
    await this.agent?.close();
    this.agent = undefined;
  }
}

/** One target's deliveries. */
class Lane {
  private readonly inFlight = new Map<number, Promise<void>>();
  private pulling = false;
  private again = false;
  private failing = false;
  /** The queue could not be read (the metadata not durable): said once until it can again. */
  private stalled = false;

  constructor(
    private readonly target: WebhookTarget, private readonly meta: MetaStore, private readonly cfg: NotifyConfig, private readonly region: string,
    private readonly counters: NotifyCounters, private readonly agent: Agent, private readonly stopping: AbortSignal,
    private readonly log: (line: string) => void,
  ) {}

  kick(): void {
    if (this.stopping.aborted) return;
    if (this.pulling) {
      this.again = true;
      return;
    }
    void this.pull();
  }

  async idle(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }

  private async pull(): Promise<void> {
    this.pulling = true;
    try {
      do {
        this.again = false;
        // An event is announced only once the write it reports is durable: a write lost in
        // a crash must not have been announced.
        await this.meta.durable();
        if (this.stopping.aborted) return;
        this.stalled = false;
        const room = this.cfg.concurrency - this.inFlight.size;
        if (room <= 0) return;
        for (const e of await this.meta.notifications.due(this.target.id, Date.now(), room, new Set(this.inFlight.keys()))) {
          const p = this.deliver(e).catch((err: unknown) => {
            this.log(`notifications: ${this.target.id}: event ${e.id}: ${(err as Error).message}`);
          }).finally(() => {
            this.inFlight.delete(e.id);
            this.kick();
          });
          this.inFlight.set(e.id, p);
        }
      } while (this.again);
    } catch (err) {
      // The next tick tries again; one line per outage, not one per tick.
      if (!this.stalled) this.log(`notifications: ${this.target.id}: cannot read the queue now (${(err as Error).message}); will retry`);
      this.stalled = true;
    } finally {
      this.pulling = false;
    }
  }

  private async deliver(e: QueuedEvent): Promise<void> {
    let failure: string;
    // Not AbortSignal.any with AbortSignal.timeout: Node 20 may collect that timeout before it fires (deadline.ts).
    const limit = deadline(this.cfg.timeoutMs, this.stopping);
    try {
      const res = await request(this.target.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', ...(this.target.token !== undefined && { authorization: `Bearer ${this.target.token}` }) },
        body: JSON.stringify(eventMessage(e, this.region)),
        signal: limit.signal,
      });
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      if (res.statusCode >= 200 && res.statusCode < 300) {
        await this.meta.notifications.delivered(e.id);
        this.counters.delivered.inc({ target: this.target.id });
        if (this.failing) this.log(`notifications: ${this.target.id}: delivering again`);
        this.failing = false;
        return;
      }
      failure = `HTTP ${res.statusCode}`;
    } catch (err) {
      // Stopping: the event stays queued as it was; it is not this target's failure.
      if (this.stopping.aborted) return;
      failure = (err as Error).message || String(err);
    } finally {
      limit.clear();
    }
    this.counters.failedAttempts.inc({ target: this.target.id });
    const attempt = e.attempts + 1;
    await this.meta.notifications.failed(e.id, Date.now() + backoffMs(attempt, this.cfg.retryMs, this.cfg.retryMaxMs), failure);
    // One line when a target starts failing, not one per event.
    if (!this.failing) this.log(`notifications: ${this.target.id}: delivery failed (${failure}); retrying with back-off`);
    this.failing = true;
  }
}
