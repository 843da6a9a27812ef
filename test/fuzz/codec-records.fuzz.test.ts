/**
 * The piece records shard-stores keep and return (codec/: piece || CRC-32, 16 per segment),
 * decoded by both engines from whatever stores send back: missing, truncated, extended,
 * bit-flipped, swapped, or damaged with a recomputed CRC (a lying store). A decode gives the
 * segment's exact plaintext or a CodecError, and names every record that failed its checksum;
 * it never returns other bytes.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeEngine, referenceEngine, type Engine } from '../../codec/engine.js';
import { N } from '../../codec/erasure.js';
import { CodecError } from '../../codec/errors.js';
import { PIECE_CRC_BYTES } from '../../codec/layout.js';
import { loadNative } from '../../codec/native.js';
import { pieceRecord, verifyRecord } from '../../codec/segment.js';
import { check, outcome, outcomeAsync } from './fuzz.js';

const binding = loadNative();
const ENGINES: Array<[string, Engine]> = [['reference', referenceEngine()], ...(binding ? [['native', nativeEngine(binding)] as [string, Engine]] : [])];

/** Deterministic bytes (AES-CTR of zeros under a seed). */
function bytes(n: number, seed: number): Buffer {
  const key = createHash('sha256').update(String(seed)).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

type Damage = 'keep' | 'drop' | 'flip' | 'lie' | 'truncate' | 'extend' | 'swap' | 'random';
const damage = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Damage>('keep') },
  { weight: 3, arbitrary: fc.constant<Damage>('drop') },
  { weight: 1, arbitrary: fc.constantFrom<Damage>('flip', 'lie', 'truncate', 'extend', 'swap', 'random') },
);

/** A record whose CRC-32 still covers its piece: what a lying store sends. */
function withCrc(piece: Buffer): Buffer {
  const out = Buffer.alloc(piece.length + PIECE_CRC_BYTES);
  piece.copy(out);
  out.writeUInt32BE(crc32(piece), piece.length);
  return out;
}

function damaged(records: Buffer[], how: readonly Damage[], bit: number): { given: Array<Buffer | null>; detectable: Set<number> } {
  const given: Array<Buffer | null> = [];
  const detectable = new Set<number>();
  how.forEach((d, i) => {
    const r = Buffer.from(records[i]!);
    const piece = r.subarray(0, r.length - PIECE_CRC_BYTES);
    switch (d) {
      case 'keep': given.push(r); break;
      case 'drop': given.push(null); break;
      case 'flip': r[bit % r.length]! ^= 1 << (bit % 8); given.push(r); detectable.add(i); break;
      case 'lie': piece[bit % Math.max(1, piece.length)]! ^= 1 << (bit % 8); given.push(withCrc(piece)); break;
      case 'truncate': given.push(r.subarray(0, bit % r.length)); detectable.add(i); break;
      case 'extend': given.push(Buffer.concat([r, Buffer.alloc(1 + (bit % 9))])); detectable.add(i); break;
      case 'swap': given.push(Buffer.from(records[(i + 1 + (bit % (N - 1))) % N]!)); break;
      case 'random': given.push(bytes(r.length, bit + i)); detectable.add(i); break;
    }
  });
  return { given, detectable };
}

describe('piece records from any store', () => {
  for (const [name, engine] of ENGINES) {
    it(`${name} engine: the exact plaintext or a CodecError, and every failed checksum named`, async () => {
      const shape = fc.record({
        // Around the piece-size steps (multiples of 8 per piece) and a few larger segments.
        length: fc.oneof(fc.nat(200), fc.integer({ min: 0, max: 70_000 })),
        index: fc.oneof(fc.nat(10), fc.nat(2 ** 31)),
        seed: fc.nat(),
        how: fc.array(damage, { minLength: N, maxLength: N }),
        bit: fc.nat(),
      });
      await check(fc.asyncProperty(shape, async ({ length, index, seed, how, bit }) => {
        const key = createHash('sha256').update(`key${seed}`).digest();
        const plain = bytes(length, seed);
        const seg = await engine.newSegmentEncoder(key).encode(plain, index);
        const records = Array.from({ length: N }, (_, i) => Buffer.concat(pieceRecord(seg, i)));
        const { given, detectable } = damaged(records, how, bit);
        const o = await outcomeAsync(() => engine.decodeSegment(key, index, length, given), [CodecError]);
        if (o.ok) {
          expect(o.value.plain.equals(plain)).toBe(true);
          expect(o.value.corrupt).toEqual([...detectable].sort((a, b) => a - b));
        } else if ('pieces' in o.error) {
          expect((o.error as CodecError & { pieces: number[] }).pieces).toEqual([...detectable].sort((a, b) => a - b));
        }
      }), 0.5);
    });
  }

  it('verifyRecord: the piece or PieceChecksumError for any bytes', () => {
    check(fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(100), fc.boolean(), (b, pieceSize, good) => {
      const record = good ? withCrc(Buffer.from(b)) : Buffer.from(b);
      const o = outcome(() => verifyRecord(record, good ? b.length : pieceSize), [CodecError]);
      if (good) expect(o.ok).toBe(true);
    }));
  });
});
