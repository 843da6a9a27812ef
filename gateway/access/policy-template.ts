/**
 * A policy string that may hold policy variables (`${aws:username}`), as IAM defines them for
 * version 2012-10-17 documents: a variable is replaced by the request's value of that condition
 * key, `${key, 'fallback'}` gives a value for when it has none, and `${*}`, `${?}`, `${$}` stand for
 * the literal characters. A variable without a value (and no fallback) makes the string match
 * nothing. Substituted values are always literal: a `*` in a user's prefix is not a wildcard.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
import { normalizeKey, type ConditionContext } from './condition-context.js';
import { countStars, Wildcard, type PatternPart } from './wildcard.js';

type Part = { text: string; literal: boolean } | { key: string; fallback?: string };

const ESCAPES: Record<string, string> = { '*': '*', '?': '?', $: '$' };

export class PolicyTemplate {
  readonly #parts: readonly Part[];
  readonly #fixed: boolean;
  /** The compiled patterns of a template without variables, made once. */
  readonly #cache = new Map<boolean, Wildcard>();

  private constructor(parts: Part[]) {
    this.#parts = parts;
    this.#fixed = parts.every((p) => 'text' in p);
  }

  /** `variables`: whether `${...}` is a variable (2012-10-17) or plain text (2008-10-17). */
  static parse(text: string, variables: boolean): PolicyTemplate {
    if (!variables || !text.includes('${')) return new PolicyTemplate([{ text, literal: false }]);
    const parts: Part[] = [];
    let last = 0;
    // Scanned with indexOf: /\$\{([^}]*)\}/g rescans to the end from every `${` when no `}`
    // follows, quadratic in a policy of `${${${…` (a 20 KB one took a third of a second).
    for (let open = text.indexOf('${'); open >= 0; open = text.indexOf('${', last)) {
      const close = text.indexOf('}', open + 2);
      if (close < 0) break;
      if (open > last) parts.push({ text: text.slice(last, open), literal: false });
      last = close + 1;
      const body = text.slice(open + 2, close).trim();
      const escaped = ESCAPES[body];
      if (escaped !== undefined) {
        parts.push({ text: escaped, literal: true });
        continue;
      }
      const withFallback = /^([^,\s]+)\s*,\s*'([^']*)'$/.exec(body);
      parts.push(withFallback ? { key: normalizeKey(withFallback[1]!), fallback: withFallback[2]! } : { key: normalizeKey(body) });
    }
    if (last < text.length) parts.push({ text: text.slice(last), literal: false });
    return new PolicyTemplate(parts);
  }

  /** The string with its variables substituted; undefined when one has no value. */
  resolve(ctx: ConditionContext): string | undefined {
    let out = '';
    for (const p of this.#parts) {
      if ('text' in p) out += p.text;
      else {
        const v = valueOf(p, ctx);
        if (v === undefined) return undefined;
        out += v;
      }
    }
    return out;
  }

  /** The template's pieces with its variables substituted (as literal text); undefined when one has no value. */
  parts(ctx: ConditionContext): PatternPart[] | undefined {
    const out: PatternPart[] = [];
    for (const p of this.#parts) {
      if ('text' in p) out.push(p);
      else {
        const v = valueOf(p, ctx);
        if (v === undefined) return undefined;
        out.push({ text: v, literal: true });
      }
    }
    return out;
  }

  /** As a `*`/`?` wildcard pattern (gateway/access/wildcard.ts); undefined when a variable has no value. */
  pattern(ctx: ConditionContext, ignoreCase = false): Wildcard | undefined {
    const cached = this.#fixed ? this.#cache.get(ignoreCase) : undefined;
    if (cached) return cached;
    const parts = this.parts(ctx);
    if (!parts) return undefined;
    const w = Wildcard.fromParts(parts, ignoreCase);
    if (this.#fixed) this.#cache.set(ignoreCase, w);
    return w;
  }

  /** Whether `value` matches the template as a wildcard pattern. */
  like(value: string, ctx: ConditionContext, ignoreCase = false): boolean {
    return this.pattern(ctx, ignoreCase)?.matches(value) ?? false;
  }

  /** The `*` wildcards the template holds (substituted values hold none). */
  stars(): number {
    return this.#parts.reduce((n, p) => n + ('text' in p && !p.literal ? countStars(p.text) : 0), 0);
  }
}

function valueOf(p: { key: string; fallback?: string }, ctx: ConditionContext): string | undefined {
  // Only single-valued keys make sense in a string; the first value of any other.
  return ctx.values(p.key)?.[0] ?? p.fallback;
}
