import type { JWK } from 'jose';
import { diffBalances, firstDivergence, verifyChain } from '../ledger/index.js';
import type { LedgerEntryRow } from '../meta/ledger-log.js';
import type { ReportEntry } from '../reports/format.js';
import { importPublicKey, openEntry } from '../reports/jws.js';
import { verifyReportLog } from '../reports/verify.js';
import { rowEntry } from './log.js';
import { entriesHash, recompute, stateHash } from './recompute.js';
import { LEDGER_TYP, type LedgerLogItem, type LedgerPayload } from './records.js';

/** What `shardgate admin ledger verify` downloads: both logs, their key, the published entries and balances. */
export interface PublishedLedger {
  jwk: JWK;
  reportLog: readonly ReportEntry[];
  ledgerLog: readonly LedgerLogItem[];
  entries: readonly LedgerEntryRow[];
  /** Balances as published, and the era they are at (fetched before the logs, so never past them). */
  balances?: { settledEra: number; balances: Record<string, string> };
}

export interface LedgerVerification {
  ok: boolean;
  /** What is wrong, first problem first; the first line names the first entry where the published and the recomputed ledger part. */
  errors: string[];
  settledEra: number;
  events: number;
  entries: number;
  /** The recomputed balances (decimal strings), when the logs replay. */
  balances?: Record<string, string>;
}

/**
 * Check the published economy offline: the report log (signatures, chain), the ledger log
 * (every signature by the same key, the hash chain), then replay both from genesis through
 * the last settled era and compare with what was published: each settlement record's hashes,
 * every ledger entry (the first that differs is named, with the fields), and the balances.
 */
export async function verifyLedger(p: PublishedLedger): Promise<LedgerVerification> {
  const errors: string[] = [];
  const out = (settledEra = -1, extra: Partial<LedgerVerification> = {}): LedgerVerification =>
    ({ ok: errors.length === 0, errors, settledEra, events: p.ledgerLog.length, entries: p.entries.length, ...extra });
  const reports = await verifyReportLog(p.reportLog, p.jwk);
  for (const e of reports.errors) errors.push(`report log: ${e}`);

  const key = await importPublicKey(p.jwk);
  const payloads: LedgerPayload[] = [];
  for (const [i, e] of p.ledgerLog.entries()) {
    try {
      payloads.push(JSON.parse(await openEntry(e.jws, LEDGER_TYP, key)) as LedgerPayload);
    } catch (err) {
      errors.unshift(`ledger log entry ${i + 1} (seq ${e.seq}): signature does not verify (${(err as Error).message}): the entry was altered or not signed by this key`);
      return out();
    }
  }
  const broken = verifyChain(payloads);
  if (broken) {
    errors.unshift(`ledger log entry ${broken.index + 1}: ${broken.reason}`);
    return out();
  }
  if (errors.length > 0) return out();
  const records = payloads.map((x) => x.event);
  const r = recompute(records, reports.reports);
  if (!r.ok) {
    errors.push(`the ledger log does not replay: ${r.reason}`);
    return out();
  }

  for (const s of r.settlements) {
    const mine = r.entries.filter((e) => e.seq >= s.entries.from && e.seq < s.entries.from + s.entries.count);
    if (mine.length !== s.entries.count || entriesHash(mine) !== s.entries.hash) {
      errors.push(`settlement of era ${s.era}: its ${s.entries.count} entries from seq ${s.entries.from} are not what the logs give (recomputed ${mine.length}, hash differs)`);
    }
  }
  const last = r.settlements[r.settlements.length - 1];
  if (last && last.stateHash !== stateHash(r.state)) errors.push(`settlement of era ${last.era}: the state it names is not the state the logs give`);

  // Entries of eras settled after the logs were fetched are left for the next check.
  const published = p.entries.filter((e) => e.seq < r.state.nextSeq).map(rowEntry);
  const d = firstDivergence(published, r.entries);
  if (d) {
    const at = published[d.index] ?? r.entries[d.index];
    const fields = Object.entries(d.fields).map(([k, [a, b]]) => `${k} published ${a}, recomputed ${b}`).join('; ');
    errors.unshift(`ledger entry ${d.index + 1} (seq ${at?.seq ?? '?'}, era ${at?.era ?? '?'}) diverges: ${fields}`);
  }

  if (p.balances) {
    const at = p.balances.settledEra;
    const upTo = at === r.settledEra ? r : recompute(records, reports.reports, at);
    if (!upTo.ok || upTo.settledEra !== at) errors.push(`published balances are at era ${at}, which the logs do not reach (${r.settledEra})`);
    else {
      const diff = diffBalances(p.balances.balances, upTo.state.balances);
      for (const x of diff.slice(0, 20)) errors.push(`balance of ${x.account} at era ${at}: published ${x.published}, recomputed ${x.recomputed}`);
    }
  }
  return out(r.settledEra, { balances: balancesJson(r.state.balances) });
}

export function balancesJson(b: ReadonlyMap<string, bigint>): Record<string, string> {
  return Object.fromEntries([...b.entries()].filter(([, v]) => v !== 0n).sort(([a], [b2]) => (a < b2 ? -1 : 1)).map(([k, v]) => [k, v.toString()]));
}
