import type { MetaStore } from '../meta/meta-store.js';
import type { NodePins } from '../meta/node-pins.js';
import type { ShardNode } from '../shards/client.js';

/** How often a gateway on a shared database reads the node registry and key pins again. */
export const REGISTRY_SYNC_MS = 5_000;

/**
 * On a database several gateways share, a shard-store joined (or re-pinned after a disk swap)
 * through one gateway must become usable on the others: the data path knows nodes by what was
 * registered with it, and the pins live in memory (they are read inside TLS handshakes). This
 * reads both again every few seconds. Returns the stop function.
 */
export function syncRegistry(meta: MetaStore, pins: NodePins, register: (node: ShardNode) => void, opts: {
  everyMs?: number; log?: (line: string) => void;
} = {}): () => void {
  const known = new Map<string, string>();
  const log = opts.log ?? ((line: string) => console.log(line));
  let running = false;
  const sync = async (): Promise<void> => {
    await pins.refresh?.();
    for (const n of await meta.listNodes()) {
      if (known.get(n.id) === n.url) continue;
      known.set(n.id, n.url);
      register({ id: n.id, url: n.url, zone: n.zone });
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sync().catch((err: unknown) => log(`node registry: cannot read it again: ${(err as Error).message}`)).finally(() => (running = false));
  }, opts.everyMs ?? REGISTRY_SYNC_MS);
  timer.unref();
  // What is registered at start is known already: the first pass only records it.
  void meta.listNodes().then((rows) => { for (const n of rows) if (!known.has(n.id)) known.set(n.id, n.url); }, () => undefined);
  return () => clearInterval(timer);
}
