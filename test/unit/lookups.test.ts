import { describe, expect, it } from 'vitest';
import { decideWithLookups } from '../../gateway/lookups.js';
import { accessKeyIdNamedBy } from '../../gateway/auth/sigv4.js';

describe('decideWithLookups', () => {
  const table: Record<string, number> = { a: 1, b: 2 };

  it('runs once when nothing is looked up, again from the start after each miss', async () => {
    const runs: string[] = [];
    const loads: string[] = [];
    const load = async (k: string) => {
      loads.push(k);
      return table[k]!;
    };
    expect(await decideWithLookups(load, () => (runs.push('none'), 0))).toBe(0);
    expect(await decideWithLookups(load, (get) => (runs.push('ab'), get('a') + get('b')))).toBe(3);
    expect(runs).toEqual(['none', 'ab', 'ab', 'ab']);
    expect(loads).toEqual(['a', 'b']);
  });

  it('keeps the order of errors: one thrown before any lookup is thrown at once', async () => {
    await expect(decideWithLookups(async () => 1, () => {
      throw new Error('malformed');
    })).rejects.toThrow('malformed');
  });

  it('takes values read beforehand, and then needs a single run', async () => {
    let runs = 0;
    const load = async () => {
      throw new Error('not asked');
    };
    expect(await decideWithLookups(load, (get: (k: string) => number) => (runs++, get('a')), undefined, new Map([['a', 7]]))).toBe(7);
    expect(runs).toBe(1);
  });
});

describe('accessKeyIdNamedBy', () => {
  const sig = 'ab'.repeat(32);
  it('names the key of an Authorization header in the form SDKs send', () => {
    expect(accessKeyIdNamedBy(`AWS4-HMAC-SHA256 Credential=AKID/20260314/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${sig}`)).toBe('AKID');
    expect(accessKeyIdNamedBy(`AWS4-HMAC-SHA256 Credential=AK/with/slash/20260314/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=${sig}`)).toBe('AK/with/slash');
  });

  it('names none for anything else, which the full check judges', () => {
    for (const h of [
      undefined, '', 'AWS AKID:c2ln', `AWS4-HMAC-SHA256 Credential=AKID/2026/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=AKID/20260314/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc`,
      `AWS4-HMAC-SHA256 SignedHeaders=host, Credential=AKID/20260314/us-east-1/s3/aws4_request, Signature=${sig}`,
    ]) expect(accessKeyIdNamedBy(h)).toBeUndefined();
  });
});
