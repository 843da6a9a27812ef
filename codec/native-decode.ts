import { segmentBuffers } from './buffer-pool.js';
import { K, N } from './erasure.js';
import { DecryptError } from './errors.js';
import { SYNC_SEGMENT_MAX } from './native-segment.js';
import { NativeError, type NativeBinding } from './native.js';
import {
  checkDecodeArgs, fewerThanK, presentCount, tooManyCorrupt, wrongLengthRecords, type DecodedSegment,
} from './segment-decode.js';

/** segmentDecode's result[0], as native/src/segment_decode.h decode_status. */
const DECODE_OK = 0;
const DECODE_TOO_FEW = 1;
const DECODE_AUTH = 2;

/**
 * The fused read path: one threadpool call per segment checks every record's CRC-32,
 * rebuilds missing data pieces and decrypts (AES-256-GCM). The records are read where they
 * are, unaligned or not: present data pieces are decrypted straight from them into the
 * output, and only missing ones are rebuilt (into the output itself, then decrypted in
 * place), so no byte is copied that the algorithm does not need to move. Same results and
 * errors as jsDecodeSegment.
 */
export async function nativeDecodeSegment(
  binding: NativeBinding, key: Buffer, index: number, plainLength: number, records: ReadonlyArray<Buffer | null>,
): Promise<DecodedSegment> {
  const pieceSize = checkDecodeArgs(key, index, plainLength, records);
  const given = presentCount(records);
  if (given < K) throw fewerThanK(index, given);
  // Checked by the addon even when these alone leave fewer than K: the caller learns every bad record at once.
  const misfits = wrongLengthRecords(records, pieceSize);
  const usable = misfits.length ? records.map((r, i) => (misfits.includes(i) ? null : r)) : [...records];
  // K whole pieces, not plainLength bytes: rebuilt pieces land in their slots before they
  // are decrypted in place. The tail past plainLength (tag and padding, < 100 bytes) is scratch.
  const out = segmentBuffers.take(K * pieceSize);
  const result = new Uint32Array(2);
  if (plainLength <= SYNC_SEGMENT_MAX) {
    // In place, as small segments are encoded: the threadpool trip costs more than the work,
    // and on a small machine the woken worker preempts the event loop.
    try {
      binding.segmentDecode(key, index, plainLength, usable, out, 0, pieceSize, result, null);
    } catch (error) {
      throw new NativeError((error as Error).message, { cause: error });
    }
  } else {
    await new Promise<void>((resolve, reject) => {
      binding.segmentDecode(key, index, plainLength, usable, out, 0, pieceSize, result,
        (error) => (error ? reject(new NativeError(error.message, { cause: error })) : resolve()));
    });
  }
  const corrupt = [...misfits];
  for (let i = 0; i < N; i++) if ((result[1]! >>> i) & 1) corrupt.push(i);
  corrupt.sort((a, b) => a - b);
  switch (result[0]) {
    case DECODE_OK: {
      // The plaintext is a view of the pooled output: giving it back gives back the whole.
      const plain = out.subarray(0, plainLength);
      segmentBuffers.alias(plain, out);
      return { plain, corrupt };
    }
    case DECODE_TOO_FEW:
      throw tooManyCorrupt(index, given, corrupt);
    case DECODE_AUTH:
      throw new DecryptError(`segment ${index} failed authentication`);
    default:
      throw new NativeError(`segmentDecode returned unknown status ${result[0]}`);
  }
}
