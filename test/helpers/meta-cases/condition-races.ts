import { expect, it } from 'vitest';
import { MetaNotFoundError, MetaPreconditionError } from '../../../gateway/meta/errors.js';
import type { MetaStore } from '../../../gateway/meta/meta-store.js';
import type { ObjectRow, WriteCondition } from '../../../gateway/meta/types.js';
import { object, part, upload, writingBlob } from './fixtures.js';
import { blobOf, putWithBlob, versionsOf } from './put-races.js';
import { lost, race, won, type MetaPairContext } from './races.js';

/** A conditional PUT with its own blob, as the gateway makes it. */
async function putIf(meta: MetaStore, key: string, blob: string, etag: string, condition: WriteCondition): Promise<ObjectRow> {
  await writingBlob(meta, blob, 10);
  return meta.commitObjectWith(object('b', key, { blob, size: 10, etag }), { condition });
}

/** The reasons the losers were refused for; every loser must be a MetaPreconditionError. */
function refusals(out: Array<PromiseSettledResult<unknown>>): string[] {
  return lost(out).map((err) => {
    expect(err).toBeInstanceOf(MetaPreconditionError);
    return (err as MetaPreconditionError).reason;
  });
}

/**
 * Conditional writes, deletes and completions racing across two gateways: every decision is
 * made on the key's (or upload's) state as the winner left it, never on a state it replaced.
 */
