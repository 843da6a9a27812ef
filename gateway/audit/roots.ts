import { createHash } from 'node:crypto';
import type { Engine } from '../../codec/engine.js';
import { N, pieceView } from '../../codec/erasure.js';
import { loadNative, NativeCoder } from '../../codec/native.js';
import { NativeSegmentEncoder } from '../../codec/native-segment.js';
import type { EncodedSegment, SegmentEncoder } from '../../codec/segment.js';
import { merkleRoot } from '../../shard-store/merkle.js';

/**
 * A segment encoder that also yields each piece's SHA-256 (the audit leaves). The native
 * engine computes them in its fused pass; with the reference engine they are computed
 * here, on the event loop. (Engine.newSegmentEncoder takes no options yet: when it does,
 * this helper shrinks to one call.)
 */
export function auditedSegmentEncoder(engine: Engine, key: Buffer, opts: { deferMd5?: boolean } = {}): SegmentEncoder {
  if (engine.coder instanceof NativeCoder) {
    const binding = loadNative();
    if (binding) return new NativeSegmentEncoder(binding, key, { hashes: true, ...opts });
  }
  const inner = engine.newSegmentEncoder(key);
  return {
    async encode(plaintext: Buffer, index: number): Promise<EncodedSegment> {
      const seg = await inner.encode(plaintext, index);
      seg.hashes ??= Array.from({ length: N }, (_, i) => createHash('sha256').update(pieceView(seg.data, seg.parity, seg.pieceSize, i)).digest());
      return seg;
    },
    md5: () => inner.md5(),
  };
}

/** Collects the leaves of a blob's 16 shard files, segment by segment, in order. */
export class RootCollector {
  private readonly leaves: Buffer[][] = Array.from({ length: N }, () => []);

  add(seg: EncodedSegment): void {
    if (!seg.hashes) throw new Error('segment encoded without piece hashes');
    // Copied: the native encoder's hashes are views into a buffer of its own.
    for (let i = 0; i < N; i++) this.leaves[i]!.push(Buffer.from(seg.hashes[i]!));
  }

  /** The 16 hash-tree roots, piece order. */
  roots(): Buffer[] {
    return this.leaves.map((l) => merkleRoot(l));
  }
}
