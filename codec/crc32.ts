import { crc32 as zlibCrc32 } from 'node:zlib';
import { loadNative, type NativeBinding } from './native.js';

/**
 * CRC-32 (zlib's) of piece records, needle headers and audit proofs: the addon's folding
 * kernels (10-20 GB/s) where it loads, node:zlib otherwise (about 0.7 GB/s here, a fifth of a
 * shard-store's CPU on large pieces). The value is the same either way, so this does not follow
 * the erasure engine's choice.
 */
let binding: NativeBinding | null | undefined;

export function crc32(data: Uint8Array, previous = 0): number {
  binding ??= loadNative();
  return binding ? binding.crc32(data, 0, data.length, previous >>> 0) >>> 0 : zlibCrc32(data, previous) >>> 0;
}
