import { createRequire } from 'node:module';
import { ALL_MASK, DATA_MASK, K, M, PARITY_MASK, type ErasureCoder } from './erasure.js';
import { CodecArgumentError } from './errors.js';

// @ronomon/reed-solomon is CommonJS with "main": "binding.node".
const require = createRequire(import.meta.url);

interface RonomonModule {
  create(k: number, m: number): unknown;
  encode(
    context: unknown, sources: number, targets: number,
    buffer: Buffer, bufferOffset: number, bufferSize: number,
    parity: Buffer, parityOffset: number, paritySize: number,
    callback: (error: Error | undefined) => void,
  ): void;
}

/** The reference engine: `@ronomon/reed-solomon` on the libuv threadpool. */
export class RonomonCoder implements ErasureCoder {
  readonly name = 'ronomon';
  private readonly rs: RonomonModule;
  private readonly context: unknown;

  constructor() {
    this.rs = require('@ronomon/reed-solomon') as RonomonModule;
    this.context = this.rs.create(K, M);
  }

  encode(data: Buffer, parity: Buffer, pieceSize: number): Promise<void> {
    return this.reconstruct(data, parity, pieceSize, DATA_MASK, PARITY_MASK);
  }

  reconstruct(data: Buffer, parity: Buffer, pieceSize: number, sources: number, targets: number): Promise<void> {
    checkLayout(data, parity, pieceSize, sources, targets);
    return new Promise((resolve, reject) => {
      this.rs.encode(this.context, sources, targets, data, 0, K * pieceSize, parity, 0, M * pieceSize,
        (error) => (error ? reject(error) : resolve()));
    });
  }
}

export function checkLayout(data: Buffer, parity: Buffer, pieceSize: number, sources: number, targets: number): void {
  if (!Number.isInteger(pieceSize) || pieceSize <= 0 || pieceSize % 8 !== 0) {
    throw new CodecArgumentError(`pieceSize must be a positive multiple of 8, got ${pieceSize}`);
  }
  if (data.length < K * pieceSize) throw new CodecArgumentError(`data must hold ${K} pieces of ${pieceSize} bytes`);
  if (parity.length < M * pieceSize) throw new CodecArgumentError(`parity must hold ${M} pieces of ${pieceSize} bytes`);
  if ((sources & ~ALL_MASK) || (targets & ~ALL_MASK) || (sources & targets)) {
    throw new CodecArgumentError('sources and targets must be disjoint masks over 16 pieces');
  }
}
