import { createHash } from 'node:crypto';
import { RequestError } from './errors.js';
import {
  CHALLENGE_MAX_NONCE_BYTES, CHALLENGE_MAX_RANGE_BYTES, CHALLENGE_MAX_RANGES, isShardId, type ChallengeRequest,
} from './protocol.js';
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
 * Answer a challenge from the bytes on disk: sha256(nonce || range) per range. A placeholder:
 * the audit design replaces it with something the gateway can check without keeping hashes.
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
