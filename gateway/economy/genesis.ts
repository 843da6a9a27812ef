import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLiquid, UNITS_PER_TOKEN } from '../ledger/index.js';
import { ConfigError } from '../secrets.js';
import type { GenesisSpec } from './book.js';

/** The environment variable naming the genesis file; without one (and no ledger log yet) the economy is off. */
export const GENESIS_ENV = 'SHARDGATE_LEDGER_GENESIS';
/** Where `shardgate dev` writes its genesis, in its data folder. */
export const DEV_GENESIS_FILE = 'ledger-genesis.json';

/**
 * Read a genesis file:
 *
 *   { "allocations": [{ "account": "provider:dev", "amount": "2000000000" }, ...],
 *     "params": { "eraMs": 86400000, ... },                      (optional)
 *     "events": [{ "type": "deposit", "provider": "dev", "store": "ss00", "amount": "..." }],   (optional)
 *     "at": 1767225600000 }                                      (optional: when the log opens)
 *
 * Amounts in units (10^6 per token), as decimal strings or safe integers. Only read while the
 * ledger log is empty: once the genesis is logged the log is what counts.
 */
export function readGenesisFile(file: string): GenesisSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${GENESIS_ENV}: cannot read ${file}: ${(err as Error).message}`);
  }
  const g = raw as Partial<GenesisSpec>;
  if (typeof raw !== 'object' || raw === null || !Array.isArray(g.allocations)) throw new ConfigError(`${file}: a genesis has an "allocations" array`);
  if (g.events !== undefined && !Array.isArray(g.events)) throw new ConfigError(`${file}: "events" must be an array`);
  if (g.at !== undefined && !Number.isSafeInteger(g.at)) throw new ConfigError(`${file}: "at" must be ms since the epoch`);
  return g as GenesisSpec;
}

/**
 * The embedded default's genesis: one provider running every store, with enough collateral on
 * each to be active for many eras (100 tokens; the default requirement is 9), an operator who
 * pays the fees, and a treasury.
 */
export function devGenesis(stores: readonly string[]): GenesisSpec {
  const perStore = 100n * UNITS_PER_TOKEN;
  return {
    allocations: [
      { account: 'provider:dev', amount: String(perStore * BigInt(stores.length) + 100n * UNITS_PER_TOKEN) },
      { account: 'operator:dev', amount: String(10_000n * UNITS_PER_TOKEN) },
      { account: 'treasury', amount: String(1_000n * UNITS_PER_TOKEN) },
    ],
    events: stores.map((store) => ({ type: 'deposit', provider: 'dev', store, amount: String(perStore) })),
  };
}

/** Write the dev genesis into `dir` unless one is there; its path. */
export function ensureDevGenesis(dir: string, stores: readonly string[]): string {
  const file = join(dir, DEV_GENESIS_FILE);
  if (!existsSync(file)) writeFileSync(file, JSON.stringify(devGenesis(stores), null, 2) + '\n', { mode: 0o600 });
  return file;
}

/** The operator whose account pays each era's fee: the first one the genesis funds. */
export function feeOperator(genesis: Record<string, unknown> | undefined): string | undefined {
  const list = Array.isArray(genesis?.allocations) ? (genesis.allocations as Array<{ account?: unknown }>) : [];
  const a = list.find((x) => isLiquid(x.account) && String(x.account).startsWith('operator:'));
  return a === undefined ? undefined : String(a.account).slice('operator:'.length);
}
