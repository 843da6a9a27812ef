import { S3Error } from '../s3/errors.js';
import { NO_CONDITION_KEYS, type ConditionContext } from './condition-context.js';
import { conditionsHold, ConditionSyntaxError, ConditionUnsupportedError, parseConditions, type ConditionClause } from './policy-conditions.js';
import { PolicyTemplate } from './policy-template.js';
import { countStars, MAX_PATTERN_WILDCARDS, wildcardMatch } from './wildcard.js';
import { keySupport } from './request-context.js';

/**
 * Bucket policies as IAM evaluates them for S3: Allow/Deny statements naming principals
 * ("*" or user ids, also as `arn:aws:iam::<account>:user/<id>`) or all but some (NotPrincipal,
 * Deny only), `s3:` actions with `*`/`?` wildcards (or NotAction), resources
 * `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/<key pattern>` (or NotResource), policy
 * variables in resources and condition values (2012-10-17), and Conditions
 * (policy-conditions.ts) on the keys request-context.ts supplies. A condition key the gateway
 * cannot evaluate is refused rather than ignored: dropping part of a statement would grant or
 * deny more than the owner wrote.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
 */
export interface PolicyStatement {
  sid?: string;
  effect: 'Allow' | 'Deny';
  /** `'*'`: everyone, anonymous requests included; otherwise user ids. */
  principals: '*' | readonly string[];
  /** NotPrincipal: the statement is about everyone except `principals`. */
  notPrincipal: boolean;
  actions: readonly string[];
  notAction: boolean;
  resources: readonly PolicyTemplate[];
  notResource: boolean;
  /** All must hold for the statement to apply; empty without a Condition element. */
  conditions: readonly ConditionClause[];
}

export interface BucketPolicy {
  statements: readonly PolicyStatement[];
}

/** Policies are at most 20 KB on AWS S3. */
export const MAX_POLICY_BYTES = 20 * 1024;
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);

function malformed(message: string): S3Error {
  return new S3Error('MalformedPolicy', { message });
}

function list(v: unknown, what: string): string[] {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!items?.length || !items.every((s): s is string => typeof s === 'string' && s !== '')) throw malformed(`${what} must be a string or a non-empty list of strings`);
  return items;
}

/** Parse and validate a policy for `bucket`; MalformedPolicy says what is wrong. */
export function parseBucketPolicy(text: string, bucket: string): BucketPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw malformed('Policy exceeds the maximum allowed document size.');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw malformed("Policies must be valid JSON and the first byte must be '{'");
  const { Version, Statement } = doc as { Version?: unknown; Statement?: unknown };
  if (Version !== undefined && (typeof Version !== 'string' || !VERSIONS.has(Version))) throw malformed('The policy must contain a valid version string');
  if (Statement === undefined) throw malformed('Missing required field Statement');
  const raw = Array.isArray(Statement) ? Statement : [Statement];
  if (!raw.length) throw malformed('Could not parse the policy: Statement is empty!');
  // Policy variables exist from version 2012-10-17 on; before, `${...}` is plain text.
  const variables = Version === '2012-10-17';
  return { statements: raw.map((s) => parseStatement(s, bucket, variables)) };
}

/** The one of `Name` / `NotName` a statement has; both or neither is malformed. */
function either(st: Record<string, unknown>, name: string): { value: unknown; not: boolean } {
  const has = st[name] !== undefined;
  const hasNot = st[`Not${name}`] !== undefined;
  if (has && hasNot) throw malformed(`A statement cannot have both ${name} and Not${name}`);
  if (!has && !hasNot) throw malformed(`Missing required field ${name}`);
  return has ? { value: st[name], not: false } : { value: st[`Not${name}`], not: true };
}

