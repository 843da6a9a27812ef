import type { NodePins } from '../node-pins.js';
import type { PgDb } from './db.js';

/**
 * The shard-store key pins on PostgreSQL. `pinOf` and `learn` run inside a TLS handshake and
 * stay synchronous: they answer from memory, loaded by `open` and brought up to date by
 * `refresh` (other gateways pin and reset keys too). A key learned on first contact is
 * written through; if another gateway pinned a different key first, the stored one wins.
 */
export class PgNodePins implements NodePins {
  private pins = new Map<string, string>();
  /** Learned pins not yet written: a refresh must not forget them. */
  private readonly pending = new Map<string, string>();

  private constructor(private readonly db: PgDb, private readonly log: (line: string) => void) {}

  static async open(db: PgDb, log: (line: string) => void = console.log): Promise<PgNodePins> {
    const pins = new PgNodePins(db, log);
    await pins.refresh();
    return pins;
  }

  /** Read every pin again (the gateway calls this periodically). */
  async refresh(): Promise<void> {
    const rows = await this.db.query<{ id: string; tls_pin: string }>('SELECT id, tls_pin FROM nodes WHERE tls_pin IS NOT NULL');
    const next = new Map(rows.map((r) => [r.id, r.tls_pin]));
    for (const [id, fp] of this.pending) if (!next.has(id)) next.set(id, fp);
    this.pins = next;
  }

  pinOf(nodeId: string): string | undefined {
    return this.pins.get(nodeId);
  }

  learn(nodeId: string, fingerprint: string): void {
    if (this.pins.has(nodeId)) return;
    this.pins.set(nodeId, fingerprint);
    this.pending.set(nodeId, fingerprint);
    void this.writeLearned(nodeId, fingerprint).finally(() => {
      if (this.pending.get(nodeId) === fingerprint) this.pending.delete(nodeId);
    });
  }

  /** Pin a given key (from the operator), or forget the pin (null) so the next contact pins anew. */
  async set(nodeId: string, fingerprint: string | null): Promise<void> {
    const changed = await this.db.writeLocked((sql) => sql.run('UPDATE nodes SET tls_pin = $1 WHERE id = $2', [fingerprint, nodeId]));
    if (!changed) return;
    this.pending.delete(nodeId);
    if (fingerprint === null) this.pins.delete(nodeId);
    else this.pins.set(nodeId, fingerprint);
  }

  private async writeLearned(nodeId: string, fingerprint: string): Promise<void> {
    try {
      const r = await this.db.writeLocked(async (sql) => {
        const changed = await sql.run('UPDATE nodes SET tls_pin = $1 WHERE id = $2 AND tls_pin IS NULL', [fingerprint, nodeId]);
        if (changed) return { pinned: true as const };
        const row = await sql.one<{ tls_pin: string | null }>('SELECT tls_pin FROM nodes WHERE id = $1', [nodeId]);
        return { pinned: false as const, stored: row ? row.tls_pin : undefined };
      });
      if (r.pinned) {
        this.log(`shard-store ${nodeId}: pinned its key ${fingerprint} (first contact)`);
      } else if (r.stored === undefined) {
        // Not a registered node: nothing is pinned for it, as on SQLite.
        if (this.pins.get(nodeId) === fingerprint) this.pins.delete(nodeId);
      } else if (r.stored !== null && r.stored !== fingerprint) {
        this.pins.set(nodeId, r.stored);
        this.log(`shard-store ${nodeId}: presented key ${fingerprint}, but another gateway pinned ${r.stored} first; ` +
          'only the pinned key is accepted (join the node again to pin a new key)');
      }
    } catch (err) {
      // Kept in memory for now; the next refresh forgets it and the next contact tries again.
      this.log(`shard-store ${nodeId}: could not record its key pin: ${(err as Error).message}`);
    }
  }
}
