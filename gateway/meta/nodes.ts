import type { Statement } from 'better-sqlite3';
import { withoutFsync, type Db } from './db.js';
import type { NodeRow } from './types.js';

export type NodeState = NodeRow['state'];
export const NODE_STATES: readonly NodeState[] = ['active', 'suspect', 'offline', 'draining', 'removed'];

/** A node row with why and since when it is in its state. */
export interface NodeInfo extends NodeRow {
  stateSince: number | null;
  stateReason: string | null;
}

type SqlRow = Record<string, unknown>;

function toNode(r: SqlRow): NodeInfo {
  return {
    id: String(r.id), url: String(r.url), zone: String(r.zone), capacity: r.capacity == null ? null : Number(r.capacity),
    freeBytes: r.free_bytes == null ? null : Number(r.free_bytes), state: r.state as NodeState, score: Number(r.score),
    addedAt: Number(r.added_at), lastSeen: r.last_seen == null ? null : Number(r.last_seen),
    stateSince: r.state_since == null ? null : Number(r.state_since), stateReason: (r.state_reason as string | null) ?? null,
  };
}

/**
 * The node registry's writes beyond MetaStore.upsertNode: states and what /status said.
 * Pieces held are counted from the blobs' placements (json_each), so they never drift from
 * what reads and repairs use.
 */
export interface NodeStore {
  get(id: string): Promise<NodeInfo | undefined>;
  list(): Promise<NodeInfo[]>;
  /** Register a node, offline until it answers (or move a known one to a new address, keeping its state). */
  join(id: string, url: string, zone: string, now?: number): Promise<void>;
  setState(id: string, state: NodeState, reason: string, now?: number): Promise<void>;
  /** What a successful /status answer told us. */
  recordSeen(id: string, st: {
    zone: string;
    capacity: number;
    freeBytes: number;
  }, now?: number): Promise<void>;
  /**
   * Pieces of in-flight ('writing') blobs per node: few, found through the state index. Live
   * pieces are counted by RepairWorker.assess, which yields as it scans every blob.
   */
  writingPiecesHeld(): Promise<Map<string, number>>;
  /** Whether any live or in-flight blob still has a piece on the node (a drain is not over). */
  holdsPieces(id: string): Promise<boolean>;
}

export class SqliteNodeStore implements NodeStore {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      get: p('SELECT * FROM nodes WHERE id = ?'),
      list: p('SELECT * FROM nodes ORDER BY id'),
      setState: p('UPDATE nodes SET state = ?, state_since = ?, state_reason = ? WHERE id = ?'),
      seen: p(`UPDATE nodes SET zone = @zone, capacity = @capacity, free_bytes = @freeBytes, last_seen = @now WHERE id = @id`),
      insert: p(`INSERT INTO nodes(id, url, zone, added_at, state, state_since, state_reason)
        VALUES (?, ?, ?, ?, 'offline', ?, 'joined; waiting for its first /status answer')
        ON CONFLICT(id) DO UPDATE SET url = excluded.url`),
      heldWriting: p(`SELECT j.value AS node, COUNT(*) AS n FROM blobs b, json_each(b.placement) j
        WHERE b.state = 'writing' GROUP BY j.value`),
      holds: p(`SELECT 1 FROM blobs b, json_each(b.placement) j WHERE b.state IN ('live', 'writing') AND j.value = ? LIMIT 1`),
    };
  }

  async get(id: string): Promise<NodeInfo | undefined> {
    const r = this.s.get!.get(id) as SqlRow | undefined;
    return r && toNode(r);
  }

  async list(): Promise<NodeInfo[]> {
    return (this.s.list!.all() as SqlRow[]).map(toNode);
  }

  /** Register a node, offline until it answers (or move a known one to a new address, keeping its state). */
  async join(id: string, url: string, zone: string, now = Date.now()): Promise<void> {
    this.s.insert!.run(id, url, zone, now, now);
  }

  async setState(id: string, state: NodeState, reason: string, now = Date.now()): Promise<void> {
    this.s.setState!.run(state, now, reason, id);
  }

  /** What a successful /status answer told us. */
  async recordSeen(id: string, st: { zone: string; capacity: number; freeBytes: number }, now = Date.now()): Promise<void> {
    // Every probe of every node lands here: not worth an fsync each.
    withoutFsync(this.db, () => this.s.seen!.run({ id, zone: st.zone, capacity: st.capacity, freeBytes: st.freeBytes, now }));
  }

  /**
   * Pieces of in-flight ('writing') blobs per node: few, found through the state index. Live
   * pieces are counted by RepairWorker.assess, which yields as it scans every blob.
   */
  async writingPiecesHeld(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const r of this.s.heldWriting!.all() as SqlRow[]) out.set(String(r.node), Number(r.n));
    return out;
  }

  /** Whether any live or in-flight blob still has a piece on the node (a drain is not over). */
  async holdsPieces(id: string): Promise<boolean> {
    return this.s.holds!.get(id) !== undefined;
  }
}
