import type { Sql } from './db.js';
import { addBucketUsage } from './quota.js';

/**
 * One attempt at a write unit of work (PgDb.writeLocked). Besides its statements it carries what
 * must happen once it has committed, and only then: a transaction may be retried from the
 * start, so a signal sent from inside it could announce a commit that never happened.
 */
export class Tx {
  /** Bytes each bucket gained (or lost) in this unit, written to bucket_usage once at the end. */
  private readonly usage = new Map<string, number>();
  /** Notification events were queued: the delivery worker is woken after the commit. */
  queuedEvents = false;
  /** The nodes table changed: listNodes' cache no longer holds after the commit. */
  nodesChanged = false;

  constructor(readonly sql: Sql) {}

  /**
   * Count bytes in or out of a bucket, as SQLite's usage_* triggers do for each objects row.
   * Summed over the unit and written once at its end (quota.ts addBucketUsage).
   */
  addUsage(bucket: string, bytes: number): void {
    if (bytes !== 0) this.usage.set(bucket, (this.usage.get(bucket) ?? 0) + bytes);
  }

  /** Write one bucket's pending usage. */
  async flushUsageOf(bucket: string): Promise<void> {
    const bytes = this.usage.get(bucket);
    if (bytes === undefined) return;
    this.usage.delete(bucket);
    await addBucketUsage(this.sql, bucket, bytes);
  }

  /** Write every pending usage change; run last in each unit that touched objects. */
  async flushUsage(): Promise<void> {
    for (const bucket of [...this.usage.keys()].sort()) await this.flushUsageOf(bucket);
  }
}
