import type { OutcomeCounts } from '../meta/audit-store.js';
import type { Draft } from './ledger.js';
import type { Params } from './params.js';
import type { EraServiceRecord, MonitorRecord } from './service.js';
import type { Stake } from './state.js';
import { account, BURN, mulDiv, ppmOf, TREASURY } from './types.js';

/** One source's word on a store: the gateway's audits or a monitor's. */
export interface SourceVerdict {
  /** `gateway` or `monitor:<id>`. */
  source: string;
  audits: number;
  failed: number;
  /** `none` when the source ran fewer than minAudits audits of the store. */
  verdict: 'pass' | 'fail' | 'none';
}

export interface AuditJudgement {
  sources: SourceVerdict[];
  /** Enough failing verdicts for a slash: at least min(auditQuorum, sources with a verdict), and one. */
  failed: boolean;
  /** Some sources failed the store while others passed it. */
  disagreement: boolean;
}

/** wrong + missing + timeout: `error` is trouble on the auditor's side, not the store's. */
export function failedAudits(c: OutcomeCounts): number {
  return c.wrong + c.missing + c.timeout;
}

function verdictOf(p: Params, source: string, c: OutcomeCounts): SourceVerdict {
  const audits = c.pass + c.wrong + c.missing + c.timeout;
  const failed = failedAudits(c);
  const verdict = BigInt(audits) < p.minAudits ? 'none' : BigInt(failed) * 1_000_000n > p.maxAuditFailPpm * BigInt(audits) ? 'fail' : 'pass';
  return { source, audits, failed, verdict };
}

/** The gateway's verdict and every monitor's (monitors sorted by id) on one store. */
export function judgeAudits(p: Params, store: string, rec: EraServiceRecord | undefined, monitors: readonly MonitorRecord[]): AuditJudgement {
  const sources: SourceVerdict[] = [];
  if (rec !== undefined) sources.push(verdictOf(p, 'gateway', rec.audits));
  for (const m of monitors) {
    const r = m.results.find((x) => x.store === store);
    if (r !== undefined) sources.push(verdictOf(p, `monitor:${m.monitor}`, r.audits));
  }
  const fail = sources.filter((s) => s.verdict === 'fail').length;
  const pass = sources.filter((s) => s.verdict === 'pass').length;
  const quorum = Math.min(Number(p.auditQuorum), fail + pass);
  return { sources, failed: fail > 0 && fail >= quorum, disagreement: fail > 0 && pass > 0 };
}

/** up / samples below minUptimePpm; an era without samples is not downtime (nothing was seen). */
export function isDowntime(p: Params, rec: EraServiceRecord | undefined): boolean {
  if (rec === undefined || rec.uptime.samples <= 0) return false;
  return BigInt(rec.uptime.up) * 1_000_000n < p.minUptimePpm * BigInt(rec.uptime.samples);
}

/**
 * Slash rate (ppm of stake): the base rates of the era's failures summed, doubled for each
 * consecutive failing era before this one (streak counts this one), capped at maxSlashPpm;
 * a lost store forfeits at least lostSlashPpm.
 */
export function slashRatePpm(p: Params, f: { downtime: boolean; audits: boolean; lost: boolean }, streak: number): bigint {
  let rate = (f.downtime ? p.downtimeSlashPpm : 0n) + (f.audits ? p.auditSlashPpm : 0n);
  for (let i = 1; i < streak && rate < p.maxSlashPpm; i++) rate *= 2n;
  if (rate > p.maxSlashPpm) rate = p.maxSlashPpm;
  if (f.lost && rate < p.lostSlashPpm) rate = p.lostSlashPpm;
  return rate;
}

export interface SlashSplit {
  amount: bigint;
  fromOwn: bigint;
  fromOthers: bigint;
  burned: bigint;
  drafts: Draft[];
}

/**
 * Take floor(stake × rate) from a store: the provider's own collateral first; what it cannot
 * cover from delegations and staked Passports, each floor(rest × stake_i / their total), so
 * rounding leaves stakers at most one unit each. Everything taken goes to the treasury, then
 * floor(taken × slashBurnPpm) of it is burned.
 */
export function splitSlash(p: Params, store: string, stake: Stake, ratePpm: bigint): SlashSplit {
  const amount = ppmOf(stake.total, ratePpm);
  const fromOwn = amount < stake.own ? amount : stake.own;
  const rest = amount - fromOwn;
  const others = stake.total - stake.own;
  const drafts: Draft[] = [{ reason: 'slash', from: account.collateral(store), to: TREASURY, amount: fromOwn, ref: store }];
  let fromOthers = 0n;
  if (rest > 0n && others > 0n) {
    for (const d of stake.delegations) {
      const x = mulDiv(rest, d.amount, others);
      fromOthers += x;
      drafts.push({ reason: 'slash', from: account.delegation(store, d.delegator), to: TREASURY, amount: x, ref: store });
    }
    for (const x of stake.passports) {
      const y = mulDiv(rest, x.amount, others);
      fromOthers += y;
      drafts.push({ reason: 'slash', from: account.passport(x.id), to: TREASURY, amount: y, ref: store });
    }
  }
  const burned = ppmOf(fromOwn + fromOthers, p.slashBurnPpm);
  drafts.push({ reason: 'slash-burn', from: TREASURY, to: BURN, amount: burned, ref: store });
  return { amount: fromOwn + fromOthers, fromOwn, fromOthers, burned, drafts };
}
