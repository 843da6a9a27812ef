import type { Sql } from './db.js';

/**
 * One attempt at a write unit of work (PgDb.write). Besides its statements it carries what
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
   * Summed over the unit so that the bucket's counter row, which every writer of the bucket
   * updates, is locked once and as late as possible.
   */
  addUsage(bucket: string, bytes: number): void {
    if (bytes !== 0) this.usage.set(bucket, (this.usage.get(bucket) ?? 0) + bytes);
  }

  /** Write one bucket's pending usage; its counter as it now stands (undefined: nothing pending). */
  async flushUsageOf(bucket: string): Promise<number | undefined> {
    const bytes = this.usage.get(bucket);
    if (bytes === undefined) return undefined;
    this.usage.delete(bucket);
    const r = await this.sql.one<{ bytes: number }>(`INSERT INTO bucket_usage(bucket, bytes) VALUES ($1, $2)
      ON CONFLICT (bucket) DO UPDATE SET bytes = bucket_usage.bytes + excluded.bytes RETURNING bytes`, [bucket, bytes]);
    return r!.bytes;
  }

  /** Write every pending usage change; run last in each unit that touched objects. */
  async flushUsage(): Promise<void> {
    for (const bucket of [...this.usage.keys()].sort()) await this.flushUsageOf(bucket);
  }
}
