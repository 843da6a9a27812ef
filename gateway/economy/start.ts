import type Koa from 'koa';
import { storeStatuses } from '../ledger/index.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { GaugeFamily, Metrics } from '../metrics.js';
import type { LogSigningKey } from '../reports/jws.js';
import { LedgerBook } from './book.js';
import { feeOperator, GENESIS_ENV, readGenesisFile } from './genesis.js';
import { ledgerRoutes } from './http.js';
import { LedgerLog } from './log.js';
import { EraSettler } from './settler.js';

export interface Economy {
  book: LedgerBook;
  /** Settles eras: one of the background jobs (gateway/cluster/background.ts), not started here. */
  settler: EraSettler;
  /** The public ledger log, entries and balances (mounted beside the report log). */
  publicRoutes: Koa.Middleware;
}

/**
 * The provider economy of a gateway: the book read back from the metadata, the genesis logged
 * from SHARDGATE_LEDGER_GENESIS when the log is still empty, the era settler, the public routes
 * and the metrics. Without a genesis file or a logged genesis the economy is off: placement,
 * reports and the rest of the gateway behave as before it existed.
 */
export async function startEconomy(meta: MetaStore, key: LogSigningKey, env: NodeJS.ProcessEnv, opts: { metrics?: Metrics; log?: (line: string) => void } = {}): Promise<Economy> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const book = new LedgerBook(new LedgerLog(meta.ledger, key), meta.reports);
  await book.sync();
  const file = env[GENESIS_ENV];
  if (file) {
    const spec = readGenesisFile(file);
    if (await book.open(spec)) log(`ledger: genesis logged from ${file}`);
  }
  const operator = feeOperator(book.genesis);
  const settler = new EraSettler(book, meta.nodes, meta.audit, meta.reports, { log, ...(operator !== undefined && { operator }) });
  if (opts.metrics) registerLedgerMetrics(opts.metrics, book);
  return { book, settler, publicRoutes: ledgerRoutes(meta.ledger, book) };
}

/** Stake per store, and per era what was paid, slashed and burned (the last settled era; totals as counters). */
export function registerLedgerMetrics(metrics: Metrics, book: LedgerBook): void {
  metrics.collect(() => {
    if (!book.on) return [];
    const v = book.current;
    const last = v.summaries[v.summaries.length - 1];
    const total = (f: (s: (typeof v.summaries)[number]) => bigint): number => Number(v.summaries.reduce((a, s) => a + f(s), 0n));
    const statuses = storeStatuses(book.preview);
    const families: GaugeFamily[] = [
      { name: 'shardgate_ledger_settled_era', help: 'Last era settled.', type: 'gauge', samples: [{ value: v.settledEra }] },
      { name: 'shardgate_ledger_stake_units', help: 'Stake backing each store (collateral, delegations, staked Passports), in units.', type: 'gauge',
        samples: statuses.map((s) => ({ labels: { store: s.store }, value: Number(s.stake) })) },
      { name: 'shardgate_ledger_required_units', help: 'Collateral each store needs to be active, in units.', type: 'gauge',
        samples: statuses.map((s) => ({ labels: { store: s.store }, value: Number(s.required) })) },
      { name: 'shardgate_ledger_store_active', help: 'Whether each store is active in the economy (1) or pending (0, takes no new pieces).', type: 'gauge',
        samples: statuses.map((s) => ({ labels: { store: s.store }, value: s.status === 'active' ? 1 : 0 })) },
      { name: 'shardgate_ledger_rewards_units_total', help: 'Rewards paid to stores and monitors over every settled era, in units.', type: 'counter', samples: [{ value: total((s) => s.rewardsPaid) }] },
      { name: 'shardgate_ledger_slashed_units_total', help: 'Stake slashed over every settled era, in units.', type: 'counter', samples: [{ value: total((s) => s.slashed) }] },
      { name: 'shardgate_ledger_burned_units_total', help: 'Units burned (fees and slashes) over every settled era.', type: 'counter', samples: [{ value: total((s) => s.burned) }] },
      { name: 'shardgate_ledger_minted_units_total', help: 'Units minted for rewards over every settled era.', type: 'counter', samples: [{ value: total((s) => s.minted) }] },
    ];
    if (last) {
      families.push(
        { name: 'shardgate_ledger_era_rewards_units', help: 'Rewards paid in the last settled era, per store.', type: 'gauge',
          samples: last.stores.map((s) => ({ labels: { store: s.store, era: String(last.era) }, value: Number(s.paid) })) },
        { name: 'shardgate_ledger_era_slashed_units', help: 'Stake slashed in the last settled era, per store.', type: 'gauge',
          samples: last.stores.map((s) => ({ labels: { store: s.store, era: String(last.era) }, value: Number(s.slashed) })) },
        { name: 'shardgate_ledger_era_burned_units', help: 'Units burned in the last settled era.', type: 'gauge', samples: [{ labels: { era: String(last.era) }, value: Number(last.burned) }] },
      );
    }
    return families;
  });
}
