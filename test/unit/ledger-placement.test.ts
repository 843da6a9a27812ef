import { describe, expect, it } from 'vitest';
import { N } from '../../codec/erasure.js';
import { choosePlacement, notWritten, type PlacementNode } from '../../gateway/pipeline/placement.js';

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
