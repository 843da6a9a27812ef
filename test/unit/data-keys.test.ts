import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newDataKey, unwrapKey, wrapKey } from '../../codec/keys.js';
import { unwrapRecent } from '../../gateway/pipeline/data-keys.js';

describe('unwrapRecent', () => {
  it('gives what unwrapKey gives, again from memory', () => {
    const master = randomBytes(32);
    const key = newDataKey();
    const wrapped = wrapKey(master, key);
    expect(unwrapRecent(master, wrapped).equals(unwrapKey(master, wrapped))).toBe(true);
    expect(unwrapRecent(master, Buffer.from(wrapped)).equals(key)).toBe(true);
  });

  it('never answers for a master key that did not open it', () => {
    const master = randomBytes(32);
    const wrapped = wrapKey(master, newDataKey());
    unwrapRecent(master, wrapped);
    expect(() => unwrapRecent(randomBytes(32), wrapped)).toThrow(/does not unwrap/);
  });

  it('still refuses a damaged wrap', () => {
    const master = randomBytes(32);
    const wrapped = wrapKey(master, newDataKey());
    wrapped[20]! ^= 1;
    expect(() => unwrapRecent(master, wrapped)).toThrow();
  });
});
