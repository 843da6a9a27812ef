import { createHash } from 'node:crypto';
import { GENESIS } from '../reports/format.js';

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, bigints as decimal strings,
 * `undefined` members left out. Two parties that encode the same value get the same bytes,
 * which is what a hash chain and an offline recomputation compare.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return `"${value.toString()}"`;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: numbers must be finite');
      return JSON.stringify(value);
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      if (value instanceof Map) throw new TypeError('canonicalJson: encode Maps as sorted objects or arrays first');
      const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `prev` of the first ledger-event log entry, the same as the report log's. */
export const LEDGER_GENESIS_PREV = GENESIS;

/**
 * One entry of the ledger-event log: position, the hash of the entry before it, and the event
 * (in its JSON form, amounts as decimal strings). The signature around it is the log's business.
 */
export interface LedgerLogEntry<E = unknown> {
  v: 1;
  /** From 1, without gaps. */
  seq: number;
  prev: string;
  event: E;
}

/** SHA-256 of the canonical entry: the `prev` of the entry after it. */
export function ledgerEntryHash(entry: LedgerLogEntry): string {
  return sha256Hex(canonicalJson(entry));
}

/** The entry that follows `last` (or opens the log when there is none). */
export function chainNext<E>(last: LedgerLogEntry | undefined, event: E): LedgerLogEntry<E> {
  return { v: 1, seq: last === undefined ? 1 : last.seq + 1, prev: last === undefined ? LEDGER_GENESIS_PREV : ledgerEntryHash(last), event };
}

/** A whole log chained from the start. */
export function chainEvents<E>(events: readonly E[]): Array<LedgerLogEntry<E>> {
  const out: Array<LedgerLogEntry<E>> = [];
  for (const e of events) out.push(chainNext(out[out.length - 1], e));
  return out;
}

/** First entry whose position or link is wrong, or null when the chain holds. */
export function verifyChain(entries: readonly LedgerLogEntry[]): { index: number; reason: string } | null {
  let prev = LEDGER_GENESIS_PREV;
  for (const [i, e] of entries.entries()) {
    if (e.v !== 1) return { index: i, reason: `entry ${i + 1}: unknown version ${String(e.v)}` };
    if (e.seq !== i + 1) return { index: i, reason: `entry ${i + 1}: seq is ${e.seq}: entries are missing, duplicated or reordered` };
    if (e.prev !== prev) return { index: i, reason: `entry ${i + 1}: does not chain to the entry before it: an entry was removed, altered or reordered` };
    prev = ledgerEntryHash(e);
  }
  return null;
}
