/**
 * POST policies (gateway/s3/post-policy.ts): the base64 JSON document and its check against a
 * form. Any document, valid or damaged, parses to a policy or InvalidPolicyDocument; policies
 * built from conditions parse back to them, a form built to satisfy them passes, and one that
 * breaks a condition is AccessDenied.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { S3Error } from '../../gateway/s3/errors.js';
import { checkPostPolicy, parsePostPolicy, postKey, type PostCondition } from '../../gateway/s3/post-policy.js';
import { check, codeOf, hostileString, mutated, outcome, valueOf } from './fuzz.js';

const NOW = new Date('2026-03-14T15:09:26Z');
const FUTURE = '2030-01-01T00:00:00.000Z';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Form fields a policy talks about ($bucket aside, which is the request's). */
const FIELD = fc.constantFrom('key', 'acl', 'content-type', 'success_action_status', 'x-amz-meta-tag', 'x-amz-credential', 'tagging', 'cache-control');

const condition: fc.Arbitrary<PostCondition> = fc.oneof(
  fc.record({ kind: fc.constantFrom('eq' as const, 'starts-with' as const), field: FIELD, value: fc.string({ unit: 'binary', maxLength: 12 }) }),
  fc.tuple(fc.nat(1e9), fc.nat(1e9)).map(([a, b]) => ({ kind: 'content-length-range' as const, min: Math.min(a, b), max: Math.max(a, b) })),
);

/** A condition written in one of the forms S3 accepts: `["eq", "$f", v]`, `{"f": v}`, any case for the operator and field. */
function written(c: PostCondition, style: number): unknown {
  if (c.kind === 'content-length-range') return [style % 2 ? 'Content-Length-Range' : 'content-length-range', c.min, c.max];
  const field = style % 3 === 0 ? c.field.toUpperCase() : c.field;
  if (c.kind === 'eq' && style % 4 === 1) return { [field]: c.value };
  return [style % 5 === 0 ? c.kind.toUpperCase() : c.kind, `$${field}`, c.value];
}

const policyDoc = fc.record({ conditions: fc.array(fc.tuple(condition, fc.nat(59)), { maxLength: 8 }), expiration: fc.constantFrom(FUTURE, '2030-01-01T00:00:00Z', '2030-01-01T01:00:00+01:00') });

/** Any JSON, and JSON shaped like a policy with wrong parts. */
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ expiration: fc.oneof(fc.constantFrom(FUTURE, '2030-02-30T00:00:00Z', '2030-01-01 00:00:00Z', 'Tue, 01 Jan 2030 00:00:00 GMT', '+275760-09-13T00:00:00Z', '2030-01-01T24:00:00Z'), fc.jsonValue({ maxDepth: 1 })),
    conditions: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  policyDoc.map((d) => JSON.stringify({ expiration: d.expiration, conditions: d.conditions.map(([c, s]) => written(c, s)) })),
);

/** The base64 field as a form may carry it: the document, damaged before or after encoding. */
const policyField = fc.oneof(
  mutated(anyJson, 3).map(b64),
  mutated(anyJson.map(b64), 3),
  hostileString(10),
);

describe('POST policy: a policy or S3Error, in bounded time', () => {
  it('parsePostPolicy on any document, damaged or not', () => {
    check(fc.property(policyField, (field) => {
      outcome(() => parsePostPolicy(field), [S3Error]);
    }));
  });

  // A condition nested a few thousand arrays deep (10 KB of "[", under the 20 KB before the
  // file) once overflowed the stack in the error message's JSON.stringify: a 500.
  it('parsePostPolicy on conditions nested thousands deep', () => {
    check(fc.property(fc.integer({ min: 1_000, max: 7_000 }), fc.constantFrom('[', '{"a":'), (depth, open) => {
      const close = open === '[' ? ']' : '}';
      const json = `{"expiration":"${FUTURE}","conditions":[${open.repeat(depth)}1${close.repeat(depth)}]}`;
      outcome(() => parsePostPolicy(b64(json)), [S3Error]);
    }), 0.25);
  });

  it('checkPostPolicy on any policy and form', () => {
    const fields = fc.array(fc.tuple(fc.oneof(FIELD, fc.string({ maxLength: 8 })), fc.oneof(hostileString(3), fc.string({ unit: 'binary', maxLength: 8 }))), { maxLength: 8 })
      .map((pairs) => new Map(pairs));
    check(fc.property(policyField, fields, fc.constantFrom('bucket', ''), (field, form, bucket) => {
      const p = outcome(() => parsePostPolicy(field), [S3Error]);
      if (p.ok) outcome(() => checkPostPolicy(p.value, form, bucket, NOW), [S3Error]);
    }));
  });

  it('postKey never throws and leaves keys without ${filename} alone', () => {
    check(fc.property(fc.oneof(hostileString(6), fc.string({ unit: 'binary' })), fc.string({ unit: 'binary' }), (key, filename) => {
      const k = valueOf(outcome(() => postKey(key, filename), []));
      if (!key.includes('${filename}')) expect(k).toBe(key);
    }));
  });
});

