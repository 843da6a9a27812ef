/** Builders shared by the ledger tests: events and service records with few keystrokes. */
import type { OutcomeCounts } from '../../gateway/meta/audit-store.js';
import type { EraServiceRecord, LedgerEvent } from '../../gateway/ledger/index.js';

export const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, the start of era 0
export const DAY = 86_400_000;
export const TOKEN = 1_000_000n;
export const TB = 1_000_000_000_000n;
export const GB = 1_000_000_000n;

/** A time inside era `era` (default era length), `k` ms after its start. */
export function at(era: number, k = 1): number {
  return T0 + era * DAY + k;
}

export function counts(c: Partial<OutcomeCounts> = {}): OutcomeCounts {
  return { pass: 0, wrong: 0, missing: 0, timeout: 0, error: 0, ...c };
}

export function rec(store: string, r: Partial<EraServiceRecord> = {}): EraServiceRecord {
  return { store, zone: 'eu', storedByteHours: 0n, servedBytes: 0n, uptime: { samples: 24, up: 24 }, audits: counts({ pass: 20 }), lost: false, ...r };
}

/** An event without its version and time, one member of the union at a time. */
export type EventBody = LedgerEvent extends infer E ? (E extends LedgerEvent ? Omit<E, 'v' | 'at'> : never) : never;
/** An event at time `t` with the version filled in. */
export function ev(t: number, e: EventBody): LedgerEvent {
  return { v: 1, at: t, ...e };
}
