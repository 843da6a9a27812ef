import { describe, expect, test } from 'vitest';
import { newHostId, newRequestId, randomAlnum } from '../../gateway/ids.js';

describe('opaque ids users type on command lines', () => {
  test('are letters and digits only, never a leading "-" that aws-cli reads as a flag', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = randomAlnum(32);
      expect(id).toMatch(/^[A-Za-z0-9]{32}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(5000);
  });

  test('use every letter and digit (no alphabet slip)', () => {
    const chars = new Set(randomAlnum(20000));
    expect(chars.size).toBe(62);
  });
});

describe('request ids from the pooled random bytes', () => {
  test('are S3-shaped and never repeat, across many refills of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newRequestId();
      expect(id).toMatch(/^[0-9A-F]{16}$/);
      seen.add(id);
      expect(newHostId()).toMatch(/^[A-Za-z0-9+/]{32}$/);
    }
    expect(seen.size).toBe(5000);
  });
});
