import type { JWK } from 'jose';
import { challengePiece } from '../audit/challenge.js';
import type { AuditOutcome, OutcomeCounts } from '../meta/audit-store.js';
import { REPORT_KEY_PATH } from '../reports/format.js';
import { ShardClient } from '../shards/client.js';
import type { GatewayKey } from '../shards/keys.js';
import type { PinBook } from '../shards/pins.js';
import type { ChallengeMaterial } from './service.js';
import {
  monitorAuthorization, MONITOR_MATERIAL_PATH, MONITOR_STATEMENTS_PATH, signStatement, type MonitorStatement,
} from './statement.js';

export interface MonitorRunnerOptions {
  /** The gateway's base URL (its S3 endpoint). */
  gateway: string;
  /** The name the monitor is registered under (`shardgate admin ledger monitor add NAME KEY`). */
  name: string;
  key: GatewayKey;
  /** Pieces of each store challenged per round (the gateway picks them at random). */
  pieces?: number;
  /** Records of each piece challenged (the monitor picks them at random). */
  records?: number;
  roundMs?: number;
  /** How often the results are signed and sent (a statement covers the time since the last one). */
  reportMs?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** The stores' keys as the gateway's material gives them: the monitor talks to no other key. */
class MaterialPins implements PinBook {
  readonly pins = new Map<string, string>();
  pinOf(id: string): string | undefined {
    return this.pins.get(id);
  }
  learn(): void {
    // Never trust on first use: a store's key comes from the gateway's material only.
  }
}

const zero = (): OutcomeCounts => ({ pass: 0, wrong: 0, missing: 0, timeout: 0, error: 0 });

/**
 * An independent monitor (`shardgate monitor`): every round it fetches challenge material from
 * the gateway (random pieces of each store, with the hash-tree roots recorded at write time),
 * challenges each store for random records of them over mutual TLS with its own key (which the
 * gateway lists on the stores), checks every answer against the root, and every `reportMs`
 * signs what it saw and sends it to the gateway, which appends it to the report log.
 */
export class MonitorRunner {
  private readonly pins = new MaterialPins();
  private readonly client: ShardClient;
  private counts = new Map<string, OutcomeCounts>();
  private periodStart = Date.now();
  private gatewayKid: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: MonitorRunnerOptions) {
    this.client = new ShardClient({ identity: opts.key.tls, pins: this.pins, connections: 1 });
  }

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => console.log(l)))(`monitor ${this.opts.name}: ${line}`);
  }

  start(): void {
    this.periodStart = Date.now();
    const tick = (): void => {
      if (this.running || this.stopped) return;
      this.running = this.step().catch((err: unknown) => this.log((err as Error).message)).finally(() => (this.running = undefined));
    };
    this.timer = setInterval(tick, this.opts.roundMs ?? 60_000);
    tick();
  }

  /** Stop challenging; what was seen since the last statement is sent first. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.report().catch((err: unknown) => this.log(`last statement not sent: ${(err as Error).message}`));
    await this.client.close();
  }

  private async step(): Promise<void> {
    await this.round();
    if (Date.now() - this.periodStart >= (this.opts.reportMs ?? 300_000)) await this.report();
  }

  /** One round: challenge every store the material names; returns the outcomes of this round. */
  async round(): Promise<Map<string, OutcomeCounts>> {
    const m = await this.material();
    const seen = new Map<string, OutcomeCounts>();
    await Promise.all(m.stores.map(async (s) => {
      this.pins.pins.set(s.id, s.fingerprint);
      const node = { id: s.id, url: s.url, zone: s.zone };
      const c = seen.get(s.id) ?? zero();
      seen.set(s.id, c);
      for (const p of s.pieces) {
        if (this.stopped) return;
        const [blobId, piece] = p.shardId.split('.');
        const v = await challengePiece(this.client, node, {
          blobId: blobId!, piece: Number(piece), size: p.size, segmentSize: p.segmentSize, root: Buffer.from(p.root, 'hex'),
        }, this.opts.records ?? 4, this.opts.timeoutMs ?? 10_000);
        c[v.outcome]++;
        if (v.outcome !== 'pass') this.log(`${s.id}: ${v.outcome}: ${v.detail ?? ''}`);
      }
    }));
    for (const [store, c] of seen) {
      const total = this.counts.get(store) ?? zero();
      for (const k of Object.keys(c) as AuditOutcome[]) total[k] += c[k];
      this.counts.set(store, total);
    }
    return seen;
  }

  /**
   * Sign what was seen since the last statement and send it. A statement the gateway refuses
   * for good (its era is settled, the period overlaps) is dropped; on any other failure the
   * results are kept and the next statement covers them too.
   */
  async report(now = Date.now()): Promise<number | undefined> {
    const results = [...this.counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([store, audits]) => ({ store, audits }));
    if (results.length === 0) return undefined;
    const s: MonitorStatement = {
      v: 1, monitor: this.opts.name, gateway: await this.kid(), periodStart: this.periodStart, periodEnd: Math.max(now, this.periodStart + 1),
      challenges: results.reduce((a, r) => a + r.audits.pass + r.audits.wrong + r.audits.missing + r.audits.timeout + r.audits.error, 0), results,
    };
    const res = await fetch(new URL(MONITOR_STATEMENTS_PATH, this.opts.gateway), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ statement: await signStatement(s, this.opts.key) }),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
    const body = await res.json().catch(() => ({})) as { seq?: number; error?: { code?: string; message?: string } };
    if (res.status === 201 || res.status === 409) {
      this.counts = new Map();
      this.periodStart = s.periodEnd;
    }
    if (res.status !== 201) throw new Error(`statement refused (HTTP ${res.status}): ${body.error?.message ?? ''}`);
    this.log(`${s.challenges} challenge(s) of ${results.length} store(s) signed and logged as report log entry ${body.seq}`);
    return body.seq;
  }

  private async kid(): Promise<string> {
    if (this.gatewayKid === undefined) {
      const res = await fetch(new URL(REPORT_KEY_PATH, this.opts.gateway), { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
      if (!res.ok) throw new Error(`${REPORT_KEY_PATH} answered HTTP ${res.status}`);
      const jwk = await res.json() as JWK;
      if (typeof jwk.kid !== 'string') throw new Error('the gateway key has no kid');
      this.gatewayKid = jwk.kid;
    }
    return this.gatewayKid;
  }

  private async material(): Promise<ChallengeMaterial> {
    const gateway = await this.kid();
    const url = new URL(MONITOR_MATERIAL_PATH, this.opts.gateway);
    url.searchParams.set('pieces', String(this.opts.pieces ?? 4));
    const authorization = await monitorAuthorization({ monitor: this.opts.name, gateway, path: MONITOR_MATERIAL_PATH, iat: Date.now() }, this.opts.key);
    const res = await fetch(url, { headers: { authorization }, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
    const body = await res.json().catch(() => ({})) as ChallengeMaterial & { error?: { message?: string } };
    if (!res.ok) throw new Error(`challenge material refused (HTTP ${res.status}): ${body.error?.message ?? ''}`);
    if (body.gateway !== gateway || !Array.isArray(body.stores)) throw new Error('the gateway answered something that is not challenge material');
    return body;
  }
}
