import type { SseCStore, StoredSseC } from '../sse-c.js';
import type { PgDb, Sql } from './db.js';

/**
 * SSE-C parameters of versions and uploads on PostgreSQL. They are written with the object or
 * upload row, in its unit of work: `setObjectSseC` / `setUploadSseC`, called by the store.
 */
export class PgSseCStore implements SseCStore {
  constructor(private readonly db: PgDb) {}

  async objectSseC(objectId: number): Promise<StoredSseC | null> {
    return decodeSseC((await this.db.one('SELECT sse_c FROM objects WHERE id = $1', [objectId]))?.sse_c);
  }

  async uploadSseC(uploadId: string): Promise<StoredSseC | null> {
    return decodeSseC((await this.db.one('SELECT sse_c FROM uploads WHERE id = $1', [uploadId]))?.sse_c);
  }
}

/** Inside the unit of work that inserted the object row. */
export async function setObjectSseC(sql: Sql, objectId: number, sse: StoredSseC): Promise<void> {
  await sql.run('UPDATE objects SET sse_c = $1 WHERE id = $2', [encodeSseC(sse), objectId]);
}

/** Inside the unit of work that inserted the upload row. */
export async function setUploadSseC(sql: Sql, uploadId: string, sse: StoredSseC): Promise<void> {
  await sql.run('UPDATE uploads SET sse_c = $1 WHERE id = $2', [encodeSseC(sse), uploadId]);
}

/** The `sse_c` column's JSON, as the SQLite store writes it. */
export function encodeSseC(s: StoredSseC): string {
  return JSON.stringify({ algorithm: s.algorithm, salt: s.salt.toString('base64'), keyHmac: s.keyHmac.toString('base64') });
}

export function decodeSseC(v: unknown): StoredSseC | null {
  if (typeof v !== 'string') return null;
  const o = JSON.parse(v) as { algorithm: 'AES256'; salt: string; keyHmac: string };
  return { algorithm: o.algorithm, salt: Buffer.from(o.salt, 'base64'), keyHmac: Buffer.from(o.keyHmac, 'base64') };
}
