import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

/**
 * The SSE-C parameters of an object version or of a multipart upload (migration 7): never the
 * customer's key, only what derives the key-encryption key from it and tells a wrong one.
 */
export interface StoredSseC {
  algorithm: 'AES256';
  /** HKDF salt of the key-encryption key (codec/keys.ts deriveCustomerKek). */
  salt: Buffer;
  /** codec/keys.ts customerKeyCheck(customer key, salt). */
  keyHmac: Buffer;
}

/** Reads and writes the `sse_c` columns; one instance per database (sseCStoreFor). */
export interface SseCStore {
  objectSseC(objectId: number): Promise<StoredSseC | null>;
  uploadSseC(uploadId: string): Promise<StoredSseC | null>;
  // Written with the object or upload row: ObjectWriteOptions.sse, MetaStore.createUploadWith.
}

export class SqliteSseCStore implements SseCStore {
  private readonly s: Record<'getObject' | 'setObject' | 'getUpload' | 'setUpload', Statement>;

  constructor(db: Db) {
    const p = (sql: string): Statement => db.prepare(sql);
    this.s = {
      getObject: p('SELECT sse_c FROM objects WHERE id = ?'),
      setObject: p('UPDATE objects SET sse_c = ? WHERE id = ?'),
      getUpload: p('SELECT sse_c FROM uploads WHERE id = ?'),
      setUpload: p('UPDATE uploads SET sse_c = ? WHERE id = ?'),
    };
  }

  async objectSseC(objectId: number): Promise<StoredSseC | null> {
    return decodeSseC((this.s.getObject.get(objectId) as { sse_c: unknown } | undefined)?.sse_c);
  }

  async uploadSseC(uploadId: string): Promise<StoredSseC | null> {
    return decodeSseC((this.s.getUpload.get(uploadId) as { sse_c: unknown } | undefined)?.sse_c);
  }

  /** Record an object row's SSE-C parameters, inside the transaction that inserts it (store.ts). */
  setObjectTx(objectId: number, sse: StoredSseC): void {
    this.s.setObject.run(encode(sse), objectId);
  }

  /** Record a new upload's SSE-C parameters, inside the transaction that creates it (store.ts). */
  setUploadTx(uploadId: string, sse: StoredSseC): void {
    this.s.setUpload.run(encode(sse), uploadId);
  }
}

function encode(s: StoredSseC): string {
  return JSON.stringify({ algorithm: s.algorithm, salt: s.salt.toString('base64'), keyHmac: s.keyHmac.toString('base64') });
}

/** The `sse_c` column as read: null when the version has no SSE-C. */
export function decodeSseC(v: unknown): StoredSseC | null {
  if (typeof v !== 'string') return null;
  const o = JSON.parse(v) as { algorithm: 'AES256'; salt: string; keyHmac: string };
  return { algorithm: o.algorithm, salt: Buffer.from(o.salt, 'base64'), keyHmac: Buffer.from(o.keyHmac, 'base64') };
}

const stores = new WeakMap<Db, SqliteSseCStore>();

export function sseCStoreFor(db: Db): SqliteSseCStore {
  let s = stores.get(db);
  if (!s) stores.set(db, (s = new SqliteSseCStore(db)));
  return s;
}
