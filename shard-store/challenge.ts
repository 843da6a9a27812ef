import { createHash } from 'node:crypto';
import { RequestError } from './errors.js';
import { merkleProof } from './merkle.js';
import {
  CHALLENGE_MAX_NONCE_BYTES, CHALLENGE_MAX_RANGE_BYTES, CHALLENGE_MAX_RANGES, CHALLENGE_MAX_RECORD_BYTES, CHALLENGE_MAX_RECORDS,
  isShardId, type AuditChallengeRequest, type AuditChallengeResponse, type ChallengeRequest,
} from './protocol.js';
import { loadLeaves, readFully, RECORD_TRAILER_BYTES } from './sidecar.js';
import type { OpenPiece } from './store.js';

const READ_CHUNK = 1024 * 1024;

/** Validate a decoded `POST /challenge` body; throws RequestError (400). */
export function parseChallenge(body: unknown): ChallengeRequest {
  const bad = (why: string) => new RequestError(400, 'ERR_BAD_CHALLENGE', why);
  if (typeof body !== 'object' || body === null) throw bad('challenge must be a JSON object');
  const { shardId, nonce, ranges } = body as Record<string, unknown>;
  if (!isShardId(shardId)) throw bad('shardId must be <32 hex>.<piece index>');
  if (typeof nonce !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(nonce) || nonce.length > 2 * CHALLENGE_MAX_NONCE_BYTES) {
    throw bad(`nonce must be 1 to ${CHALLENGE_MAX_NONCE_BYTES} bytes of hex`);
  }
  if (!Array.isArray(ranges) || ranges.length === 0 || ranges.length > CHALLENGE_MAX_RANGES) {
    throw bad(`ranges must hold 1 to ${CHALLENGE_MAX_RANGES} entries`);
  }
  const parsed = ranges.map((r: unknown) => {
    const { offset, length } = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw bad('range offset must be a non-negative integer');
    if (!Number.isSafeInteger(length) || (length as number) < 1 || (length as number) > CHALLENGE_MAX_RANGE_BYTES) {
      throw bad(`range length must be 1 to ${CHALLENGE_MAX_RANGE_BYTES}`);
    }
    return { offset: offset as number, length: length as number };
  });
  return { shardId, nonce, ranges: parsed };
}

/**
 * Answer a range challenge from the bytes on disk: sha256(nonce || range) per range. Kept
 * for clients of the first protocol; audits use the record challenge below, which the
 * gateway can check against the hash-tree root it kept, without keeping the data.
 */
export async function answerChallenge(piece: OpenPiece, challenge: ChallengeRequest): Promise<string[]> {
  const nonce = Buffer.from(challenge.nonce, 'hex');
  const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(...challenge.ranges.map((r) => r.length))));
  const proofs: string[] = [];
  for (const { offset, length } of challenge.ranges) {
    if (offset + length > piece.size) {
      throw new RequestError(416, 'ERR_RANGE_NOT_SATISFIABLE', `range ${offset}+${length} is outside the ${piece.size}-byte piece`);
    }
    const hash = createHash('sha256').update(nonce);
    let pos = offset;
    while (pos < offset + length) {
      const want = Math.min(buf.length, offset + length - pos);
      const { bytesRead } = await piece.fh.read(buf, 0, want, pos);
      if (bytesRead === 0) throw new Error(`piece ended early at ${pos}`);
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    proofs.push(hash.digest('hex'));
  }
  return proofs;
}

/** Validate the body of an audit challenge (one with `indices`); throws RequestError (400). */
export function parseAuditChallenge(body: Record<string, unknown>): AuditChallengeRequest {
  const bad = (why: string) => new RequestError(400, 'ERR_BAD_CHALLENGE', why);
  const { shardId, nonce, recordSize, indices } = body;
  if (!isShardId(shardId)) throw bad('shardId must be <32 hex>.<piece index>');
  if (typeof nonce !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(nonce) || nonce.length > 2 * CHALLENGE_MAX_NONCE_BYTES) {
    throw bad(`nonce must be 1 to ${CHALLENGE_MAX_NONCE_BYTES} bytes of hex`);
  }
  if (!Number.isSafeInteger(recordSize) || (recordSize as number) <= RECORD_TRAILER_BYTES || (recordSize as number) > CHALLENGE_MAX_RECORD_BYTES) {
    throw bad(`recordSize must be ${RECORD_TRAILER_BYTES + 1} to ${CHALLENGE_MAX_RECORD_BYTES}`);
  }
  if (!Array.isArray(indices) || indices.length === 0 || indices.length > CHALLENGE_MAX_RECORDS ||
    !indices.every((i) => Number.isSafeInteger(i) && (i as number) >= 0)) {
    throw bad(`indices must hold 1 to ${CHALLENGE_MAX_RECORDS} record numbers`);
  }
  return { shardId, nonce, recordSize: recordSize as number, indices: indices as number[] };
}

/**
 * Answer an audit challenge: each named record's bytes and its hash-tree proof, from the
 * piece on disk and its leaves sidecar. `lie` (test only, SHARDGATE_TEST_LIE_ON_CHALLENGE)
 * flips a byte of every record sent, as a store that lost the data and guesses would.
 */
export async function answerAuditChallenge(
  piecePath: string, piece: OpenPiece, challenge: AuditChallengeRequest, lie = false,
): Promise<AuditChallengeResponse> {
  const leaves = await loadLeaves(piecePath, piece, challenge.recordSize);
  const buf = Buffer.allocUnsafe(challenge.recordSize);
  const records: AuditChallengeResponse['records'] = [];
  for (const index of challenge.indices) {
    if (index >= leaves.length) {
      throw new RequestError(416, 'ERR_RANGE_NOT_SATISFIABLE', `record ${index} is outside the ${leaves.length}-record piece`);
    }
    const len = Math.min(challenge.recordSize, piece.size - index * challenge.recordSize);
    await readFully(piece, buf, len, index * challenge.recordSize);
    const data = Buffer.from(buf.subarray(0, len));
    if (lie && data.length > 0) data[0] = data[0]! ^ 0x5a;
    records.push({ index, data: data.toString('base64'), proof: merkleProof(leaves, index).map((h) => h.toString('hex')) });
  }
  return { leafCount: leaves.length, records };
}
