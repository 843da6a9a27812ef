import {
  ruleMatches, TEST_EVENT, type EventOrigin, type NotificationRule, type NotificationStore, type ObjectChange, type QueuedEvent,
} from '../notifications.js';
import type { SqlRow } from '../rows.js';
import type { PgDb, Sql } from './db.js';

/**
 * Bucket notification rules and the event outbox on PostgreSQL. Rules are read from the
 * database each time, never cached: a rule set through another gateway applies at once.
 * `onQueued` hears of events this gateway queued; those other gateways queue are found by the
 * delivery worker's poll.
 */
export class PgNotificationStore implements NotificationStore {
  private readonly listeners: Array<() => void> = [];
  private wakeScheduled = false;

  constructor(private readonly db: PgDb) {}

  async rules(bucket: string): Promise<readonly NotificationRule[]> {
    return parseRules((await this.db.one('SELECT notification FROM buckets WHERE name = $1', [bucket]))?.notification);
  }

  async setRules(bucket: string, rules: readonly NotificationRule[], origin?: EventOrigin, now = Date.now()): Promise<boolean> {
    const result = await this.db.writeLocked(async (sql) => {
      const r = await sql.one('UPDATE buckets SET notification = $1 WHERE name = $2 RETURNING owner', [rules.length ? JSON.stringify(rules) : null, bucket]);
      if (!r) return { found: false, queued: false };
      if (!origin) return { found: true, queued: false };
      for (const target of new Set(rules.map((x) => x.target))) {
        await insertEvent(sql, { target, configId: '', bucket, bucketOwner: String(r.owner), key: '', name: TEST_EVENT, eventTime: now, origin });
      }
      return { found: true, queued: rules.length > 0 };
    });
    if (result.queued) this.wake();
    return result.found;
  }

  /**
   * Queue the events `change` causes, inside the caller's unit of work, so they commit with it
   * or not at all; true when one was queued: call `wake()` once that unit has committed.
   * Without `origin` (lifecycle, tools) nothing is queued. `bucketRow` saves the read of the
   * bucket's owner and rules when the caller already has them.
   */
  async record(
    sql: Sql, bucket: string, change: ObjectChange, origin: EventOrigin | undefined, now: number,
    bucketRow?: { owner: string; notification: string | null },
  ): Promise<boolean> {
    if (!origin) return false;
    const b = bucketRow ?? (await sql.one<{ owner: string; notification: string | null }>('SELECT owner, notification FROM buckets WHERE name = $1', [bucket]));
    if (!b || b.notification == null) return false;
    let queued = false;
    for (const rule of parseRules(b.notification)) {
      if (!ruleMatches(rule, change.name, change.key)) continue;
      await insertEvent(sql, {
        target: rule.target, configId: rule.id, bucket, bucketOwner: String(b.owner), key: change.key, name: change.name, eventTime: now,
        size: change.size, etag: change.etag, versionId: change.versionId, origin,
      });
      queued = true;
    }
    return queued;
  }

  /** Tell the listeners, soon, that events were queued (after their unit of work committed). */
  wake(): void {
    if (this.wakeScheduled || this.listeners.length === 0) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      for (const fn of this.listeners) fn();
    });
  }

  async dropOldest(target: string, keep: number): Promise<number> {
    return this.db.writeLocked(async (sql) => {
      const n = Number((await sql.one('SELECT COUNT(*) AS n FROM notification_events WHERE target = $1', [target]))!.n);
      if (n <= keep) return 0;
      return sql.run(`DELETE FROM notification_events WHERE target = $1 AND id <= (
        SELECT id FROM notification_events WHERE target = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, [target, keep]);
    });
  }

  async due(target: string, now: number, limit: number, skip: ReadonlySet<number>): Promise<QueuedEvent[]> {
    const rows = await this.db.query('SELECT * FROM notification_events WHERE target = $1 AND next_at <= $2 ORDER BY next_at, id LIMIT $3', [
      target, now, limit + skip.size,
    ]);
    return rows.filter((r) => !skip.has(Number(r.id))).slice(0, limit).map(toQueuedEvent);
  }

  async delivered(id: number): Promise<void> {
    await this.db.writeLocked((sql) => sql.run('DELETE FROM notification_events WHERE id = $1', [id]));
  }

  async failed(id: number, nextAt: number, error: string): Promise<void> {
    await this.db.writeLocked((sql) => sql.run(
      'UPDATE notification_events SET attempts = attempts + 1, next_at = $1, last_error = $2 WHERE id = $3', [nextAt, error.slice(0, 500), id],
    ));
  }

  async pendingByTarget(): Promise<Map<string, number>> {
    const rows = await this.db.query('SELECT target, COUNT(*) AS n FROM notification_events GROUP BY target');
    return new Map(rows.map((r) => [String(r.target), Number(r.n)]));
  }

  onQueued(fn: () => void): void {
    this.listeners.push(fn);
  }
}

interface NewEvent {
  target: string;
  configId: string;
  bucket: string;
  bucketOwner: string;
  key: string;
  name: QueuedEvent['name'];
  eventTime: number;
  size?: number;
  etag?: string;
  versionId?: string;
  origin: EventOrigin;
}

async function insertEvent(sql: Sql, e: NewEvent): Promise<void> {
  await sql.run(`INSERT INTO notification_events(target, config_id, bucket, bucket_owner, key, event_name, event_time, size, etag, version_id,
    principal, source_ip, request_id, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $7)`, [
    e.target, e.configId, e.bucket, e.bucketOwner, e.key, e.name, e.eventTime, e.size ?? null, e.etag ?? null, e.versionId ?? null,
    e.origin.principal, e.origin.sourceIp, e.origin.requestId,
  ]);
}

function parseRules(v: unknown): NotificationRule[] {
  return v == null ? [] : (JSON.parse(String(v)) as NotificationRule[]);
}

function toQueuedEvent(r: SqlRow): QueuedEvent {
  return {
    id: Number(r.id), target: String(r.target), configId: String(r.config_id), bucket: String(r.bucket), bucketOwner: String(r.bucket_owner),
    key: String(r.key), name: r.event_name as QueuedEvent['name'], eventTime: Number(r.event_time),
    ...(r.size != null && { size: Number(r.size) }), ...(r.etag != null && { etag: String(r.etag) }),
    ...(r.version_id != null && { versionId: String(r.version_id) }),
    principal: String(r.principal), sourceIp: String(r.source_ip), requestId: String(r.request_id), attempts: Number(r.attempts),
  };
}
