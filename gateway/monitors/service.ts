import { createHash } from 'node:crypto';
import type { AuditStore } from '../meta/audit-store.js';
import type { NodeStore } from '../meta/nodes.js';
import type { ReportStore } from '../meta/reports.js';
import { shardId } from '../pipeline/shard-io.js';
import { entryPayload } from '../reports/jws.js';
import type { ReportLog } from '../reports/log.js';
import type { ShardClient } from '../shards/client.js';
import type { PinBook } from '../shards/pins.js';
import { MonitorLogState } from './log-check.js';
import {
  claimedMonitor, openStatement, recordOf, type MonitorJwk, type MonitorKeyRecord, type MonitorLogRecord,
} from './statement.js';

/** What a monitor needs to challenge the stores: where they are, their keys, and pieces with their roots. */
export interface ChallengeMaterial {
  /** The kid of the gateway key: statements name it. */
  gateway: string;
  at: number;
  stores: Array<{
    id: string;
    url: string;
    zone: string;
    /** The store's TLS key as the gateway pinned it: the monitor talks to no other. */
    fingerprint: string;
    pieces: Array<{ shardId: string; size: number; segmentSize: number; /** hex */ root: string }>;
  }>;
}

export interface MonitorView {
  monitor: string;
  jwk: MonitorJwk;
  /** Where its last statement in the log ends (ms), if it sent one. */
  lastPeriodEnd: number | null;
}

/** A refusal of a monitor's request, with the HTTP status it answers. */
export class MonitorRefusedError extends Error {
  code = 'ERR_MONITOR_REFUSED';
  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
    this.name = 'MonitorRefusedError';
  }
}

/** Stores a monitor challenges: those expected to hold pieces and answer (as the gateway's own audits). */
const CHALLENGED = new Set(['active', 'suspect', 'offline']);
const SYNC_MS = 15_000;

export interface MonitorsOptions {
  gatewayKid: string;
  nodes: NodeStore;
  audit: AuditStore;
  pins: PinBook;
  /** The gateway's client, which lists the monitor keys to the stores. */
  client: ShardClient;
  /** Statements of periods starting before this (the first era not settled) are refused: they would not count. */
  openSince?: () => number | undefined;
  log?: (line: string) => void;
}

/**
 * The gateway's side of independent monitoring (issue 12): the registered monitors (entries of
 * the report log, so the log alone says whose statements count), the challenge material they
 * fetch, their statements checked and appended to the report log, and the list of monitor keys
 * kept on every store so that the stores answer their challenges and nobody else's.
 */
export class Monitors {
  private readonly state = new MonitorLogState();
  private seen = 0;
  private pushed = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private rounds = 0;
  private pushing: Promise<void> | undefined;

  constructor(private readonly store: ReportStore, private readonly log: ReportLog, private readonly opts: MonitorsOptions) {}

  /** Read the report log's new entries (monitors registered or revoked, statements logged). */
  async sync(): Promise<void> {
    for (;;) {
      const page = await this.store.page(this.seen, 1_000);
      if (page.length === 0) return;
      for (const e of page) {
        const p = JSON.parse(entryPayload(e.jws)) as { kind?: string };
        if (p.kind === 'monitor-key') this.state.applyKey(p as MonitorKeyRecord);
        else if (p.kind === 'monitor') this.state.note(p as MonitorLogRecord);
      }
      this.seen = page[page.length - 1]!.seq;
    }
  }

  /** Keep the stores' lists of monitor keys current (and the registry, for several gateways). */
  start(): void {
    this.timer = setInterval(() => {
      // Now and then every store is told again: one that lost its list (a new disk) gets it back.
      if (++this.rounds % 20 === 0) this.pushed.clear();
      void this.pushKeys().catch(() => undefined);
    }, SYNC_MS);
    this.timer.unref();
    void this.pushKeys().catch(() => undefined);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pushing;
  }

  get gatewayKid(): string {
    return this.opts.gatewayKid;
  }

  keyOf(monitor: string): MonitorJwk | undefined {
    return this.state.keys.get(monitor);
  }

  async list(): Promise<MonitorView[]> {
    await this.sync();
    return [...this.state.keys.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([monitor, jwk]) => ({ monitor, jwk, lastPeriodEnd: this.state.lastEnd.get(monitor) ?? null }));
  }

  /** Register (or re-key) a monitor: an entry of the report log, then the stores are told. */
  async add(monitor: string, jwk: MonitorJwk, now = Date.now()): Promise<{ seq: number; changed: boolean }> {
    await this.sync();
    if (this.state.keys.get(monitor)?.x === jwk.x) return { seq: this.seen, changed: false };
    for (const [other, k] of this.state.keys) {
      if (k.x === jwk.x) throw new MonitorRefusedError(409, 'MonitorKeyTaken', `that key is registered for monitor ${other} already`);
    }
    const e = await this.log.appendRecord({ kind: 'monitor-key', monitor, jwk, issuedAt: now });
    await this.sync();
    await this.pushKeys();
    return { seq: e.seq, changed: true };
  }

