import { randomInt } from 'node:crypto';
import { M, N } from '../../codec/erasure.js';

/** What the zone rules need to know of a node. */
export interface RepairNode {
  id: string;
  zone: string;
  state: string;
  /** Relative preference (free space × score), as for new blobs. */
  weight: number;
  /**
   * The store's status in the economy (gateway/ledger/); absent while the economy is off. A
   * `pending` store (not enough collateral) takes no rebuilt pieces unless no other store can.
   */
  ledger?: 'active' | 'pending';
}

/** States whose pieces count as healthy: the node is up and trusted enough to keep them. */
export function holdsHealthy(state: string | undefined): boolean {
  return state === 'active' || state === 'suspect';
}

/**
 * Most pieces of one blob a zone may hold. As in choosePlacement (pipeline/placement.ts):
 * with three zones or more, M, so losing a whole zone never makes a blob unreadable;
 * with fewer zones the rule cannot be met and does not apply.
 */
export function zoneCap(nodes: readonly RepairNode[]): number {
  const zones = new Set(nodes.filter((n) => holdsHealthy(n.state)).map((n) => n.zone));
  return zones.size >= 3 ? M : N;
}

/** How one blob stands: which pieces need a new home, and why. */
export interface BlobAssessment {
  /** Pieces on offline, removed or unknown nodes: none of them can be read. */
  lost: number[];
  /**
   * Pieces queued for repair (missed a write, failed a read or an audit) on nodes that are up:
   * rebuilt elsewhere, yet still tried as sources, as a piece queued for a passing reason
   * reads fine (the fetch verifies what it reads).
   */
  queued: number[];
  /** Pieces on draining nodes: readable, but they must move. */
  draining: number[];
  /** Healthy pieces over the zone cap of their zone. */
  excess: number[];
  /** N minus lost, queued and draining pieces (draining ones count as unhealthy). */
  healthy: number;
}

export function assessBlob(placement: readonly string[], nodes: ReadonlyMap<string, RepairNode>, queuedPieces: ReadonlySet<number> | undefined, cap: number): BlobAssessment {
  const lost: number[] = [];
  const queued: number[] = [];
  const draining: number[] = [];
  const byZone = new Map<string, number[]>();
  for (let i = 0; i < N; i++) {
    const node = nodes.get(placement[i] ?? '');
    if (node?.state === 'draining') draining.push(i);
    else if (!node || !holdsHealthy(node.state)) lost.push(i);
    else if (queuedPieces?.has(i)) queued.push(i);
    else {
      const list = byZone.get(node.zone) ?? [];
      list.push(i);
      byZone.set(node.zone, list);
    }
  }
  const excess: number[] = [];
  for (const list of byZone.values()) {
    if (list.length <= cap) continue;
    // Suspect holders first: if some pieces must move, move the least trusted ones.
    const ranked = [...list].sort((a, b) => suspectRank(nodes, placement[b]!) - suspectRank(nodes, placement[a]!) || b - a);
    excess.push(...ranked.slice(0, list.length - cap));
  }
  return { lost, queued, draining, excess, healthy: N - lost.length - queued.length - draining.length };
}

function suspectRank(nodes: ReadonlyMap<string, RepairNode>, id: string): number {
  return nodes.get(id)?.state === 'suspect' ? 1 : 0;
}

/** Whether the blob needs work at this threshold; draining and misplaced pieces always move. */
export function needsRepair(a: BlobAssessment, threshold: number): boolean {
  return a.healthy < threshold || a.draining.length > 0 || a.excess.length > 0;
}

/** Pieces a repair of this blob rewrites elsewhere: all that are not healthy and well placed. */
export function piecesToMove(a: BlobAssessment): number[] {
  return [...a.lost, ...a.queued, ...a.draining, ...a.excess].sort((x, y) => x - y);
}

/**
 * The pieces a repair that moves `moving` may read, best first: those staying where they are
 * (in piece order, so data pieces first), then the queued ones, which may read fine though
 * they are rebuilt. Lost pieces never; draining and misplaced ones that move, neither.
 */
