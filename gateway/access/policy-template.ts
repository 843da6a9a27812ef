/**
 * A policy string that may hold policy variables (`${aws:username}`), as IAM defines them for
 * version 2012-10-17 documents: a variable is replaced by the request's value of that condition
 * key, `${key, 'fallback'}` gives a value for when it has none, and `${*}`, `${?}`, `${$}` stand for
 * the literal characters. A variable without a value (and no fallback) makes the string match
 * nothing. Substituted values are always literal: a `*` in a user's prefix is not a wildcard.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
import { normalizeKey, type ConditionContext } from './condition-context.js';

type Part = { text: string; literal: boolean } | { key: string; fallback?: string };

const ESCAPES: Record<string, string> = { '*': '*', '?': '?', $: '$' };

export class PolicyTemplate {
  readonly #parts: readonly Part[];
  readonly #fixed: boolean;
  /** The compiled patterns of a template without variables, made once. */
  readonly #cache = new Map<string, RegExp>();

  private constructor(parts: Part[]) {
    this.#parts = parts;
    this.#fixed = parts.every((p) => 'text' in p);
  }

  /** `variables`: whether `${...}` is a variable (2012-10-17) or plain text (2008-10-17). */
  static parse(text: string, variables: boolean): PolicyTemplate {
    if (!variables || !text.includes('${')) return new PolicyTemplate([{ text, literal: false }]);
    const parts: Part[] = [];
    const re = /\$\{([^}]*)\}/g;
    let last = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index > last) parts.push({ text: text.slice(last, m.index), literal: false });
      last = re.lastIndex;
      const body = m[1]!.trim();
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

  /** As a `*`/`?` wildcard pattern, anchored; undefined when a variable has no value. */
  pattern(ctx: ConditionContext, ignoreCase = false): RegExp | undefined {
    const flags = ignoreCase ? 'is' : 's';
    const cached = this.#fixed ? this.#cache.get(flags) : undefined;
    if (cached) return cached;
    let src = '';
    for (const p of this.#parts) {
      if ('text' in p) src += p.literal ? escapeRegExp(p.text) : globSource(p.text);
      else {
        const v = valueOf(p, ctx);
        if (v === undefined) return undefined;
        src += escapeRegExp(v);
      }
    }
    const re = new RegExp(`^${src}$`, flags);
    if (this.#fixed) this.#cache.set(flags, re);
    return re;
  }

  /** Whether `value` matches the template as a wildcard pattern. */
  like(value: string, ctx: ConditionContext, ignoreCase = false): boolean {
    return this.pattern(ctx, ignoreCase)?.test(value) ?? false;
  }
}

function valueOf(p: { key: string; fallback?: string }, ctx: ConditionContext): string | undefined {
  // Only single-valued keys make sense in a string; the first value of any other.
  return ctx.values(p.key)?.[0] ?? p.fallback;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `*` any run of characters, `?` any one; everything else literal. */
export function globSource(pattern: string): string {
  return pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
}

/** Whether `value` matches the whole `*`/`?` pattern (actions, ARN parts, CORS origins and headers). */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  return new RegExp(`^${globSource(pattern)}$`, ignoreCase ? 'is' : 's').test(value);
}
