import { admin } from '../api';
import { ConsoleError } from '../errors';
import { ErrorLine, formatDate, useInterval, useLoad } from '../ui';

/** The provider economy (docs/economy.md) as the admin API shows it; amounts are decimal strings of units. */
interface Overview {
  genesisAt: string;
  eraMs: string;
  era: number;
  settledEra: number;
  supply: string;
  minted: string;
  burned: string;
  stores: number;
  activeStores: number;
}

interface StoreAccount {
  store: string;
  provider: string;
  status: 'active' | 'pending';
  lost: boolean;
  stake: string;
  required: string;
  own: string;
  delegators: string[];
}

interface EraStore {
  store: string;
  slashed: string;
  paid: string;
}

interface Era {
  era: number;
  minted: string;
  burned: string;
  fees: string;
  slashed: string;
  rewardsPaid: string;
  stores: EraStore[];
  monitors: Array<{ monitor: string; challenges: number; paid: string }>;
  disagreements: Array<{ store: string; failing: string[]; passing: string[] }>;
}

interface LedgerData {
  /** null: the economy is off on this gateway. */
  overview: Overview | null;
  balances: Record<string, string>;
  stores: StoreAccount[];
  eras: Era[];
  monitors: Array<{ monitor: string; lastPeriodEnd: number | null }>;
}

const SHOWN_ERAS = 5;
const UNITS = 1_000_000n;

/** Units as tokens with their decimals (1 token = 10^6 units), e.g. 1.5. */
export function tokens(units: string): string {
  const n = BigInt(units);
  const a = n < 0n ? -n : n;
  const frac = (a % UNITS).toString().padStart(6, '0').replace(/0+$/, '');
  return `${n < 0n ? '-' : ''}${(a / UNITS).toLocaleString()}${frac ? `.${frac}` : ''}`;
}

async function load(): Promise<LedgerData> {
  let overview: Overview;
  try {
    overview = await admin<Overview>('GET', '/ledger');
  } catch (err) {
    if (err instanceof ConsoleError && err.code === 'LedgerOff') return { overview: null, balances: {}, stores: [], eras: [], monitors: [] };
    throw err;
  }
  const last = Array.from({ length: Math.min(SHOWN_ERAS, overview.settledEra + 1) }, (_, i) => overview.settledEra - i);
  const [balances, accounts, eras, monitors] = await Promise.all([
    admin<{ balances: Record<string, string> }>('GET', '/ledger/balances'),
    admin<{ stores: StoreAccount[] }>('GET', '/ledger/accounts'),
    Promise.all(last.map((n) => admin<{ era: Era }>('GET', `/ledger/eras/${n}`).then((r) => r.era))),
    admin<{ monitors: LedgerData['monitors'] }>('GET', '/ledger/monitors').catch(() => ({ monitors: [] })),
  ]);
  return { overview, balances: balances.balances, stores: accounts.stores, eras, monitors: monitors.monitors };
}

/** Balances, stores with their stake, the last eras and the monitors; refreshed every 5 s. */
export function LedgerPage() {
  const data = useLoad(load, []);
  useInterval(data.reload, 5000);
  const d = data.data;
  return (
    <section>
      <h1>Ledger</h1>
      <ErrorLine error={data.error} />
      {d && !d.overview && (
        <p class="muted" id="ledger-off">The provider economy is off on this gateway: it starts with a genesis (SHARDGATE_LEDGER_GENESIS, see docs/economy.md).</p>
      )}
      {d?.overview && (
        <>
          <div class="stats" id="ledger-overview">
            <div><span class="label">Era</span><strong>{d.overview.era}</strong></div>
            <div><span class="label">Last settled</span><strong>{d.overview.settledEra}</strong></div>
            <div><span class="label">Supply</span><strong>{tokens(d.overview.supply)}</strong></div>
            <div><span class="label">Minted</span><strong>{tokens(d.overview.minted)}</strong></div>
            <div><span class="label">Burned</span><strong>{tokens(d.overview.burned)}</strong></div>
            <div><span class="label">Stores active</span><strong>{d.overview.activeStores} / {d.overview.stores}</strong></div>
          </div>
          <p class="muted">
            Amounts in tokens. Eras of {Number(d.overview.eraMs) / 1000} s from {formatDate(d.overview.genesisAt)}. Anyone can check every
            balance offline from the public logs: <a href="/_shardgate/ledger">ledger log</a>, <a href="/_shardgate/reports">report log</a>,{' '}
            <a href="/_shardgate/ledger/entries">entries</a>, <a href="/_shardgate/ledger/balances">balances</a> (<code>shardgate admin ledger verify URL</code>).
          </p>
          <div class="card" id="ledger-stores">
            <h2>Stores</h2>
            <table class="list">
              <thead><tr><th>Store</th><th>Provider</th><th>Status</th><th class="num">Stake</th><th class="num">Required</th><th class="num">Own</th><th>Delegators</th></tr></thead>
              <tbody>
                {d.stores.map((s) => (
                  <tr key={s.store} data-store={s.store} class={s.status === 'pending' || s.lost ? 'state-offline' : undefined}>
                    <td>{s.store}</td><td>{s.provider}</td><td>{s.lost ? 'lost' : s.status}</td>
                    <td class="num">{tokens(s.stake)}</td><td class="num">{tokens(s.required)}</td><td class="num">{tokens(s.own)}</td>
                    <td>{s.delegators.join(', ') || '-'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="card" id="ledger-eras">
            <h2>Last eras</h2>
            {d.eras.length === 0 && <p class="muted">No era settled yet.</p>}
            {d.eras.length > 0 && (
              <table class="list">
                <thead><tr><th class="num">Era</th><th class="num">Minted</th><th class="num">Burned</th><th class="num">Fees</th><th class="num">Slashed</th><th class="num">Rewards</th><th>Slashed stores</th><th>Disagreements</th></tr></thead>
                <tbody>
                  {d.eras.map((e) => (
                    <tr key={e.era} data-era={e.era}>
                      <td class="num">{e.era}</td><td class="num">{tokens(e.minted)}</td><td class="num">{tokens(e.burned)}</td><td class="num">{tokens(e.fees)}</td>
                      <td class={BigInt(e.slashed) > 0n ? 'num error' : 'num'}>{tokens(e.slashed)}</td><td class="num">{tokens(e.rewardsPaid)}</td>
                      <td>{e.stores.filter((s) => BigInt(s.slashed) > 0n).map((s) => `${s.store} (${tokens(s.slashed)})`).join(', ') || '-'}</td>
                      <td>{e.disagreements.map((x) => `${x.store}: failed by ${x.failing.join(', ')}, passed by ${x.passing.join(', ')}`).join('; ') || '-'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
          <div class="card" id="ledger-monitors">
            <h2>Independent monitors</h2>
            {d.monitors.length === 0 && <p class="muted">None registered (<code>shardgate admin ledger monitor add NAME KEY</code>).</p>}
            {d.monitors.length > 0 && (
              <ul>{d.monitors.map((m) => <li key={m.monitor}>{m.monitor}: {m.lastPeriodEnd === null ? 'no statement yet' : `last statement to ${formatDate(new Date(m.lastPeriodEnd).toISOString())}`}</li>)}</ul>
            )}
          </div>
          <div class="card" id="ledger-balances">
            <h2>Balances</h2>
            <table class="list">
              <thead><tr><th>Account</th><th class="num">Balance</th></tr></thead>
              <tbody>
                {Object.entries(d.balances).map(([a, v]) => <tr key={a} data-account={a}><td>{a}</td><td class="num">{tokens(v)}</td></tr>)}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
