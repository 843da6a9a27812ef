import type { NodeInfo, NodeStore } from '../meta/nodes.js';
import { LOST_REASON_PREFIX } from '../reports/publisher.js';
import type { MetaStore } from '../meta/store.js';
import type { Counter } from '../metrics.js';
import { shardId } from '../pipeline/shard-io.js';
import type { ShardClient } from '../shards/client.js';
import { challengePiece, type ChallengeVerdict } from './challenge.js';
import type { TrustConfig } from './config.js';
import type { AuditOutcome, AuditStore } from '../meta/audit-store.js';

/** One node's audit round, as the admin API and CLI show it. */
export interface NodeAuditResult {
  nodeId: string;
  zone: string;
  /** Shard files challenged, and how each answered. */
  challenged: number;
  outcomes: Record<AuditOutcome, number>;
  /**
   * Wrong pieces the node served outside audits since its previous round (reads, repair, the
   * scrub: transfer/lies.ts, scrub.ts); any fails the round, however it answered challenges.
   */
  servedWrong: number;
  passed: boolean;
  scoreBefore: number;
  score: number;
  stateBefore: NodeInfo['state'];
  state: NodeInfo['state'];
  /** First failure, for the operator. */
  detail: string | null;
}

export interface AuditorHooks {
  /** A node's score fell below the lost threshold: its pieces must move (the repair worker). */
  onLost?(nodeId: string): void;
  log?(line: string): void;
  results?: Counter;
}

/** Nodes an audit round challenges: those expected to hold pieces and answer. */
const AUDITED = new Set<NodeInfo['state']>(['active', 'suspect', 'offline']);

/** Where a node's previous round started, and how many wrong answers it recorded itself. */
interface RoundMark {
  at: number;
  wrong: number;
}

/**
 * Challenges nodes for random records of pieces they should hold and keeps their score:
 * an exponential average of passed rounds. A round fails on any challenge not passed, and on
 * any wrong piece the node served to reads, repair or the scrub since its previous round: a
 * store that lies on plain reads yet answers challenges honestly is not left at score 1.
 * Below `suspectBelow` a node is suspect (placement and repair prefer others); below
 * `lostBelow` it is treated as lost: it is set draining, so repair rebuilds its pieces
 * elsewhere from the other holders and then removes it. Missing and wrong pieces are queued
 * for repair right away.
 */