function parseStatement(s: unknown, bucket: string, variables: boolean): PolicyStatement {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw malformed('Statement must be an object');
  const st = s as Record<string, unknown>;
  if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw malformed(`Invalid effect: ${String(st.Effect)}`);
  const principal = either(st, 'Principal');
  // IAM: "NotPrincipal must be used with Effect Deny; using it with Allow is not supported."
  if (principal.not && st.Effect === 'Allow') throw malformed('NotPrincipal is supported only with Effect Deny');
  const action = either(st, 'Action');
  const resource = either(st, 'Resource');
  const actions = list(action.value, action.not ? 'NotAction' : 'Action').map((a) => {
    if ((!/^s3:[A-Za-z*?]+$/.test(a) && a !== '*') || countStars(a) > MAX_PATTERN_WILDCARDS) throw malformed('Policy has invalid action');
    return a === '*' ? 's3:*' : a;
  });
  const resources = list(resource.value, resource.not ? 'NotResource' : 'Resource').map((r) => {
    const m = /^arn:aws:s3:::([^/]+)(\/.*)?$/.exec(r);
    if (!m || !wildcardMatch(m[1]!, bucket)) throw malformed('Policy has invalid resource');
    const t = PolicyTemplate.parse(r, variables);
    // Matching is linear whatever the pattern (wildcard.ts); the cap keeps patterns to what people write.
    if (t.stars() > MAX_PATTERN_WILDCARDS) throw malformed(`Policy has invalid resource: more than ${MAX_PATTERN_WILDCARDS} wildcards`);
    return t;
  });
  return {
    ...(typeof st.Sid === 'string' && { sid: st.Sid }),
    effect: st.Effect, principals: parsePrincipal(principal.value), notPrincipal: principal.not,
    actions, notAction: action.not, resources, notResource: resource.not,
    conditions: st.Condition === undefined ? [] : conditionsOf(st.Condition, variables),
  };
}

function conditionsOf(raw: unknown, variables: boolean): ConditionClause[] {
  try {
    return parseConditions(raw, variables, (key) => {
      if (keySupport(key) === 'unknown') throw new ConditionUnsupportedError(`The condition key ${key} is not supported by this gateway`);
    });
  } catch (err) {
    if (err instanceof ConditionUnsupportedError) throw new S3Error('NotImplemented', { message: err.message });
    if (err instanceof ConditionSyntaxError) throw malformed(err.message);
    throw err;
  }
}

function parsePrincipal(p: unknown): '*' | string[] {
  if (p === '*') return '*';
  if (p === null || typeof p !== 'object' || Array.isArray(p)) throw malformed('Invalid principal in policy');
  const keys = Object.keys(p);
  if (keys.length !== 1 || keys[0] !== 'AWS') throw malformed('Invalid principal in policy: only "*" and {"AWS": [...]} are supported');
  const ids = list((p as { AWS: unknown }).AWS, 'Principal.AWS');
  if (ids.includes('*')) return '*';
  return ids.map((id) => {
    // The account's root: here, the root credentials' owner (the gateway is one account).
    if (/^arn:aws:iam::[^:]*:root$/.test(id)) return 'root';
    const arn = /^arn:aws:iam::[^:]*:user\/(?:.*\/)?([^/]+)$/.exec(id);
    const user = arn ? arn[1]! : id;
    if (!/^[A-Za-z0-9._@+=,-]{1,64}$/.test(user)) throw malformed('Invalid principal in policy');
    return user;
  });
}

export interface PolicyQuery {
  /** The caller's user id, or null for an anonymous request. */
  principal: string | null;
  /** e.g. `s3:GetObject`. */
  action: string;
  /** e.g. `arn:aws:s3:::bucket/key`. */
  resource: string;
  /** The request's condition keys (request-context.ts); without it every key is absent. */
  context?: ConditionContext;
}

/** Whether a statement is about this request (its effect aside). Conditions are read last: they may cost a lookup. */
export function statementApplies(st: PolicyStatement, q: PolicyQuery): boolean {
  const ctx = q.context ?? NO_CONDITION_KEYS;
  const named = st.principals === '*' || (q.principal !== null && st.principals.includes(q.principal));
  if (named === st.notPrincipal) return false;
  if (st.actions.some((a) => wildcardMatch(a, q.action, true)) === st.notAction) return false;
  if (st.resources.some((r) => r.like(q.resource, ctx)) === st.notResource) return false;
  return conditionsHold(st.conditions, ctx);
}

/** What the policy says about one request: an explicit Deny wins over any Allow. */
export function evaluatePolicy(policy: BucketPolicy, q: PolicyQuery): 'deny' | 'allow' | 'none' {
  // Deny statements first: one that applies decides, and Allows need not read their conditions.
  if (policy.statements.some((st) => st.effect === 'Deny' && statementApplies(st, q))) return 'deny';
  return policy.statements.some((st) => st.effect === 'Allow' && statementApplies(st, q)) ? 'allow' : 'none';
}

const cache = new Map<string, BucketPolicy>();

/** A stored policy, parsed once per distinct text (stored policies were validated on Put). */
export function storedPolicy(text: string, bucket: string): BucketPolicy {
  const k = `${bucket}\n${text}`;
  let p = cache.get(k);
  if (!p) {
    if (cache.size >= 256) cache.clear();
    p = parseBucketPolicy(text, bucket);
    cache.set(k, p);
  }
  return p;
}
