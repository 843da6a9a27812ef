import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { K, N, pieceView } from '../../codec/erasure.js';
import { newDataKey, unwrapKey, wrapKey } from '../../codec/keys.js';
import { pieceSizeFor, recordRange, shardFileLength } from '../../codec/layout.js';
import { RonomonCoder } from '../../codec/ronomon.js';
import { decodeSegment, JsSegmentEncoder, pieceRecord, verifyRecord } from '../../codec/segment.js';
import { createHash } from 'node:crypto';

describe('segment codec (reference engine)', () => {
  const coder = new RonomonCoder();

  // 1 byte, a length that is not a multiple of K or 8, and exactly one 64 KiB segment.
  for (const len of [1, 1000, 65536]) {
    it(`round-trips ${len} bytes with 6 pieces missing`, async () => {
      const key = newDataKey();
      const plain = randomBytes(len);
      const enc = new JsSegmentEncoder(coder, key);
      const seg = await enc.encode(plain, 7);
      expect(enc.md5()).toEqual(createHash('md5').update(plain).digest());
      expect(seg.pieceSize).toBe(pieceSizeFor(len));
      const records = Array.from({ length: N }, (_, i) => Buffer.concat(pieceRecord(seg, i)));
      const pieces = records.map((r) => verifyRecord(r, seg.pieceSize));
      for (const lost of [0, 3, 5, 9, 12, 15]) pieces[lost] = null as unknown as Buffer;
      const out = await decodeSegment(coder, key, 7, len, pieces);
      expect(out.equals(plain)).toBe(true);
    });
  }

  it('detects a flipped bit in a piece record', async () => {
    const seg = await new JsSegmentEncoder(coder, newDataKey()).encode(randomBytes(5000), 0);
    const rec = Buffer.concat(pieceRecord(seg, 2));
    rec[10]! ^= 1;
    expect(() => verifyRecord(rec, seg.pieceSize)).toThrow(/checksum/);
  });

  it('refuses to decode with 7 pieces missing', async () => {
    const key = newDataKey();
    const seg = await new JsSegmentEncoder(coder, key).encode(randomBytes(100), 0);
    const pieces: (Buffer | null)[] = Array.from({ length: N }, (_, i) => pieceView(seg.data, seg.parity, seg.pieceSize, i));
    for (let i = 0; i < 7; i++) pieces[i] = null;
    await expect(decodeSegment(coder, key, 0, 100, pieces)).rejects.toMatchObject({ code: 'ERR_SHARD_QUORUM' });
  });

  it('wraps and unwraps data keys, and refuses the wrong master key', () => {
    const master = newDataKey();
    const dk = newDataKey();
    expect(unwrapKey(master, wrapKey(master, dk))).toEqual(dk);
    expect(() => unwrapKey(newDataKey(), wrapKey(master, dk))).toThrow(/master key/);
  });

  it('lays out records of full and last segments', () => {
    const S = 65536;
    const size = 2 * S + 10;
    expect(recordRange(size, S, 1).offset).toBe(pieceSizeFor(S) + 4);
    expect(recordRange(size, S, 2).pieceSize).toBe(pieceSizeFor(10));
    expect(shardFileLength(size, S)).toBe(2 * (pieceSizeFor(S) + 4) + pieceSizeFor(10) + 4);
    expect(K * pieceSizeFor(S)).toBeGreaterThanOrEqual(S + 16);
  });
});
