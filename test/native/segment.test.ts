import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { deterministicBytes, deterministicInts } from '../../codec/erasure.case.js';
import { K, N, pieceView } from '../../codec/erasure.js';
import { DEFAULT_SEGMENT_SIZE, GCM_TAG_BYTES, pieceSizeFor, segmentNonce } from '../../codec/layout.js';
import { FUSED_MD5_MAX, NativeSegmentEncoder, nativeEncrypt, SYNC_SEGMENT_MAX } from '../../codec/native-segment.js';
import { NativeCoder, setCrcKernel } from '../../codec/native.js';
import { RonomonCoder } from '../../codec/ronomon.js';
import { decodeSegment, type EncodedSegment, JsSegmentEncoder, pieceRecord, verifyRecord } from '../../codec/segment.js';
import { requireNative } from './require-native.js';

const binding = requireNative();
const native = new NativeCoder(binding);
const ronomon = new RonomonCoder();
const key = deterministicBytes('segment key', 32);

// Around the thresholds: empty, 1 byte, one GCM block +/- 1, a piece boundary (10 pieces of
// 8 bytes hold 64 bytes + tag), 4 KiB pieces, and the default 4 MiB segment.
const LENGTHS = [0, 1, 15, 16, 17, 63, 64, 65, 1000, 40_944, 40_960, 65_539, DEFAULT_SEGMENT_SIZE];

