import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChecksumSet } from '../../gateway/checksums.js';
import { combineBase64Crcs, CRC_SPECS } from '../../gateway/crc-combine.js';

describe('CRC combination (the full-object checksum of a multipart object)', () => {
  for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
    it(`${alg}: the CRC of the parts combined equals the CRC of the whole`, () => {
      // Sizes include an empty part, a 1-byte part and odd lengths.
      const parts = [5 * 1024 * 1024 + 3, 1, 0, 70_001, 4096].map((n) => randomBytes(n));
      const whole = new ChecksumSet([alg]);
      const crcs = parts.map((p) => {
        whole.update(p);
        const s = new ChecksumSet([alg]);
        s.update(p);
        return { crc: s.digest()[alg]!, size: p.length };
      });
      expect(combineBase64Crcs(CRC_SPECS[alg], crcs)).toBe(whole.digest()[alg]);
    });
  }
});