export function conditionRaceCases(ctx: MetaPairContext): void {
  it('If-None-Match: * from 16 writers at once on a new key: one wins, the others are told it exists, their blobs never go live', async () => {
    const [a, b] = ctx.pair();
    for (let round = 0; round < 4; round++) {
      const out = await race(ctx.pair(), 16, (meta, i) => putIf(meta, `k${round}`, blobOf(`inm${round}`, i), `e${i}`, { ifNoneMatch: true }));
      expect(won(out)).toHaveLength(1);
      expect(refusals(out)).toEqual(Array(15).fill('exists'));
      const winner = Number(won(out)[0]!.etag.slice(1));
      for (let i = 0; i < 16; i++) expect((await a.getBlob(blobOf(`inm${round}`, i)))!.state).toBe(i === winner ? 'live' : 'writing');
    }
    expect(await versionsOf(b)).toHaveLength(4);
  });

  it('If-None-Match: * on a key whose current version is a delete marker: exactly one of 16 writers wins', async () => {
    const [a, b] = ctx.pair();
    await a.setBucketVersioning('b', 'Enabled');
    await putWithBlob(a, 'b', 'k', blobOf('old', 0), 10);
    await b.deleteObject('b', 'k');
    const out = await race(ctx.pair(), 16, (meta, i) => putIf(meta, 'k', blobOf('inm', i), `e${i}`, { ifNoneMatch: true }));
    expect(won(out)).toHaveLength(1);
    expect(refusals(out)).toEqual(Array(15).fill('exists'));
    expect((await b.getObject('b', 'k'))!.etag).toBe(won(out)[0]!.etag);
    expect(await versionsOf(a)).toHaveLength(3);
  });

  it('If-Match on the current ETag from 16 writers at once: one replaces it, the others see the new ETag and fail', async () => {
    const [a, b] = ctx.pair();
    await putWithBlob(a, 'b', 'k', blobOf('base', 0), 10, 'e0');
    const out = await race(ctx.pair(), 16, (meta, i) => putIf(meta, 'k', blobOf('im', i), `e${i + 1}`, { ifMatch: 'e0' }));
    expect(won(out)).toHaveLength(1);
    expect(refusals(out)).toEqual(Array(15).fill('etag-mismatch'));
    expect((await b.getObject('b', 'k'))!.etag).toBe(won(out)[0]!.etag);
    expect((await a.getBlob(blobOf('base', 0)))!.state).toBe('garbage');
    expect((await a.quotas.get('b'))!.used).toBe(10);
  });

  it('If-Match racing unconditional PUTs of the key: If-Match never answers "absent" while the key has a current version', async () => {
    const [a] = ctx.pair();
    await putWithBlob(a, 'b', 'k', blobOf('base', 0), 10, 'e0');
    const out = await race<ObjectRow>(ctx.pair(), 24, (meta, i) => (i % 2
      ? putIf(meta, 'k', blobOf('im', i), `c${i}`, { ifMatch: '*' })
      : putWithBlob(meta, 'b', 'k', blobOf('put', i), 10, `p${i}`)));
    expect(lost(out)).toEqual([]);
    expect(await versionsOf(a)).toHaveLength(1);
  });

  it('DeleteObject racing PUTs of one key, versioned: every PUT and every delete marker kept, one current, the newest', async () => {
    const [a, b] = ctx.pair();
    await a.setBucketVersioning('b', 'Enabled');
    const out = await race<unknown>(ctx.pair(), 24, (meta, i) => (i % 3 === 2 ? meta.deleteObject('b', 'k') : putWithBlob(meta, 'b', 'k', blobOf('vd', i), 10)));
    expect(lost(out)).toEqual([]);
    const versions = await versionsOf(b);
    expect(versions.filter((v) => v.deleteMarker)).toHaveLength(8);
    expect(versions.filter((v) => !v.deleteMarker)).toHaveLength(16);
    expect(versions.filter((v) => v.isLatest).map((v) => v.id)).toEqual([Math.max(...versions.map((v) => v.id))]);
    expect((await a.quotas.get('b'))!.used).toBe(160);
  });

  it('deleting versions by id, the current one included, racing PUTs: exactly one current version left, the newest', async () => {
    const [a, b] = ctx.pair();
    await a.setBucketVersioning('b', 'Enabled');
    const first: ObjectRow[] = [];
    for (let i = 0; i < 8; i++) first.push(await putWithBlob(a, 'b', 'k', blobOf('v0', i), 10));
    // Deletes of the newest versions, each of which is current when it runs or becomes so.
    const out = await race<unknown>(ctx.pair(), 16, (meta, i) => (i % 2
      ? meta.deleteVersion('b', 'k', { versionId: first[7 - (i >> 1)]!.versionId })
      : putWithBlob(meta, 'b', 'k', blobOf('v1', i), 10)));
    expect(lost(out)).toEqual([]);
    const versions = await versionsOf(b);
    expect(versions).toHaveLength(8);
    expect(versions.filter((v) => v.isLatest).map((v) => v.id)).toEqual([Math.max(...versions.map((v) => v.id))]);
    expect((await a.quotas.get('b'))!.used).toBe(80);
  });

  it('deleting the current version and the next one at once leaves the next newest current', async () => {
    const [a, b] = ctx.pair();
    await a.setBucketVersioning('b', 'Enabled');
    for (let round = 0; round < 6; round++) {
      const v: ObjectRow[] = [];
      for (let i = 0; i < 3; i++) v.push(await putWithBlob(a, 'b', `k${round}`, blobOf(`dd${round}`, i), 10));
      const out = await race(ctx.pair(), 2, (meta, i) => meta.deleteVersion('b', `k${round}`, { versionId: v[2 - i]!.versionId }));
      expect(lost(out)).toEqual([]);
      expect(await b.getLatestVersion('b', `k${round}`)).toMatchObject({ id: v[0]!.id, isLatest: true });
    }
  });

  it('16 completions of one upload and an abort at once: exactly one of them takes it, and its parts follow', async () => {
    const [a, b] = ctx.pair();
    for (let round = 0; round < 4; round++) {
      const id = `up${round}`;
      await a.createUpload(upload(id, `k${round}`));
      for (let p = 1; p <= 2; p++) {
        await writingBlob(a, blobOf(`${id}p`, p), 5);
        await a.putPart(id, part(p, 5, blobOf(`${id}p`, p)));
      }
      const parts = [1, 2].map((p) => ({ partNumber: p, blobId: blobOf(`${id}p`, p), size: 5, etag: `p${p}`, checksums: {} }));
      const out = await race<ObjectRow | boolean>(ctx.pair(), 17, (meta, i) => (i === 16 - round
        ? meta.abortUpload(id)
        : meta.commitObjectWith({ ...object('b', `k${round}`, { size: 10, etag: `m${i}` }), partsCount: 2, parts }, { recordCompletion: true }, [], Date.now(), id)));
      for (const err of lost(out)) {
        expect(err).toBeInstanceOf(MetaNotFoundError);
        expect((err as MetaNotFoundError).what).toBe('upload');
      }
      const completed = won(out).filter((x) => typeof x !== 'boolean');
      const aborted = won(out).filter((x) => x === true);
      expect(completed.length + aborted.length).toBe(1);
      expect(await b.getUpload(id)).toBeUndefined();
      const state = completed.length ? 'live' : 'garbage';
      for (let p = 1; p <= 2; p++) expect((await b.getBlob(blobOf(`${id}p`, p)))!.state).toBe(state);
      expect((await b.listObjects('b', { from: `k${round}` }, 1)).map((o) => o.key)).toEqual(completed.length ? [`k${round}`] : []);
    }
  });

  it('one part number sent 12 times at once: one send kept, every other blob garbage, none left live', async () => {
    const [a, b] = ctx.pair();
    await a.createUpload(upload('up1', 'k'));
    const out = await race(ctx.pair(), 12, async (meta, i) => {
      await writingBlob(meta, blobOf('part', i), 7);
      await meta.putPart('up1', { ...part(1, 7, blobOf('part', i)), etag: `p${i}` });
    });
    expect(lost(out)).toEqual([]);
    const kept = await b.allParts('up1');
    expect(kept).toHaveLength(1);
    for (let i = 0; i < 12; i++) {
      expect((await a.getBlob(blobOf('part', i)))!.state).toBe(blobOf('part', i) === kept[0]!.blobId ? 'live' : 'garbage');
    }
  });
}
