import { crc32 } from 'node:zlib';

/**
 * Test-only misbehaviour, so tests can check the gateway never trusts a store: nothing
 * here runs unless SHARDGATE_TEST_LIE_ON_READ=1 is set for the store's process.
 */
export function lieOnReadFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SHARDGATE_TEST_LIE_ON_READ === '1';
}

/** Bytes of CRC-32 after each piece in a record (codec/layout.ts PIECE_CRC_BYTES). */
const TRAILER = 4;

/**
 * A clever liar's answer to a ranged read: flip a byte of the piece and recompute the
 * CRC-32 trailer, so the record still passes its checksum. The gateway reads one record
 * per range, so the range is taken as one record, in place.
 */
export function forgeRecord(buf: Buffer): void {
  if (buf.length <= TRAILER) return;
  const piece = buf.subarray(0, buf.length - TRAILER);
  piece[piece.length >> 1]! ^= 0x5a;
  buf.writeUInt32BE(crc32(piece), piece.length);
}
