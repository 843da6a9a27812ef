/**
 * `*`/`?` wildcard patterns (policy resources and actions, StringLike and ArnLike conditions,
 * CORS origins and headers) matched in time linear in the value, whatever the pattern.
 *
 * These patterns come from bucket owners and the values from anonymous requests. A
 * backtracking regular expression built from `*a*a*a*b` takes seconds for a 600-character
 * key and blocks the event loop for every tenant, so no pattern is ever turned into a
 * RegExp. Instead the pattern is an NFA whose states are "the first j pattern characters are
 * matched", with a `*` a self-loop on its state, run over the value with the states as a
 * bit set (Shift-And): each character of the value costs one pass over ceil(states / 32)
 * words, so a match costs O(value length x pattern length / 32) at worst and nothing ever
 * backtracks.
 *
 * `?` stands for one character (a Unicode code point, so an emoji is one character as it is
 * to a user), `*` for any run of characters, newlines included.
 */

/** One pattern character: a literal code point, or `?` (any one). */
type Token = number | 'any';

/** The largest number of `*` wildcards one pattern may hold; refused when stored (see the callers). */
export const MAX_PATTERN_WILDCARDS = 16;

/** A piece of a pattern: wildcards in `text` are wildcards unless `literal` (a substituted value, an escaped `${*}`). */
export interface PatternPart {
  text: string;
  literal: boolean;
}

/** The number of `*` in a pattern. */
export function countStars(pattern: string): number {
  let n = 0;
  for (let i = pattern.indexOf('*'); i >= 0; i = pattern.indexOf('*', i + 1)) n++;
  return n;
}

function fold(s: string, ignoreCase: boolean): string {
  return ignoreCase ? s.toLowerCase() : s;
}

export class Wildcard {
  readonly #exact: string | undefined;
  readonly #prefix: string | undefined;
  readonly #ignoreCase: boolean;
  /** Words per state set; state j (bit j) = the first j tokens matched. */
  readonly #words: number;
  /** The accepting state: every token matched. */
  readonly #last: number;
  /** States reached by consuming any character (`?` tokens). */
  readonly #any: Uint32Array;
  /** States with a self-loop (a `*` after their token). */
  readonly #loop: Uint32Array;
  /** States reached by consuming a given code point. */
  readonly #byChar = new Map<number, Uint32Array>();

  private constructor(tokens: readonly Token[], loops: readonly boolean[], ignoreCase: boolean) {
    this.#ignoreCase = ignoreCase;
    const stars = loops.filter(Boolean).length;
    const plain = tokens.every((t) => t !== 'any');
    const text = (ts: readonly Token[]): string => (ts as number[]).map((cp) => String.fromCodePoint(cp)).join('');
    // The shapes most policies use are plain comparisons.
    if (plain && stars === 0) this.#exact = text(tokens);
    else if (plain && stars === 1 && loops[tokens.length]) this.#prefix = text(tokens);
    this.#last = tokens.length;
    this.#words = (tokens.length >>> 5) + 1;
    this.#any = new Uint32Array(this.#words);
    this.#loop = new Uint32Array(this.#words);
    tokens.forEach((t, i) => {
      const state = i + 1;
      let mask = this.#any;
      if (t !== 'any') {
        mask = this.#byChar.get(t) ?? new Uint32Array(this.#words);
        this.#byChar.set(t, mask);
      }
      mask[state >>> 5]! |= 1 << (state & 31);
    });
    loops.forEach((l, state) => {
      if (l) this.#loop[state >>> 5]! |= 1 << (state & 31);
    });
  }

  /** A pattern in which every `*` and `?` is a wildcard. */
  static compile(pattern: string, ignoreCase = false): Wildcard {
    return Wildcard.fromParts([{ text: pattern, literal: false }], ignoreCase);
  }

  /** A pattern made of pieces, some of which are literal text. */
  static fromParts(parts: readonly PatternPart[], ignoreCase = false): Wildcard {
    const tokens: Token[] = [];
    const loops: boolean[] = [false];
    for (const part of parts) {
      for (const ch of fold(part.text, ignoreCase)) {
        if (!part.literal && ch === '*') loops[tokens.length] = true;
        else {
          tokens.push(!part.literal && ch === '?' ? 'any' : ch.codePointAt(0)!);
          loops.push(false);
        }
      }
    }
    return new Wildcard(tokens, loops, ignoreCase);
  }

  /** Whether the whole of `value` matches. */
  matches(value: string): boolean {
    const v = fold(value, this.#ignoreCase);
    if (this.#exact !== undefined) return v === this.#exact;
    if (this.#prefix !== undefined) return v.startsWith(this.#prefix);
    const last = this.#last;
    // Every token consumes one character: a shorter value cannot match.
    if (v.length < last) return false;
    let state = new Uint32Array(this.#words);
    let next = new Uint32Array(this.#words);
    state[0] = 1;
    for (let i = 0; i < v.length; i++) {
      const cp = v.codePointAt(i)!;
      if (cp > 0xffff) i++;
      const lit = this.#byChar.get(cp);
      // Only states that can still be live are computed: a state past the characters read so far
      // cannot be reached yet, and one with more tokens left than characters can never finish
      // (UTF-16 units over-count characters, so both bounds err on the side of keeping a state).
      const lo = Math.max(0, last - (v.length - i - 1)) >>> 5;
      const hi = Math.min(last, i + 1) >>> 5;
      // The word below the window was live one character ago when its top state feeds state 32*lo;
      // otherwise its top state was dead then, and so is what it feeds.
      let carry = lo > 0 ? state[lo - 1]! >>> 31 : 0;
      let alive = 0;
      for (let w = lo; w <= hi; w++) {
        const s = state[w]!;
        const accept = this.#any[w]! | (lit ? lit[w]! : 0);
        const moved = ((s << 1) | carry) & accept;
        carry = s >>> 31;
        const out = (moved | (s & this.#loop[w]!)) >>> 0;
        next[w] = out;
        alive |= out;
      }
      if (!alive) return false;
      [state, next] = [next, state];
    }
    return (state[last >>> 5]! & (1 << (last & 31))) !== 0;
  }
}

const cache = new Map<string, Wildcard>();

/** Whether `value` matches the whole `*`/`?` pattern; compiled patterns are kept for reuse. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const k = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let w = cache.get(k);
  if (!w) {
    if (cache.size >= 1024) cache.clear();
    w = Wildcard.compile(pattern, ignoreCase);
    cache.set(k, w);
  }
  return w.matches(value);
}
