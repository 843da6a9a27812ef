import { canonicalJson, type LedgerLogEntry } from '../ledger/index.js';

/**
 * What the ledger-event log holds and how it is published. Each entry is the core's
 * `{ v, seq, prev, record }` chain entry (gateway/ledger/canonical.ts) with a record that is
 * either a ledger event (gateway/ledger/events.ts, in its JSON form) or the record of an
 * era's settlement: the inputs the era was settled with that are not in the report log
 * (zone capacities, how far the report log was read) and hashes of what it produced, so an
 * auditor can replay it from the two logs alone.
 */
export const LEDGER_TYP = 'shardgate-ledger+jws';
export const LEDGER_PATH = '/_shardgate/ledger';
export const LEDGER_ENTRIES_PATH = '/_shardgate/ledger/entries';
export const LEDGER_BALANCES_PATH = '/_shardgate/ledger/balances';

/** A ledger event as logged: its JSON form (amounts as decimal strings). */
export type EventRecord = { v: 1; type: string; at: number } & Record<string, unknown>;

export interface SettlementRecord {
  v: 1;
  type: 'settlement';
  at: number;
  era: number;
  /** Reports of the era taken from the report log up to this sequence number. */
  reportsThrough: number;
  /** Zone capacities at the end of the era (bytes, decimal strings), from the node registry. */
  zones: Array<{ zone: string; capacityBytes: string; freeBytes: string }>;
  /** The era's ledger entries: first seq, how many, SHA-256 of their canonical JSON array. */
  entries: { from: number; count: number; hash: string };
  /** SHA-256 of the canonical state after the era (stateToJson). */
  stateHash: string;
  /** The era's totals, for a reader of the log (the hashes are what verification checks). */
  totals: { minted: string; burned: string; slashed: string; rewardsPaid: string; fees: string; supply: string };
}

export type LogRecord = EventRecord | SettlementRecord;
export type LedgerPayload = LedgerLogEntry<LogRecord>;

export function isSettlement(r: LogRecord): r is SettlementRecord {
  return r.type === 'settlement';
}

/** One published ledger-log entry. */
export interface LedgerLogItem {
  seq: number;
  jws: string;
}

export interface LedgerLogPage {
  /** Where the public key is: the report log's, the same gateway key signs both. */
  key: string;
  entries: LedgerLogItem[];
  next?: number;
}

/** A record with bigints and undefined members as the log keeps it: canonical JSON parsed back. */
export function toRecord<T>(value: T): LogRecord {
  return JSON.parse(canonicalJson(value)) as LogRecord;
}
