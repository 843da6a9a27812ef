import { describe, expect, it } from 'vitest';
import { deterministicBytes, deterministicInts, masksWithBits } from '../../codec/erasure.case.js';
import { K, N } from '../../codec/erasure.js';
import { nativeEngine, referenceEngine } from '../../codec/engine.js';
import { DEFAULT_SEGMENT_SIZE, PIECE_CRC_BYTES } from '../../codec/layout.js';
import { NativeSegmentEncoder } from '../../codec/native-segment.js';
import { RonomonCoder } from '../../codec/ronomon.js';
import type { DecodedSegment } from '../../codec/segment-decode.js';
import { JsSegmentEncoder, pieceRecord, type EncodedSegment } from '../../codec/segment.js';
import type { BlobRow, MissedPiece } from '../../gateway/meta/types.js';
import type { PipelineContext } from '../../gateway/pipeline/context.js';
import { readSegment } from '../../gateway/transfer/read-segment.js';
import { requireNative } from './require-native.js';

const binding = requireNative();
const native = nativeEngine(binding);
const js = referenceEngine();
const key = deterministicBytes('decode key', 32);

type Records = (Buffer | null)[];

function recordsOf(seg: EncodedSegment): Buffer[] {
  return Array.from({ length: N }, (_, i) => Buffer.concat(pieceRecord(seg, i)));
}

/** Keep only the records whose bit is set in `mask`. */
function only(records: Buffer[], mask: number): Records {
  return records.map((r, i) => ((mask >> i) & 1 ? r : null));
}

/** The same records, each copied to an odd offset inside a larger buffer (as pooled or sliced network buffers are). */
function misaligned(records: Records): Records {
  return records.map((r, i) => {
    if (!r) return null;
    const shift = 1 + ((i * 5) % 7);
    const big = Buffer.alloc(r.length + 16, 0xee);
    r.copy(big, shift);
    return big.subarray(shift, shift + r.length);
  });
}

async function both(index: number, plainLength: number, records: Records, k = key): Promise<[DecodedSegment, DecodedSegment]> {
  return Promise.all([native.decodeSegment(k, index, plainLength, records), js.decodeSegment(k, index, plainLength, records)]);
}

async function bothReject(index: number, plainLength: number, records: Records, k = key): Promise<[unknown, unknown]> {
  const settle = (p: Promise<unknown>) => p.then(() => new Error('resolved'), (err: unknown) => err);
  return Promise.all([settle(native.decodeSegment(k, index, plainLength, records)), settle(js.decodeSegment(k, index, plainLength, records))]);
}

// Around the thresholds: empty, 1 byte, a GCM block +/- 1, a piece boundary (10 pieces of 8
// bytes hold 64 bytes with the tag), a tag that straddles two pieces, odd ronomon packets,
// and random sizes.
const rand = deterministicInts('decode sizes');
const SIZES = [0, 1, 15, 16, 17, 47, 48, 63, 64, 65, 1000, 40_944, 65_539, ...Array.from({ length: 6 }, () => 1 + rand(400_000))];

// Piece masks: all 16; the 10 data pieces (no decoding); 1, 4 and 6 data pieces lost; only
// parity plus 4 data; 11 pieces with one data piece missing.
const PATTERNS: [string, number][] = [
  ['all 16', 0xffff],
  ['data only', 0x03ff],
  ['one data lost', 0xffff & ~(1 << 3)],
  ['four data lost', 0xffff & ~0b1001010010],
  ['six data lost', 0xffff & ~0b1111110000],
  ['parity + 4 data', 0xfc00 | 0b1000100101],
  ['11 pieces, data 9 lost', 0x0dff],
];

