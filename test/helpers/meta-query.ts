import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import type { Cluster } from './cluster.js';

/**
 * Rows of one read-only statement on a cluster's metadata, whichever backend holds it: the
 * gateway's SQLite file, or its PostgreSQL database. Write `?` placeholders; on PostgreSQL
 * they become $1, $2, ... . For tests that check what is (not) stored, such as sealed secrets.
 */
export async function metaQuery<R = Record<string, unknown>>(c: Cluster, sql: string, params: unknown[] = []): Promise<R[]> {
  if (c.meta === 'sqlite') {
    const db = new Database(join(c.dir, 'gateway', 'meta.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as R[];
    } finally {
      db.close();
    }
  }
  let n = 0;
  const client = new pg.Client({ connectionString: c.meta });
  await client.connect();
  try {
    return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as R[];
  } finally {
    await client.end();
  }
}

/**
 * Ids of the blobs that hold the gateway's own metadata snapshots: on SQLite, which ships its
 * metadata to the stores; none on PostgreSQL, whose database keeps its own copies.
 */
export async function snapshotBlobIds(c: Cluster): Promise<Set<string>> {
  if (c.meta !== 'sqlite') return new Set();
  return new Set((await metaQuery<{ blob_id: string }>(c, 'SELECT blob_id FROM snapshots')).map((r) => r.blob_id));
}

/** Live blobs with their placement (sizes as numbers: PostgreSQL answers BIGINT as text). */
export async function liveBlobs(c: Cluster): Promise<Array<{ id: string; size: number; segmentSize: number; placement: string[] }>> {
  const rows = await metaQuery<{ id: string; size: unknown; segment_size: unknown; placement: string }>(c,
    `SELECT id, size, segment_size, placement FROM blobs WHERE state = 'live'`);
  return rows.map((r) => ({ id: r.id, size: Number(r.size), segmentSize: Number(r.segment_size), placement: JSON.parse(r.placement) as string[] }));
}

/** Pieces queued for repair, as `<blob>.<piece>` → reason. */
export async function queuedRepairs(c: Cluster): Promise<Map<string, string>> {
  const rows = await metaQuery<{ blob_id: string; piece: unknown; reason: string }>(c, 'SELECT blob_id, piece, reason FROM repair_queue');
  return new Map(rows.map((r) => [`${r.blob_id}.${Number(r.piece)}`, r.reason]));
}
