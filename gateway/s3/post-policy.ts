import { S3Error } from './errors.js';

/**
 * The policy document of a browser POST upload and the checks of its conditions against
 * the form. https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
export interface PostPolicy {
  expiration: Date;
  conditions: PostCondition[];
}

export type PostCondition =
  | { kind: 'eq' | 'starts-with'; field: string; value: string }
  | { kind: 'content-length-range'; min: number; max: number };

/** Fields that need no condition. */
const EXEMPT = new Set(['policy', 'x-amz-signature', 'file', 'signature', 'awsaccesskeyid']);

function invalidPolicy(message: string): S3Error {
  return new S3Error('InvalidPolicyDocument', { message: `Invalid Policy: ${message}` });
}

function denied(message: string): S3Error {
  return new S3Error('AccessDenied', { message: `Invalid according to Policy: ${message}` });
}

/** Decode the base64 `policy` field; InvalidPolicyDocument when it is not a policy. */
export function parsePostPolicy(base64: string): PostPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  const { expiration, conditions } = (doc ?? {}) as { expiration?: unknown; conditions?: unknown };
  const exp = typeof expiration === 'string' ? new Date(expiration) : undefined;
  if (!exp || Number.isNaN(exp.getTime())) throw invalidPolicy('Policy missing expiration.');
  if (!Array.isArray(conditions)) throw invalidPolicy('Policy missing conditions.');
  return { expiration: exp, conditions: conditions.map(parseCondition) };
}

function parseCondition(c: unknown): PostCondition {
  if (Array.isArray(c)) {
    const op = typeof c[0] === 'string' ? c[0].toLowerCase() : '';
    if (op === 'content-length-range') {
      const [min, max] = [Number(c[1]), Number(c[2])];
      if (c.length !== 3 || !Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) throw invalidPolicy('Invalid content-length-range condition.');
      return { kind: 'content-length-range', min, max };
    }
    if ((op === 'eq' || op === 'starts-with') && c.length === 3 && typeof c[1] === 'string' && c[1].startsWith('$') && typeof c[2] === 'string') {
      return { kind: op, field: c[1].slice(1).toLowerCase(), value: c[2] };
    }
    throw invalidPolicy(`Invalid condition ${JSON.stringify(c)}.`);
  }
  if (c !== null && typeof c === 'object') {
    const entries = Object.entries(c);
    const [name, value] = entries[0] ?? [];
    if (entries.length === 1 && name !== undefined && typeof value === 'string') return { kind: 'eq', field: name.toLowerCase(), value };
  }
  throw invalidPolicy(`Invalid condition ${JSON.stringify(c)}.`);
}

/**
 * Check the form against the policy, before the file is read: the expiration, every eq and
 * starts-with condition, and that every field is named by a condition. Returns the allowed
 * file size range (content-length-range), checked while the file streams.
 */
export function checkPostPolicy(policy: PostPolicy, fields: ReadonlyMap<string, string>, bucket: string, now = new Date()): { min: number; max: number } | undefined {
  if (policy.expiration.getTime() <= now.getTime()) throw denied('Policy expired.');
  const valueOf = (field: string): string => (field === 'bucket' ? bucket : fields.get(field) ?? '');
  const named = new Set<string>(['bucket']);
  let range: { min: number; max: number } | undefined;
  for (const c of policy.conditions) {
    if (c.kind === 'content-length-range') {
      range = { min: c.min, max: c.max };
      continue;
    }
    named.add(c.field);
    const v = valueOf(c.field);
    // A starts-with on Content-Type applies to each of its comma-separated values.
    const values = c.kind === 'starts-with' && c.field === 'content-type' ? v.split(',').map((s) => s.trim()) : [v];
    const ok = c.kind === 'eq' ? v === c.value : values.every((x) => x.startsWith(c.value));
    if (!ok) throw denied(`Policy Condition failed: ["${c.kind}", "$${c.field}", "${c.value}"]`);
  }
  const extra = [...fields.keys()].filter((f) => !EXEMPT.has(f) && !f.startsWith('x-ignore-') && !named.has(f));
  if (extra.length) throw denied(`Extra input fields: ${extra.join(', ')}`);
  return range;
}
