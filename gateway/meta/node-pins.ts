import type { Statement } from 'better-sqlite3';
import type { PinBook } from '../shards/pins.js';
import type { Db } from './db.js';

/** The shard-store key pins, kept in the node registry (nodes.tls_pin, migration 12). */
/**
 * `pinOf` and `learn` stay synchronous: they run inside a TLS handshake. A backend whose reads
 * are asynchronous answers them from memory, loaded when the pins are opened and kept current.
 */
export interface NodePins extends PinBook {
  /** Pin a given key (from the operator), or forget the pin (null) so the next contact pins anew. */
  set(nodeId: string, fingerprint: string | null): Promise<void>;
  /** Read the pins again, where they are kept in memory and other gateways change them. */
  refresh?(): Promise<void>;
}

export class SqliteNodePins implements NodePins {
  private readonly s: Record<string, Statement>;

  constructor(db: Db, private readonly log: (line: string) => void = console.log) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      get: p('SELECT tls_pin FROM nodes WHERE id = ?'),
      learn: p('UPDATE nodes SET tls_pin = ? WHERE id = ? AND tls_pin IS NULL'),
      set: p('UPDATE nodes SET tls_pin = ? WHERE id = ?'),
    };
  }

  pinOf(nodeId: string): string | undefined {
    const r = this.s.get!.get(nodeId) as { tls_pin: string | null } | undefined;
    return r?.tls_pin ?? undefined;
  }

  learn(nodeId: string, fingerprint: string): void {
    if (this.s.learn!.run(fingerprint, nodeId).changes) this.log(`shard-store ${nodeId}: pinned its key ${fingerprint} (first contact)`);
  }

  /** Pin a given key (from the operator), or forget the pin (null) so the next contact pins anew. */
  async set(nodeId: string, fingerprint: string | null): Promise<void> {
    this.s.set!.run(fingerprint, nodeId);
  }
}
