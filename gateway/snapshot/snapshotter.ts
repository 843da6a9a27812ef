import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import type { NodeStore } from '../meta/nodes.js';
import type { SnapshotStore } from '../meta/snapshots.js';
import type { PipelineContext } from '../pipeline/context.js';
import { putBlob } from '../pipeline/put-blob.js';
import type { RootCredentials } from '../secrets.js';
import { GATEWAY_KEY_FILE } from '../shards/keys.js';
import type { ShardClient } from '../shards/client.js';
import type { PinBook } from '../shards/pins.js';
import type { JournalPosition, JournalShipper } from '../journal/shipper.js';
import { manifestKey, manifestShardId, recoveryKey } from './keys.js';
import { sealManifest, type SnapshotManifest } from './manifest.js';

export interface SnapshotInfo {
  seq: number;
  blobId: string;
  size: number;
  createdAt: number;
  /** Shard-stores that hold the new manifest. */
  manifests: number;
  ms: number;
}

export class SnapshotError extends Error {
  code = 'ERR_SNAPSHOT';
}

/**
 * Metadata snapshots onto the shard-stores: a consistent copy of meta.db (SQLite's online
 * backup, readers and writers carry on meanwhile) is written with the object pipeline, so
 * it is encrypted and erasure-coded like any object, and kept live so repair looks after
 * it. Then the manifest that locates it is written to every store. Older snapshots beyond
 * `kept` become garbage and the collector deletes their pieces.
 */
export class Snapshotter {
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<SnapshotInfo> | undefined;
  private queued: Promise<SnapshotInfo> | undefined;

  constructor(
    private readonly ctx: PipelineContext,
    /** The metadata's own snapshot records (a backend that ships snapshots: SQLite). */
    private readonly snapshots: SnapshotStore,
    private readonly nodes: NodeStore,
    private readonly client: ShardClient,
    private readonly opts: {
      dataDir: string; intervalMs: number; kept: number; rootCredentials: RootCredentials; pins?: PinBook; log?: (line: string) => void;
      /** The metadata journal: a snapshot records where replay starts, and frees older entries. */
      journal?: JournalShipper;
    },
  ) {}

