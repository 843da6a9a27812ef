import { RequestError } from './errors.js';
import { merkleProof } from './merkle.js';
import {
  CHALLENGE_MAX_NONCE_BYTES, CHALLENGE_MAX_RECORD_BYTES, CHALLENGE_MAX_RECORDS, isShardId, type AuditChallengeRequest, type AuditChallengeResponse,
} from './protocol.js';
import { RECORD_TRAILER_BYTES } from './sidecar.js';
import type { ShardStore } from './pieces.js';

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
 * Answer an audit challenge: each named record's bytes and its hash-tree proof, from what the
 * store holds (volumes, or a shard file of an older release and its leaves sidecar). `lie`
 * (test only, SHARDGATE_TEST_LIE_ON_CHALLENGE) flips a byte of every record sent, as a store
 * that lost the data and guesses would. Null when the store does not hold the shard.
 */
export async function answerAuditChallenge(store: ShardStore, challenge: AuditChallengeRequest, lie = false): Promise<AuditChallengeResponse | null> {
  const records: AuditChallengeResponse['records'] = [];
  let leafCount = 0;
  for (const index of challenge.indices) {
    let rec;
    try {
      rec = await store.record(challenge.shardId, index, challenge.recordSize);
    } catch (err) {
      if (err instanceof RangeError) throw new RequestError(416, 'ERR_RANGE_NOT_SATISFIABLE', err.message);
      throw err;
    }
    if (!rec) return null;
    leafCount = rec.leafCount;
    const data = Buffer.from(rec.data);
    if (lie && data.length > 0) data[0] = data[0]! ^ 0x5a;
    records.push({ index, data: data.toString('base64'), proof: merkleProof(rec.leaves, index).map((h) => h.toString('hex')) });
  }
  return { leafCount, records };
}
