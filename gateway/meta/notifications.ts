import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { SqlRow } from './rows.js';

/**
 * S3 event names a rule may ask for, with the `s3:` prefix as in a NotificationConfiguration.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html
 */
export const NOTIFICATION_EVENTS = [
  's3:ObjectCreated:*', 's3:ObjectCreated:Put', 's3:ObjectCreated:Post', 's3:ObjectCreated:Copy', 's3:ObjectCreated:CompleteMultipartUpload',
  's3:ObjectRemoved:*', 's3:ObjectRemoved:Delete', 's3:ObjectRemoved:DeleteMarkerCreated',
] as const;

/** What a change is, as a record's `eventName` says it (no `s3:` prefix). */
export type ObjectCreatedEvent = 'ObjectCreated:Put' | 'ObjectCreated:Post' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload';
export type ObjectRemovedEvent = 'ObjectRemoved:Delete' | 'ObjectRemoved:DeleteMarkerCreated';
export type EventName = ObjectCreatedEvent | ObjectRemovedEvent;
/** The message S3 sends a destination when a configuration naming it is put (no object, no record). */
export const TEST_EVENT = 'TestEvent';

/** One QueueConfiguration of a bucket: events of `events` on keys with `prefix` and `suffix` go to `target`. */
export interface NotificationRule {
  id: string;
  /** The ARN as configured (arn:shardgate:sqs::<target>:webhook). */
  queue: string;
  /** The webhook target's ID (SHARDGATE_NOTIFY_WEBHOOK_<ID>). */
  target: string;
  /** With the `s3:` prefix; `*` wildcards as sent. */
  events: string[];
  prefix: string;
  suffix: string;
}

/** Who made a change, for the event's userIdentity, requestParameters and responseElements. */
export interface EventOrigin {
  requestId: string;
  /** The caller's user id. */
  principal: string;
  sourceIp: string;
}

/** The change an event reports. Removals carry no size or ETag, as on S3. */
export interface ObjectChange {
  name: EventName;
  key: string;
  size?: number;
  etag?: string;
  /** Omitted for the "null" version, as S3 omits it on unversioned buckets. */
  versionId?: string;
}

/** One event waiting for delivery (`name` TestEvent: the configuration's test message; no key). */
export interface QueuedEvent extends Omit<ObjectChange, 'name'>, EventOrigin {
  name: EventName | typeof TEST_EVENT;
  /** Also the event's sequencer: ids grow in commit order. */
  id: number;
  target: string;
  configId: string;
  bucket: string;
  bucketOwner: string;
  eventTime: number;
  attempts: number;
}

/** Whether a rule asks for an event of this name on this key. */
export function ruleMatches(rule: NotificationRule, name: EventName, key: string): boolean {
  if (!key.startsWith(rule.prefix) || !key.endsWith(rule.suffix)) return false;
  const full = `s3:${name}`;
  const family = full.slice(0, full.lastIndexOf(':'));
  return rule.events.some((e) => e === full || e === `${family}:*`);
}

/**
 * Bucket notification rules and the event outbox (migration 16), as the rest of the gateway
 * sees them. Events are queued by the commits that cause them (store.ts); the delivery worker
 * (gateway/notify/worker.ts) takes them from here.
 */
export interface NotificationStore {
  /** The bucket's rules; empty when it has none. */
  rules(bucket: string): Promise<readonly NotificationRule[]>;
  /**
   * Replace the bucket's rules (empty removes them); false when the bucket is gone. With
   * `origin`, each target the rules name is sent S3's test message, queued in the same commit.
   */
  setRules(bucket: string, rules: readonly NotificationRule[], origin?: EventOrigin, now?: number): Promise<boolean>;
  /** Drop the oldest events of `target` past the newest `keep`; how many were dropped. */
  dropOldest(target: string, keep: number): Promise<number>;
  /** Events for `target` due at `now`, oldest first, without the ids in `skip`. */
  due(target: string, now: number, limit: number, skip: ReadonlySet<number>): Promise<QueuedEvent[]>;
  /** The target took the event (2xx): it leaves the queue. */
  delivered(id: number): Promise<void>;
  /** An attempt failed: try again at `nextAt`. */
  failed(id: number, nextAt: number, error: string): Promise<void>;
  /** Events waiting, by target. */
  pendingByTarget(): Promise<Map<string, number>>;
  /** `fn` runs soon after each commit that queued an event (the worker wakes up on it). */
  onQueued(fn: () => void): void;
}

/** The SQLite notification store; one per database, kept by SqliteMetaStore. */
export class SqliteNotificationStore implements NotificationStore {
  private readonly s: Record<'rules' | 'setRules' | 'insert' | 'due' | 'delivered' | 'failed' | 'pending' | 'count' | 'dropOldest', Statement>;
  /**
   * Each bucket's rules and owner, read once: a write to a bucket without rules then costs no
   * query. Every change of a bucket's row that matters (rules set, bucket created or deleted)
   * drops its entry, so a rolled-back change only costs a read again.
   */
  private readonly cache = new Map<string, { owner: string; rules: NotificationRule[] } | null>();
  private readonly listeners: Array<() => void> = [];
  private wakeScheduled = false;

