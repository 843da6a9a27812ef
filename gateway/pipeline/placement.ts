import { randomInt } from 'node:crypto';
import { M, N } from '../../codec/erasure.js';

export interface PlacementNode {
  id: string;
  zone: string;
  state: string;
  /** Relative preference, e.g. free space × score; 1 when unknown. */
  weight: number;
}

export class PlacementError extends Error {
  code = 'ERR_PLACEMENT';
}

/**
 * Choose N distinct nodes for a new blob's pieces. Zones are filled round-robin so pieces
 * spread as evenly as the zones allow; with three zones or more no zone gets more than M
 * pieces, so losing a whole zone never makes a blob unreadable. Within a zone nodes are
 * drawn at random, weighted. Draining and removed nodes take no new pieces.
 */
export function choosePlacement(nodes: readonly PlacementNode[]): string[] {
  const usable = nodes.filter((n) => n.state === 'active' || n.state === 'suspect');
  if (usable.length < N) {
    throw new PlacementError(`a blob needs ${N} shard-stores, only ${usable.length} can take pieces`);
  }
  const zones = new Map<string, PlacementNode[]>();
  for (const n of usable) {
    const list = zones.get(n.zone) ?? [];
    list.push(n);
    zones.set(n.zone, list);
  }
  const cap = zones.size >= 3 ? M : N;
  const order = shuffle([...zones.keys()]);
  const taken = new Map<string, number>();
  const out: string[] = [];
  while (out.length < N) {
    let progressed = false;
    for (const z of order) {
      if (out.length === N) break;
      const pool = zones.get(z)!;
      if (!pool.length || (taken.get(z) ?? 0) >= cap) continue;
      out.push(drawWeighted(pool).id);
      taken.set(z, (taken.get(z) ?? 0) + 1);
      progressed = true;
    }
    if (!progressed) throw new PlacementError(`zones cannot hold ${N} pieces with at most ${cap} per zone`);
  }
  // Which node gets a data piece (read on every GET) and which a parity piece is random too.
  return shuffle(out);
}

function drawWeighted(pool: PlacementNode[]): PlacementNode {
  const total = pool.reduce((s, n) => s + Math.max(n.weight, 1e-6), 0);
  let r = (randomInt(0, 1 << 30) / (1 << 30)) * total;
  let idx = pool.length - 1;
  for (let i = 0; i < pool.length; i++) {
    r -= Math.max(pool[i]!.weight, 1e-6);
    if (r <= 0) { idx = i; break; }
  }
  return pool.splice(idx, 1)[0]!;
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
