import { unwrapKey } from '../../codec/keys.js';

/** Data keys kept, per master key: about 100 bytes each. */
const KEPT = 4096;
const kept = new WeakMap<Buffer, Map<string, Buffer>>();

/**
 * unwrapKey for reads, remembering the keys of blobs read lately: a small GET spent 2% of
 * the gateway's CPU making an AES-GCM decipher to unwrap its blob's key again. Keyed by the
 * wrapped bytes under the master key that opened them, so an answer is exactly what
 * unwrapKey would give; nothing the process holds is exposed by it that the master key
 * beside it does not already open. Oldest first out.
 */
export function unwrapRecent(master: Buffer, wrapped: Buffer): Buffer {
  let keys = kept.get(master);
  if (!keys) kept.set(master, (keys = new Map<string, Buffer>()));
  const id = wrapped.toString('latin1');
  const hit = keys.get(id);
  if (hit) return hit;
  const key = unwrapKey(master, wrapped);
  if (keys.size >= KEPT) keys.delete(keys.keys().next().value!);
  keys.set(id, key);
  return key;
}
