import {
  canonicalJson, eraOf, eraWindow, monitorsFromReports, openLedger, replay, serviceFromReports, sha256Hex, stateToJson, toBigInt,
  type EraServiceInput, type LedgerState, type Replayed, type ServiceReport,
} from '../ledger/index.js';
import { isSettlement, type LogRecord, type SettlementRecord } from './records.js';

/**
 * The economy from the two logs alone, as the gateway computes it and as an auditor
 * recomputes it offline (`shardgate admin ledger verify`): the ledger events replayed era by
 * era, each settled era with the reports of the report log it names and the zone capacities
 * its settlement record carries. Eras without a settlement record are not replayed yet.
 */

/**
 * An era's service: its store reports and its monitors' signed results (periodStart in the
 * era, logged up to reportsThrough), and the recorded zones.
 */
export function eraService(record: Pick<SettlementRecord, 'reportsThrough' | 'zones'>, window: { start: number; end: number }, reports: readonly ServiceReport[]): EraServiceInput {
  const logged = reports.filter((r) => r.seq <= record.reportsThrough);
  return {
    stores: serviceFromReports(logged, window),
    monitors: monitorsFromReports(logged, window),
    zones: (Array.isArray(record.zones) ? record.zones : []).map((z) => ({
      zone: String(z.zone), capacityBytes: toBigInt(z.capacityBytes) ?? 0n, freeBytes: toBigInt(z.freeBytes) ?? 0n,
    })),
  };
}

export type Recomputed = (Replayed & { ok: true }) & {
  /** Last era settled (−1 before the first). */
  settledEra: number;
  settlements: SettlementRecord[];
  /** Events logged for eras not settled yet, in log order: they count for the preview only. */
  pending: Array<{ era: number; event: LogRecord }>;
};

/** `throughEra`: replay no further than this era even when later ones were settled (default: all settled). */
export function recompute(records: readonly LogRecord[], reports: readonly ServiceReport[], throughEra = Infinity): Recomputed | { ok: false; reason: string } {
  const events = records.filter((r) => !isSettlement(r));
  const settlements = records.filter(isSettlement).filter((s) => !(s.era > throughEra));
  const opened = openLedger(events[0]);
  if (!opened.ok) return { ok: false, reason: `genesis: ${opened.reason}` };
  for (const [i, s] of settlements.entries()) {
    if (s.era !== i) return { ok: false, reason: `the settlement record of era ${s.era} is where era ${i}'s belongs: eras settle once, in order` };
  }
  const through = settlements.length - 1;
  const eraOfEvent = (e: LogRecord): number => (Number.isSafeInteger(e.at) ? eraOf(opened.state, e.at) : Number.NaN);
  const replayed = events.slice(1).filter((e) => !(eraOfEvent(e) > through));
  const pending = events.slice(1).filter((e) => eraOfEvent(e) > through).map((event) => ({ era: eraOfEvent(event), event }));
  const r = replay([events[0], ...replayed], (era) => {
    const s = settlements[era];
    return s && eraService(s, eraWindow(opened.state, era), reports);
  }, through);
  if (!r.ok) return r;
  return { ...r, settledEra: through, settlements, pending };
}

/** SHA-256 of a state as published (settlement records name the state after their era). */
export function stateHash(s: LedgerState): string {
  return sha256Hex(canonicalJson(stateToJson(s)));
}

/** SHA-256 of entries' canonical JSON array (settlement records name their era's entries). */
export function entriesHash(entries: readonly unknown[]): string {
  return sha256Hex(canonicalJson(entries));
}