describe('native one-call segment decode', () => {
  it('decodes byte for byte as the JS path over sizes and missing patterns', async () => {
    const enc = new JsSegmentEncoder(new RonomonCoder(), key);
    for (const [index, len] of SIZES.entries()) {
      const plain = deterministicBytes(`decode ${len}`, len);
      const all = recordsOf(await enc.encode(plain, index));
      for (const [name, mask] of PATTERNS) {
        const [n, j] = await both(index, len, only(all, mask));
        expect(n.plain.equals(plain), `${len} bytes, ${name}`).toBe(true);
        expect(j.plain.equals(plain), `${len} bytes, ${name} (js)`).toBe(true);
        expect(n.corrupt).toEqual([]);
        expect(j.corrupt).toEqual([]);
      }
    }
  });

  it('rebuilds from every pattern of 6 lost pieces', async () => {
    const len = 5000; // 504-byte pieces: 126-byte packets, no SIMD width divides them
    const plain = deterministicBytes('sweep', len);
    const all = recordsOf(await new NativeSegmentEncoder(binding, key).encode(plain, 9));
    const masks = masksWithBits(K);
    expect(masks).toHaveLength(8008);
    const bad: number[] = [];
    for (let at = 0; at < masks.length; at += 64) {
      const batch = masks.slice(at, at + 64);
      const out = await Promise.all(batch.map((m) => native.decodeSegment(key, 9, len, only(all, m))));
      out.forEach((d, i) => d.plain.equals(plain) || bad.push(batch[i]!));
    }
    expect(bad).toEqual([]);
  });

  it('decodes the default 4 MiB segment with parity, from records at odd offsets', async () => {
    const plain = deterministicBytes('big', DEFAULT_SEGMENT_SIZE);
    const all = recordsOf(await new NativeSegmentEncoder(binding, key).encode(plain, 2));
    for (const mask of [0x03ff, 0xffff & ~0b0100100111]) {
      const [n, j] = await both(2, plain.length, misaligned(only(all, mask)));
      expect(n.plain.equals(plain)).toBe(true);
      expect(j.plain.equals(plain)).toBe(true);
    }
  });

  it('reads misaligned records and leaves them untouched', async () => {
    const plain = deterministicBytes('odd', 123_457);
    const all = recordsOf(await new JsSegmentEncoder(new RonomonCoder(), key).encode(plain, 4));
    for (const [name, mask] of PATTERNS) {
      const records = misaligned(only(all, mask));
      const before = records.map((r) => r && Buffer.from(r));
      const [n, j] = await both(4, plain.length, records);
      expect(n.plain.equals(plain), name).toBe(true);
      expect(j.plain.equals(plain), name).toBe(true);
      records.forEach((r, i) => expect(r && r.equals(before[i]!), `record ${i} changed (${name})`).not.toBe(false));
    }
  });

  it('reads around a corrupted record when K good ones remain, and reports it', async () => {
    const plain = deterministicBytes('corrupt', 77_777);
    const all = recordsOf(await new NativeSegmentEncoder(binding, key).encode(plain, 1));
    const cases: [string, (r: Buffer) => Buffer][] = [
      ['a flipped piece byte', (r) => { const c = Buffer.from(r); c[100]! ^= 0x01; return c; }],
      ['a flipped CRC byte', (r) => { const c = Buffer.from(r); c[c.length - 1]! ^= 0x80; return c; }],
      ['a short record', (r) => r.subarray(0, r.length - 1)],
    ];
    for (const [name, damage] of cases) {
      // 11 records, data piece 2 damaged: parity 10 stands in for it.
      const records = only(all, 0x07ff);
      records[2] = damage(all[2]!);
      const [n, j] = await both(1, plain.length, records);
      expect(n.plain.equals(plain), name).toBe(true);
      expect(j.plain.equals(plain), name).toBe(true);
      expect(n.corrupt, name).toEqual([2]);
      expect(j.corrupt, name).toEqual([2]);
    }
    // Every record present, two damaged (one data, one parity).
    const records: Records = [...all];
    records[0] = Buffer.from(all[0]!);
    records[0][0]! ^= 0xff;
    records[13] = Buffer.from(all[13]!);
    records[13][9]! ^= 0x10;
    const [n, j] = await both(1, plain.length, records);
    expect(n.plain.equals(plain)).toBe(true);
    expect(j.plain.equals(plain)).toBe(true);
    expect(n.corrupt).toEqual([0, 13]);
    expect(j.corrupt).toEqual([0, 13]);
  });

  it('rejects with the failed pieces when a corrupted record leaves fewer than K', async () => {
    const plain = deterministicBytes('corrupt quorum', 4096);
    const all = recordsOf(await new NativeSegmentEncoder(binding, key).encode(plain, 0));
    const records = only(all, 0b1111101111100000); // exactly K: data 5..9, parity 10, 11, 12, 14, 15
    records[7] = Buffer.from(all[7]!);
    records[7][3]! ^= 0x04;
    records[14] = all[14]!.subarray(0, 8); // wrong length counts as damaged too
    for (const err of await bothReject(0, plain.length, records)) {
      expect(err).toMatchObject({ code: 'ERR_PIECE_CHECKSUM', name: 'PieceChecksumError', pieces: [7, 14] });
    }
  });

  it('rejects with a quorum error when 7 pieces are missing', async () => {
    const plain = deterministicBytes('seven', 30_000);
    const all = recordsOf(await new NativeSegmentEncoder(binding, key).encode(plain, 0));
    for (const err of await bothReject(0, plain.length, only(all, 0xffff & ~0b0111111100000000 & ~0b1))) {
      expect(err).toMatchObject({ code: 'ERR_SHARD_QUORUM', name: 'ShardQuorumError' });
    }
  });

  it('refuses a wrong key, a wrong index and a tampered piece with DecryptError', async () => {
    const plain = deterministicBytes('auth', 50_001);
    const all = recordsOf(await new NativeSegmentEncoder(binding, key).encode(plain, 6));
    const wrongKey = deterministicBytes('another key', 32);
    for (const mask of [0x03ff, 0xfc0f]) {
      for (const err of await bothReject(6, plain.length, only(all, mask), wrongKey)) {
        expect(err).toMatchObject({ code: 'ERR_DECRYPT', name: 'DecryptError' });
      }
      for (const err of await bothReject(7, plain.length, only(all, mask))) {
        expect(err).toMatchObject({ code: 'ERR_DECRYPT' });
      }
    }
    // A piece altered along with its CRC passes the checksum; GCM still refuses it.
    const forged = Buffer.from(all[4]!);
    const pieceSize = forged.length - PIECE_CRC_BYTES;
    forged[10]! ^= 0x01;
    forged.writeUInt32BE(binding.crc32(forged, 0, pieceSize, 0), pieceSize);
    const records = only(all, 0x03ff);
    records[4] = forged;
    for (const err of await bothReject(6, plain.length, records)) expect(err).toMatchObject({ code: 'ERR_DECRYPT' });
  });

  it('decodes many segments at once on the threadpool', async () => {
    const enc = new NativeSegmentEncoder(binding, key);
    const plains = Array.from({ length: 24 }, (_, i) => deterministicBytes(`flight ${i}`, 1 + ((i * 7919) % 200_000)));
    const segs = await Promise.all(plains.map((p, i) => enc.encode(p, i)));
    const out = await Promise.all(segs.map((s, i) => native.decodeSegment(key, i, plains[i]!.length, only(recordsOf(s), 0xffff & ~(1 << (i % N))))));
    out.forEach((d, i) => expect(d.plain.equals(plains[i]!)).toBe(true));
  });

  it('refuses bad arguments with typed errors', async () => {
    const records: Records = new Array<Buffer | null>(N).fill(null);
    for (const engine of [native, js]) {
      await expect(engine.decodeSegment(Buffer.alloc(16), 0, 10, records)).rejects.toMatchObject({ code: 'ERR_CODEC_ARGUMENT' });
      await expect(engine.decodeSegment(key, -1, 10, records)).rejects.toMatchObject({ code: 'ERR_CODEC_ARGUMENT' });
      await expect(engine.decodeSegment(key, 0, 1.5, records)).rejects.toMatchObject({ code: 'ERR_CODEC_ARGUMENT' });
      await expect(engine.decodeSegment(key, 0, 10, records.slice(1))).rejects.toMatchObject({ code: 'ERR_CODEC_ARGUMENT' });
    }
    // The addon checks again, whatever the wrapper let through.
    const cb = () => undefined;
    expect(() => binding.segmentDecode(key, 0, 10, records.slice(1), Buffer.alloc(80), 0, 8, new Uint32Array(2), cb)).toThrow(/16 entries/);
    expect(() => binding.segmentDecode(key, 0, 10, records, Buffer.alloc(79), 0, 8, new Uint32Array(2), cb)).toThrow(/too short/);
    const odd: Records = [...records];
    odd[0] = Buffer.alloc(11);
    expect(() => binding.segmentDecode(key, 0, 10, odd, Buffer.alloc(80), 0, 8, new Uint32Array(2), cb)).toThrow(/pieceSize \+ 4/);
  });
});

