import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { SqliteMetaStore } from '../../gateway/meta/store.js';
import { GarbageCollector } from '../../gateway/pipeline/collector.js';
import type { PipelineContext } from '../../gateway/pipeline/context.js';

describe('garbage collector', () => {
  let dir: string;
  let meta: SqliteMetaStore;
  let deletes: string[];
  let down: Set<string>;
  let gc: GarbageCollector;
  const ids = Array.from({ length: 16 }, (_, i) => `ss${String(i).padStart(2, '0')}`);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-'));
    meta = new SqliteMetaStore(join(dir, 'meta.db'));
    for (const id of ids) await meta.upsertNode({ id, url: `http://127.0.0.1:1/${id}`, zone: 'z' });
    deletes = [];
    down = new Set();
    const io = {
      deleteShard: async (nodeId: string, shard: string) => {
        if (down.has(nodeId)) throw new Error(`${nodeId} is down`);
        deletes.push(`${nodeId}/${shard}`);
      },
    };
    gc = new GarbageCollector({ meta, io } as unknown as PipelineContext, { intervalMs: 1000, graceMs: 0, batch: 10 });
    await meta.insertWritingBlob({ id: 'a'.repeat(32), size: 1, segmentSize: 4096, wrappedKey: Buffer.alloc(61), placement: ids, createdAt: Date.now() - 10 });
    await meta.discardBlob('a'.repeat(32));
  });
  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('deletes every piece and forgets the blob', async () => {
    expect(await gc.runOnce(Date.now() + 1)).toBe(1);
    expect(deletes).toHaveLength(16);
    expect(await meta.getBlob('a'.repeat(32))).toBeUndefined();
  });

  test('keeps a blob whose store is down for a later pass', async () => {
    down.add('ss03');
    expect(await gc.runOnce(Date.now() + 1)).toBe(0);
    expect((await meta.getBlob('a'.repeat(32)))?.state).toBe('garbage');
    down.clear();
    expect(await gc.runOnce(Date.now() + 10)).toBe(1);
  });

  test('works off a backlog larger than a batch in one pass; a blob put back waits for the next', async () => {
    const more = Array.from({ length: 24 }, (_, i) => i.toString(16).padStart(32, 'b'));
    for (const id of more) {
      await meta.insertWritingBlob({ id, size: 1, segmentSize: 4096, wrappedKey: Buffer.alloc(61), placement: ids, createdAt: Date.now() - 10 });
      await meta.discardBlob(id);
    }
    down.add('ss05');
    const now = Date.now() + 1;
    expect(await gc.runOnce(now)).toBe(0); // every blob has a piece on ss05: all 25 put back, none retried
    expect(deletes.filter((d) => d.startsWith('ss00/'))).toHaveLength(25);
    down.clear();
    expect(await gc.runOnce(Date.now() + 1)).toBe(25);
    expect(await meta.getBlob(more[23]!)).toBeUndefined();
  });

  test('does not wait forever on a store an admin removed', async () => {
    down.add('ss03');
    await meta.nodes.setState('ss03', 'removed', 'retired');
    expect(await gc.runOnce(Date.now() + 1)).toBe(1);
    expect(deletes).toHaveLength(15);
    expect(await meta.getBlob('a'.repeat(32))).toBeUndefined();
  });
});