describe('native fused segment call', () => {
  it('writes JsSegmentEncoder\'s bytes exactly, segment after segment, and the same MD5', async () => {
    const js = new JsSegmentEncoder(ronomon, key);
    const nat = new NativeSegmentEncoder(binding, key);
    const md5 = createHash('md5');
    for (const [index, len] of LENGTHS.entries()) {
      const plain = deterministicBytes(`segment ${len}`, len);
      md5.update(plain);
      const want = await js.encode(plain, index);
      const got = await nat.encode(plain, index);
      expect(got.pieceSize).toBe(want.pieceSize);
      expect(got.plainLength).toBe(len);
      expect(got.data.equals(want.data)).toBe(true);
      expect(got.parity.equals(want.parity)).toBe(true);
      expect([...got.checksums]).toEqual([...want.checksums]);
    }
    const digest = md5.digest();
    expect(nat.md5()).toEqual(digest);
    expect(js.md5()).toEqual(digest);
  });

  it('keeps MD5 in call order with many segments in flight', async () => {
    const rand = deterministicInts('in flight');
    const plains = Array.from({ length: 12 }, (_, i) => deterministicBytes(`flight ${i}`, 1 + rand(300_000)));
    const nat = new NativeSegmentEncoder(binding, key);
    const segs = await Promise.all(plains.map((p, i) => nat.encode(p, i)));
    expect(nat.md5()).toEqual(createHash('md5').update(Buffer.concat(plains)).digest());
    expect(segs.map((s) => s.index)).toEqual(plains.map((_, i) => i));
  });

  // Small thresholds so that one run takes every path: synchronous (<= 1000 bytes), MD5 in
  // the segment's call, and MD5 as its own chained task (> 50,000 bytes, or calls overlapping).
  const paths = { syncSegmentMax: 1000, fusedMd5Max: 50_000 };

  it('keeps MD5 in call order when synchronous, fused and chained calls overlap', async () => {
    const rand = deterministicInts('mixed paths');
    const sizes = Array.from({ length: 40 }, (_, i) => [0, 1, 999, 1000, 1001, 49_999, 50_001, 120_000][i % 8]! + (i >= 8 ? rand(3000) : 0));
    const plains = sizes.map((n, i) => deterministicBytes(`mixed ${i}`, n));
    const nat = new NativeSegmentEncoder(binding, key, { ...paths, hashes: true });
    const js = new JsSegmentEncoder(ronomon, key);
    // Waves of 1 to 5 calls in flight at once, so each path starts both idle and behind others.
    const segs = [];
    for (let at = 0; at < plains.length;) {
      const wave = plains.slice(at, at + 1 + rand(5)).map((p, j) => nat.encode(p, at + j));
      at += wave.length;
      segs.push(...(await Promise.all(wave)));
    }
    for (const [i, p] of plains.entries()) {
      const want = await js.encode(p, i);
      expect(segs[i]!.data.equals(want.data), `segment ${i}`).toBe(true);
      expect(segs[i]!.parity.equals(want.parity), `segment ${i}`).toBe(true);
      expect([...segs[i]!.checksums]).toEqual([...want.checksums]);
    }
    expect(nat.md5()).toEqual(createHash('md5').update(Buffer.concat(plains)).digest());
  });

  it('gives each segment its own buffers: an earlier segment is not overwritten by a later one', async () => {
    const nat = new NativeSegmentEncoder(binding, key, { ...paths, hashes: true });
    const first = await nat.encode(deterministicBytes('own 0', 700), 0);
    const copy = { data: Buffer.from(first.data), parity: Buffer.from(first.parity), checksums: [...first.checksums], hashes: first.hashes!.map((h) => Buffer.from(h)) };
    for (let i = 1; i < 6; i++) await nat.encode(deterministicBytes(`own ${i}`, 700), i);
    expect(first.data.equals(copy.data) && first.parity.equals(copy.parity)).toBe(true);
    expect([...first.checksums]).toEqual(copy.checksums);
    expect(first.hashes).toEqual(copy.hashes);
  });

  it('refuses to advance one MD5 from two calls at once', () => {
    const md5 = binding.md5Create();
    const plain = Buffer.alloc(100_000);
    const out = Buffer.alloc(16 * 10_008);
    const args = [key, 0, plain, 0, plain.length, out, 0, out, 10 * 10_008, 10_008, new Uint32Array(16), null, md5] as const;
    let finished = false;
    binding.segmentEncode(...args, () => void (finished = true));
    expect(() => binding.segmentEncode(...args, null)).toThrow(/MD5 updates must not overlap/);
    expect(() => binding.md5Digest(md5)).toThrow(/still in flight/);
    return vi.waitFor(() => expect(finished).toBe(true));
  });

  it('writes pieces either engine decodes, and decodes pieces the reference wrote', async () => {
    const plain = deterministicBytes('cross', 300_001);
    const fromNative = await new NativeSegmentEncoder(binding, key).encode(plain, 3);
    const fromJs = await new JsSegmentEncoder(ronomon, key).encode(plain, 3);
    for (const [seg, coder] of [[fromNative, ronomon], [fromJs, native], [fromNative, native]] as const) {
      const pieces: (Buffer | null)[] = Array.from({ length: N }, (_, i) => verifyRecord(Buffer.concat(pieceRecord(seg, i)), seg.pieceSize));
      for (const lost of [1, 2, 4, 8, 11, 14]) pieces[lost] = null; // six lost, four of them data
      expect((await decodeSegment(coder, key, 3, plain.length, pieces)).equals(plain)).toBe(true);
    }
  });

  it('computes each piece\'s SHA-256 when asked', async () => {
    const seg = await new NativeSegmentEncoder(binding, key, { hashes: true }).encode(deterministicBytes('hashes', 123_457), 0);
    expect(seg.hashes).toHaveLength(N);
    for (let i = 0; i < N; i++) {
      const want = createHash('sha256').update(pieceView(seg.data, seg.parity, seg.pieceSize, i)).digest();
      expect(seg.hashes![i]).toEqual(want);
    }
    const plain = await new NativeSegmentEncoder(binding, key).encode(deterministicBytes('hashes', 10), 0);
    expect(plain.hashes).toBeUndefined();
  });

  it('encrypts exactly as node:crypto AES-256-GCM on random inputs and indexes', () => {
    const rand = deterministicInts('gcm');
    for (let round = 0; round < 50; round++) {
      const k = deterministicBytes(`gcm key ${round}`, 32);
      const plain = deterministicBytes(`gcm plain ${round}`, rand(70_000));
      const index = round === 0 ? 2 ** 40 + 5 : rand(1 << 30); // an index past 32 bits too
      const c = createCipheriv('aes-256-gcm', k, segmentNonce(index));
      const want = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
      expect(nativeEncrypt(binding, k, index, plain).equals(want)).toBe(true);
    }
  });

  it('advances MD5 exactly as node:crypto over random splits', async () => {
    const rand = deterministicInts('md5');
    const whole = deterministicBytes('md5 whole', 2_000_000);
    const nat = new NativeSegmentEncoder(binding, key);
    const parts: Promise<unknown>[] = [];
    for (let at = 0, i = 0; at < whole.length; i++) {
      const len = Math.min(whole.length - at, rand(200_000));
      parts.push(nat.encode(whole.subarray(at, at + len), i));
      at += len;
    }
    await Promise.all(parts);
    expect(nat.md5()).toEqual(createHash('md5').update(whole).digest());
  });

  // The default paths' thresholds on both sides, and lengths whose ciphertext and tag fill
  // the ten data pieces exactly (no zero padding) just below and above each of them.
  const EXACT_FILLS = [64, 8144, 8224, 1_048_544, 1_048_624];
  const EDGES = [...EXACT_FILLS, ...EXACT_FILLS.map((n) => n + 1),
    SYNC_SEGMENT_MAX - 1, SYNC_SEGMENT_MAX, SYNC_SEGMENT_MAX + 1, FUSED_MD5_MAX - 1, FUSED_MD5_MAX, FUSED_MD5_MAX + 1];

  it('writes the reference\'s bytes, checksums, SHA-256s and MD5 at the default thresholds, under every CRC kernel', async () => {
    for (const n of EXACT_FILLS) expect(K * pieceSizeFor(n), `${n} fills its pieces`).toBe(n + GCM_TAG_BYTES);
    const plains = EDGES.map((n) => deterministicBytes(`edge ${n}`, n));
    const js = new JsSegmentEncoder(ronomon, key);
    const want: EncodedSegment[] = [];
    for (const [i, p] of plains.entries()) want.push(await js.encode(p, i));
    const md5 = createHash('md5').update(Buffer.concat(plains)).digest();
    const bestCrc = binding.info().crc;
    try {
      for (const kernel of binding.info().supportedCrcKernels) {
        setCrcKernel(binding, kernel);
        // One after the other, as putBlob encodes: every segment up to FUSED_MD5_MAX carries the MD5.
        const nat = new NativeSegmentEncoder(binding, key, { hashes: true });
        for (const [i, p] of plains.entries()) {
          const got = await nat.encode(p, i);
          const what = `${p.length} bytes, CRC kernel ${kernel}`;
          expect(got.pieceSize, what).toBe(want[i]!.pieceSize);
          expect(got.data.equals(want[i]!.data), what).toBe(true);
          expect(got.parity.equals(want[i]!.parity), what).toBe(true);
          expect([...got.checksums], what).toEqual([...want[i]!.checksums]);
          for (let piece = 0; piece < N; piece++) {
            expect(got.hashes![piece], `${what}, piece ${piece}`).toEqual(createHash('sha256').update(pieceView(got.data, got.parity, got.pieceSize, piece)).digest());
          }
        }
        expect(nat.md5(), `MD5, CRC kernel ${kernel}`).toEqual(md5);
      }
    } finally {
      setCrcKernel(binding, bestCrc);
    }
  });

  it('encodes segments up to SYNC_SEGMENT_MAX in place and fuses MD5 up to FUSED_MD5_MAX (OpenSSL MD5)', async () => {
    const encodeSpy = vi.spyOn(binding, 'segmentEncode');
    const md5Spy = vi.spyOn(binding, 'md5Update');
    try {
      const nat = new NativeSegmentEncoder(binding, key, { md5Lanes: null });
      const sizes = [0, SYNC_SEGMENT_MAX, SYNC_SEGMENT_MAX + 1, FUSED_MD5_MAX, FUSED_MD5_MAX + 1];
      const plains = sizes.map((n) => deterministicBytes(`paths ${n}`, n));
      for (const [i, p] of plains.entries()) await nat.encode(p, i);
      const calls = encodeSpy.mock.calls;
      expect(calls).toHaveLength(sizes.length);
      // Argument 12 is the MD5 to advance in the call, 13 the callback (null: run now).
      expect(calls.map((c) => c[13] === null)).toEqual([true, true, false, false, false]);
      expect(calls.map((c) => c[12] !== null)).toEqual([true, true, true, true, false]);
      expect(md5Spy).toHaveBeenCalledTimes(1);
      expect(md5Spy.mock.calls[0]![0]).toBe(calls[0]![12]);
      expect(nat.md5()).toEqual(createHash('md5').update(Buffer.concat(plains)).digest());
    } finally {
      encodeSpy.mockRestore();
      md5Spy.mockRestore();
    }
  });

  it('refuses bad arguments with typed errors', async () => {
    expect(() => new NativeSegmentEncoder(binding, Buffer.alloc(16))).toThrow(expect.objectContaining({ code: 'ERR_CODEC_ARGUMENT' }));
    const nat = new NativeSegmentEncoder(binding, key);
    await expect(nat.encode(Buffer.alloc(1), -1)).rejects.toMatchObject({ code: 'ERR_CODEC_ARGUMENT' });
    await expect(nat.encode(Buffer.alloc(1), 1.5)).rejects.toMatchObject({ code: 'ERR_CODEC_ARGUMENT' });
  });
});
