import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deterministicBytes, deterministicInts } from '../../codec/erasure.case.js';
import type { NativeMd5x } from '../../codec/native.js';
import { requireNative } from './require-native.js';

const binding = requireNative();
const lanesHere = binding.info().md5Lanes;

function updateMany(states: NativeMd5x[], buffers: Buffer[], lanes: boolean): Promise<void> {
  return new Promise((resolve, reject) => binding.md5xUpdateMany(states, buffers, lanes, (err) => (err ? reject(err) : resolve())));
}

const md5 = (b: Buffer): Buffer => createHash('md5').update(b).digest();

describe('MD5 of many objects at once (native/src/md5_lanes.c)', () => {
  it(`says whether this CPU runs the lanes (${lanesHere ? 'it does' : 'it does not'})`, () => {
    expect(typeof binding.info().md5Lanes).toBe('boolean');
    expect(binding.info().md5Lanes).toBe(binding.info().cpu.includes('avx512f') && binding.info().cpu.includes('avx512bw'));
  });

  for (const lanes of [true, false]) {
    it(`gives OpenSSL's digests for streams of any length, fed in any pieces (${lanes ? 'lanes' : 'one by one'})`, async () => {
      // Lengths around the block (64) and padding (56) edges, and long ones so that lanes
      // finish at different times and others take their place (40 streams, 16 lanes).
      const next = deterministicInts(`cuts ${lanes}`);
      const lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 65_536, 100_003, ...Array.from({ length: 24 }, () => next(185_000))];
      const messages = lengths.map((n, i) => deterministicBytes(`md5 message ${i} ${lanes}`, n));
      const states = messages.map(() => binding.md5xCreate());
      const at = messages.map(() => 0);
      for (let round = 0; at.some((p, i) => p < messages[i]!.length); round++) {
        const s: NativeMd5x[] = [];
        const b: Buffer[] = [];
        for (const [i, m] of messages.entries()) {
          if (at[i]! >= m.length || (round + i) % 3 === 0) continue;
          // Pieces of odd sizes, some whole blocks, some a few bytes; a few in place.
          const n = next(4) === 0 ? 64 * next(40) : next(3000);
          const piece = m.subarray(at[i], at[i]! + Math.max(1, n));
          at[i]! += piece.length;
          if (i % 7 === 0) binding.md5xUpdateSync(states[i]!, piece);
          else {
            s.push(states[i]!);
            b.push(piece);
          }
        }
        if (s.length) await updateMany(s, b, lanes);
      }
      for (const [i, m] of messages.entries()) expect(binding.md5xDigest(states[i]!), `message ${i} of ${m.length} bytes`).toEqual(md5(m));
    });
  }

  it('refuses overlapping updates of one state, a finished state, and states of the other MD5', async () => {
    const s = binding.md5xCreate();
    const pending = updateMany([s], [Buffer.alloc(1 << 20)], true);
    expect(() => binding.md5xUpdateSync(s, Buffer.alloc(1))).toThrow(/overlap/);
    expect(() => binding.md5xUpdateMany([s], [Buffer.alloc(1)], true, () => undefined)).toThrow(/overlap/);
    expect(() => binding.md5xDigest(s)).toThrow(/in flight/);
    await pending;
    expect(binding.md5xDigest(s)).toEqual(md5(Buffer.alloc(1 << 20)));
    expect(() => binding.md5xUpdateSync(s, Buffer.alloc(1))).toThrow(/finished/);
    const other = binding.md5Create();
    expect(() => binding.md5xUpdateSync(other as unknown as NativeMd5x, Buffer.alloc(1))).toThrow(/bad arguments/);
    expect(() => binding.md5xUpdateMany([binding.md5xCreate()], [], true, () => undefined)).toThrow(/bad arguments/);
  });
});
