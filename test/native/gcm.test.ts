import { createCipheriv } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../codec/crc32.js';
import { deterministicBytes, deterministicInts } from '../../codec/erasure.case.js';
import { K, N } from '../../codec/erasure.js';
import { nativeEngine } from '../../codec/engine.js';
import { DEFAULT_SEGMENT_SIZE, segmentNonce } from '../../codec/layout.js';
import { NativeSegmentEncoder, nativeEncrypt } from '../../codec/native-segment.js';
import { setGcmKernel } from '../../codec/native.js';
import { pieceRecord } from '../../codec/segment.js';
import { requireNative } from './require-native.js';

const binding = requireNative();
const best = binding.info().gcm;
afterAll(() => setGcmKernel(binding, best));

/** What node:crypto (OpenSSL) makes of a segment: ciphertext, then the 16-byte tag. */
function reference(key: Buffer, index: number, plain: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, segmentNonce(index));
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

// Every length through two 16-block steps of the fast kernel and a block past them, then
// lengths around later steps, a piece of the default segment and the segment itself.
const LENGTHS = [
  ...Array.from({ length: 530 }, (_, i) => i),
  1023, 1024, 1025, 4095, 4096, 4097, 40_944, 65_536 + 7, 419_431, DEFAULT_SEGMENT_SIZE, DEFAULT_SEGMENT_SIZE + 13,
];

describe('AES-256-GCM kernels of the segment codec', () => {
  it('picks the VAES kernel where the CPU has it', () => {
    const info = binding.info();
    expect(info.supportedGcmKernels).toContain('openssl');
    const cpu = info.cpu.split(',');
    const fast = ['aes', 'pclmulqdq', 'avx512f', 'avx512bw', 'vaes', 'vpclmulqdq'].every((f) => cpu.includes(f));
    // A CPU with every feature but an OS without AVX-512 state lists no avx512f: not fast.
    if (fast) expect(info.supportedGcmKernels).toContain('vaes512');
    expect(best).toBe(info.supportedGcmKernels[info.supportedGcmKernels.length - 1]);
  });

  for (const kernel of binding.info().supportedGcmKernels) {
    describe(kernel, () => {
      it('encrypts every length as node:crypto does, ciphertext and tag', () => {
        setGcmKernel(binding, kernel);
        const rand = deterministicInts(`gcm ${kernel}`);
        for (const len of LENGTHS) {
          const key = deterministicBytes(`gcm key ${len}`, 32);
          const index = rand(1 << 30) * 4096 + rand(4096);
          const plain = deterministicBytes(`gcm plain ${len}`, len);
          const got = nativeEncrypt(binding, key, index, plain);
          if (!got.equals(reference(key, index, plain))) expect.fail(`${kernel}: ${len} bytes at index ${index} differ from node:crypto`);
        }
      });

      it('decodes segments encoded by either kernel, and refuses a changed byte', async () => {
        const key = deterministicBytes('gcm decode key', 32);
        const engine = nativeEngine(binding);
        const rand = deterministicInts(`gcm decode ${kernel}`);
        for (const encodeWith of binding.info().supportedGcmKernels) {
          for (const len of [0, 1, 17, 160, 255, 256, 257, 4096, 100_003, DEFAULT_SEGMENT_SIZE]) {
            setGcmKernel(binding, encodeWith);
            const seg = await new NativeSegmentEncoder(binding, key).encode(deterministicBytes(`decode ${len}`, len), 7);
            const records = Array.from({ length: N }, (_, i) => Buffer.concat(pieceRecord(seg, i)));
            setGcmKernel(binding, kernel);
            // All data pieces (decrypted from the records), and two missing (rebuilt, decrypted in place).
            const drop = rand(K);
            const partial = records.map((r, i) => (i === drop || i === (drop + 3) % K ? null : r));
            for (const given of [records, partial]) {
              const { plain } = await engine.decodeSegment(key, 7, len, given);
              expect(plain.equals(deterministicBytes(`decode ${len}`, len)), `${len} bytes by ${encodeWith}, read by ${kernel}`).toBe(true);
            }
            if (len === 0) continue;
            // A flipped ciphertext byte with its record's CRC made good again: only the tag can tell.
            const forged = records.map((r) => Buffer.from(r));
            const first = forged[0]!;
            const at = rand(Math.min(len, seg.pieceSize));
            first[at] = first[at]! ^ 1;
            first.writeUInt32BE(crc32(first.subarray(0, seg.pieceSize)), seg.pieceSize);
            await expect(engine.decodeSegment(key, 7, len, forged), `${len} bytes, forged, read by ${kernel}`).rejects.toThrow(/authentication/);
          }
        }
      });
    });
  }
});
