import type { NodeInfo, NodeState, NodeStore } from '../nodes.js';
import type { SqlRow } from '../rows.js';
import type { PgDb } from './db.js';

/** Pieces held are counted from the blobs' placements (JSON arrays of node ids), as on SQLite. */
export class PgNodeStore implements NodeStore {
  constructor(private readonly db: PgDb) {}

  async get(id: string): Promise<NodeInfo | undefined> {
    const r = await this.db.one('SELECT * FROM nodes WHERE id = $1', [id]);
    return r && toNode(r);
  }

  async list(): Promise<NodeInfo[]> {
    return (await this.db.query('SELECT * FROM nodes ORDER BY id')).map(toNode);
  }

  /** Register a node, offline until it answers (or move a known one to a new address, keeping its state). */
  async join(id: string, url: string, zone: string, now = Date.now()): Promise<void> {
    await this.db.writeLocked((sql) => sql.run(
      `INSERT INTO nodes(id, url, zone, added_at, state, state_since, state_reason)
        VALUES ($1, $2, $3, $4, 'offline', $4, 'joined; waiting for its first /status answer')
        ON CONFLICT (id) DO UPDATE SET url = excluded.url`,
      [id, url, zone, now],
    ));
  }

  async setState(id: string, state: NodeState, reason: string, now = Date.now()): Promise<void> {
    await this.db.writeLocked((sql) => sql.run('UPDATE nodes SET state = $1, state_since = $2, state_reason = $3 WHERE id = $4', [state, now, reason, id]));
  }

  /** What a successful /status answer told us. */
  async recordSeen(id: string, st: { zone: string; capacity: number; freeBytes: number }, now = Date.now()): Promise<void> {
    await this.db.writeLocked((sql) => sql.run(
      'UPDATE nodes SET zone = $1, capacity = $2, free_bytes = $3, last_seen = $4 WHERE id = $5',
      [st.zone, st.capacity, st.freeBytes, now, id],
    ));
  }

  async writingPiecesHeld(): Promise<Map<string, number>> {
    const rows = await this.db.query(`SELECT j.value AS node, COUNT(*) AS n
      FROM blobs b, jsonb_array_elements_text(b.placement::jsonb) AS j(value)
      WHERE b.state = 'writing' GROUP BY j.value`);
    return new Map(rows.map((r) => [String(r.node), Number(r.n)]));
  }

  /** Whether any live or in-flight blob still has a piece on the node (a drain is not over). */
  async holdsPieces(id: string): Promise<boolean> {
    const r = await this.db.one(`SELECT 1 AS one FROM blobs b WHERE b.state IN ('live', 'writing') AND b.placement::jsonb ? $1 LIMIT 1`, [id]);
    return r !== undefined;
  }
}

export function toNode(r: SqlRow): NodeInfo {
  return {
    id: String(r.id), url: String(r.url), zone: String(r.zone), capacity: r.capacity == null ? null : Number(r.capacity),
    freeBytes: r.free_bytes == null ? null : Number(r.free_bytes), state: r.state as NodeState, score: Number(r.score),
    addedAt: Number(r.added_at), lastSeen: r.last_seen == null ? null : Number(r.last_seen),
    stateSince: r.state_since == null ? null : Number(r.state_since), stateReason: (r.state_reason as string | null) ?? null,
  };
}