  /** Revoke a monitor: its later statements are refused, the stores stop serving its key. */
  async remove(monitor: string, now = Date.now()): Promise<{ seq: number }> {
    await this.sync();
    if (!this.state.keys.has(monitor)) throw new MonitorRefusedError(404, 'NoSuchMonitor', `monitor ${monitor} is not registered`);
    const e = await this.log.appendRecord({ kind: 'monitor-key', monitor, jwk: null, issuedAt: now });
    await this.sync();
    await this.pushKeys();
    return { seq: e.seq };
  }

  /** Random pieces of every challenged store, with what a monitor needs to check the answers. */
  async material(perStore: number, now = Date.now()): Promise<ChallengeMaterial> {
    const stores: ChallengeMaterial['stores'] = [];
    for (const n of await this.opts.nodes.list()) {
      const fingerprint = this.opts.pins.pinOf(n.id);
      if (!CHALLENGED.has(n.state) || fingerprint === undefined) continue;
      const pieces = (await this.opts.audit.sampleOn(n.id, perStore)).map((t) => ({
        shardId: shardId(t.blobId, t.piece), size: t.size, segmentSize: t.segmentSize, root: t.root.toString('hex'),
      }));
      stores.push({ id: n.id, url: n.url, zone: n.zone, fingerprint, pieces });
    }
    return { gateway: this.opts.gatewayKid, at: now, stores };
  }

  /**
   * Check a monitor's signed statement and append it to the report log: signed by a
   * registered monitor's key, for this gateway, a period that has ended, after the monitor's
   * previous one, and in an era not settled yet (it would not count). Returns its log seq.
   */
  async accept(jws: unknown, now = Date.now()): Promise<{ seq: number }> {
    await this.sync();
    const name = claimedMonitor(jws);
    const jwk = name === undefined ? undefined : this.state.keys.get(name);
    if (name === undefined || jwk === undefined) throw new MonitorRefusedError(403, 'UnknownMonitor', `monitor ${name ?? '?'} is not registered (shardgate admin ledger monitor add)`);
    let s;
    try {
      s = await openStatement(jws as string, jwk);
    } catch (err) {
      throw new MonitorRefusedError(400, 'InvalidStatement', `the statement does not verify with ${name}'s registered key: ${(err as Error).message}`);
    }
    if (s.gateway !== this.opts.gatewayKid) throw new MonitorRefusedError(400, 'InvalidStatement', `the statement is for gateway ${s.gateway}, this one is ${this.opts.gatewayKid}`);
    if (s.periodEnd > now + 60_000) throw new MonitorRefusedError(400, 'InvalidStatement', 'the statement\'s period has not ended yet');
    const last = this.state.lastEnd.get(name);
    if (last !== undefined && s.periodStart < last) {
      throw new MonitorRefusedError(409, 'PeriodOverlaps', `monitor ${name}'s previous statement ends at ${new Date(last).toISOString()}: periods do not overlap`);
    }
    const open = this.opts.openSince?.();
    if (open !== undefined && s.periodStart < open) {
      throw new MonitorRefusedError(409, 'EraSettled', `the era of ${new Date(s.periodStart).toISOString()} is settled: statements of periods from ${new Date(open).toISOString()} count`);
    }
    const e = await this.log.appendRecord(recordOf(s, jws as string, now));
    this.state.note(s);
    return { seq: e.seq };
  }

  /** Tell every store that has not heard it the current list of monitor keys. */
  pushKeys(): Promise<void> {
    this.pushing ??= (async () => {
      await this.sync();
      const keys = [...this.state.keys.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([monitor, k]) => ({ ...k, kid: monitor }));
      const version = createHash('sha256').update(JSON.stringify(keys)).digest('hex');
      for (const n of await this.opts.nodes.list()) {
        if (n.state === 'removed' || this.pushed.get(n.id) === version) continue;
        try {
          await this.opts.client.setMonitorKeys(n, keys, { timeoutMs: 5_000 });
          this.pushed.set(n.id, version);
        } catch (err) {
          // Tried again on the next round; until then the store refuses the new monitor (or serves the old one).
          this.opts.log?.(`monitors: cannot list the monitor keys on ${n.id}: ${(err as Error).message}`);
        }
      }
    })().finally(() => (this.pushing = undefined));
    return this.pushing;
  }
}
