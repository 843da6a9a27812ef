import type { MissedPiece } from '../types.js';
import type { Sql } from './db.js';

/** Blob and repair-queue statements that several writes share (objects.ts, uploads.ts). */

/** Blobs that a committed object or part now refers to: live, with their final size. */
export async function setBlobsLive(sql: Sql, parts: ReadonlyArray<{ blobId: string | null; size: number }>): Promise<void> {
  const withBlob = parts.filter((p) => p.blobId !== null);
  if (withBlob.length === 0) return;
  await sql.run(`UPDATE blobs SET state = 'live', size = u.size FROM unnest($1::text[], $2::bigint[]) AS u(id, size) WHERE blobs.id = u.id`,
    [withBlob.map((p) => p.blobId), withBlob.map((p) => p.size)]);
}

/** Pieces that missed their write, for the repair worker; a piece already queued stays as it was. */
export async function queueRepairTx(sql: Sql, missed: readonly MissedPiece[], now: number): Promise<void> {
  if (missed.length === 0) return;
  await sql.run(`INSERT INTO repair_queue(blob_id, piece, reason, enqueued_at)
    SELECT m.blob, m.piece, m.reason, $4 FROM unnest($1::text[], $2::int[], $3::text[]) AS m(blob, piece, reason) ON CONFLICT DO NOTHING`,
  [missed.map((m) => m.blobId), missed.map((m) => m.piece), missed.map((m) => m.reason), now]);
}

