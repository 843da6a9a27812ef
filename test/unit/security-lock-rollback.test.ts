/**
 * Recovery against shard-stores that roll the metadata back: they cannot forge a manifest,
 * only withhold the newest or replay an older one. chooseManifest takes the newest offered
 * and objects when too few of the stores it was written to offer it, or when some of them
 * answer without it.
 */
import { chooseManifest, type Offer } from '../../gateway/snapshot/choose.js';
import type { SnapshotManifest } from '../../gateway/snapshot/manifest.js';

const ids = Array.from({ length: 16 }, (_, i) => `ss${String(i).padStart(2, '0')}`);

function manifest(seq: number, targets: string[] | undefined = ids): SnapshotManifest {
  return {
    v: 1, seq, createdAt: 1_700_000_000_000 + seq * 3_600_000,
    blob: { id: `blob${seq}`.padEnd(32, '0'), size: 1, segmentSize: 4096, wrappedKey: '', placement: [] },
    gatewayKey: { kty: 'OKP' }, nodes: ids.map((id) => ({ id, url: `http://${id}`, zone: 'z' })),
    ...(targets && { targets }),
  };
}

const old = manifest(1);
const last = manifest(2);
/** Offers by store index: a manifest, 'none', 'bad' (does not open) or 'down'. */
function offers(pick: (i: number) => SnapshotManifest | 'none' | 'bad' | 'down'): Offer[] {
  return ids.map((store, i): Offer => {
    const p = pick(i);
    if (p === 'none') return { store, kind: 'none' };
    if (p === 'bad') return { store, kind: 'unreadable', why: 'does not open' };
    if (p === 'down') return { store, kind: 'silent', why: 'ECONNREFUSED' };
    return { store, kind: 'manifest', manifest: p };
  });
}

describe('chooseManifest', () => {
  test('every store offers the last snapshot: nothing stands against it', () => {
    const c = chooseManifest(offers(() => last))!;
    expect([c.manifest.seq, c.agreeing.length, c.quorum, c.heldBack, c.objections]).toEqual([2, 16, 9, [], []]);
  });

  test('a store that was down answers nothing and holds nothing back; a majority still suffices', () => {
    const c = chooseManifest(offers((i) => (i < 7 ? 'down' : last)))!;
    expect([c.manifest.seq, c.agreeing.length, c.objections]).toEqual([2, 9, []]);
  });

  test('stores that replay an older manifest or withhold it are named, and the newest is still the one offered', () => {
    const c = chooseManifest(offers((i) => (i < 4 ? old : i < 6 ? 'none' : i < 7 ? 'bad' : last)))!;
    expect(c.manifest.seq).toBe(2);
    expect(c.agreeing).toHaveLength(9);
    expect(c.heldBack.map((h) => [h.store, h.offered])).toEqual([
      ['ss00', expect.stringMatching(/^snapshot 1 of /)], ['ss01', expect.stringMatching(/^snapshot 1 of /)],
      ['ss02', expect.stringMatching(/^snapshot 1 of /)], ['ss03', expect.stringMatching(/^snapshot 1 of /)],
      ['ss04', 'no manifest'], ['ss05', 'no manifest'], ['ss06', expect.stringMatching(/does not open/)],
    ]);
    expect(c.objections).toEqual([expect.stringMatching(/^7 store\(s\) snapshot 2 of .* answer without it: ss00 \(snapshot 1 of/)]);
  });

  test('a minority replaying an old snapshot while the rest withhold or are kept away cannot pass it off as the last', () => {
    const withheld = chooseManifest(offers((i) => (i < 6 ? old : 'none')))!;
    expect(withheld.manifest.seq).toBe(1);
    expect(withheld.objections).toEqual([
      expect.stringMatching(/^only 6 of the 16 stores snapshot 1 of .* was written to offer it, and 9 are needed/),
      expect.stringMatching(/^10 store\(s\) /),
    ]);
    const unreachable = chooseManifest(offers((i) => (i < 6 ? old : 'down')))!;
    expect(unreachable.objections).toEqual([expect.stringMatching(/^only 6 of the 16 stores/)]);
  });

  test('only the stores a manifest was written to count, for and against it', () => {
    const few = manifest(3, ids.slice(0, 5));
    const c = chooseManifest(offers((i) => (i < 3 ? few : i < 5 ? 'down' : old)))!;
    expect([c.manifest.seq, c.expected.length, c.agreeing.length, c.quorum, c.objections]).toEqual([3, 5, 3, 3, []]);
    // A manifest from before `targets` existed counts every store it lists.
    const legacy = manifest(4, undefined);
    expect(chooseManifest(offers((i) => (i < 8 ? legacy : 'down')))!.objections).toEqual([expect.stringMatching(/^only 8 of the 16/)]);
  });

  test('no manifest offered at all', () => {
    expect(chooseManifest(offers((i) => (i % 2 ? 'none' : 'down')))).toBeUndefined();
  });
});
