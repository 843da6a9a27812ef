import type { AdminContext, AdminRoute } from '../admin/context.js';
import { AdminError } from '../admin/errors.js';
import { LedgerOffError, LedgerRefusedError, type LedgerBook } from './book.js';
import { accountsView, balancesView, eraView, overview, plain } from './views.js';

/** Event types the admin API logs (the genesis is configured, settlements are the gateway's). */
const SUBMITTED = new Set(['deposit', 'withdraw', 'delegate', 'undelegate', 'passport-issue', 'passport-stake', 'fee', 'params']);

function bookOf(ctx: AdminContext): LedgerBook {
  const book = ctx.economy;
  if (!book?.on) throw new AdminError(409, 'LedgerOff', new LedgerOffError().message);
  return book;
}

/**
 * The economy's admin endpoints (root only, as the whole admin API): views of the ledger, and
 * the events an operator logs for providers, delegators and Passport holders. An event the
 * ledger would refuse now is answered 409 LedgerRefused with the reason, and not logged.
 */
export const ledgerRoutes: AdminRoute[] = [
  { method: 'GET', path: '/ledger', name: 'GetLedger', handle: (_req, ctx) => ({ body: overview(bookOf(ctx)) }) },
  { method: 'GET', path: '/ledger/balances', name: 'GetLedgerBalances', handle: (_req, ctx) => ({ body: balancesView(bookOf(ctx)) }) },
  { method: 'GET', path: '/ledger/accounts', name: 'GetLedgerAccounts', handle: (_req, ctx) => ({ body: accountsView(bookOf(ctx).preview) }) },
  {
    method: 'GET', path: '/ledger/params', name: 'GetLedgerParams',
    handle: (_req, ctx) => {
      const s = bookOf(ctx).preview;
      return { body: plain({ params: s.params, scheduled: s.scheduled }) };
    },
  },
  {
    method: 'GET', path: '/ledger/eras/:era', name: 'GetLedgerEra',
    handle: (req, ctx) => {
      const book = bookOf(ctx);
      const era = Number(req.params.era);
      if (!Number.isSafeInteger(era) || era < 0) throw new AdminError(400, 'InvalidRequest', `era must be a non-negative integer, got ${JSON.stringify(req.params.era)}`);
      const summary = book.summary(era);
      if (!summary) throw new AdminError(404, 'NoSuchEra', `era ${era} is not settled (the last settled is ${book.current.settledEra})`);
      return { body: { era: eraView(summary), settlement: plain(book.current.settlements[era]) } };
    },
  },
  {
    method: 'POST', path: '/ledger/events', name: 'PostLedgerEvent',
    handle: async (req, ctx) => {
      const book = bookOf(ctx);
      const body = req.body as Record<string, unknown> | undefined;
      if (typeof body !== 'object' || body === null || Array.isArray(body) || !SUBMITTED.has(String(body.type))) {
        throw new AdminError(400, 'InvalidRequest', `the body is one ledger event: {"type": ${[...SUBMITTED].map((t) => JSON.stringify(t)).join('|')}, ...} (docs/economy.md)`);
      }
      try {
        const { v: _v, at: _at, ...fields } = body;
        const logged = await book.submit(fields);
        return { status: 201, body: logged };
      } catch (err) {
        if (err instanceof LedgerRefusedError) throw new AdminError(409, 'LedgerRefused', err.message, { cause: err });
        throw err;
      }
    },
  },
];