  start(): void {
    // Register the recovery key early: a gateway that dies before its first snapshot has nothing to recover anyway.
    void this.registerRecoveryKey().catch(() => undefined);
    this.coverJournalEpoch();
    if (this.opts.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.snapshot().catch((err: unknown) => this.opts.log?.(`snapshot: ${(err as Error).message}`)), this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    await this.running?.catch(() => undefined);
  }

  /**
   * Recovery replays the journal from the newest snapshot on; entries of an epoch that no
   * snapshot names would never be found. So a new epoch (a new gateway, or one just
   * recovered) starts with a snapshot, retried until the stores take it.
   */
  private coverJournalEpoch(): void {
    const journal = this.opts.journal;
    if (!journal || this.snapshots.coversEpoch(journal.position().epoch)) return;
    void this.snapshot().catch((err: unknown) => {
      if (this.stopped) return;
      this.opts.log?.(`snapshot: the journal's new epoch is not covered yet (${(err as Error).message}); retrying in 30 s`);
      this.retry = setTimeout(() => this.coverJournalEpoch(), 30_000);
      this.retry.unref();
    });
  }

  last(): { seq: number; blobId: string; size: number; createdAt: number } | undefined {
    return this.snapshots.last();
  }

  /**
   * Tell every reachable store the read-only recovery key; returns how many accepted it.
   * Idempotent, and repeated before every snapshot: a store whose disk was replaced has
   * forgotten it.
   */
  async registerRecoveryKey(): Promise<number> {
    const key = await recoveryKey(this.ctx.masterKey);
    const list = (await this.nodes.list()).filter((n) => n.state === 'active' || n.state === 'suspect');
    let accepted = 0;
    await Promise.all(list.map(async (n) => {
      try {
        await this.client.trustKey(n, key.publicJwk, { timeoutMs: 5_000 });
        accepted++;
      } catch {
        // asked again before the next snapshot
      }
    }));
    return accepted;
  }

  /**
   * Take a snapshot now. One that is already running may have copied the metadata before
   * the caller's changes, so the caller gets the next one; callers arriving meanwhile share it.
   */
  snapshot(): Promise<SnapshotInfo> {
    if (!this.running) {
      this.running = this.take().finally(() => (this.running = undefined));
      return this.running;
    }
    this.queued ??= this.running.catch(() => undefined).then(() => {
      this.queued = undefined;
      return this.snapshot();
    });
    return this.queued;
  }

  private async take(): Promise<SnapshotInfo> {
    const t0 = Date.now();
    await this.registerRecoveryKey();
    const tmp = join(this.opts.dataDir, `snapshot-${randomBytes(6).toString('hex')}.db.tmp`);
    // Replay after this snapshot starts at the entry the journal would write next: every change
    // it ships from now on may be missing from the copy below, none before.
    const journal = this.opts.journal?.position();
    try {
      // Created owner-only first: SQLite keeps an existing file's mode, and this is the whole metadata.
      await (await open(tmp, 'wx', 0o600)).close();
      await this.snapshots.backupTo(tmp);
      const written = await putBlob(this.ctx, createReadStream(tmp, { highWaterMark: 1024 * 1024 }));
      if (!written.blobId) throw new SnapshotError('the metadata backup is empty');
      const blobId = written.blobId;
      const createdAt = Date.now();
      const seq = this.snapshots.record(blobId, written.size, createdAt, journal);
      if (written.missed.length) await this.ctx.meta.queueRepair(written.missed);
      const manifests = await this.writeManifest(seq, createdAt, blobId, journal);
      this.dropOld(createdAt);
      void this.dropOldJournal().catch((err: unknown) => this.opts.log?.(`snapshot: freeing old journal entries: ${(err as Error).message}`));
      const info: SnapshotInfo = { seq, blobId, size: written.size, createdAt, manifests, ms: Date.now() - t0 };
      this.opts.log?.(`snapshot ${seq}: ${written.size} bytes of metadata on the shard-stores, manifest on ${manifests} store(s), ${info.ms} ms`);
      return info;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  private async writeManifest(seq: number, createdAt: number, blobId: string, journal: JournalPosition | undefined): Promise<number> {
    const blob = (await this.ctx.meta.getBlob(blobId))!;
    const gatewayKey = JSON.parse(await readFile(join(this.opts.dataDir, GATEWAY_KEY_FILE), 'utf8')) as JWK;
    const nodes = (await this.nodes.list()).filter((n) => n.state !== 'removed');
    const targets = nodes.filter((n) => n.state === 'active' || n.state === 'suspect' || n.state === 'draining');
    const manifest: SnapshotManifest = {
      v: 1, seq, createdAt,
      blob: { id: blob.id, size: blob.size, segmentSize: blob.segmentSize, wrappedKey: blob.wrappedKey.toString('base64'), placement: blob.placement },
      gatewayKey,
      ...(journal && { journal: { epoch: journal.epoch, from: journal.next } }),
      nodes: nodes.map((n) => {
        const pin = this.opts.pins?.pinOf(n.id);
        return { id: n.id, url: n.url, zone: n.zone, ...(pin && { pin }) };
      }),
      targets: targets.map((n) => n.id),
    };
    if (this.opts.rootCredentials.source !== 'env') {
      manifest.rootCredentials = { accessKeyId: this.opts.rootCredentials.accessKeyId, secretAccessKey: this.opts.rootCredentials.secretAccessKey };
    }
    const sealed = sealManifest(manifestKey(this.ctx.masterKey), manifest);
    const shard = manifestShardId(this.ctx.masterKey);
    const ok = await Promise.all(targets.map(async (n) => {
      try {
        const w = this.ctx.io.openWriter(n.id, shard);
        await w.write([sealed]);
        await w.end();
        return true;
      } catch {
        return false;
      }
    }));
    const count = ok.filter(Boolean).length;
    // Recovery trusts a manifest only when a majority of its targets offer it (snapshot/choose.ts):
    // a snapshot that reached fewer is not one to count on, and the next one tries again.
    const quorum = Math.floor(targets.length / 2) + 1;
    if (count < quorum) throw new SnapshotError(`only ${count} of ${targets.length} shard-stores took the manifest of snapshot ${seq}; recovery needs ${quorum}`);
    return count;
  }

  /**
   * Journal entries that no kept snapshot replays (older epochs, and entries before the
   * oldest kept snapshot of an epoch) are deleted from the stores. A store that does not
   * answer keeps its piece until the next snapshot tries again.
   */
  private async dropOldJournal(): Promise<void> {
    const snapshots = this.snapshots;
    const keep = snapshots.keptJournalFrom();
    const old = snapshots.journalEntries().filter((r) => {
      const first = keep.get(r.epoch);
      return first === undefined || r.seq < first;
    });
    for (const { blobId, placement } of old) {
      const done = await Promise.all(placement.map((node, i) => this.ctx.io.deleteShard(node, `${blobId}.${i}`).then(() => true, () => false)));
      if (done.every(Boolean)) snapshots.dropJournalEntry(blobId);
    }
  }

  private dropOld(now: number): void {
    this.snapshots.dropOld(this.opts.kept, now);
  }
}