describe('readSegment with the engine verifying records', () => {
  /** One-segment blob on 16 in-memory holders; `damaged` pieces come back with a flipped byte. */
  async function fixture(damaged: number[]) {
    const plain = deterministicBytes('read path', 200_003);
    const all = recordsOf(await new NativeSegmentEncoder(binding, key).encode(plain, 0));
    const blob = { id: 'b1', size: plain.length, segmentSize: 1 << 20, placement: Array.from({ length: N }, (_, i) => `n${i}`) } as BlobRow;
    const fetched: number[] = [];
    const repairs: MissedPiece[] = [];
    const io = {
      readRecord: async (nodeId: string): Promise<Buffer> => {
        const i = Number(nodeId.slice(1));
        fetched.push(i);
        const r = Buffer.from(all[i]!);
        if (damaged.includes(i)) r[17]! ^= 0x20;
        return r;
      },
    };
    const health = { isSuspect: () => false, rank: () => 0, ok: () => undefined, failed: () => undefined, lagged: () => undefined };
    const ctx = {
      io, health, engine: native, hedgeMs: 60_000, readTimeoutMs: 60_000,
      meta: { queueRepair: async (m: MissedPiece[]) => { repairs.push(...m); } },
    } as unknown as PipelineContext;
    return { plain, blob, ctx, fetched, repairs };
  }

  it('reads the data pieces only when they are sound', async () => {
    const f = await fixture([]);
    expect((await readSegment(f.ctx, f.blob, key, 0)).equals(f.plain)).toBe(true);
    expect(f.fetched.sort((a, b) => a - b)).toEqual([...Array(K).keys()]);
    expect(f.repairs).toEqual([]);
  });

  it('queues damaged pieces for repair and fetches parity in their place', async () => {
    const f = await fixture([2, 7, 10]);
    expect((await readSegment(f.ctx, f.blob, key, 0)).equals(f.plain)).toBe(true);
    // Round 1: data 0..9 (2, 7 bad); round 2: parity 10, 11 (10 bad); round 3: parity 12.
    expect(f.fetched.sort((a, b) => a - b)).toEqual([...Array(13).keys()]);
    expect(f.repairs.map((r) => r.piece).sort((a, b) => a - b)).toEqual([2, 7, 10]);
    expect(f.repairs.every((r) => r.blobId === 'b1')).toBe(true);
  });

  // Regression: the fetches a decode cancels (hedged ones still on their way) were never
  // asked again, so a corrupt record plus lost pieces answered 503 with a sound holder left.
  it('asks again a holder whose fetch a decode cancelled, when a record then turns out corrupt', async () => {
    const f = await fixture([10]);
    const firstCall = new Set<number>();
    const read = f.ctx.io.readRecord.bind(f.ctx.io);
    f.ctx.io.readRecord = async (nodeId, shard, seg, offset, length, signal) => {
      const i = Number(nodeId.slice(1));
      // Piece 9 hangs the first time (a slow store); pieces 11..15 are lost.
      if (i === 9 && !firstCall.has(9)) {
        firstCall.add(9);
        return new Promise<Buffer>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      }
      if (i >= 11) throw Object.assign(new Error(`piece ${i} lost`), { code: 'ERR_SHARD_NOT_FOUND' });
      return read(nodeId, shard, seg, offset, length, signal);
    };
    (f.ctx as { hedgeMs: number }).hedgeMs = 5;
    expect((await readSegment(f.ctx, f.blob, key, 0)).equals(f.plain)).toBe(true);
    expect(f.fetched.filter((i) => i === 9)).toHaveLength(1); // the second ask of 9 went to the original reader
    expect(f.repairs.map((r) => r.piece).sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14, 15]);
  });

  it('fails with a quorum error when too many pieces are damaged', async () => {
    const f = await fixture([0, 1, 2, 3, 4, 5, 6]);
    await expect(readSegment(f.ctx, f.blob, key, 0)).rejects.toMatchObject({ code: 'ERR_SHARD_QUORUM' });
    expect(f.repairs.map((r) => r.piece).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
