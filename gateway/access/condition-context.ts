/**
 * The condition keys of one request, as a bucket policy's Condition elements and policy
 * variables read them. Key names are case-insensitive (IAM) except the part after a tag
 * prefix (`s3:ExistingObjectTag/<tag key>`), as S3 tag keys are case-sensitive: see normalizeKey. request-context.ts builds the real one from a request.
 */
export interface ConditionContext {
  /** The key's values (several for a multivalued key), or undefined when the request has none. Any case of the name. */
  values(key: string): readonly string[] | undefined;
}

/** A context with no keys at all: every condition sees its keys absent. */
export const NO_CONDITION_KEYS: ConditionContext = { values: () => undefined };

/** A context from fixed values (tests, and keys known up front); names are matched case-insensitively. */
export function fixedContext(values: Readonly<Record<string, string | readonly string[]>>): ConditionContext {
  const map = new Map<string, readonly string[]>();
  for (const [k, v] of Object.entries(values)) map.set(normalizeKey(k), typeof v === 'string' ? [v] : v);
  return { values: (key) => map.get(normalizeKey(key)) };
}

const TAG_PREFIXES = ['s3:existingobjecttag/', 's3:requestobjecttag/', 'aws:requesttag/', 'aws:resourcetag/'];

/** The canonical form of a key name: lower-case, except the tag key after a tag prefix. */
export function normalizeKey(key: string): string {
  const lower = key.toLowerCase();
  const prefix = TAG_PREFIXES.find((p) => lower.startsWith(p));
  return prefix ? prefix + key.slice(prefix.length) : lower;
}