export class Auditor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<NodeAuditResult[]> | undefined;
  private stopped = false;
  /** Before a node's first round, wrong pieces count from here: this process's start. */
  private readonly startedAt = Date.now();

  constructor(
    private readonly meta: MetaStore,
    private readonly nodes: NodeStore,
    private readonly store: AuditStore,
    private readonly client: ShardClient,
    private readonly cfg: TrustConfig,
    private readonly hooks: AuditorHooks = {},
  ) {}

  start(): void {
    this.stopped = false;
    if (this.cfg.auditIntervalMs <= 0) return;
    this.timer = setInterval(() => void this.auditAll().catch((err: unknown) => this.hooks.log?.(`audit: ${(err as Error).message}`)), this.cfg.auditIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One round over every audited node (or one node); concurrent requests share a running round. */
  auditAll(opts: { node?: string } = {}): Promise<NodeAuditResult[]> {
    if (opts.node !== undefined) return this.auditNode(opts.node).then((r) => (r ? [r] : []));
    this.running ??= (async () => {
      const list = (await this.nodes.list()).filter((n) => AUDITED.has(n.state));
      const out = await Promise.all(list.map((n) => this.auditNode(n.id)));
      return out.filter((r): r is NodeAuditResult => r !== undefined);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Challenge one node now; undefined when the node is unknown or holds nothing to audit. */
  async auditNode(id: string): Promise<NodeAuditResult | undefined> {
    const node = await this.nodes.get(id);
    if (!node || this.stopped) return undefined;
    const started = Date.now();
    const servedWrong = await this.servedWrongSince(id, started);
    const targets = await this.store.sampleOn(id, this.cfg.auditPieces);
    const outcomes: Record<AuditOutcome, number> = { pass: 0, wrong: 0, missing: 0, timeout: 0, error: 0 };
    let detail: string | null = null;
    const verdicts = await Promise.all(targets.map(async (t): Promise<ChallengeVerdict> => {
      const v = await challengePiece(this.client, node, t, this.cfg.auditRecords, this.cfg.auditTimeoutMs);
      await this.store.record(id, shardId(t.blobId, t.piece), v.outcome, v.detail);
      this.hooks.results?.inc({ node: id, outcome: v.outcome });
      if (v.outcome === 'wrong' || v.outcome === 'missing') {
        // The piece is gone or damaged whatever the node's fate: rebuild it from the others.
        await this.meta.queueRepair([{ blobId: t.blobId, piece: t.piece, reason: `audit: ${v.detail ?? v.outcome}` }]);
      }
      return v;
    }));
    for (const v of verdicts) {
      outcomes[v.outcome]++;
      detail ??= v.detail;
    }
    await this.store.setState(roundKey(id), JSON.stringify({ at: started, wrong: outcomes.wrong } satisfies RoundMark));
    if (servedWrong > 0) detail ??= `served ${servedWrong} wrong piece(s) outside audits since the previous round`;
    if (!targets.length && servedWrong === 0) {
      return {
        nodeId: id, zone: node.zone, challenged: 0, outcomes, servedWrong, passed: true,
        scoreBefore: node.score, score: node.score, stateBefore: node.state, state: node.state, detail: null,
      };
    }
    const passed = outcomes.pass === targets.length && servedWrong === 0;
    const score = round(node.score * (1 - this.cfg.scoreAlpha) + (passed ? this.cfg.scoreAlpha : 0));
    await this.store.setScore(id, score);
    const state = await this.applyScore(node, score, detail);
    return { nodeId: id, zone: node.zone, challenged: targets.length, outcomes, servedWrong, passed, scoreBefore: node.score, score, stateBefore: node.state, state, detail };
  }

  /**
   * Wrong pieces recorded against the node since its previous round started, but for those
   * that round recorded itself: what reads, repair and the scrub caught it serving.
   */
  private async servedWrongSince(id: string, now: number): Promise<number> {
    const mark = parseMark(await this.store.getState(roundKey(id))) ?? { at: this.startedAt, wrong: 0 };
    return Math.max(0, (await this.store.counts(id, mark.at, now)).wrong - mark.wrong);
  }

  private async applyScore(node: NodeInfo, score: number, detail: string | null): Promise<NodeInfo['state']> {
    // Offline, draining and removed nodes keep their state: the monitor and the operator own those.
    if (node.state !== 'active' && node.state !== 'suspect') return node.state;
    if (score < this.cfg.lostBelow) {
      await this.nodes.setState(node.id, 'draining', `${LOST_REASON_PREFIX} (score ${score}): treated as lost, its pieces move away; last failure: ${detail ?? '-'}`);
      this.hooks.log?.(`shard-store ${node.id} failed its audits (score ${score}): treated as lost, moving its pieces`);
      this.hooks.onLost?.(node.id);
      return 'draining';
    }
    if (score < this.cfg.suspectBelow && node.state === 'active') {
      await this.nodes.setState(node.id, 'suspect', `failed an audit (score ${score}): ${detail ?? '-'}`);
      this.hooks.log?.(`shard-store ${node.id} is suspect: ${detail ?? ''}`);
      return 'suspect';
    }
    if (score >= this.cfg.suspectBelow && node.state === 'suspect') {
      await this.nodes.setState(node.id, 'active', `passes audits again (score ${score})`);
      return 'active';
    }
    return node.state;
  }
}

const roundKey = (id: string): string => `audit.round.${id}`;

function parseMark(text: string | undefined): RoundMark | undefined {
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as Partial<RoundMark>;
    return typeof m.at === 'number' && typeof m.wrong === 'number' ? { at: m.at, wrong: m.wrong } : undefined;
  } catch {
    return undefined;
  }
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
