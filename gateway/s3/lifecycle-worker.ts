import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { MetaObjectLockedError } from '../meta/errors.js';
import { type MetaStore } from '../meta/store.js';
import type { VersionRow } from '../meta/types.js';
import type { LifecycleRule } from './lifecycle.js';
import { walkUploads } from './uploads.js';
import { walkVersions } from './versioning.js';

/**
 * Applies the buckets' lifecycle rules in the background. Safe to restart by construction:
 * every pass reads what is due from the metadata alone and each action is one metadata
 * transaction that is a no-op when repeated (a version already gone, a marker already
 * there), so a pass cut short by a crash is simply done again by the next one. Expired
 * versions lose their blobs to the garbage collector, as any delete does.
 */

export interface LifecycleOptions {
  /** Length of a lifecycle "day"; shortened only by tests (SHARDGATE_LIFECYCLE_DAY_MS). */
  dayMs: number;
  intervalMs: number;
}

/** Versions or uploads looked at between two yields to the event loop, so S3 requests keep flowing. */
const YIELD_EVERY = 256;

export interface LifecycleStats {
  expired: number;
  noncurrentExpired: number;
  markersRemoved: number;
  uploadsAborted: number;
  /** Versions due but kept by Object Lock. */
  locked: number;
}

export function lifecycleOptionsFromEnv(env: NodeJS.ProcessEnv): LifecycleOptions {
  const dayMs = Number(env.SHARDGATE_LIFECYCLE_DAY_MS ?? 86_400_000);
  const intervalMs = Number(env.SHARDGATE_LIFECYCLE_INTERVAL_MS ?? 3_600_000);
  return {
    dayMs: Number.isFinite(dayMs) && dayMs > 0 ? dayMs : 86_400_000,
    intervalMs: Number.isFinite(intervalMs) && intervalMs > 0 ? intervalMs : 3_600_000,
  };
}

async function matches(meta: MetaStore, rule: LifecycleRule, v: VersionRow): Promise<boolean> {
  const f = rule.filter;
  if (!v.key.startsWith(f.prefix)) return false;
  if (f.sizeGreaterThan !== undefined && !(v.size > f.sizeGreaterThan)) return false;
  if (f.sizeLessThan !== undefined && !(v.size < f.sizeLessThan)) return false;
  if (f.tags.length) {
    const tags = await meta.objectTags(v.id);
    if (!f.tags.every((t) => tags.some((x) => x.key === t.key && x.value === t.value))) return false;
  }
  return true;
}

export class LifecycleWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly meta: MetaStore, private readonly opts: LifecycleOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= Promise.resolve().then(() => this.runOnce())
        .catch((err: unknown) => console.error('lifecycle:', err))
        .finally(() => (this.running = undefined));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * One pass over every bucket with rules. The walk pages through the metadata by key and
   * yields to the event loop every few hundred entries: a bucket of millions of versions
   * must not stall the gateway's requests while it is scanned.
   */
  async runOnce(now = Date.now()): Promise<LifecycleStats> {
    const stats: LifecycleStats = { expired: 0, noncurrentExpired: 0, markersRemoved: 0, uploadsAborted: 0, locked: 0 };
    for (const bucket of await this.meta.bucketsWithLifecycle()) {
      const rules = ((await this.meta.bucketLifecycle<LifecycleRule[]>(bucket)) ?? []).filter((r) => r.enabled);
      if (rules.length) await this.runBucket(bucket, rules, now, stats);
    }
    return stats;
  }

  private async runBucket(bucket: string, rules: LifecycleRule[], now: number, stats: LifecycleStats): Promise<void> {
    const age = (since: number): number => (now - since) / this.opts.dayMs;
    // A key's versions arrive together, newest first; each key is decided once all are seen.
    let group: VersionRow[] = [];
    const flush = async (): Promise<void> => {
      if (group.length) await this.runKey(bucket, group, rules, now, age, stats);
      group = [];
    };
    let seen = 0;
    for await (const e of walkVersions(this.meta, bucket, '', '', { fromKey: '' })) {
      // The walker pages by key, so writes made while we yield are safe for it.
      if (++seen % YIELD_EVERY === 0) await yieldToLoop();
      if (e.kind !== 'version') continue;
      if (group.length && group[0]!.key !== e.row.key) await flush();
      group.push(e.row);
    }
    await flush();
    const abortRules = rules.filter((r) => r.abortIncompleteUploadDays !== undefined);
    if (!abortRules.length) return;
    for await (const e of walkUploads(this.meta, bucket, '', '', { fromKey: '' })) {
      if (++seen % YIELD_EVERY === 0) await yieldToLoop();
      if (e.kind !== 'upload') continue;
      const u = e.upload;
      if (abortRules.some((r) => u.key.startsWith(r.filter.prefix) && age(u.createdAt) >= r.abortIncompleteUploadDays!)) {
        if (await this.meta.abortUpload(u.id)) stats.uploadsAborted++;
      }
    }
  }

  private async runKey(
    bucket: string, versions: VersionRow[], rules: LifecycleRule[], now: number, age: (t: number) => number, stats: LifecycleStats,
  ): Promise<void> {
    const remove = async (v: VersionRow): Promise<boolean> => {
      try {
        return (await this.meta.deleteVersion(bucket, v.key, { versionId: v.versionId, now })).existed;
      } catch (err) {
        if (!(err instanceof MetaObjectLockedError)) throw err;
        stats.locked++;
        return false;
      }
    };
    // Noncurrent versions: each became noncurrent when the next newer version was written.
    const kept = new Set<VersionRow>(versions);
    for (let i = 1; i < versions.length; i++) {
      const v = versions[i]!;
      const since = versions[i - 1]!.lastModified;
      const due = await someRule(rules, async (r) => r.noncurrentExpiration !== undefined && await matches(this.meta, r, v)
        && i - 1 >= (r.noncurrentExpiration.newerNoncurrentVersions ?? 0) && age(since) >= r.noncurrentExpiration.days);
      if (due && await remove(v)) {
        kept.delete(v);
        stats.noncurrentExpired++;
      }
    }
    const current = versions[0]!;
    if (!current.isLatest) return;
    if (current.deleteMarker) {
      // An expired delete marker: the only version left of its key.
      const alone = kept.size === 1;
      if (alone && rules.some((r) => r.expiration?.expiredObjectDeleteMarker && current.key.startsWith(r.filter.prefix)) && await remove(current)) stats.markersRemoved++;
      return;
    }
    const expire = await someRule(rules, async (r) => r.expiration !== undefined && await matches(this.meta, r, current)
      && ((r.expiration.days !== undefined && age(current.lastModified) >= r.expiration.days) || (r.expiration.date !== undefined && now >= r.expiration.date)));
    if (!expire) return;
    // As DeleteObject without versionId: a delete marker on a versioned bucket, else gone.
    try {
      if ((await this.meta.deleteVersion(bucket, current.key, { now, ifCurrentId: current.id })).existed) stats.expired++;
    } catch (err) {
      if (!(err instanceof MetaObjectLockedError)) throw err;
      stats.locked++;
    }
  }
}

/** Whether any rule passes `test`, tried in order until one does (as Array.some). */
async function someRule(rules: readonly LifecycleRule[], test: (r: LifecycleRule) => Promise<boolean>): Promise<boolean> {
  for (const r of rules) if (await test(r)) return true;
  return false;
}
