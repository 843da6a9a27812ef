import { ledgerEntryHash, LEDGER_GENESIS_PREV, type Entry } from '../ledger/index.js';
import type { LedgerEntryRow, LedgerLogStore, StoredLedgerEntry } from '../meta/ledger-log.js';
import { entryPayload, signEntry, type LogSigningKey } from '../reports/jws.js';
import { canonicalJson } from '../ledger/index.js';
import { isSettlement, LEDGER_TYP, type LedgerPayload, type LogRecord } from './records.js';

/** Where the log ends: the next entry's seq is seq + 1 and its prev is hash. */
export interface LedgerTail {
  seq: number;
  hash: string;
  at: number;
}

/**
 * The signed ledger-event log (table ledger_log). Each entry is the core's chain entry
 * `{ v, seq, prev, event }` (gateway/ledger/canonical.ts), signed as a compact JWS over its
 * canonical JSON by the gateway key, as the report log signs its entries: anyone with the
 * public key checks every signature and link offline. Appends are checked against the tail
 * by the store, so two writers never fork the chain.
 */
export class LedgerLog {
  constructor(private readonly store: LedgerLogStore, private readonly key: LogSigningKey) {}

  tail(): Promise<LedgerTail | undefined> {
    return this.store.tail();
  }

  /**
   * Sign `records` as the entries after `tail` and append them, with the ledger entries they
   * produced, in one transaction. Throws LedgerTailMovedError when another writer appended first.
   */
  async append(tail: LedgerTail | undefined, records: readonly LogRecord[], produced: readonly Entry[] = []): Promise<LedgerPayload[]> {
    let seq = tail?.seq ?? 0;
    let prev = tail?.hash ?? LEDGER_GENESIS_PREV;
    const payloads: LedgerPayload[] = [];
    const stored: StoredLedgerEntry[] = [];
    for (const record of records) {
      const payload: LedgerPayload = { v: 1, seq: ++seq, prev, event: record };
      const jws = await signEntry(canonicalJson(payload), LEDGER_TYP, this.key);
      prev = ledgerEntryHash(payload);
      payloads.push(payload);
      stored.push({ seq, kind: isSettlement(record) ? 'settlement' : 'event', era: isSettlement(record) ? record.era : null, at: record.at, jws, hash: prev });
    }
    await this.store.append(tail?.seq ?? 0, stored, produced.map(entryRow));
    return payloads;
  }

  /** The log's own entries after `after`, decoded without checking the signatures (they are ours). */
  async read(after: number, limit = 1_000): Promise<LedgerPayload[]> {
    return (await this.store.page(after, limit)).map((e) => JSON.parse(entryPayload(e.jws)) as LedgerPayload);
  }
}

export function entryRow(e: Entry): LedgerEntryRow {
  const row: LedgerEntryRow = { seq: e.seq, era: e.era, reason: e.reason, from: e.from, to: e.to, amount: e.amount.toString() };
  if (e.ref !== undefined) row.ref = e.ref;
  return row;
}

/** A published ledger entry back in the core's form (for firstDivergence). */
export function rowEntry(r: LedgerEntryRow): Entry {
  const e: Entry = { seq: r.seq, era: r.era, reason: r.reason as Entry['reason'], from: r.from, to: r.to, amount: /^-?[0-9]+$/.test(r.amount) ? BigInt(r.amount) : -1n };
  if (r.ref !== undefined) e.ref = r.ref;
  return e;
}
