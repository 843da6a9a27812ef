/**
 * The Condition element of a bucket policy statement, parsed once at PutBucketPolicy and
 * evaluated per request, as IAM evaluates it:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 *
 * - Several operators in one Condition, and several keys under one operator, must all hold (AND);
 *   several values for one key are alternatives (OR).
 * - A key the request does not have makes the operator false, except: `...IfExists` (true),
 *   `Null` (which tests exactly that), the negated operators (`StringNotEquals`, `NotIpAddress`, …:
 *   true, nothing matched), and `ForAllValues:` (true: every one of no values matched).
 *   `ForAnyValue:` on an absent key is false.
 * - A negated operator holds when the request value matches none of the policy's values.
 */
import { cidrContains, parseCidr, parseIp, type CidrBlock } from './cidr.js';
import { normalizeKey, type ConditionContext } from './condition-context.js';
import { PolicyTemplate } from './policy-template.js';
import { MAX_PATTERN_WILDCARDS, Wildcard, type PatternPart } from './wildcard.js';

/** A condition whose document is wrong: PutBucketPolicy answers MalformedPolicy with the message. */
export class ConditionSyntaxError extends Error {
  code = 'ERR_POLICY_CONDITION';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A condition this gateway cannot evaluate faithfully (NotImplemented rather than a wrong answer). */
export class ConditionUnsupportedError extends ConditionSyntaxError {
  override code = 'ERR_POLICY_CONDITION_UNSUPPORTED';
}

type Family = 'String' | 'Numeric' | 'Date' | 'Bool' | 'Ip' | 'Arn' | 'Null';

/** One policy value, compiled: does one request value match it? */
type Matcher = (requestValue: string, ctx: ConditionContext) => boolean;

interface OperatorSpec {
  family: Family;
  negated: boolean;
  compile(value: string, variables: boolean): Matcher;
}

export interface ConditionClause {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  operator: string;
  /** The base operator, e.g. `StringLike`. */
  base: string;
  family: Family;
  negated: boolean;
  ifExists: boolean;
  qualifier?: 'ForAnyValue' | 'ForAllValues';
  /** The key as written; looked up case-insensitively. */
  key: string;
  /** The policy's values as written (strings), for checks such as isPublicPolicy. */
  values: readonly string[];
  matchers: readonly Matcher[];
}

const string = (test: (a: string, b: string) => boolean) => (value: string, variables: boolean): Matcher => {
  const t = PolicyTemplate.parse(value, variables);
  return (v, ctx) => {
    const p = t.resolve(ctx);
    return p !== undefined && test(v, p);
  };
};
/** A wildcard value of StringLike or ArnLike; too many wildcards are refused when the policy is put. */
function wildcardTemplate(value: string, variables: boolean): PolicyTemplate {
  const t = PolicyTemplate.parse(value, variables);
  if (t.stars() > MAX_PATTERN_WILDCARDS) throw new ConditionSyntaxError(`A condition value has more than ${MAX_PATTERN_WILDCARDS} wildcards: ${value.slice(0, 64)}`);
  return t;
}
const like = (value: string, variables: boolean): Matcher => {
  const t = wildcardTemplate(value, variables);
  return (v, ctx) => t.like(v, ctx);
};

// Unambiguous (digits, then an optional fraction), so that a long run of digits from a
// request cannot make the expression backtrack.
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseNumber(text: string): number | undefined {
  const s = text.trim();
  if (!NUMBER.test(s)) return undefined;
  return Number(s);
}

/** An ISO 8601 date-time or an epoch time in seconds, as milliseconds. */
export function parseDate(text: string): number | undefined {
  const s = text.trim();
  const epoch = parseNumber(s);
  if (epoch !== undefined) return epoch * 1000;
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
/** A Numeric or Date operator: the policy's value and the request's parsed alike, then compared. */
const ordered = (parse: (text: string) => number | undefined, what: string) =>
  (test: (a: number, b: number) => boolean) => (value: string): Matcher => {
    const want = parse(value);
    if (want === undefined) throw new ConditionSyntaxError(`Invalid ${what} value in a condition: ${value}`);
    return (v) => {
      const got = parse(v);
      return got !== undefined && test(got, want);
    };
  };
const numeric = ordered(parseNumber, 'numeric');
const date = ordered(parseDate, 'date');

function bool(value: string): Matcher {
  const want = value.toLowerCase();
  if (want !== 'true' && want !== 'false') throw new ConditionSyntaxError(`Invalid boolean value in a condition: ${value}`);
  return (v) => v.toLowerCase() === want;
}

function ip(value: string): Matcher {
  const block: CidrBlock | undefined = parseCidr(value);
  if (!block) throw new ConditionSyntaxError(`Invalid IP address or CIDR block in a condition: ${value}`);
  return (v) => {
    const addr = parseIp(v);
    return addr !== undefined && cidrContains(block, addr);
  };
}

/** The six colon-separated parts of an ARN (the resource part may hold colons). */
function arnParts(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/** The same split of a pattern whose pieces may be literal (substituted variables). */
function arnPatternParts(pieces: readonly PatternPart[]): PatternPart[][] | undefined {
  const out: PatternPart[][] = [[]];
  for (const piece of pieces) {
    piece.text.split(':').forEach((text, i) => {
      if (i > 0) out.push([]);
      out[out.length - 1]!.push({ text, literal: piece.literal });
    });
  }
  if (out.length < 6) return undefined;
  const resource = out.slice(5).flatMap((p, i) => (i === 0 ? p : [{ text: ':', literal: true }, ...p]));
  return [...out.slice(0, 5), resource];
}

/** ArnEquals and ArnLike are the same test: each part matched on its own, with wildcards. */
function arn(value: string, variables: boolean): Matcher {
  const t = wildcardTemplate(value, variables);
  return (v, ctx) => {
    const pieces = t.parts(ctx);
    const want = pieces && arnPatternParts(pieces);
    const got = arnParts(v);
    if (!want || !got) return false;
    const head = want[0]!.map((p) => p.text).join('');
    return head === 'arn' && want.every((p, i) => Wildcard.fromParts(p).matches(got[i]!));
  };
}

function nullCheck(value: string): Matcher {
  const want = value.toLowerCase();
  if (want !== 'true' && want !== 'false') throw new ConditionSyntaxError(`Invalid value for Null: ${value}`);
  return () => want === 'true';
}

const op = (family: Family, negated: boolean, compile: OperatorSpec['compile']): OperatorSpec => ({ family, negated, compile });
const OPERATORS: Record<string, OperatorSpec> = {
  StringEquals: op('String', false, string((a, b) => a === b)),
  StringNotEquals: op('String', true, string((a, b) => a === b)),
  StringEqualsIgnoreCase: op('String', false, string((a, b) => a.toLowerCase() === b.toLowerCase())),
  StringNotEqualsIgnoreCase: op('String', true, string((a, b) => a.toLowerCase() === b.toLowerCase())),
  StringLike: op('String', false, like),
  StringNotLike: op('String', true, like),
  NumericEquals: op('Numeric', false, numeric((a, b) => a === b)),
  NumericNotEquals: op('Numeric', true, numeric((a, b) => a === b)),
  NumericLessThan: op('Numeric', false, numeric((a, b) => a < b)),
  NumericLessThanEquals: op('Numeric', false, numeric((a, b) => a <= b)),
  NumericGreaterThan: op('Numeric', false, numeric((a, b) => a > b)),
  NumericGreaterThanEquals: op('Numeric', false, numeric((a, b) => a >= b)),
  DateEquals: op('Date', false, date((a, b) => a === b)),
  DateNotEquals: op('Date', true, date((a, b) => a === b)),
  DateLessThan: op('Date', false, date((a, b) => a < b)),
  DateLessThanEquals: op('Date', false, date((a, b) => a <= b)),
  DateGreaterThan: op('Date', false, date((a, b) => a > b)),
  DateGreaterThanEquals: op('Date', false, date((a, b) => a >= b)),
  Bool: op('Bool', false, bool),
  IpAddress: op('Ip', false, ip),
  NotIpAddress: op('Ip', true, ip),
  ArnEquals: op('Arn', false, arn),
  ArnLike: op('Arn', false, arn),
  ArnNotEquals: op('Arn', true, arn),
  ArnNotLike: op('Arn', true, arn),
  Null: op('Null', false, nullCheck),
};
const BY_LOWER = new Map(Object.keys(OPERATORS).map((k) => [k.toLowerCase(), k]));
/** IAM operators this gateway does not evaluate. */
const UNSUPPORTED = new Set(['binaryequals']);

function parseOperator(written: string): Pick<ConditionClause, 'base' | 'family' | 'negated' | 'ifExists' | 'qualifier'> {
  let name = written;
  let qualifier: ConditionClause['qualifier'];
  const q = /^(ForAnyValue|ForAllValues):(.*)$/i.exec(name);
  if (q) {
    qualifier = q[1]!.toLowerCase() === 'foranyvalue' ? 'ForAnyValue' : 'ForAllValues';
    name = q[2]!;
  }
  const ifExists = /IfExists$/i.test(name);
  if (ifExists) name = name.slice(0, -'IfExists'.length);
  if (UNSUPPORTED.has(name.toLowerCase())) throw new ConditionUnsupportedError(`The condition operator ${written} is not supported by this gateway`);
  const base = BY_LOWER.get(name.toLowerCase());
  if (!base) throw new ConditionSyntaxError(`Invalid Condition type : ${written}`);
  const spec = OPERATORS[base]!;
  if (spec.family === 'Null' && (ifExists || qualifier)) throw new ConditionSyntaxError(`Invalid Condition type : ${written}`);
  return { base, family: spec.family, negated: spec.negated, ifExists, ...(qualifier && { qualifier }) };
}

function valueList(v: unknown, where: string): string[] {
  const items = Array.isArray(v) ? v : [v];
  if (!items.length) throw new ConditionSyntaxError(`${where} has no values`);
  return items.map((x) => {
    if (typeof x === 'string') return x;
    if (typeof x === 'number' || typeof x === 'boolean') return String(x);
    throw new ConditionSyntaxError(`${where} values must be strings, numbers or booleans`);
  });
}

/**
 * The Condition element of one statement. `variables`: policy variables are read in values
 * (version 2012-10-17). `checkKey` refuses keys the gateway does not know.
 */
export function parseConditions(raw: unknown, variables: boolean, checkKey: (key: string) => void): ConditionClause[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConditionSyntaxError('Condition must be an object');
  const out: ConditionClause[] = [];
  for (const [operator, block] of Object.entries(raw as Record<string, unknown>)) {
    const parsed = parseOperator(operator);
    if (block === null || typeof block !== 'object' || Array.isArray(block)) throw new ConditionSyntaxError(`Condition ${operator} must map condition keys to values`);
    for (const [key, v] of Object.entries(block as Record<string, unknown>)) {
      if (!key) throw new ConditionSyntaxError('A condition key is empty');
      checkKey(key);
      const values = valueList(v, `Condition ${operator} ${key}`);
      const spec = OPERATORS[parsed.base]!;
      out.push({ operator, ...parsed, key, values, matchers: values.map((x) => spec.compile(x, variables)) });
    }
  }
  return out;
}

/** Whether every clause holds for the request (an empty Condition always does). */
export function conditionsHold(clauses: readonly ConditionClause[], ctx: ConditionContext): boolean {
  return clauses.every((c) => clauseHolds(c, ctx));
}

export function clauseHolds(c: ConditionClause, ctx: ConditionContext): boolean {
  const got = ctx.values(normalizeKey(c.key));
  const present = got !== undefined && got.length > 0;
  if (c.family === 'Null') return c.matchers.some((m) => m('', ctx) === !present);
  if (!present) {
    if (c.ifExists || c.qualifier === 'ForAllValues') return true;
    if (c.qualifier === 'ForAnyValue') return false;
    return c.negated;
  }
  const matchesAny = (v: string): boolean => c.matchers.some((m) => m(v, ctx));
  const holdsFor = (v: string): boolean => (c.negated ? !matchesAny(v) : matchesAny(v));
  if (c.qualifier === 'ForAllValues') return got.every(holdsFor);
  // ForAnyValue, and a single-valued key (a multivalued one without a qualifier reads as "any").
  return c.negated && !c.qualifier ? !got.some(matchesAny) : got.some(holdsFor);
}
