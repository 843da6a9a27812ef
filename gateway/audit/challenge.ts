import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { recordRange, segmentCount } from '../../codec/layout.js';
import { verifyMerkleProof } from '../../shard-store/merkle.js';
import type { AuditChallengeResponse } from '../../shard-store/protocol.js';
import { shardId } from '../pipeline/shard-io.js';
import type { ShardClient, ShardNode } from '../shards/client.js';
import type { AuditOutcome, AuditTarget } from './store.js';

export interface ChallengeVerdict {
  outcome: AuditOutcome;
  detail: string | null;
}

/**
 * Challenge one shard file for `records` random records and check every answer against the
 * root kept at write time: each record's length, its CRC, its SHA-256 as a leaf, and the
 * proof up to the root. The store sends only the records named, never the whole file.
 */
export async function challengePiece(
  client: ShardClient, node: ShardNode, target: AuditTarget, records: number, timeoutMs: number,
): Promise<ChallengeVerdict> {
  const shard = shardId(target.blobId, target.piece);
  const count = segmentCount(target.size, target.segmentSize);
  if (count === 0) return { outcome: 'pass', detail: null };
  const recordSize = recordRange(target.size, target.segmentSize, 0).length;
  const indices = pick(count, records);
  let body: AuditChallengeResponse;
  try {
    body = await client.auditChallenge(node, { shardId: shard, nonce: randomBytes(16).toString('hex'), recordSize, indices }, { timeoutMs });
  } catch (err) {
    const e = err as Error & { code?: string; status?: number };
    if (e.code === 'ERR_SHARD_NOT_FOUND') return { outcome: 'missing', detail: `${shard}: the store does not have it` };
    if (e.status === 416) return { outcome: 'missing', detail: `${shard}: the store's copy is shorter than what was written` };
    if (e.code === 'ERR_SHARD_TIMEOUT') return { outcome: 'timeout', detail: `${shard}: no answer within ${timeoutMs} ms` };
    if (e.code === 'ERR_SHARD_UNAVAILABLE') return { outcome: 'timeout', detail: `${shard}: unreachable (${e.message})` };
    // An answer that is not one (bad status, malformed body, wrong key) is the store's fault.
    return { outcome: 'error', detail: `${shard}: ${e.message.slice(0, 300)}` };
  }
  return checkAnswer(shard, target, indices, body, count);
}

/** Verify an answer; exported for unit tests. */
export function checkAnswer(shard: string, target: AuditTarget, indices: number[], body: AuditChallengeResponse, count: number): ChallengeVerdict {
  const wrong = (why: string): ChallengeVerdict => ({ outcome: 'wrong', detail: `${shard}: ${why}` });
  if (!body || !Array.isArray(body.records) || body.records.length !== indices.length) return wrong('malformed answer');
  if (body.leafCount !== count) return wrong(`the store counts ${body.leafCount} records, ${count} were written`);
  for (const [i, rec] of body.records.entries()) {
    if (rec.index !== indices[i] || typeof rec.data !== 'string' || !Array.isArray(rec.proof)) return wrong('malformed answer');
    const data = Buffer.from(rec.data, 'base64');
    const { length, pieceSize } = recordRange(target.size, target.segmentSize, rec.index);
    if (data.length !== length) return wrong(`record ${rec.index} is ${data.length} bytes, ${length} were written`);
    const piece = data.subarray(0, pieceSize);
    if (crc32(piece) !== data.readUInt32BE(pieceSize)) return wrong(`record ${rec.index} fails its checksum`);
    const leaf = createHash('sha256').update(piece).digest();
    const proof = rec.proof.map((h) => Buffer.from(String(h), 'hex'));
    if (!verifyMerkleProof(leaf, rec.index, count, proof, target.root)) return wrong(`record ${rec.index} does not match the root kept at write time`);
  }
  return { outcome: 'pass', detail: null };
}

/** Up to `n` distinct random record numbers below `count`. */
function pick(count: number, n: number): number[] {
  const out = new Set<number>();
  while (out.size < Math.min(n, count)) out.add(randomBytes(4).readUInt32BE(0) % count);
  return [...out].sort((a, b) => a - b);
}
