import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEngine } from '../../codec/engine.js';
import { N } from '../../codec/erasure.js';
import { wrapKey } from '../../codec/keys.js';
import { pieceRecord } from '../../codec/segment.js';
import { auditedSegmentEncoder, RootCollector } from '../../gateway/audit/roots.js';
import { Scrubber } from '../../gateway/audit/scrub.js';
import { auditStoreFor } from '../../gateway/meta/audit-store.js';
import { SqliteMetaStore } from '../../gateway/meta/store.js';
import type { ShardIO } from '../../gateway/pipeline/shard-io.js';
import { ShardNotFoundError } from '../../gateway/shards/errors.js';
import { onClose } from '../helpers/registry.js';

/** Shard files held in memory, by node and shard id; reads of what is absent fail as a store would. */
class MemoryShards implements ShardIO {
  readonly files = new Map<string, Buffer>();
  down = new Set<string>();
  openWriter(): never {
    throw new Error('not used');
  }
  async readRecord(nodeId: string, shardId: string, _seg: number, offset: number, length: number): Promise<Buffer> {
    if (this.down.has(nodeId)) throw Object.assign(new Error('refused'), { code: 'ERR_SHARD_UNAVAILABLE' });
    const f = this.files.get(`${nodeId}/${shardId}`);
    if (!f) throw new ShardNotFoundError(nodeId, `no ${shardId}`);
    return Buffer.from(f.subarray(offset, offset + length));
  }
  async deleteShard(): Promise<void> {}
}

describe('bitrot scrub', () => {
  it('queues exactly the damaged, short and missing pieces, skips unreachable stores, and resumes from its cursor', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shardgate-scrub-'));
    onClose(() => rm(dir, { recursive: true, force: true }));
    const meta = new SqliteMetaStore(join(dir, 'meta.db'));
    onClose(() => meta.close());
    const nodes = Array.from({ length: N }, (_, i) => `n${i}`);
    for (const id of nodes) await meta.upsertNode({ id, url: 'http://127.0.0.1:1', zone: 'zone-1' });
    const io = new MemoryShards();
    const store = auditStoreFor(meta.db);
    const blobs: string[] = [];
    // Three segments of 4 KiB and a short one.
    const size = 3 * 4096 + 10;
    for (let b = 0; b < 3; b++) {
      const key = randomBytes(32);
      const enc = auditedSegmentEncoder(getEngine(), key);
      const roots = new RootCollector();
      const files: Buffer[][] = Array.from({ length: N }, () => []);
      const data = randomBytes(size);
      for (let s = 0, off = 0; off < size; s++, off += 4096) {
        const seg = await enc.encode(data.subarray(off, off + 4096), s);
        roots.add(seg);
        for (let p = 0; p < N; p++) files[p]!.push(...pieceRecord(seg, p));
      }
      const id = randomBytes(16).toString('hex');
      await meta.insertWritingBlob({ id, size, segmentSize: 4096, wrappedKey: wrapKey(randomBytes(32), key), placement: nodes, createdAt: Date.now() });
      meta.db.prepare(`UPDATE blobs SET state = 'live' WHERE id = ?`).run(id);
      await store.setRoots(id, roots.roots());
      files.forEach((f, p) => io.files.set(`${nodes[p]}/${id}.${p}`, Buffer.concat(f)));
      blobs.push(id);
    }
    const sorted = [...blobs].sort();
    const rot = io.files.get(`n3/${sorted[0]}.3`)!;
    rot[500]! ^= 4;
    io.files.delete(`n5/${sorted[1]}.5`);
    io.files.set(`n6/${sorted[1]}.6`, io.files.get(`n6/${sorted[1]}.6`)!.subarray(0, 100));
    io.down.add('n9');

    const scrub = new Scrubber(meta, meta.nodes, store, io, 0, 60_000);
    // One blob per step would be resumable too; here the batch covers all three.
    while (!(await scrub.step()));
    const queued = (meta.db.prepare('SELECT blob_id, piece FROM repair_queue ORDER BY blob_id, piece').all() as Array<{ blob_id: string; piece: number }>)
      .map((r) => `${r.blob_id}.${r.piece}`);
    expect(queued).toEqual([`${sorted[0]}.3`, `${sorted[1]}.5`, `${sorted[1]}.6`].sort());
    // 3 blobs × 16 pieces, minus the unreachable store's 3.
    expect(scrub.stats).toMatchObject({ piecesChecked: 45, piecesBad: 3, passes: 0 });
    expect(await store.getState('scrub.cursor')).toBe('');
  });
});
