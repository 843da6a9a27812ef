import { BURN, MINT, type AccountId, type Entry, type EntryReason } from './types.js';

/** An entry before it has a place in the ledger. */
export interface Draft {
  reason: EntryReason;
  from: AccountId;
  to: AccountId;
  amount: bigint;
  ref?: string;
}

/** Balances and the running totals that conservation is checked against. */
export interface Book {
  balances: Map<AccountId, bigint>;
  nextSeq: number;
  genesisSupply: bigint;
  minted: bigint;
  burned: bigint;
}

export function emptyBook(): Book {
  return { balances: new Map(), nextSeq: 1, genesisSupply: 0n, minted: 0n, burned: 0n };
}

export function balanceOf(book: Pick<Book, 'balances'>, a: AccountId): bigint {
  return book.balances.get(a) ?? 0n;
}

/**
 * Post drafts atomically: either every one becomes an entry or, when one would take an
 * account other than MINT below zero (or debit BURN), none does and the reason comes back.
 * Zero amounts are dropped: an entry always moves something.
 */
export function post(book: Book, era: number, drafts: readonly Draft[]): { ok: true; entries: Entry[] } | { ok: false; reason: string } {
  const after = new Map<AccountId, bigint>();
  const get = (a: AccountId): bigint => after.get(a) ?? balanceOf(book, a);
  for (const d of drafts) {
    if (d.amount < 0n) throw new RangeError(`negative draft amount ${d.amount} (${d.reason})`);
    if (d.amount === 0n) continue;
    if (d.from === d.to) throw new RangeError(`draft from and to the same account ${d.from}`);
    if (d.from === BURN) return { ok: false, reason: 'the burn sink is never debited' };
    const left = get(d.from) - d.amount;
    if (d.from !== MINT && left < 0n) return { ok: false, reason: `${d.from} holds ${get(d.from)}, ${d.amount} needed` };
    after.set(d.from, left);
    after.set(d.to, get(d.to) + d.amount);
  }
  const entries: Entry[] = [];
  for (const d of drafts) {
    if (d.amount === 0n) continue;
    const e: Entry = { seq: book.nextSeq++, era, reason: d.reason, from: d.from, to: d.to, amount: d.amount };
    if (d.ref !== undefined) e.ref = d.ref;
    entries.push(e);
    if (d.from === MINT) {
      if (d.reason === 'genesis') book.genesisSupply += d.amount;
      else book.minted += d.amount;
    }
    if (d.to === BURN) book.burned += d.amount;
  }
  for (const [a, v] of after) book.balances.set(a, v);
  return { ok: true, entries };
}

/** Post drafts that the caller built to fit; a refusal here is a bug in the caller. */
export function postOrThrow(book: Book, era: number, drafts: readonly Draft[]): Entry[] {
  const r = post(book, era, drafts);
  if (!r.ok) throw new Error(`ledger invariant: ${r.reason}`);
  return r.entries;
}

/** Tokens in existence: every balance but the mint source's and the burn sink's. */
export function supplyOf(book: Pick<Book, 'balances'>): bigint {
  let s = 0n;
  for (const [a, v] of book.balances) if (a !== MINT && a !== BURN) s += v;
  return s;
}

/** Balances recomputed from entries alone, as an auditor would. */
export function balancesFromEntries(entries: readonly Entry[]): Map<AccountId, bigint> {
  const b = new Map<AccountId, bigint>();
  for (const e of entries) {
    b.set(e.from, (b.get(e.from) ?? 0n) - e.amount);
    b.set(e.to, (b.get(e.to) ?? 0n) + e.amount);
  }
  return b;
}

/**
 * What must always hold: the sum of all balances is zero (double entry), nothing but MINT is
 * below zero, and supply = genesis + minted − burned. Empty when all is well.
 */
export function checkConservation(book: Book): string[] {
  const problems: string[] = [];
  let sum = 0n;
  for (const [a, v] of book.balances) {
    sum += v;
    if (a !== MINT && v < 0n) problems.push(`${a} is below zero (${v})`);
  }
  if (sum !== 0n) problems.push(`balances sum to ${sum}, not 0`);
  const supply = supplyOf(book);
  const expected = book.genesisSupply + book.minted - book.burned;
  if (supply !== expected) problems.push(`supply ${supply} ≠ genesis ${book.genesisSupply} + minted ${book.minted} − burned ${book.burned}`);
  if (balanceOf(book, BURN) !== book.burned) problems.push(`burn sink holds ${balanceOf(book, BURN)}, ${book.burned} burned`);
  return problems;
}
