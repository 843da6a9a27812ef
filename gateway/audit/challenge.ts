import { randomBytes } from 'node:crypto';
import { recordRange, segmentCount } from '../../codec/layout.js';
import type { AuditChallengeResponse } from '../../shard-store/protocol.js';
import { shardId } from '../pipeline/shard-io.js';
import type { ShardClient, ShardNode } from '../shards/client.js';
import { recordFault } from '../transfer/prove.js';
import type { AuditOutcome, AuditTarget } from '../meta/audit-store.js';

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
    body = await client.auditChallenge(node, shard, recordSize, indices, { timeoutMs });
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

/**
 * Verify an answer; exported for unit tests. The body is whatever JSON the store sent, typed
 * or not: every part of it is checked for its shape before it is used.
 */
export function checkAnswer(shard: string, target: AuditTarget, indices: number[], body: AuditChallengeResponse, count: number): ChallengeVerdict {
  const wrong = (why: string): ChallengeVerdict => ({ outcome: 'wrong', detail: `${shard}: ${why}` });
  if (!isObject(body) || !Array.isArray(body.records) || body.records.length !== indices.length) return wrong('malformed answer');
  if (body.leafCount !== count) return wrong(`the store counts ${JSON.stringify(body.leafCount)?.slice(0, 40)} records, ${count} were written`);
  for (const [i, rec] of (body.records as unknown[]).entries()) {
    const index = indices[i]!;
    if (!isObject(rec) || rec.index !== index || typeof rec.data !== 'string' || !Array.isArray(rec.proof) || !rec.proof.every((h) => typeof h === 'string')) {
      return wrong('malformed answer');
    }
    const { pieceSize } = recordRange(target.size, target.segmentSize, index);
    const proof = (rec.proof).map((h) => Buffer.from(h, 'hex'));
    const fault = recordFault(Buffer.from(rec.data, 'base64'), pieceSize, index, count, proof, target.root);
    if (fault) return wrong(fault);
  }
  return { outcome: 'pass', detail: null };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Up to `n` distinct random record numbers below `count`. */
function pick(count: number, n: number): number[] {
  const out = new Set<number>();
  while (out.size < Math.min(n, count)) out.add(randomBytes(4).readUInt32BE(0) % count);
  return [...out].sort((a, b) => a - b);
}
