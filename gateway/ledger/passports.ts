import { balanceOf, type Draft } from './ledger.js';
import type { Params } from './params.js';
import type { LedgerState, PassportState } from './state.js';
import { cmp } from './service.js';
import { account, mulDiv, PPM } from './types.js';

/**
 * One era of linear decay for every Passport with term left, by id: floor(value / erasLeft)
 * moves from the Passport to its holder (all of it in the last era), and the term shrinks by
 * one. With no slash that pays the amount out evenly over the term, the floors evening out
 * in the last era.
 */
export function decayPassports(s: LedgerState): Draft[] {
  const drafts: Draft[] = [];
  for (const [id, p] of [...s.passports.entries()].sort(([a], [b]) => cmp(a, b))) {
    if (p.erasLeft <= 0) continue;
    const value = balanceOf(s, account.passport(id));
    const d = p.erasLeft === 1 ? value : value / BigInt(p.erasLeft);
    drafts.push({ reason: 'passport-decay', from: account.passport(id), to: p.holder, amount: d, ref: id });
    p.erasLeft -= 1;
  }
  return drafts;
}

/**
 * A slash on the store a Passport is staked on cuts its remaining term by
 * floor(erasLeft × passportSlashTermPpm / 10^6), keeping at least one era: the rest of its
 * value decays sooner, so the store loses that backing faster.
 */
export function accelerateDecay(p: Params, passport: PassportState): void {
  if (passport.erasLeft <= 1) return;
  const cut = Number(mulDiv(BigInt(passport.erasLeft), p.passportSlashTermPpm, PPM));
  passport.erasLeft = Math.max(1, passport.erasLeft - cut);
}
