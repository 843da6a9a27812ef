import { CodecArgumentError } from './errors.js';
import type { NativeBinding } from './native.js';

/**
 * CRC-32, CRC-32C and CRC-64/NVME by the addon (native/src/crc.c), each continuing a
 * previous value (0 to start) so a body streamed in chunks gives the checksum of the whole.
 * Synchronous: a request chunk of 16-64 KiB takes a few microseconds at the folding
 * kernels' 10-40 GB/s, less than a round trip through the threadpool would.
 */

const MAX_UINT64 = (1n << 64n) - 1n;

function checkBytes(data: Uint8Array): void {
  if (!(data instanceof Uint8Array)) throw new CodecArgumentError('data must be a Uint8Array');
}

function checkUint32(previous: number): void {
  if (!Number.isInteger(previous) || previous < 0 || previous > 0xffffffff) {
    throw new CodecArgumentError(`previous CRC must be a uint32, got ${previous}`);
  }
}

/** zlib's CRC-32 (as node:zlib crc32(data, previous)). */
export function nativeCrc32(binding: NativeBinding, data: Uint8Array, previous: number): number {
  checkBytes(data);
  checkUint32(previous);
  return binding.crc32(data, 0, data.length, previous);
}

/** CRC-32C (Castagnoli), as @aws-crypto/crc32c. */
export function nativeCrc32c(binding: NativeBinding, data: Uint8Array, previous: number): number {
  checkBytes(data);
  checkUint32(previous);
  return binding.crc32c(data, 0, data.length, previous);
}

/** CRC-64/NVME, as @aws-sdk/crc64-nvme (the value S3 sends big-endian in base64). */
export function nativeCrc64Nvme(binding: NativeBinding, data: Uint8Array, previous: bigint): bigint {
  checkBytes(data);
  if (typeof previous !== 'bigint' || previous < 0n || previous > MAX_UINT64) {
    throw new CodecArgumentError(`previous CRC must be a uint64 bigint, got ${String(previous)}`);
  }
  return binding.crc64nvme(data, 0, data.length, previous);
}
