import type { SnapshotManifest } from './manifest.js';

/**
 * Which snapshot manifest recovery may trust, from what each shard-store offered.
 *
 * Stores are untrusted. They cannot forge a manifest (it is sealed under a key derived from
 * the master key), but they can withhold the newest one, or replay an older one they kept,
 * to roll the metadata back: revoked keys and replaced policies alive again. So:
 * - the newest manifest offered is the candidate: no store can make up a newer one;
 * - it must be offered by a majority of the stores it was written to (`targets`), so that a
 *   minority of lying stores cannot pass an old snapshot off as the last one while the
 *   others are kept out of reach: a newer snapshot would have reached a majority too
 *   (the snapshotter insists), and the two majorities share a store;
 * - every store it was written to that answers must offer it: one that offers an older
 *   manifest, none, or one that does not open is holding it back (or lost it, which looks
 *   the same from here).
 * Either objection stops recovery unless the operator forces it, knowing which stores held
 * back what.
 */

/** What one store offered when asked for the manifest. */
export type Offer =
  | { store: string; kind: 'manifest'; manifest: SnapshotManifest }
  | { store: string; kind: 'none' }
  | { store: string; kind: 'unreadable'; why: string }
  | { store: string; kind: 'silent'; why: string };

export interface ManifestChoice {
  manifest: SnapshotManifest;
  /** The stores the manifest was written to (its `targets`; its `nodes` for manifests older than that field). */
  expected: string[];
  /** Those of them that offer it. */
  agreeing: string[];
  /** Offers from more than half of `expected` are needed. */
  quorum: number;
  /** Stores of `expected` that answer without it, with what they offered instead. */
  heldBack: Array<{ store: string; offered: string }>;
  /** Why recovery should not go on without --force; empty when nothing is wrong. */
  objections: string[];
}

/** A manifest's identity: two stores offering the same snapshot offer the same seq, time and blob. */
const identity = (m: SnapshotManifest): string => `${m.seq}/${m.createdAt}/${m.blob.id}`;

export const describeManifest = (m: SnapshotManifest): string => `snapshot ${m.seq} of ${new Date(m.createdAt).toISOString()}`;

export function describeOffer(o: Offer): string {
  switch (o.kind) {
    case 'manifest': return describeManifest(o.manifest);
    case 'none': return 'no manifest';
    case 'unreadable': return `a manifest that does not open (${o.why})`;
    case 'silent': return `no answer (${o.why})`;
  }
}

/** The newest manifest offered and what stands against restoring it; undefined when no store offers one. */
export function chooseManifest(offers: readonly Offer[]): ManifestChoice | undefined {
  let newest: SnapshotManifest | undefined;
  for (const o of offers) {
    if (o.kind !== 'manifest') continue;
    const m = o.manifest;
    if (!newest || m.createdAt > newest.createdAt || (m.createdAt === newest.createdAt && m.seq > newest.seq)) newest = m;
  }
  if (!newest) return undefined;
  const id = identity(newest);
  const expected = [...new Set(newest.targets ?? newest.nodes.map((n) => n.id))];
  const inExpected = new Set(expected);
  const agreeing: string[] = [];
  const heldBack: ManifestChoice['heldBack'] = [];
  for (const o of offers) {
    if (!inExpected.has(o.store) || o.kind === 'silent') continue;
    if (o.kind === 'manifest' && identity(o.manifest) === id) agreeing.push(o.store);
    else heldBack.push({ store: o.store, offered: describeOffer(o) });
  }
  const quorum = Math.floor(expected.length / 2) + 1;
  const objections: string[] = [];
  if (agreeing.length < quorum) {
    objections.push(`only ${agreeing.length} of the ${expected.length} stores ${describeManifest(newest)} was written to offer it, ` +
      `and ${quorum} are needed to be sure no newer snapshot is withheld`);
  }
  if (heldBack.length) {
    objections.push(`${heldBack.length} store(s) ${describeManifest(newest)} was written to answer without it: ` +
      `${heldBack.map((h) => `${h.store} (${h.offered})`).join(', ')}; a store that withholds the newest snapshot looks like this, ` +
      'as does one that missed it or lost its disk');
  }
  return { manifest: newest, expected, agreeing, quorum, heldBack, objections };
}
