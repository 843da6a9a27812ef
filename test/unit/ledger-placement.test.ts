import { describe, expect, it } from 'vitest';
import { N } from '../../codec/erasure.js';
import { choosePlacement, notWritten, type PlacementNode } from '../../gateway/pipeline/placement.js';
import { chooseTargets } from '../../gateway/repair/targets.js';

function cluster(n: number, ledger: (i: number) => PlacementNode['ledger']): PlacementNode[] {
  return Array.from({ length: n }, (_, i) => ({ id: `n${String(i).padStart(2, '0')}`, zone: `z${i % 4}`, state: 'active', weight: 1, ...(ledger(i) && { ledger: ledger(i) }) }));
}

describe('placement honours activation in the economy', () => {
  it('gives pending stores no pieces while 16 active ones remain', () => {
    const nodes = cluster(20, (i) => (i < 4 ? 'pending' : 'active'));
    for (let i = 0; i < 50; i++) expect(choosePlacement(nodes).some((id) => ['n00', 'n01', 'n02', 'n03'].includes(id))).toBe(false);
    expect([...notWritten(nodes)].sort()).toEqual(['n00', 'n01', 'n02', 'n03']);
  });

  it('with fewer than 16 active stores, places pending ones to make up 16 and the writer skips them, as offline ones', () => {
    const nodes = cluster(16, (i) => (i < 2 ? 'pending' : 'active'));
    const p = choosePlacement(nodes);
    expect(new Set(p).size).toBe(N);
    const skipped = notWritten(nodes);
    expect(p.filter((id) => skipped.has(id)).sort()).toEqual(['n00', 'n01']);
    // Draining stores that still pay their way come before pending ones.
    const mixed = cluster(17, (i) => (i === 0 ? 'pending' : 'active')).map((n, i) => (i === 1 ? { ...n, state: 'draining' } : n));
    for (let i = 0; i < 20; i++) expect(choosePlacement(mixed)).not.toContain('n00');
  });

  it('changes nothing while the economy is off', () => {
    const nodes = cluster(16, () => undefined);
    expect(new Set(choosePlacement(nodes)).size).toBe(N);
    expect(notWritten(nodes).size).toBe(0);
  });
});

describe('repair honours activation in the economy', () => {
  it('rebuilds pieces on stores with enough collateral, never on pending ones while others fit', () => {
    const nodes = cluster(24, (i) => (i >= 16 && i < 20 ? 'pending' : 'active'));
    const placement = nodes.slice(0, 16).map((n) => n.id);
    for (let round = 0; round < 50; round++) {
      const t = chooseTargets(placement, [0, 1, 2, 3], nodes);
      for (const id of t.values()) expect(['n20', 'n21', 'n22', 'n23']).toContain(id);
    }
  });

  it('uses a pending store only when no other store can take the piece, and a suspect one before it', () => {
    const nodes = cluster(18, (i) => (i === 17 ? 'pending' : 'active'));
    const placement = nodes.slice(0, 16).map((n) => n.id);
    const suspect = nodes.map((n) => (n.id === 'n16' ? { ...n, state: 'suspect' } : n));
    for (let round = 0; round < 20; round++) expect(chooseTargets(placement, [0], suspect).get(0)).toBe('n16');
    expect(chooseTargets(placement, [0], nodes, new Set(['n16'])).get(0)).toBe('n17');
  });
});
