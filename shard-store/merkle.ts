import { createHash } from 'node:crypto';

/**
 * The hash tree audits are answered with, shared by the shard-store (which proves) and the
 * gateway (which checks against the root it kept at write time). Leaves are the SHA-256 of
 * each piece of a shard file (one per segment, the record without its CRC trailer: exactly
 * what the encoder hashes). An inner node is SHA-256(0x01 || left || right); a node without
 * a sibling moves up unchanged. The prefix keeps an inner node from passing as a leaf.
 */
export const HASH_BYTES = 32;
const INNER = Buffer.from([1]);

function inner(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(INNER).update(left).update(right).digest();
}

/** Every level of the tree, leaves first, root last. */
function levels(leaves: readonly Buffer[]): Buffer[][] {
  const out: Buffer[][] = [leaves.slice()];
  while (out[out.length - 1]!.length > 1) {
    const cur = out[out.length - 1]!;
    const next: Buffer[] = [];
    for (let i = 0; i < cur.length; i += 2) next.push(i + 1 < cur.length ? inner(cur[i]!, cur[i + 1]!) : cur[i]!);
    out.push(next);
  }
  return out;
}

/** Root over the leaves; the SHA-256 of nothing for an empty shard file. */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  return levels(leaves).at(-1)![0]!;
}

/** Sibling hashes from leaf `index` up to the root (levels where the node has no sibling are skipped). */
export function merkleProof(leaves: readonly Buffer[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} of ${leaves.length}`);
  const proof: Buffer[] = [];
  let i = index;
  for (const level of levels(leaves).slice(0, -1)) {
    const sib = i ^ 1;
    if (sib < level.length) proof.push(level[sib]!);
    i >>= 1;
  }
  return proof;
}

/** Whether `leaf` is leaf `index` of a `count`-leaf tree with root `root`, by `proof`. */
export function verifyMerkleProof(leaf: Buffer, index: number, count: number, proof: readonly Buffer[], root: Buffer): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= count) return false;
  let h = leaf;
  let i = index;
  let width = count;
  let used = 0;
  while (width > 1) {
    const sib = i ^ 1;
    if (sib < width) {
      const p = proof[used++];
      if (!p || p.length !== HASH_BYTES) return false;
      h = i & 1 ? inner(p, h) : inner(h, p);
    }
    i >>= 1;
    width = Math.ceil(width / 2);
  }
  return used === proof.length && h.equals(root);
}
