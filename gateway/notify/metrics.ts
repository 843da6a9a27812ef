import type { Counter, Metrics } from '../metrics.js';
import type { NotificationStore } from '../meta/notifications.js';

/** The delivery counters the worker keeps, by webhook target. */
export interface NotifyCounters {
  delivered: Counter;
  failedAttempts: Counter;
  /** Dropped undelivered because the target's queue passed SHARDGATE_NOTIFY_MAX_PENDING. */
  dropped: Counter;
}

/**
 * Bucket notification metrics on the gateway's registry: deliveries and failed attempts per
 * target (counted by the worker), and the events waiting per target (read at each scrape).
 */
export function notifyMetrics(metrics: Metrics, store: NotificationStore, targets: readonly string[]): NotifyCounters {
  const delivered = metrics.counter('shardgate_notifications_delivered_total', 'Bucket event notifications a webhook target accepted (2xx), by target.');
  const failedAttempts = metrics.counter(
    'shardgate_notifications_failed_attempts_total', 'Delivery attempts of bucket event notifications that failed (no answer, timeout or not 2xx) and will be retried, by target.',
  );
  const dropped = metrics.counter(
    'shardgate_notifications_dropped_total', 'Bucket event notifications dropped undelivered, oldest first, because their target\'s queue passed SHARDGATE_NOTIFY_MAX_PENDING, by target.',
  );
  // Present from the start, so a rate() over them works before the first event.
  for (const target of targets) {
    delivered.inc({ target }, 0);
    failedAttempts.inc({ target }, 0);
    dropped.inc({ target }, 0);
  }
  metrics.collect(async () => {
    const pending = await store.pendingByTarget();
    for (const target of targets) if (!pending.has(target)) pending.set(target, 0);
    return [{
      name: 'shardgate_notifications_pending', type: 'gauge',
      help: 'Bucket event notifications queued and not yet delivered, by target (a target no longer configured keeps its events).',
      samples: [...pending].map(([target, value]) => ({ labels: { target }, value })),
    }];
  });
  return { delivered, failedAttempts, dropped };
}
