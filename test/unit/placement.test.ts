import { describe, expect, it } from 'vitest';
import { M, N } from '../../codec/erasure.js';
import { choosePlacement, type PlacementNode } from '../../gateway/pipeline/placement.js';
import { assessBlob, chooseTargets, needsRepair, zoneCap, type RepairNode } from '../../gateway/repair/targets.js';

function cluster(count: number, zones: number, state = 'active'): PlacementNode[] {
  return Array.from({ length: count }, (_, i) => ({ id: `n${String(i).padStart(2, '0')}`, zone: `z${(i % zones) + 1}`, state, weight: 1 }));
}

function perZone(ids: readonly string[], nodes: readonly PlacementNode[]): Map<string, number> {
  const zoneOf = new Map(nodes.map((n) => [n.id, n.zone]));
  const out = new Map<string, number>();
  for (const id of ids) out.set(zoneOf.get(id)!, (out.get(zoneOf.get(id)!) ?? 0) + 1);
  return out;
}

describe('choosePlacement (new blobs)', () => {
  it('28 nodes in 4 zones: 16 distinct nodes, 4 per zone, never more than 6', () => {
    const nodes = cluster(28, 4);
    for (let i = 0; i < 200; i++) {
      const p = choosePlacement(nodes);
      expect(new Set(p).size).toBe(N);
      const z = perZone(p, nodes);
      expect(Math.max(...z.values())).toBeLessThanOrEqual(M);
      expect([...z.values()]).toEqual([4, 4, 4, 4]);
    }
  });

  it('3 zones of uneven size still cap each zone at 6 (6+6+4)', () => {
    const nodes = [...cluster(10, 1).map((n) => ({ ...n, zone: 'big' })), ...cluster(6, 1).map((n, i) => ({ ...n, id: `m${i}`, zone: 'mid' })),
      ...cluster(4, 1).map((n, i) => ({ ...n, id: `s${i}`, zone: 'small' }))];
    const z = perZone(choosePlacement(nodes), nodes);
    expect(Math.max(...z.values())).toBeLessThanOrEqual(M);
    expect(z.get('small')).toBe(4);
  });

  it('skips draining, offline and removed nodes while 16 active ones remain', () => {
    const nodes = cluster(20, 4);
    for (const i of [0, 1, 2, 3]) nodes[i]!.state = ['draining', 'offline', 'removed', 'draining'][i]!;
    for (let i = 0; i < 50; i++) expect(choosePlacement(nodes).some((id) => ['n00', 'n01', 'n02', 'n03'].includes(id))).toBe(false);
  });

  // A 16-store cluster with a store down must still take writes (the quorum decides),
  // so placement borrows a draining store first, then an offline one, never a removed one.
  it('fills up with draining, then offline nodes when fewer than 16 active ones remain', () => {
    const nodes = cluster(20, 4);
    for (const i of [0, 1, 2, 3, 4]) nodes[i]!.state = ['draining', 'offline', 'removed', 'offline', 'offline'][i]!;
    for (let i = 0; i < 20; i++) {
      const p = choosePlacement(nodes);
      expect(new Set(p).size).toBe(N);
      expect(p).toContain('n00');
      expect(p).not.toContain('n02');
      // 15 active + the draining one make 16: no offline node is needed.
      expect(p.filter((id) => ['n01', 'n03', 'n04'].includes(id))).toHaveLength(0);
    }
    nodes[0]!.state = 'offline';
    for (let i = 0; i < 20; i++) {
      const p = choosePlacement(nodes);
      expect(new Set(p).size).toBe(N);
      expect(p.filter((id) => ['n00', 'n01', 'n03', 'n04'].includes(id))).toHaveLength(1);
    }
    for (const n of nodes.slice(0, 5)) n.state = 'removed';
    expect(() => choosePlacement(nodes)).toThrow(/only 15 are known and not removed/);
  });

  it('with 1 or 2 zones the zone cap cannot apply', () => {
    expect(zoneCap(cluster(16, 2))).toBe(N);
    expect(zoneCap(cluster(16, 3))).toBe(M);
    expect(new Set(choosePlacement(cluster(16, 2))).size).toBe(N);
  });
});

describe('repair targets', () => {
  const nodes: RepairNode[] = cluster(28, 4);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  // Pieces 0..15 on n00..n15: 4 per zone.
  const placement = nodes.slice(0, 16).map((n) => n.id);

  it('classifies lost, draining, queued and over-cap pieces', () => {
    const states = new Map(nodes.map((n) => [n.id, { ...n }]));
    states.get('n00')!.state = 'offline';
    states.get('n01')!.state = 'draining';
    states.get('n02')!.state = 'suspect';
    const a = assessBlob(placement, states, new Set([5]), M);
    expect(a.lost).toEqual([0]);
    // Queued pieces are rebuilt, yet stay sources: they may well read.
    expect(a.queued).toEqual([5]);
    expect(a.draining).toEqual([1]);
    expect(a.excess).toEqual([]);
    expect(a.healthy).toBe(13);
    expect(needsRepair(a, 13)).toBe(true); // draining pieces always move
    const crowded = [...placement];
    for (const [i, id] of [[1, 'n16'], [2, 'n20'], [3, 'n24']] as const) crowded[i] = id; // zone z1 gets 7
    const b = assessBlob(crowded, byId, undefined, M);
    expect(b.excess).toHaveLength(1);
    expect(needsRepair(b, 14)).toBe(true);
    expect(needsRepair(assessBlob(placement, byId, undefined, M), N)).toBe(false);
  });

  it('picks nodes outside the placement, in the emptiest zone, never over the cap', () => {
    for (let round = 0; round < 100; round++) {
      const t = chooseTargets(placement, [0, 4, 8], nodes);
      const chosen = [...t.values()];
      expect(chosen.every((id) => id !== null && !placement.includes(id))).toBe(true);
      expect(new Set(chosen).size).toBe(3);
      // Pieces 0, 4, 8 were all in z1: the emptiest zone after removing them, so they go back there.
      expect(chosen.every((id) => byId.get(id!)!.zone === 'z1')).toBe(true);
    }
  });

  it('spreads a lost zone over the others up to the cap', () => {
    const lost = [0, 4, 8, 12]; // every z1 piece
    const alive = nodes.map((n) => (n.zone === 'z1' ? { ...n, state: 'offline' } : n));
    const t = chooseTargets(placement, lost, alive);
    const after = [...placement];
    for (const [piece, id] of t) after[piece] = id!;
    const z = perZone(after, nodes);
    expect(z.get('z1')).toBeUndefined();
    expect(Math.max(...z.values())).toBeLessThanOrEqual(M);
    expect(new Set(after).size).toBe(N);
  });

  it('prefers active nodes, falls back to suspect ones, and returns null when nothing fits', () => {
    const few = cluster(17, 4).map((n, i) => (i === 16 ? { ...n, state: 'suspect' } : n));
    const p = few.slice(0, 16).map((n) => n.id);
    expect(chooseTargets(p, [0], few).get(0)).toBe('n16');
    expect(chooseTargets(p, [0], few, new Set(['n16'])).get(0)).toBeNull();
  });
});