export function repairSources(a: BlobAssessment, moving: readonly number[]): number[] {
  const skip = new Set([...a.lost, ...moving]);
  return [...[...Array(N).keys()].filter((i) => !skip.has(i)), ...a.queued];
}

/**
 * New nodes for the pieces `moving` of a blob placed on `placement`, under the rules of new
 * placements: one piece per node (a node holding any other piece of the blob, or an old
 * copy waiting for deletion in `exclude`, is not eligible), zones filled least-first up to
 * the cap, then weighted by free space and score. Active nodes are preferred; suspect ones
 * are used only when no active one fits. Stores the economy holds `pending` come last, as in
 * choosePlacement: only when no store with enough collateral fits. A piece with no eligible
 * node maps to null.
 */
export function chooseTargets(
  placement: readonly string[], moving: readonly number[], nodes: readonly RepairNode[], exclude: ReadonlySet<string> = new Set(),
): Map<number, string | null> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const cap = zoneCap(nodes);
  const movingSet = new Set(moving);
  const taken = new Set<string>(placement);
  for (const id of exclude) taken.add(id);
  const perZone = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    if (movingSet.has(i)) continue;
    const z = byId.get(placement[i] ?? '')?.zone;
    if (z !== undefined) perZone.set(z, (perZone.get(z) ?? 0) + 1);
  }
  const out = new Map<number, string | null>();
  for (const piece of moving) {
    const pick = pickNode(nodes, taken, perZone, cap, 'active', true) ?? pickNode(nodes, taken, perZone, cap, 'suspect', true)
      ?? pickNode(nodes, taken, perZone, cap, 'active', false) ?? pickNode(nodes, taken, perZone, cap, 'suspect', false);
    out.set(piece, pick?.id ?? null);
    if (pick) {
      taken.add(pick.id);
      perZone.set(pick.zone, (perZone.get(pick.zone) ?? 0) + 1);
    }
  }
  return out;
}

/**
 * Queued pieces that found no other node (every eligible node already holds a piece of the
 * blob: with exactly 16 stores, always) are rebuilt where they are, over their holder's missing
 * or damaged copy, as long as the holder is up. Another node would be better, and is used
 * whenever there is one; but without this, a piece that missed its write or failed a read
 * stayed missing on the smallest deployment, leaving the blob short of redundancy for good.
 * Lost pieces (their node is down) and pieces that must move (draining, over a zone's cap)
 * are never kept in place.
 */
export function keepInPlace(
  chosen: Map<number, string | null>, a: BlobAssessment, placement: readonly string[], exclude: ReadonlySet<string> = new Set(),
): void {
  const queued = new Set(a.queued);
  for (const [piece, node] of chosen) {
    const holder = placement[piece];
    if (node === null && queued.has(piece) && holder !== undefined && !exclude.has(holder)) chosen.set(piece, holder);
  }
}

function pickNode(
  nodes: readonly RepairNode[], taken: ReadonlySet<string>, perZone: ReadonlyMap<string, number>, cap: number, state: string, paid: boolean,
): RepairNode | undefined {
  const eligible = nodes.filter((n) => n.state === state && (n.ledger !== 'pending') === paid && !taken.has(n.id) && (perZone.get(n.zone) ?? 0) < cap);
  if (!eligible.length) return undefined;
  // The emptiest zone of this blob first: spread as evenly as the zones allow.
  const least = Math.min(...eligible.map((n) => perZone.get(n.zone) ?? 0));
  const pool = eligible.filter((n) => (perZone.get(n.zone) ?? 0) === least);
  const total = pool.reduce((s, n) => s + Math.max(n.weight, 1e-6), 0);
  let r = (randomInt(0, 1 << 30) / (1 << 30)) * total;
  for (const n of pool) {
    r -= Math.max(n.weight, 1e-6);
    if (r <= 0) return n;
  }
  return pool[pool.length - 1];
}
