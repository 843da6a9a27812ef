import { K, N, type ErasureCoder } from './erasure.js';
import { CodecArgumentError, PieceChecksumError, ShardQuorumError } from './errors.js';
import { KEY_BYTES } from './keys.js';
import { MAX_SEGMENT_SIZE, PIECE_CRC_BYTES, pieceSizeFor } from './layout.js';
import { decodeSegment, verifyRecord } from './segment.js';

/**
 * The read side of one segment, as every engine does it: check each fetched record's
 * CRC-32, rebuild missing data pieces, decrypt. Records that fail their checksum are read
 * around when at least K good ones remain, and reported either way.
 */
export interface DecodedSegment {
  /** The segment's plaintext, exactly plainLength bytes. */
  plain: Buffer;
  /** Indices of records that were given but failed their checksum (or had the wrong length), ascending. */
  corrupt: number[];
}

/**
 * Decode one segment from its raw records (piece || CRC-32 BE, `null` where not fetched).
 * Rejects with ShardQuorumError when fewer than K records are given, PieceChecksumError
 * (`pieces`: the failed ones) when fewer than K pass their checksum, DecryptError when
 * AES-GCM refuses the result. Records are only read; the caller may drop them afterwards.
 */
export type SegmentDecoder = (key: Buffer, index: number, plainLength: number, records: ReadonlyArray<Buffer | null>) => Promise<DecodedSegment>;

/** Validate a decode call; returns the segment's piece size. */
export function checkDecodeArgs(key: Buffer, index: number, plainLength: number, records: ReadonlyArray<Buffer | null>): number {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new CodecArgumentError(`key must be ${KEY_BYTES} bytes`);
  if (!Number.isSafeInteger(index) || index < 0) throw new CodecArgumentError(`segment index must be a non-negative integer, got ${index}`);
  if (!Number.isSafeInteger(plainLength) || plainLength < 0 || plainLength > MAX_SEGMENT_SIZE) {
    throw new CodecArgumentError(`plainLength must be an integer from 0 to ${MAX_SEGMENT_SIZE}, got ${plainLength}`);
  }
  if (!Array.isArray(records) || records.length !== N) throw new CodecArgumentError(`records must have ${N} entries`);
  for (const r of records) {
    if (r !== null && !Buffer.isBuffer(r)) throw new CodecArgumentError('each record must be a Buffer or null');
  }
  return pieceSizeFor(plainLength);
}

/** Records whose length is wrong cannot be a piece of this segment: they count as corrupt, not as bad arguments. */
export function wrongLengthRecords(records: ReadonlyArray<Buffer | null>, pieceSize: number): number[] {
  const out: number[] = [];
  records.forEach((r, i) => r && r.length !== pieceSize + PIECE_CRC_BYTES && out.push(i));
  return out;
}

export function fewerThanK(index: number, given: number): ShardQuorumError {
  return new ShardQuorumError(`segment ${index}: only ${given} of ${N} pieces given, need ${K}`);
}

export function tooManyCorrupt(index: number, given: number, corrupt: number[]): PieceChecksumError {
  return new PieceChecksumError(
    `segment ${index}: ${corrupt.length} of ${given} pieces failed their checksum (${corrupt.join(', ')}), ${given - corrupt.length} left, need ${K}`,
    { pieces: corrupt },
  );
}

export function presentCount(records: ReadonlyArray<Buffer | null>): number {
  return records.reduce((n, r) => n + (r ? 1 : 0), 0);
}

/**
 * The reference path: verifyRecord on each record, then decodeSegment (copy into one
 * buffer, reconstruct through `coder`, decrypt with node:crypto), all on the event loop
 * except the reconstruction.
 */
export async function jsDecodeSegment(
  coder: ErasureCoder, key: Buffer, index: number, plainLength: number, records: ReadonlyArray<Buffer | null>,
): Promise<DecodedSegment> {
  const pieceSize = checkDecodeArgs(key, index, plainLength, records);
  const given = presentCount(records);
  if (given < K) throw fewerThanK(index, given);
  const pieces: (Buffer | null)[] = new Array<Buffer | null>(N).fill(null);
  const corrupt: number[] = [];
  records.forEach((r, i) => {
    if (!r) return;
    try {
      pieces[i] = verifyRecord(r, pieceSize);
    } catch (err) {
      if (!(err instanceof PieceChecksumError)) throw err;
      corrupt.push(i);
    }
  });
  if (given - corrupt.length < K) throw tooManyCorrupt(index, given, corrupt);
  return { plain: await decodeSegment(coder, key, index, plainLength, pieces), corrupt };
}