  constructor(private readonly db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      rules: p('SELECT owner, notification FROM buckets WHERE name = ?'),
      setRules: p('UPDATE buckets SET notification = ? WHERE name = ?'),
      insert: p(`INSERT INTO notification_events(target, config_id, bucket, bucket_owner, key, event_name, event_time, size, etag, version_id,
        principal, source_ip, request_id, next_at) VALUES (@target, @configId, @bucket, @bucketOwner, @key, @name, @eventTime, @size, @etag, @versionId,
        @principal, @sourceIp, @requestId, @eventTime)`),
      due: p('SELECT * FROM notification_events WHERE target = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?'),
      delivered: p('DELETE FROM notification_events WHERE id = ?'),
      failed: p('UPDATE notification_events SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?'),
      pending: p('SELECT target, COUNT(*) AS n FROM notification_events GROUP BY target'),
      count: p('SELECT COUNT(*) AS n FROM notification_events WHERE target = ?'),
      dropOldest: p(`DELETE FROM notification_events WHERE target = @target AND id <= (
        SELECT id FROM notification_events WHERE target = @target ORDER BY id DESC LIMIT 1 OFFSET @keep)`),
    };
  }

  private entry(bucket: string): { owner: string; rules: NotificationRule[] } | null {
    let e = this.cache.get(bucket);
    if (e === undefined) {
      const r = this.s.rules.get(bucket) as SqlRow | undefined;
      e = r ? { owner: String(r.owner), rules: r.notification == null ? [] : JSON.parse(String(r.notification)) as NotificationRule[] } : null;
      this.cache.set(bucket, e);
    }
    return e;
  }

  async rules(bucket: string): Promise<readonly NotificationRule[]> {
    return this.entry(bucket)?.rules ?? [];
  }

  async setRules(bucket: string, rules: readonly NotificationRule[], origin?: EventOrigin, now = Date.now()): Promise<boolean> {
    this.cache.delete(bucket);
    try {
      return this.setRulesAndTest(bucket, rules, origin, now);
    } finally {
      // Read again after the commit (or the rollback), never from inside it.
      this.cache.delete(bucket);
    }
  }

  private setRulesAndTest(bucket: string, rules: readonly NotificationRule[], origin: EventOrigin | undefined, now: number): boolean {
    return this.db.transaction(() => {
      if (this.s.setRules.run(rules.length ? JSON.stringify(rules) : null, bucket).changes === 0) return false;
      const owner = origin && this.entry(bucket)?.owner;
      if (origin && owner !== undefined) {
        for (const target of new Set(rules.map((r) => r.target))) {
          this.s.insert.run({
            target, configId: '', bucket, bucketOwner: owner, key: '', name: TEST_EVENT, eventTime: now,
            size: null, etag: null, versionId: null, ...origin,
          });
        }
        if (rules.length) this.wake();
      }
      return true;
    })();
  }

  async dropOldest(target: string, keep: number): Promise<number> {
    if ((this.s.count.get(target) as { n: number }).n <= keep) return 0;
    return this.s.dropOldest.run({ target, keep }).changes;
  }

  /** The bucket was created or deleted: its cached rules no longer hold. */
  forget(bucket: string): void {
    this.cache.delete(bucket);
  }

  /**
   * Queue the events `change` causes, inside the caller's transaction (store.ts), so they
   * commit with it or not at all. Without `origin` (lifecycle, tools) nothing is queued.
   */
  record(bucket: string, change: ObjectChange, origin: EventOrigin | undefined, now: number): void {
    if (!origin) return;
    const e = this.entry(bucket);
    if (!e || e.rules.length === 0) return;
    let queued = false;
    for (const rule of e.rules) {
      if (!ruleMatches(rule, change.name, change.key)) continue;
      this.s.insert.run({
        target: rule.target, configId: rule.id, bucket, bucketOwner: e.owner, key: change.key, name: change.name, eventTime: now,
        size: change.size ?? null, etag: change.etag ?? null, versionId: change.versionId ?? null, ...origin,
      });
      queued = true;
    }
    if (queued) this.wake();
  }

  private wake(): void {
    if (this.wakeScheduled || this.listeners.length === 0) return;
    this.wakeScheduled = true;
    // After the synchronous transaction that queued the event has committed.
    setImmediate(() => {
      this.wakeScheduled = false;
      for (const fn of this.listeners) fn();
    });
  }

  async due(target: string, now: number, limit: number, skip: ReadonlySet<number>): Promise<QueuedEvent[]> {
    const rows = this.s.due.all(target, now, limit + skip.size) as SqlRow[];
    return rows.filter((r) => !skip.has(Number(r.id))).slice(0, limit).map(toQueuedEvent);
  }

  async delivered(id: number): Promise<void> {
    this.s.delivered.run(id);
  }

  async failed(id: number, nextAt: number, error: string): Promise<void> {
    this.s.failed.run(nextAt, error.slice(0, 500), id);
  }

  async pendingByTarget(): Promise<Map<string, number>> {
    return new Map((this.s.pending.all() as SqlRow[]).map((r) => [String(r.target), Number(r.n)]));
  }

  onQueued(fn: () => void): void {
    this.listeners.push(fn);
  }
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
