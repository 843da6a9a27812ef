import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { BalancesView, AccountsView, LedgerOverview } from '../gateway/economy/views.js';
import { fetchLedger } from '../gateway/economy/http.js';
import { verifyLedger } from '../gateway/economy/verify.js';
import { UNITS_PER_TOKEN } from '../gateway/ledger/index.js';
import { AdminCliError, adminRequest, adminTarget, table } from './admin.js';

export const LEDGER_HELP = `shardgate admin ledger — the provider economy (docs/economy.md)

  shardgate admin ledger [--json]               era, supply, stores active
  shardgate admin ledger balances [--json]      every account after the last settled era (and with the
                                                events logged since, where they differ)
  shardgate admin ledger accounts [--json]      each store: provider, status, stake, required collateral,
                                                delegators; Passports
  shardgate admin ledger era N [--json]         what era N paid, slashed and burned, store by store
  shardgate admin ledger params [--json]        the parameters in force and the changes scheduled
  shardgate admin ledger params set NAME=VALUE... --from-era N
  shardgate admin ledger deposit --provider P --store S --amount TOKENS
  shardgate admin ledger withdraw --provider P --store S --amount TOKENS
  shardgate admin ledger delegate --delegator D --store S --amount TOKENS
  shardgate admin ledger undelegate --delegator D --store S --amount TOKENS
  shardgate admin ledger passport issue --id ID --from ACCOUNT --holder ACCOUNT --amount TOKENS --term ERAS
  shardgate admin ledger passport stake --id ID --holder ACCOUNT --store S
  shardgate admin ledger monitors [--json]      the independent monitors registered, and their last statement
  shardgate admin ledger monitor add NAME KEY   register a monitor (KEY: its monitor-key.pub.jwk, the JWK, or
                                                its x; an x that starts with '-' goes after '--'): an entry
                                                of the report log; the stores serve its challenges
  shardgate admin ledger monitor remove NAME    revoke it: its statements are refused, the stores refuse its key
  shardgate admin ledger verify URL [--json]    download the published ledger log, report log and key from
                                                the gateway at URL (no credentials), recompute every balance
                                                offline; exits 1 naming the first entry that differs

Amounts are tokens (up to 6 decimals, 1 token = 1 000 000 units); ACCOUNT is provider:NAME,
delegator:NAME, operator:NAME, monitor:NAME or treasury. An event the ledger would refuse is
not logged (exit 1, with the reason).`;

const EVENT_FLAGS = {
  json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  provider: { type: 'string' }, store: { type: 'string' }, amount: { type: 'string' }, delegator: { type: 'string' },
  id: { type: 'string' }, from: { type: 'string' }, holder: { type: 'string' }, term: { type: 'string' }, 'from-era': { type: 'string' },
} as const;

