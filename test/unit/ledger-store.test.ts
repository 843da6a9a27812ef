import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shardFileLength } from '../../codec/layout.js';
import { openMetaDb } from '../../gateway/meta/db.js';
import { LedgerTailMovedError, SqliteLedgerLogStore, type StoredLedgerEntry } from '../../gateway/meta/ledger-log.js';
import { onClose } from '../helpers/registry.js';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-ledger-store-'));
  onClose(() => rm(dir, { recursive: true, force: true }));
  const db = openMetaDb(join(dir, 'meta.db'));
  onClose(() => void db.close());
  return { db, store: new SqliteLedgerLogStore(db) };
}

const entry = (seq: number, kind: StoredLedgerEntry['kind'] = 'event', era: number | null = null): StoredLedgerEntry =>
  ({ seq, kind, era, at: 1000 + seq, jws: `jws-${seq}`, hash: `hash-${seq}` });

describe('SQLite ledger log store', () => {
  it('appends after the tail it was signed against, never after another', async () => {
    const { store } = await setup();
    expect(await store.tail()).toBeUndefined();
    await store.append(0, [entry(1), entry(2)], [{ seq: 1, era: 0, reason: 'genesis', from: 'mint', to: 'treasury', amount: '123456789012345678901234567890' }]);
    expect(await store.tail()).toEqual({ seq: 2, hash: 'hash-2', at: 1002 });
    // A second writer that signed against the old tail loses, and nothing of its append stays.
    await expect(store.append(0, [entry(1)])).rejects.toBeInstanceOf(LedgerTailMovedError);
    await expect(store.append(1, [entry(2)])).rejects.toBeInstanceOf(LedgerTailMovedError);
    await store.append(2, [entry(3, 'settlement', 0)]);
    // The same era settled twice is refused too, whatever the seq.
    await expect(store.append(3, [entry(4, 'settlement', 0)])).rejects.toBeInstanceOf(LedgerTailMovedError);
    expect(await store.size()).toBe(3);
    expect(await store.settlements()).toEqual([{ era: 0, seq: 3 }]);
    expect(await store.page(1, 10)).toEqual([{ seq: 2, jws: 'jws-2' }, { seq: 3, jws: 'jws-3' }]);
    // Amounts past 2^53 come back exactly.
    expect((await store.entries(0, 10))[0]!.amount).toBe('123456789012345678901234567890');
  });

  it('counts the bytes each store holds from the live placements, as codec/layout.ts lays shards out', async () => {
    const { db, store } = await setup();
    const nodes = Array.from({ length: 16 }, (_, i) => `ss${String(i).padStart(2, '0')}`);
    // Sizes on the thresholds: empty, one byte, exactly a segment, one past, several segments.
    const blobs = [
      { id: 'a', size: 0, seg: 4096 }, { id: 'b', size: 1, seg: 4096 }, { id: 'c', size: 4096, seg: 4096 },
      { id: 'd', size: 4097, seg: 4096 }, { id: 'e', size: 10 * 1024 * 1024 + 3, seg: 4 * 1024 * 1024 },
    ];
    const ins = db.prepare(`INSERT INTO blobs(id, size, segment_size, wrapped_key, placement, state, created_at) VALUES (?, ?, ?, x'00', ?, ?, 0)`);
    for (const b of blobs) ins.run(b.id, b.size, b.seg, JSON.stringify(nodes), 'live');
    ins.run('gone', 5000, 4096, JSON.stringify(nodes), 'garbage');
    // ss03 never got piece 3 of blob e: it is queued for repair, and not paid for.
    db.prepare(`INSERT INTO repair_queue(blob_id, piece, reason, enqueued_at) VALUES ('e', 3, 'missed', 0)`).run();
    const held = await store.bytesHeld();
    const all = blobs.reduce((a, b) => a + shardFileLength(b.size, b.seg), 0);
    expect(held.get('ss00')).toBe(all);
    expect(held.get('ss03')).toBe(all - shardFileLength(blobs[4]!.size, blobs[4]!.seg));
  });
});
