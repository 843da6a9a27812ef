/**
 * What a shard-store keeps on its disk, seen from outside the store process, as a test
 * (or an operator with a hex editor) would: shards read, rotted or replaced in the volume
 * files and the index beside them (shard-store/volume/), and in the one-file-per-shard
 * layout of older releases.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ShardStore, keyOf } from '../../shard-store/pieces.js';
import { NEEDLE_HEADER_BYTES } from '../../shard-store/volume/needle.js';

interface NeedleRow {
  seg: number;
  vol: number;
  off: number;
  len: number;
}

function volumePath(dataDir: string, vol: number): string {
  return join(dataDir, 'volumes', `v${String(vol).padStart(6, '0')}.dat`);
}

/**
 * A running store commits its index in windows of up to 100 ms (volume-index.ts), so rows for
 * the newest appends may not be visible from outside yet. Appends and tombstones reach the
 * volume files first: when one was written in the last 200 ms, wait until the window that
 * follows it has been committed.
 */
function settleIndex(dataDir: string): void {
  const dir = join(dataDir, 'volumes');
  if (!existsSync(dir)) return;
  let newest = 0;
  for (const f of readdirSync(dir)) if (f.endsWith('.dat')) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  const wait = newest + 200 - Date.now();
  if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
}

/** The needles of a shard, by segment, from the store's index (readable while the store runs). */
function needles(dataDir: string, shardId: string): NeedleRow[] {
  const file = join(dataDir, 'volumes', 'index.db');
  if (!existsSync(file)) return [];
  settleIndex(dataDir);
  const db = new Database(file, { fileMustExist: true });
  try {
    const k = keyOf(shardId);
    return db.prepare('SELECT seg, vol, off, len FROM needles WHERE blob = ? AND piece = ? ORDER BY seg').all(k.blob, k.piece) as NeedleRow[];
  } finally {
    db.close();
  }
}

/** Shard files of the layout before volumes, by shard id. */
function legacyFiles(dataDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of existsSync(dataDir) ? readdirSync(dataDir) : []) {
    if (!/^[0-9a-f]{2}$/.test(a)) continue;
    for (const b of readdirSync(join(dataDir, a))) for (const f of readdirSync(join(dataDir, a, b))) if (/^[0-9a-f]{32}\.\d+$/.test(f)) out.set(f, join(dataDir, a, b, f));
  }
  return out;
}

/** Every shard id the store's data folder holds. */
export function shardsOnDisk(dataDir: string): string[] {
  const out = new Set(legacyFiles(dataDir).keys());
  const file = join(dataDir, 'volumes', 'index.db');
  if (existsSync(file)) {
    settleIndex(dataDir);
    const db = new Database(file, { fileMustExist: true });
    try {
      for (const r of db.prepare('SELECT DISTINCT blob, piece FROM needles').all() as Array<{ blob: Buffer; piece: number }>) out.add(`${r.blob.toString('hex')}.${r.piece}`);
    } finally {
      db.close();
    }
  }
  return [...out];
}

/** A shard's bytes (its records end to end) as they lie on the disk, or null. */
export function readShardOnDisk(dataDir: string, shardId: string): Buffer | null {
  const rows = needles(dataDir, shardId);
  if (!rows.length) {
    const legacy = legacyFiles(dataDir).get(shardId);
    return legacy ? readFileSync(legacy) : null;
  }
  return Buffer.concat(rows.map((r) => {
    const buf = Buffer.alloc(r.len);
    const fd = openSync(volumePath(dataDir, r.vol), 'r');
    try {
      readSync(fd, buf, 0, r.len, r.off + NEEDLE_HEADER_BYTES);
    } finally {
      closeSync(fd);
    }
    return buf;
  }));
}

/** Flip the byte at `at` of a shard (its records end to end) where it lies on the disk: bitrot. False when not held. */
export function rotShardOnDisk(dataDir: string, shardId: string, at: number): boolean {
  const rows = needles(dataDir, shardId);
  let file: string;
  let pos: number;
  if (rows.length) {
    let start = 0;
    const r = rows.find((x) => {
      if (at < start + x.len) return true;
      start += x.len;
      return false;
    });
    if (!r) return false;
    file = volumePath(dataDir, r.vol);
    pos = r.off + NEEDLE_HEADER_BYTES + (at - start);
  } else {
    const legacy = legacyFiles(dataDir).get(shardId);
    if (!legacy) return false;
    file = legacy;
    pos = at;
  }
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, pos);
    b[0]! ^= 0xff;
    writeSync(fd, b, 0, 1, pos);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Make a stopped store hold `bytes` as a shard (one record), or nothing under that id: what
 * a store that replays an old copy or withholds one serves once it is started again.
 */
export async function replaceShardOffline(dataDir: string, shardId: string, bytes: Buffer | null): Promise<void> {
  const store = await ShardStore.open({ dir: dataDir, compaction: { intervalMs: 3_600_000 } });
  try {
    await store.delete(shardId);
    if (bytes) await store.appendRecord(shardId, 0, [bytes]);
    await store.sync();
  } finally {
    await store.close();
  }
}
