import { randomInt } from 'node:crypto';
import { M, N } from '../../codec/erasure.js';

export interface PlacementNode {
  id: string;
  zone: string;
  state: string;
  /** Relative preference, e.g. free space × score; 1 when unknown. */
  weight: number;
  /**
   * The store's status in the economy (gateway/ledger/): `pending` while its stake does not
   * cover its required collateral. Absent when the economy is off.
   */
  ledger?: 'active' | 'pending';
}

export class PlacementError extends Error {
  code = 'ERR_PLACEMENT';
}

/**
 * Choose N distinct nodes for a new blob's pieces. Zones are filled round-robin so pieces
 * spread as evenly as the zones allow; with three zones or more no zone gets more than M
 * pieces, so losing a whole zone never makes a blob unreadable. Within a zone nodes are
 * drawn at random, weighted.
 *
 * Active and suspect nodes are preferred. When fewer than N of them are left (a 16-store
 * cluster with one store down), the blob still gets N distinct nodes: draining stores first
 * (up, but leaving), then offline ones. The writer skips offline ones and the write quorum
 * decides; their pieces go to repair, which also moves pieces off draining stores and back
 * under the zone limit. Removed nodes never take pieces.
 *
 * Stores the economy holds `pending` (not enough collateral) get no new pieces: they are
 * placed only to make up N when too few others are left, after the draining ones, and the
 * writer skips them as it skips offline ones (`notWritten`): the write quorum decides, as
 * with stores down, and their pieces are queued for repair.
 */
export function choosePlacement(nodes: readonly PlacementNode[]): string[] {
  const paid = (n: PlacementNode): boolean => n.ledger !== 'pending';
  const tiers = [
    nodes.filter((n) => (n.state === 'active' || n.state === 'suspect') && paid(n)),
    nodes.filter((n) => n.state === 'draining' && paid(n)),
    nodes.filter((n) => (n.state === 'active' || n.state === 'suspect' || n.state === 'draining') && !paid(n)),
    nodes.filter((n) => n.state === 'offline'),
  ];
  const candidates = tiers.reduce((s, t) => s + t.length, 0);
  if (candidates < N) throw new PlacementError(`a blob needs ${N} shard-stores, only ${candidates} are known and not removed`);
  const zoneCount = new Set(nodes.filter((n) => n.state !== 'removed').map((n) => n.zone)).size;
  const cap = zoneCount >= 3 ? M : N;
  const taken = new Map<string, number>();
  const out: string[] = [];
  for (const tier of tiers) fillRoundRobin(tier, cap, taken, out);
  // Zones too uneven for the cap: better a blob repair can re-spread than a failed write.
  if (out.length < N) for (const tier of tiers) fillRoundRobin(tier.filter((n) => !out.includes(n.id)), N, taken, out);
  // Which node gets a data piece (read on every GET) and which a parity piece is random too.
  return shuffle(out);
}

/** Nodes a new blob's writer must not send pieces to: offline, or pending in the economy. */
export function notWritten(nodes: readonly PlacementNode[]): Set<string> {
  return new Set(nodes.filter((n) => n.state === 'offline' || n.ledger === 'pending').map((n) => n.id));
}

/** Take nodes from `pool` zone by zone until `out` holds N or no zone under `cap` has any left. */
function fillRoundRobin(pool: readonly PlacementNode[], cap: number, taken: Map<string, number>, out: string[]): void {
  const zones = new Map<string, PlacementNode[]>();
  for (const n of pool) {
    const list = zones.get(n.zone) ?? [];
    list.push(n);
    zones.set(n.zone, list);
  }
  const order = shuffle([...zones.keys()]);
  let progressed = true;
  while (out.length < N && progressed) {
    progressed = false;
    for (const z of order) {
      if (out.length === N) break;
      const left = zones.get(z)!;
      if (!left.length || (taken.get(z) ?? 0) >= cap) continue;
      out.push(drawWeighted(left).id);
      taken.set(z, (taken.get(z) ?? 0) + 1);
      progressed = true;
    }
  }
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
