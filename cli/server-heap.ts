import { setFlagsFromString } from 'node:v8';

/**
 * Tune V8's heap for a server that streams Buffers: called first by the commands that run
 * servers (dev, gateway, shard-store), before anything is allocated.
 *
 * V8 counts the memory of every new Buffer (request chunks, pieces) against the old
 * generation's limit, and sizes that limit from the live JS heap with a growing factor it
 * picks from its own GC statistics, often ~1.3 on these processes. The gateway's live heap
 * is ~20 MB, so a few MiB of buffers started a full mark-compact: a 64 MiB PUT ran ~5 of
 * them (with the segment pool; ~17 without) and GC took a third of the gateway's main
 * thread. Pinning the factor at 2 leaves room for the live heap again before the next
 * collection. 4 (the top of V8's own range) took 0-1 per 64 MiB PUT but let a 768 MiB
 * streaming PUT+GET grow the gateway by up to +348 MiB on a loaded CI machine (+191 with
 * V8's default, +212 at 2, measured beside two busy cores). Set at run time, so `npm start`
 * and any way of launching the binary get it; SHARDGATE_V8_FLAGS replaces it (empty: V8's
 * default).
 */
export function tuneServerHeap(env: NodeJS.ProcessEnv): void {
  const flags = env.SHARDGATE_V8_FLAGS ?? '--heap-growing-percent=100';
  if (flags.trim()) setFlagsFromString(flags);
}