/** `shardgate admin ledger ...` */
export async function runLedger(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values: v, positionals } = parseArgs({ args: argv, allowPositionals: true, options: EVENT_FLAGS });
  const [cmd, ...args] = positionals;
  const json = Boolean(v.json);
  if (v.help || cmd === 'help') return void console.log(LEDGER_HELP);
  if (cmd === 'verify') return verify(args[0], json);
  const t = adminTarget(env);
  const need = (name: keyof typeof v): string => {
    const x = v[name];
    if (typeof x !== 'string' || x === '') throw new AdminCliError(`ledger ${cmd}: --${name} is required\n\n${LEDGER_HELP}`, 2);
    return x;
  };
  const post = async (event: Record<string, unknown>): Promise<void> => {
    const r = await adminRequest<{ seq: number; at: number; era: number }>(t, 'POST', '/ledger/events', event);
    if (json) console.log(JSON.stringify(r, null, 2));
    else console.log(`logged ${String(event.type)} as ledger log entry ${r.seq} (era ${r.era}, ${new Date(r.at).toISOString()})`);
  };
  switch (cmd) {
    case undefined: {
      const o = await adminRequest<LedgerOverview>(t, 'GET', '/ledger');
      if (json) return void console.log(JSON.stringify(o, null, 2));
      return void console.log(`era ${o.era} (eras of ${o.eraMs} ms from ${o.genesisAt}); last settled ${o.settledEra}\n` +
        `supply ${tokens(o.supply)} (minted ${tokens(o.minted)}, burned ${tokens(o.burned)}); ${o.activeStores} of ${o.stores} stores active; ${o.events} event(s) logged since`);
    }
    case 'balances': {
      const b = await adminRequest<BalancesView>(t, 'GET', '/ledger/balances');
      if (json) return void console.log(JSON.stringify(b, null, 2));
      const accounts = [...new Set([...Object.keys(b.balances), ...Object.keys(b.preview)])].sort();
      console.log(`after era ${b.settledEra}`);
      return void console.log(table(['ACCOUNT', 'BALANCE', 'WITH EVENTS SINCE'], accounts.map((a) => {
        const x = b.balances[a] ?? '0';
        const y = b.preview[a] ?? '0';
        return [a, tokens(x), x === y ? '' : tokens(y)];
      })));
    }
    case 'accounts': {
      const a = await adminRequest<AccountsView>(t, 'GET', '/ledger/accounts');
      if (json) return void console.log(JSON.stringify(a, null, 2));
      console.log(table(['STORE', 'PROVIDER', 'STATUS', 'STAKE', 'REQUIRED', 'OWN', 'DELEGATORS'],
        a.stores.map((s) => [s.store, s.provider, s.lost ? 'lost' : s.status, tokens(s.stake), tokens(s.required), tokens(s.own), s.delegators.join(',') || '-'])));
      if (a.passports.length) {
        console.log('');
        console.log(table(['PASSPORT', 'HOLDER', 'STORE', 'VALUE', 'ERAS LEFT'], a.passports.map((p) => [p.id, p.holder, p.store ?? '-', tokens(p.value), String(p.erasLeft)])));
      }
      return;
    }
    case 'era': {
      const n = args[0];
      if (!n || !/^[0-9]+$/.test(n)) throw new AdminCliError('usage: shardgate admin ledger era N', 2);
      const r = await adminRequest<{ era: EraJson }>(t, 'GET', `/ledger/eras/${n}`);
      if (json) return void console.log(JSON.stringify(r, null, 2));
      const e = r.era;
      console.log(`era ${e.era}: paid ${tokens(e.rewardsPaid)} of ${tokens(e.rewardsOwed)} owed, minted ${tokens(e.minted)}, fees ${tokens(e.fees)}, ` +
        `slashed ${tokens(e.slashed)}, burned ${tokens(e.burned)}; supply ${tokens(e.supply)}`);
      console.log(table(['STORE', 'STATUS', 'STAKE', 'DOWNTIME', 'AUDITS', 'SLASHED', 'GROSS', 'PAID'], e.stores.map((s) => [
        s.store, s.status, tokens(s.stake), s.downtime ? 'yes' : 'no', s.audits.failed ? 'failed' : 'ok', tokens(s.slashed), tokens(s.gross), tokens(s.paid),
      ])));
      if (e.monitors.length) {
        console.log('');
        console.log(table(['MONITOR', 'CHALLENGES', 'PAID'], e.monitors.map((m) => [m.monitor, String(m.challenges), tokens(m.paid)])));
      }
      // Sources that disagree on a store: no single party's word decides its slash.
      for (const d of e.disagreements) console.log(`disagreement on ${d.store}: failed by ${d.failing.join(', ')}; passed by ${d.passing.join(', ')}`);
      return;
    }
    case 'params': {
      if (args[0] === 'set') {
        const changes = Object.fromEntries(args.slice(1).map((kv) => {
          const m = /^([A-Za-z]+)=([0-9]+)$/.exec(kv);
          if (!m) throw new AdminCliError(`ledger params set: ${kv} is not NAME=INTEGER`, 2);
          return [m[1]!, m[2]!];
        }));
        if (Object.keys(changes).length === 0) throw new AdminCliError('usage: shardgate admin ledger params set NAME=VALUE... --from-era N', 2);
        return post({ type: 'params', fromEra: int(need('from-era'), 'from-era'), changes });
      }
      const p = await adminRequest<{ params: Record<string, string>; scheduled: unknown[] }>(t, 'GET', '/ledger/params');
      if (json) return void console.log(JSON.stringify(p, null, 2));
      console.log(table(['PARAMETER', 'VALUE'], Object.entries(p.params).map(([k, x]) => [k, x])));
      if (p.scheduled.length) console.log(`scheduled: ${JSON.stringify(p.scheduled)}`);
      return;
    }
    case 'monitors': {
      const m = await adminRequest<{ monitors: Array<{ monitor: string; jwk: { x: string }; lastPeriodEnd: number | null }> }>(t, 'GET', '/ledger/monitors');
      if (json) return void console.log(JSON.stringify(m, null, 2));
      if (!m.monitors.length) return void console.log('no monitor registered (shardgate admin ledger monitor add NAME KEY)');
      return void console.log(table(['MONITOR', 'KEY', 'LAST STATEMENT ENDS'], m.monitors.map((x) => [x.monitor, x.jwk.x, x.lastPeriodEnd === null ? '-' : new Date(x.lastPeriodEnd).toISOString()])));
    }
    case 'monitor': {
      const [sub, name, key] = args;
      if (sub === 'add' && name && key) {
        const r = await adminRequest<{ seq: number; changed: boolean }>(t, 'POST', '/ledger/monitors', { name, key: existsSync(key) ? readFileSync(key, 'utf8') : key });
        if (json) return void console.log(JSON.stringify(r, null, 2));
        return void console.log(r.changed ? `monitor ${name} registered as report log entry ${r.seq}; the stores are told to serve its challenges` : `monitor ${name} is registered with that key already`);
      }
      if (sub === 'remove' && name) {
        const r = await adminRequest<{ seq: number }>(t, 'DELETE', `/ledger/monitors/${encodeURIComponent(name)}`);
        if (json) return void console.log(JSON.stringify(r, null, 2));
        return void console.log(`monitor ${name} revoked as report log entry ${r.seq}`);
      }
      throw new AdminCliError('usage: shardgate admin ledger monitor add NAME KEY | monitor remove NAME', 2);
    }
    case 'deposit':
    case 'withdraw':
      return post({ type: cmd, provider: need('provider'), store: need('store'), amount: units(need('amount')) });
    case 'delegate':
    case 'undelegate':
      return post({ type: cmd, delegator: need('delegator'), store: need('store'), amount: units(need('amount')) });
    case 'passport':
      if (args[0] === 'issue') {
        return post({ type: 'passport-issue', id: need('id'), from: need('from'), holder: need('holder'), amount: units(need('amount')), termEras: int(need('term'), 'term') });
      }
      if (args[0] === 'stake') return post({ type: 'passport-stake', id: need('id'), holder: need('holder'), store: need('store') });
      throw new AdminCliError('usage: shardgate admin ledger passport issue|stake ...', 2);
    default:
      throw new AdminCliError(`unknown ledger command "${cmd}"\n\n${LEDGER_HELP}`, 2);
  }
}

