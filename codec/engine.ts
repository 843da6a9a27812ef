import type { ErasureCoder } from './erasure.js';
import { RonomonCoder } from './ronomon.js';
import { JsSegmentEncoder, type SegmentEncoder } from './segment.js';

/** What the data path computes with: an erasure coder and a per-blob segment encoder. */
export interface Engine {
  /** e.g. "reference (ronomon + node:crypto)" or "native (gfni-avx512)". */
  readonly name: string;
  readonly coder: ErasureCoder;
  newSegmentEncoder(key: Buffer): SegmentEncoder;
}

export function referenceEngine(): Engine {
  const coder = new RonomonCoder();
  return {
    name: 'reference (ronomon + node:crypto)',
    coder,
    newSegmentEncoder: (key) => new JsSegmentEncoder(coder, key),
  };
}

let cached: Engine | undefined;

/** The engine the process uses. The native addon's issue replaces this choice; until then, the reference. */
export function getEngine(): Engine {
  cached ??= referenceEngine();
  return cached;
}
