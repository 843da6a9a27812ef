import { S3Error } from '../s3/errors.js';

/**
 * The bucket policy subset this gateway evaluates: Allow/Deny statements naming principals
 * ("*" or user ids, also as `arn:aws:iam::<account>:user/<id>`), `s3:` actions with `*`/`?`
 * wildcards, and resources `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/<key pattern>`.
 * Conditions, NotAction, NotPrincipal and NotResource are refused rather than ignored:
 * dropping part of a statement would grant or deny more than the owner wrote.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html
 */
export interface PolicyStatement {
  sid?: string;
  effect: 'Allow' | 'Deny';
  /** `'*'`: everyone, anonymous requests included; otherwise user ids. */
  principals: '*' | readonly string[];
  actions: readonly string[];
  resources: readonly string[];
}

export interface BucketPolicy {
  statements: readonly PolicyStatement[];
}

/** Policies are at most 20 KB on AWS S3. */
export const MAX_POLICY_BYTES = 20 * 1024;
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const UNSUPPORTED = ['Condition', 'NotAction', 'NotPrincipal', 'NotResource'];

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
  return { statements: raw.map((s) => parseStatement(s, bucket)) };
}

function parseStatement(s: unknown, bucket: string): PolicyStatement {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw malformed('Statement must be an object');
  const st = s as Record<string, unknown>;
  for (const name of UNSUPPORTED) if (name in st) throw new S3Error('NotImplemented', { message: `${name} in bucket policies is not supported by this gateway` });
  if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw malformed(`Invalid effect: ${String(st.Effect)}`);
  if (st.Principal === undefined) throw malformed('Missing required field Principal');
  if (st.Action === undefined) throw malformed('Missing required field Action');
  if (st.Resource === undefined) throw malformed('Missing required field Resource');
  const actions = list(st.Action, 'Action').map((a) => {
    if (!/^s3:[A-Za-z*?]+$/.test(a) && a !== '*') throw malformed('Policy has invalid action');
    return a === '*' ? 's3:*' : a;
  });
  const resources = list(st.Resource, 'Resource').map((r) => {
    const m = /^arn:aws:s3:::([^/]+)(\/.*)?$/.exec(r);
    if (!m || !globMatch(m[1]!, bucket)) throw malformed('Policy has invalid resource');
    return r;
  });
  return {
    ...(typeof st.Sid === 'string' && { sid: st.Sid }),
    effect: st.Effect, principals: parsePrincipal(st.Principal), actions, resources,
  };
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

/** `*` any run of characters, `?` any one; everything else literal. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', ignoreCase ? 'is' : 's');
  return re.test(value);
}

export interface PolicyQuery {
  /** The caller's user id, or null for an anonymous request. */
  principal: string | null;
  /** e.g. `s3:GetObject`. */
  action: string;
  /** e.g. `arn:aws:s3:::bucket/key`. */
  resource: string;
}

/** What the policy says about one request: an explicit Deny wins over any Allow. */
export function evaluatePolicy(policy: BucketPolicy, q: PolicyQuery): 'deny' | 'allow' | 'none' {
  let allowed = false;
  for (const st of policy.statements) {
    const principal = st.principals === '*' || (q.principal !== null && st.principals.includes(q.principal));
    if (!principal) continue;
    if (!st.actions.some((a) => globMatch(a, q.action, true))) continue;
    if (!st.resources.some((r) => globMatch(r, q.resource))) continue;
    if (st.effect === 'Deny') return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'none';
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