interface EraJson {
  era: number; minted: string; burned: string; fees: string; slashed: string; rewardsOwed: string; rewardsPaid: string; supply: string;
  stores: Array<{ store: string; status: string; stake: string; downtime: boolean; audits: { failed: boolean }; slashed: string; gross: string; paid: string }>;
  monitors: Array<{ monitor: string; challenges: number; paid: string }>;
  disagreements: Array<{ store: string; failing: string[]; passing: string[] }>;
}

async function verify(url: string | undefined, json: boolean): Promise<void> {
  if (!url) throw new AdminCliError('usage: shardgate admin ledger verify URL (the gateway, e.g. http://127.0.0.1:9000)', 2);
  let published;
  try {
    published = await fetchLedger(url);
  } catch (err) {
    throw new AdminCliError(`cannot fetch the published ledger from ${url}: ${(err as Error).message}`);
  }
  const v = await verifyLedger(published);
  if (json) console.log(JSON.stringify(v, null, 2));
  else console.log(`${published.ledgerLog.length} ledger log entries, ${published.reportLog.length} reports, ${published.entries.length} ledger entries from ${published.base} (kid ${published.jwk.kid ?? '-'})`);
  if (!v.ok) {
    for (const e of v.errors) console.error(`  ${e}`);
    throw new AdminCliError(`the ledger does NOT verify: ${v.errors[0] ?? 'see above'}`);
  }
  if (!json) console.log(`ledger verifies: eras 0..${v.settledEra} replayed from the signed logs, every entry and balance as published`);
}

/** Tokens (up to 6 decimals) to units, as a decimal string. */
export function units(text: string): string {
  const m = /^([0-9]+)(?:\.([0-9]{1,6}))?$/.exec(text);
  if (!m) throw new AdminCliError(`amount ${JSON.stringify(text)}: tokens with up to 6 decimals, e.g. 10 or 0.5`, 2);
  return String(BigInt(m[1]!) * UNITS_PER_TOKEN + BigInt((m[2] ?? '').padEnd(6, '0')));
}

/** Units (a decimal string) as tokens with their decimals, e.g. 1.5. */
export function tokens(u: string): string {
  const n = BigInt(u);
  const sign = n < 0n ? '-' : '';
  const a = n < 0n ? -n : n;
  const frac = (a % UNITS_PER_TOKEN).toString().padStart(6, '0').replace(/0+$/, '');
  return `${sign}${a / UNITS_PER_TOKEN}${frac ? `.${frac}` : ''}`;
}

function int(text: string, name: string): number {
  if (!/^[0-9]+$/.test(text)) throw new AdminCliError(`--${name} must be a non-negative integer`, 2);
  return Number(text);
}
