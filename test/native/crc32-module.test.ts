import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { crc32 } from '../../codec/crc32.js';
import { loadNative } from '../../codec/native.js';

// Pieces, needles and proofs use codec/crc32 (the addon where it loads): it must be zlib's
// CRC-32 bit for bit, also continued from a previous value, or stored records stop verifying.
describe('codec/crc32', () => {
  test('runs in the addon here', () => {
    expect(loadNative()).not.toBeNull();
  });

  test('equals node:zlib crc32 on every length up to 300 and on large buffers, continued too', () => {
    const data = randomBytes(1 << 20);
    for (let n = 0; n <= 300; n++) expect(crc32(data.subarray(7, 7 + n)), `length ${n}`).toBe(zlibCrc32(data.subarray(7, 7 + n)) >>> 0);
    for (const n of [4096, 65_537, 419_430, 1 << 20]) {
      const whole = zlibCrc32(data.subarray(0, n)) >>> 0;
      expect(crc32(data.subarray(0, n))).toBe(whole);
      expect(crc32(data.subarray(1000, n), crc32(data.subarray(0, 1000)))).toBe(whole);
    }
    expect(crc32(Buffer.alloc(0), 0x12345678)).toBe(0x12345678);
  });
});
