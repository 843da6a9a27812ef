import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ALL_MASK, DATA_MASK, K, M, N, PARITY_MASK, pieceView, popcount, type ErasureCoder } from './erasure.js';

/**
 * The conformance suite every ErasureCoder passes (`test/native/*-coder.test.ts` run it
 * against the native engine and @ronomon/reed-solomon). The committed parity vectors were
 * written by @ronomon/reed-solomon: an engine that matches them writes pieces the other reads.
 */

/** Set to regenerate PARITY_VECTORS from the engine under test (prints them; then paste). */
const REGENERATE = process.env.SHARDGATE_REGENERATE_VECTORS === '1';

/** SHA-256 of the 6 parity pieces of deterministicBytes(`shardgate erasure vector ${P}`, 10P). */
export const PARITY_VECTORS: Record<number, string> = {
  8: '133053ad7a20b47dda28b9505f4793ddbecf495bbb206bb031f1f07272c07414', // smallest piece: 2-byte packets
  16: '2f772f0bd0789143dde5f9d807478ed19f5b0dda60ecd5cd1e33df4cf66c7592',
  1000: 'a6c6fa2c582248418f66159fc50d395c3de7c357e63260a7c9c51ff28ee1c6aa', // packets of 250 bytes: no SIMD width divides it
  4104: '09f57d0adc2e194cbc3aae9e92b00f18ad482181bcc38f415245370a5bfee067', // one 64-byte vector over 4 KiB
  65536: '71b28c30481af3edae305b7986a0d1128bc259b9cd8afbc6ae71e56f503b5f2b',
  419432: '5db754cd696784db7048bd97608c3f7f8b6fef30851085c4762c297d60d3d1e3', // a default 4 MiB segment: packets halved once, then odd
  1048576: '14ee606edf0a3b09b0af31dd5d8b6f3eeb03bc5027fdf3b5e936c06ad2233db2', // packets halved to 16 KiB: 16 blocks per piece
};

