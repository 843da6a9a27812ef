/**
 * Issue 9 item 6: a shard-store that forges pieces with valid checksums must not make an
 * object unreadable. Reads find and leave out the liar, answer the right bytes, and report
 * it; with both engines, since each reports a forged piece as an AES-GCM failure.
 */
import { describe, expect, it } from 'vitest';
import { nativeEngine, referenceEngine, type Engine } from '../../codec/engine.js';
import { loadNative } from '../../codec/native.js';
import { auditStoreFor } from '../../gateway/meta/audit-store.js';
import { READ_AHEAD_MAX, readBlob } from '../../gateway/pipeline/read-blob.js';
import { startFixture, type Fixture } from './admin-fixture.js';

const binding = loadNative();
const engines: Array<[string, () => Engine]> = [['reference', () => referenceEngine()]];
// The native engine is the default wherever the addon builds; without it only the reference runs.
if (binding) engines.push(['native', () => nativeEngine(binding)]);

// The fixture cuts segments at 16 KiB: one segment, and six (five full and a short one).
const ONE_SEGMENT = 10_000;
const SIX_SEGMENTS = 5 * 16 * 1024 + 333;

async function read(fx: Fixture, blobId: string, start = 0, end?: number): Promise<Buffer> {
  const blob = (await fx.meta.getBlob(blobId))!;
  const out: Buffer[] = [];
  for await (const chunk of readBlob(fx.ctx, blob, start, end ?? blob.size - 1)) out.push(chunk);
  return Buffer.concat(out);
}

async function queued(fx: Fixture, blobId: string): Promise<number[]> {
  return [...((await fx.repairs.queuedPieces()).get(blobId) ?? [])].sort((a, b) => a - b);
}

async function wrongAudits(fx: Fixture, node: string): Promise<number> {
  return (await auditStoreFor(fx.meta.db).counts(node, 0, Date.now() + 1)).wrong;
}

