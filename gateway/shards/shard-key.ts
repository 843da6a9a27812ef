import { isShardId } from '../../shard-store/protocol.js';

/** A shard id `<32 hex>.<piece>` as the batch protocol carries it. */
export function keyParts(shardId: string): { blob: Buffer; piece: number } {
  if (!isShardId(shardId)) throw new TypeError(`not a shard id: ${JSON.stringify(shardId)}`);
  const dot = shardId.indexOf('.');
  return { blob: Buffer.from(shardId.slice(0, dot), 'hex'), piece: Number(shardId.slice(dot + 1)) };
}