describe('POST policy round trips', () => {
  it('a policy written from conditions parses back to them', () => {
    check(fc.property(policyDoc, (d) => {
      const json = JSON.stringify({ expiration: d.expiration, conditions: d.conditions.map(([c, s]) => written(c, s)) });
      const p = valueOf(outcome(() => parsePostPolicy(b64(json)), [S3Error]));
      expect(p.expiration.getTime()).toBe(Date.parse(d.expiration));
      expect(p.conditions).toEqual(d.conditions.map(([c]) => c));
    }));
  });

  /** A form that satisfies every condition of the policy: eq values, starts-with prefixes (the last one that applies wins). */
  function satisfying(conditions: readonly PostCondition[]): Map<string, string> | undefined {
    const form = new Map<string, string>();
    for (const c of conditions) {
      if (c.kind === 'content-length-range') continue;
      const v = form.get(c.field);
      if (c.kind === 'eq') {
        if (v !== undefined && v !== c.value) return undefined;
        form.set(c.field, c.value);
      } else if (v === undefined) {
        form.set(c.field, c.value);
      } else if (!v.startsWith(c.value)) {
        if (!c.value.startsWith(v)) return undefined;
        form.set(c.field, c.value);
      }
    }
    // Recheck: a later prefix may have broken an eq.
    const ok = conditions.every((c) => {
      if (c.kind === 'content-length-range') return true;
      const v = form.get(c.field) ?? '';
      if (c.kind === 'eq') return v === c.value;
      const values = c.field === 'content-type' ? v.split(',').map((s) => s.trim()) : [v];
      return values.every((x) => x.startsWith(c.value));
    });
    return ok ? form : undefined;
  }

  it('a form that satisfies every condition passes; one that breaks an eq is AccessDenied', () => {
    check(fc.property(policyDoc, fc.string({ minLength: 1, maxLength: 4 }), (d, extra) => {
      const conditions = d.conditions.map(([c]) => c);
      const form = satisfying(conditions);
      fc.pre(form !== undefined);
      const policy = valueOf(outcome(() => parsePostPolicy(b64(JSON.stringify({ expiration: d.expiration, conditions: d.conditions.map(([c, s]) => written(c, s)) }))), [S3Error]));
      const range = valueOf(outcome(() => checkPostPolicy(policy, form, 'bucket', NOW), [S3Error]));
      const ranges = conditions.filter((c) => c.kind === 'content-length-range');
      // Every range holds: several narrow each other.
      expect(range).toEqual(ranges.length ? { min: Math.max(...ranges.map((r) => r.min)), max: Math.min(...ranges.map((r) => r.max)) } : undefined);
      const eq = conditions.find((c) => c.kind === 'eq');
      if (eq && eq.kind === 'eq') {
        const broken = new Map(form).set(eq.field, eq.value + extra);
        expect(codeOf(outcome(() => checkPostPolicy(policy, broken, 'bucket', NOW), [S3Error]))).toBe('AccessDenied');
      }
      // A field no condition names is refused.
      const unnamed = new Map(form).set('x-amz-meta-unnamed', 'v');
      if (!conditions.some((c) => c.kind !== 'content-length-range' && c.field === 'x-amz-meta-unnamed')) {
        expect(codeOf(outcome(() => checkPostPolicy(policy, unnamed, 'bucket', NOW), [S3Error]))).toBe('AccessDenied');
      }
    }));
  });
});
