import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { deterministicBytes, deterministicInts, masksWithBits } from '../../codec/erasure.case.js';
import { ALL_MASK, K, M, N, pieceView } from '../../codec/erasure.js';
import { KERNELS, NativeCoder, setCrcKernel, setKernel } from '../../codec/native.js';
import { requireNative } from './require-native.js';

const binding = requireNative();
const coder = new NativeCoder(binding);
const best = binding.info().kernel;
afterAll(() => setKernel(binding, best));

/** Run one call under a given kernel (process-wide switch; calls here are sequential). */
async function withKernel(kernel: string, fn: () => Promise<void>): Promise<void> {
  setKernel(binding, kernel);
  await fn();
}

describe('native XOR kernels', () => {
  const simd = binding.info().supportedKernels.filter((k) => k !== 'scalar');

  it('runs on this CPU with at least one SIMD kernel, and names every kernel it was built with', () => {
    expect(binding.info().kernels).toEqual([...KERNELS]);
    expect(binding.info().supportedKernels).toContain('scalar');
    // The build machine and CI have AVX2 at least; a scalar-only result means detection broke.
    if (process.arch === 'x64') expect(simd.length).toBeGreaterThan(0);
  });

  // Packets of 1226 bytes: two 512-byte strips, three 64-byte vectors and a 10-byte tail,
  // so every code path of every kernel runs.
  const P = 4 * 1226;

  for (const kernel of simd) {
    it(`${kernel} matches scalar on all 8008 six-missing patterns`, async () => {
      const data = deterministicBytes(`kernel ${kernel}`, K * P);
      const parity = Buffer.alloc(M * P);
      const want = Buffer.alloc(M * P);
      await withKernel('scalar', () => coder.encode(data, want, P));
      await withKernel(kernel, () => coder.encode(data, parity, P));
      expect(parity.equals(want)).toBe(true);
      const d = Buffer.alloc(K * P);
      const p = Buffer.alloc(M * P);
      setKernel(binding, kernel);
      for (const targets of masksWithBits(M)) {
        data.copy(d);
        want.copy(p);
        for (let i = 0; i < N; i++) if (targets & (1 << i)) pieceView(d, p, P, i).fill(0x3c);
        await coder.reconstruct(d, p, P, ALL_MASK & ~targets, targets);
        if (!d.equals(data) || !p.equals(want)) throw new Error(`${kernel}: pattern ${targets.toString(2)} differs from scalar`);
      }
    });

    it(`${kernel} matches scalar on random piece sizes and misaligned buffers`, async () => {
      const rand = deterministicInts(`kernel sizes ${kernel}`);
      for (let round = 0; round < 30; round++) {
        const size = 8 * (1 + rand(round < 20 ? 700 : 40000));
        const off = 1 + rand(63);
        const data = deterministicBytes(`k ${kernel} ${round}`, K * size + off).subarray(off);
        const a = Buffer.alloc(M * size + 3).subarray(3);
        const b = Buffer.alloc(M * size + 5).subarray(5);
        await withKernel('scalar', () => coder.encode(data, a, size));
        await withKernel(kernel, () => coder.encode(data, b, size));
        if (!a.equals(b)) throw new Error(`${kernel}: parity differs at piece size ${size}`);
      }
    });
  }

  it('refuses unknown kernels by name', () => {
    expect(() => setKernel(binding, 'gfni512')).toThrow(/unknown kernel/);
  });
});

describe('native CRC-32', () => {
  it('matches zlib.crc32 on random lengths and offsets, with every CRC kernel this CPU runs', () => {
    const rand = deterministicInts('crc');
    const lengths = [0, 1, 15, 16, 17, 63, 64, 255, 256, 257, 511, 512, 1000, 4096, 65_537];
    while (lengths.length < 300) lengths.push(rand(lengths.length < 250 ? 5000 : 3_000_000));
    const bestCrc = binding.info().crc;
    try {
      for (const kernel of binding.info().supportedCrcKernels) {
        setCrcKernel(binding, kernel);
        for (const len of lengths) {
          const off = rand(64);
          const buf = deterministicBytes(`crc ${len}`, len + off).subarray(off);
          if (binding.crc32(buf, 0, len, 0) !== crc32(buf)) throw new Error(`CRC-32 differs at length ${len} (${kernel})`);
        }
      }
    } finally {
      setCrcKernel(binding, bestCrc);
    }
  });
});
