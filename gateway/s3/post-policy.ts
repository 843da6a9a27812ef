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

/**
 * Fields that need no condition: the signature and policy themselves, and the checksum of
 * the file (x-amz-checksum-*), which S3 verifies against the file rather than the policy.
 */
const EXEMPT = new Set(['policy', 'x-amz-signature', 'file', 'signature', 'awsaccesskeyid']);
const isExempt = (field: string): boolean => EXEMPT.has(field) || field.startsWith('x-ignore-') || field.startsWith('x-amz-checksum-');

/**
 * The ISO 8601 date-time of `expiration` ("2013-08-01T12:00:00.000Z"): a date, `T`, a time
 * with optional fraction, and `Z` or a UTC offset. Anything else (a space for the `T`, a bare
 * date, an RFC 1123 date) is not a policy's date, though `Date` would parse it.
 */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function parseExpiration(v: unknown): Date {
  if (v === undefined) throw invalidPolicy('Policy missing expiration.');
  const bad = (): S3Error => invalidPolicy(`Invalid 'expiration' value: '${String(v)}'`);
  const m = typeof v === 'string' ? ISO_DATE_TIME.exec(v) : null;
  if (!m) throw bad();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Date.parse would roll 2024-02-30 over to March 1st: the date must name a real day.
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) throw bad();
  return new Date(Date.parse(m[0]));
}

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
  const exp = parseExpiration(expiration);
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
    throw invalidPolicy(`Invalid condition ${brief(c)}.`);
  }
  if (c !== null && typeof c === 'object') {
    const entries = Object.entries(c);
    const [name, value] = entries[0] ?? [];
    if (entries.length === 1 && name !== undefined && typeof value === 'string') return { kind: 'eq', field: name.toLowerCase(), value };
  }
  throw invalidPolicy(`Invalid condition ${brief(c)}.`);
}

/**
 * A condition as JSON for an error message, cut at a few levels and items: the document is
 * the signer's, and JSON.stringify of one nested thousands of arrays deep overflows the stack.
 */
function brief(v: unknown, depth = 0): string {
  const MAX_ITEMS = 4;
  if (Array.isArray(v) || (v !== null && typeof v === 'object')) {
    if (depth >= 2) return Array.isArray(v) ? '[…]' : '{…}';
    const all: Array<[string, unknown]> = Array.isArray(v) ? v.map((x) => ['', x]) : Object.entries(v).map(([k, x]) => [`${JSON.stringify(k)}:`, x]);
    const inner = all.slice(0, MAX_ITEMS).map(([name, x]) => name + brief(x, depth + 1)).join(',') + (all.length > MAX_ITEMS ? ',…' : '');
    return Array.isArray(v) ? `[${inner}]` : `{${inner}}`;
  }
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/**
 * Check the form against the policy, before the file is read: the expiration, every eq and
 * starts-with condition, and that every field is named by a condition. Returns the allowed
 * file size range (content-length-range), checked while the file streams.
 * `fields` holds the key as it will be stored, `${filename}` already replaced: the policy
 * constrains the object written, not the template (see postKey).
 */
export function checkPostPolicy(policy: PostPolicy, fields: ReadonlyMap<string, string>, bucket: string, now = new Date()): { min: number; max: number } | undefined {
  if (policy.expiration.getTime() <= now.getTime()) throw denied('Policy expired.');
  const valueOf = (field: string): string => (field === 'bucket' ? bucket : fields.get(field) ?? '');
  const named = new Set<string>(['bucket']);
  let range: { min: number; max: number } | undefined;
  for (const c of policy.conditions) {
    if (c.kind === 'content-length-range') {
      // Every range the signer wrote holds: several narrow each other, the last does not win.
      range = range ? { min: Math.max(range.min, c.min), max: Math.min(range.max, c.max) } : { min: c.min, max: c.max };
      continue;
    }
    named.add(c.field);
    const v = valueOf(c.field);
    // A starts-with on Content-Type applies to each of its comma-separated values.
    const values = c.kind === 'starts-with' && c.field === 'content-type' ? v.split(',').map((s) => s.trim()) : [v];
    const ok = c.kind === 'eq' ? v === c.value : values.every((x) => x.startsWith(c.value));
    if (!ok) throw denied(`Policy Condition failed: ["${c.kind}", "$${c.field}", "${c.value}"]`);
  }
  const extra = [...fields.keys()].filter((f) => !isExempt(f) && !named.has(f));
  if (extra.length) throw denied(`Extra input fields: ${extra.join(', ')}`);
  return range;
}

/**
 * The key a form writes: its `key` field with every `${filename}` replaced by the name of
 * the uploaded file, as S3 documents for the key field.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */
export function postKey(keyField: string, filename: string): string {
  return keyField.replaceAll('${filename}', filename);
}
