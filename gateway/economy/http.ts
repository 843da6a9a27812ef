import type Koa from 'koa';
import type { JWK } from 'jose';
import type { LedgerEntryRow, LedgerLogStore } from '../meta/ledger-log.js';
import { REPORT_KEY_PATH, REPORTS_PATH, type ReportPage } from '../reports/format.js';
import { fetchJson, fetchPages, pageOf, pageQuery, publicEndpoints } from '../reports/http.js';
import type { LedgerBook } from './book.js';
import { LEDGER_BALANCES_PATH, LEDGER_ENTRIES_PATH, LEDGER_PATH, type LedgerLogItem, type LedgerLogPage } from './records.js';
import type { PublishedLedger } from './verify.js';
import { balancesJson } from './verify.js';

export interface LedgerEntriesPage {
  entries: LedgerEntryRow[];
  next?: number;
}

export interface PublishedBalances {
  settledEra: number;
  balances: Record<string, string>;
}

/**
 * The public, read-only side of the economy, beside the report log and signed by the same
 * key (at the report log's key address):
 *
 *   GET /_shardgate/ledger[?after=SEQ&limit=N]          → LedgerLogPage: the signed ledger-event log
 *   GET /_shardgate/ledger/entries[?after=SEQ&limit=N]  → the double-entry ledger the settlements produced
 *   GET /_shardgate/ledger/balances                     → balances after the last settled era
 */
export function ledgerRoutes(store: LedgerLogStore, book: LedgerBook): Koa.Middleware {
  return publicEndpoints({
    [LEDGER_PATH]: {
      get: async (query) => {
        const { after, limit } = pageQuery(query);
        return { key: REPORT_KEY_PATH, ...pageOf(await store.page(after, limit + 1), limit) } satisfies LedgerLogPage;
      },
    },
    [LEDGER_ENTRIES_PATH]: {
      get: async (query) => {
        const { after, limit } = pageQuery(query);
        return pageOf(await store.entries(after, limit + 1), limit) satisfies LedgerEntriesPage;
      },
    },
    [LEDGER_BALANCES_PATH]: {
      get: async () => {
        const v = book.on ? book.current : undefined;
        return { settledEra: v?.settledEra ?? -1, balances: v ? balancesJson(v.state.balances) : {} } satisfies PublishedBalances;
      },
    },
  }, 'ledger');
}

/**
 * Everything `admin ledger verify` checks, from a gateway's base URL, without credentials.
 * The balances first and the entries last: a settlement between two downloads then leaves
 * the balances behind the logs (they are checked at their own era) and entries ahead (those
 * past the logs wait for the next check), never the other way round.
 */
export async function fetchLedger(url: string, timeoutMs = 30_000): Promise<PublishedLedger & { base: string }> {
  const base = new URL(url);
  base.pathname = '/';
  const balances = await fetchJson<PublishedBalances>(new URL(LEDGER_BALANCES_PATH, base), timeoutMs);
  const ledger = await fetchPages<LedgerLogItem, LedgerLogPage>(new URL(LEDGER_PATH, base), timeoutMs);
  const reports = await fetchPages<ReportPage['entries'][number], ReportPage>(new URL(REPORTS_PATH, base), timeoutMs);
  const jwk = await fetchJson<JWK>(new URL(ledger.last.key || REPORT_KEY_PATH, base), timeoutMs);
  const entries = await fetchPages<LedgerEntryRow, LedgerEntriesPage>(new URL(LEDGER_ENTRIES_PATH, base), timeoutMs);
  return { base: base.href, jwk, reportLog: reports.entries, ledgerLog: ledger.entries, entries: entries.entries, balances };
}