describe.each(engines)('reads around lying shard-stores (%s engine)', (_, engine) => {
  const setup = async (size: number): Promise<{ fx: Fixture; body: Buffer; blobId: string; holder: (piece: number) => string }> => {
    const fx = await startFixture({ nodes: 16, zones: 4 });
    fx.ctx.engine = engine();
    const { body, blobId } = await fx.put('k', size);
    const placement = (await fx.meta.getBlob(blobId))!.placement;
    return { fx, body, blobId, holder: (piece) => placement[piece]! };
  };

  it('one-segment blob: proves the pieces in hand against their roots, with no extra request', async () => {
    const { fx, body, blobId, holder } = await setup(ONE_SEGMENT);
    expect((await read(fx, blobId)).equals(body)).toBe(true);
    // The fast path asks the data holders only, and proves nothing.
    expect(fx.stores.calls.every((c) => c.startsWith('read '))).toBe(true);
    const liar = holder(2);
    fx.stores.lieOnRead.add(liar);
    fx.stores.calls.length = 0;
    expect((await read(fx, blobId)).equals(body)).toBe(true);
    // Ten reads, then one more holder in the liar's place: its root is its piece's hash.
    expect(fx.stores.calls.filter((c) => c.startsWith('proof'))).toEqual([]);
    expect(fx.stores.calls).toHaveLength(11);
    expect(await queued(fx, blobId)).toEqual([2]);
    expect(fx.ctx.health.isSuspect(liar)).toBe(true);
    expect(fx.ctx.health.liesSeen().get(liar)).toBe(1);
    expect(await wrongAudits(fx, liar)).toBe(1);
    // The next read leaves the liar for last: the fast path works again, without it.
    fx.stores.calls.length = 0;
    expect((await read(fx, blobId)).equals(body)).toBe(true);
    expect(fx.stores.calls).not.toContain(`read ${liar}`);
    expect(fx.stores.calls).toHaveLength(10);
    // Even after the merely slow: with every other data holder lagging, parity is read first.
    for (let piece = 0; piece < 10; piece++) if (piece !== 2) fx.ctx.health.lagged(holder(piece));
    fx.stores.calls.length = 0;
    expect((await read(fx, blobId)).equals(body)).toBe(true);
    expect(fx.stores.calls).not.toContain(`read ${liar}`);
  });

  it('multi-segment blob: a store lying on reads only is caught by its own proofs', async () => {
    const { fx, body, blobId, holder } = await setup(2 * SIX_SEGMENTS);
    const liar = holder(0);
    fx.stores.lieOnRead.add(liar);
    expect((await read(fx, blobId)).equals(body)).toBe(true);
    expect(await queued(fx, blobId)).toEqual([0]);
    expect(fx.ctx.health.isSuspect(liar)).toBe(true);
    expect(await wrongAudits(fx, liar)).toBeGreaterThanOrEqual(1);
    // Only the segments already in flight when the liar was caught (the read-ahead: at most
    // 7 of 12) paid for proofs; the later ones were read without it.
    expect(fx.stores.calls.filter((c) => c.startsWith('proof')).length).toBeLessThanOrEqual((READ_AHEAD_MAX + 1) * 16);
    fx.stores.calls.length = 0;
    expect((await read(fx, blobId)).equals(body)).toBe(true);
    expect(fx.stores.calls.filter((c) => c.startsWith('proof'))).toEqual([]);
  });

  it('multi-segment blob: a store lying on reads and proofs is left out', async () => {
    const { fx, body, blobId, holder } = await setup(SIX_SEGMENTS);
    const liar = holder(5);
    fx.stores.lieOnRead.add(liar);
    fx.stores.lieOnProof.add(liar);
    expect((await read(fx, blobId)).equals(body)).toBe(true);
    expect(await queued(fx, blobId)).toEqual([5]);
    expect(fx.ctx.health.liesSeen().get(liar)).toBeGreaterThanOrEqual(1);
  });

  it('three liars among the data holders, ranged reads across segment edges', async () => {
    const { fx, body, blobId, holder } = await setup(SIX_SEGMENTS);
    const liars = [0, 4, 9].map(holder);
    for (const l of liars) {
      fx.stores.lieOnRead.add(l);
      fx.stores.lieOnProof.add(l);
    }
    const S = 16 * 1024;
    // Inside one segment, across an edge, the last byte, the whole blob.
    for (const [a, b] of [[100, 200], [S - 7, 2 * S + 7], [body.length - 1, body.length - 1], [0, body.length - 1]] as const) {
      expect((await read(fx, blobId, a, b)).equals(body.subarray(a, b + 1)), `${a}-${b}`).toBe(true);
    }
    expect(await queued(fx, blobId)).toEqual([0, 4, 9]);
    for (const l of liars) expect(fx.ctx.health.isSuspect(l), l).toBe(true);
  });

  it('answers a quorum error, never wrong bytes, when fewer than 10 pieces can be proven', async () => {
    for (const size of [ONE_SEGMENT, SIX_SEGMENTS]) {
      const { fx, blobId, holder } = await setup(size);
      for (let piece = 0; piece < 7; piece++) {
        fx.stores.lieOnRead.add(holder(piece));
        fx.stores.lieOnProof.add(holder(piece));
      }
      await expect(read(fx, blobId), `size ${size}`).rejects.toMatchObject({ code: 'ERR_SHARD_QUORUM' });
      expect(await queued(fx, blobId)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    }
  });

  it('keeps the authentication error for a blob whose roots are unknown (written before they were kept)', async () => {
    const { fx, blobId, holder } = await setup(ONE_SEGMENT);
    fx.meta.db.prepare('DELETE FROM blob_roots WHERE blob_id = ?').run(blobId);
    fx.stores.lieOnRead.add(holder(1));
    await expect(read(fx, blobId)).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
  });
});
