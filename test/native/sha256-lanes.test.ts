import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deterministicBytes } from '../../codec/erasure.case.js';
import { K, N, pieceView } from '../../codec/erasure.js';
import { DEFAULT_SEGMENT_SIZE, GCM_TAG_BYTES } from '../../codec/layout.js';
import { NativeSegmentEncoder } from '../../codec/native-segment.js';
import { setPieceHash } from '../../codec/native.js';
import { requireNative } from './require-native.js';

const binding = requireNative();
const best = binding.info().pieceHash;
afterAll(() => setPieceHash(binding, best));

// Segments whose pieces are 1 to 200 bytes long (every position of a SHA-256 block's end and
// of the two-block padding), a few longer ones, and the default segment (~410 KiB pieces).
const LENGTHS = [
  ...Array.from({ length: 200 }, (_, i) => K * (i + 1) - GCM_TAG_BYTES).filter((n) => n >= 0),
  0, 1, 4096, 65_536 + 3, 1_000_001, DEFAULT_SEGMENT_SIZE,
];

describe('piece hashes of the segment encoder', () => {
  it('takes them four at a time where the CPU has the SHA extensions', () => {
    const info = binding.info();
    expect(info.supportedPieceHashes).toContain('openssl');
    if (info.cpu.split(',').includes('sha')) expect(info.supportedPieceHashes).toContain('sha-ni-x4');
    expect(best).toBe(info.supportedPieceHashes[info.supportedPieceHashes.length - 1]);
  });

  for (const way of binding.info().supportedPieceHashes) {
    it(`${way}: every piece's hash is the SHA-256 of the piece`, async () => {
      setPieceHash(binding, way);
      const key = deterministicBytes('piece hash key', 32);
      for (const len of LENGTHS) {
        const seg = await new NativeSegmentEncoder(binding, key, { hashes: true }).encode(deterministicBytes(`piece hash ${len}`, len), 3);
        for (let piece = 0; piece < N; piece++) {
          const want = createHash('sha256').update(pieceView(seg.data, seg.parity, seg.pieceSize, piece)).digest();
          if (!seg.hashes![piece]!.equals(want)) expect.fail(`${way}: piece ${piece} of a ${len}-byte segment (pieces of ${seg.pieceSize} bytes)`);
        }
      }
    });
  }
});