/** Deterministic bytes: the AES-256-CTR keystream under SHA-256(label). */
export function deterministicBytes(label: string, length: number): Buffer {
  const key = createHash('sha256').update(label).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** A deterministic stream of integers in [0, n), seeded by a label. */
export function deterministicInts(label: string): (n: number) => number {
  const bytes = deterministicBytes(label, 1 << 16);
  let at = 0;
  return (n) => {
    if (at + 4 > bytes.length) at = 0;
    const v = bytes.readUInt32LE(at);
    at += 4;
    return v % n;
  };
}

/** Every mask over N pieces with exactly `count` bits set. */
export function masksWithBits(count: number): number[] {
  const out: number[] = [];
  for (let mask = 0; mask <= ALL_MASK; mask++) if (popcount(mask) === count) out.push(mask);
  return out;
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

export interface ErasureSuiteOptions {
  name: string;
  make: () => ErasureCoder;
}

export function runErasureSuite({ name, make }: ErasureSuiteOptions): void {
  describe(`ErasureCoder conformance: ${name}`, () => {
    const coder = make();

    it('writes the committed parity vectors, so its pieces are readable by the other engine', async () => {
      const got: Record<number, string> = {};
      for (const size of Object.keys(PARITY_VECTORS).map(Number)) {
        const data = deterministicBytes(`shardgate erasure vector ${size}`, K * size);
        const parity = Buffer.alloc(M * size);
        await coder.encode(data, parity, size);
        got[size] = sha256(parity);
      }
      if (REGENERATE) console.log(JSON.stringify(got, null, 2));
      expect(got).toEqual(PARITY_VECTORS);
    });

    it('rebuilds every pattern of 1 to 6 missing pieces (all C(16,6) = 8008 at six)', async () => {
      // 16-byte pieces: 4-byte packets, one block; the decode matrices are what is under test.
      const P = 16;
      const data = deterministicBytes(`patterns ${name}`, K * P);
      const parity = Buffer.alloc(M * P);
      await coder.encode(data, parity, P);
      const workData = Buffer.alloc(K * P);
      const workParity = Buffer.alloc(M * P);
      let checked = 0;
      for (let missing = 1; missing <= M; missing++) {
        for (const targets of masksWithBits(missing)) {
          data.copy(workData);
          parity.copy(workParity);
          for (let i = 0; i < N; i++) if (targets & (1 << i)) pieceView(workData, workParity, P, i).fill(0xa5);
          await coder.reconstruct(workData, workParity, P, ALL_MASK & ~targets, targets);
          if (!workData.equals(data) || !workParity.equals(parity)) {
            throw new Error(`pattern ${targets.toString(2).padStart(N, '0')} rebuilt wrong bytes`);
          }
          checked++;
        }
      }
      expect(checked).toBe(16 + 120 + 560 + 1820 + 4368 + 8008);
    });

    it('refuses 7 missing pieces (one past the code)', async () => {
      const data = Buffer.alloc(K * 8);
      const parity = Buffer.alloc(M * 8);
      const targets = 0b0000000001111111;
      await expect(Promise.resolve().then(() => coder.reconstruct(data, parity, 8, ALL_MASK & ~targets, targets))).rejects.toThrow();
    });

    it('handles random piece sizes and misaligned buffers without touching bytes outside them', async () => {
      const rand = deterministicInts(`sizes ${name}`);
      const GUARD = 64;
      // Piece sizes on the thresholds (1 and 8 words, a 64-byte vector, 4 KiB +/- 8) then random.
      const sizes = [8, 24, 64, 72, 4088, 4096, 4104, 8200];
      while (sizes.length < 40) sizes.push(8 * (1 + rand(9000)));
      for (const P of sizes) {
        const offset = 1 + 2 * rand(16); // odd: nothing is aligned
        const dataArea = deterministicBytes(`area d ${P}`, K * P + 2 * GUARD + offset);
        const parityArea = deterministicBytes(`area p ${P}`, M * P + 2 * GUARD + offset);
        const data = dataArea.subarray(GUARD + offset, GUARD + offset + K * P);
        const parity = parityArea.subarray(GUARD + offset, GUARD + offset + M * P);
        const before = [Buffer.from(dataArea), Buffer.from(parityArea)];
        await coder.encode(data, parity, P);
        expect(dataArea.equals(before[0]!)).toBe(true); // encode never writes data pieces
        expect(parityArea.subarray(0, GUARD + offset).equals(before[1]!.subarray(0, GUARD + offset))).toBe(true);
        expect(parityArea.subarray(GUARD + offset + M * P).equals(before[1]!.subarray(GUARD + offset + M * P))).toBe(true);
        const goodData = Buffer.from(data);
        const goodParity = Buffer.from(parity);
        let targets = 0;
        while (popcount(targets) < 1 + rand(M)) targets |= 1 << rand(N);
        for (let i = 0; i < N; i++) if (targets & (1 << i)) pieceView(data, parity, P, i).fill(0);
        const guarded = [Buffer.from(dataArea), Buffer.from(parityArea)];
        await coder.reconstruct(data, parity, P, ALL_MASK & ~targets, targets);
        expect(data.equals(goodData) && parity.equals(goodParity)).toBe(true);
        for (const [area, copy, len] of [[dataArea, guarded[0]!, K * P], [parityArea, guarded[1]!, M * P]] as const) {
          expect(area.subarray(0, GUARD + offset).equals(copy.subarray(0, GUARD + offset))).toBe(true);
          expect(area.subarray(GUARD + offset + len).equals(copy.subarray(GUARD + offset + len))).toBe(true);
        }
      }
    });

    it('rebuilds from more than K sources, and rebuilds only some of the missing pieces', async () => {
      const P = 1000;
      const data = deterministicBytes(`subset ${name}`, K * P);
      const parity = Buffer.alloc(M * P);
      await coder.encode(data, parity, P);
      // 2 pieces lost, 14 sources: any K of them will do.
      const d1 = Buffer.from(data);
      const p1 = Buffer.from(parity);
      const lost = (1 << 3) | (1 << 12);
      for (const i of [3, 12]) pieceView(d1, p1, P, i).fill(7);
      await coder.reconstruct(d1, p1, P, ALL_MASK & ~lost, lost);
      expect(d1.equals(data) && p1.equals(parity)).toBe(true);
      // 4 lost, rebuild 2 of them from the 12 good ones: targets right, sources untouched.
      const d2 = Buffer.from(data);
      const p2 = Buffer.from(parity);
      const gone = (1 << 0) | (1 << 5) | (1 << 10) | (1 << 15);
      const targets = (1 << 5) | (1 << 15);
      for (let i = 0; i < N; i++) if (gone & (1 << i)) pieceView(d2, p2, P, i).fill(9);
      await coder.reconstruct(d2, p2, P, ALL_MASK & ~gone, targets);
      for (let i = 0; i < N; i++) {
        if (gone & (1 << i) && !(targets & (1 << i))) continue; // not asked for: engines may leave or rebuild it
        expect(pieceView(d2, p2, P, i).equals(pieceView(data, parity, P, i))).toBe(true);
      }
    });

    it('rebuilds data pieces from parity alone where the code allows (pure parity sources)', async () => {
      const P = 64;
      const data = deterministicBytes(`parity-heavy ${name}`, K * P);
      const parity = Buffer.alloc(M * P);
      await coder.encode(data, parity, P);
      const targets = 0b0000001111110000 & DATA_MASK; // data pieces 4..9 lost
      const d = Buffer.from(data);
      for (let i = 4; i < K; i++) pieceView(d, parity, P, i).fill(1);
      await coder.reconstruct(d, parity, P, (DATA_MASK & ~targets) | PARITY_MASK, targets);
      expect(d.equals(data)).toBe(true);
    });
  });
}
