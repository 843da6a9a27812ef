import type { MetaStore } from '../../../gateway/meta/meta-store.js';
import type { NewObject, UploadPartRow, UploadRow } from '../../../gateway/meta/types.js';

/** How a case reaches the store under test: a fresh store per test, bucket `b` (owner root) in it. */
export interface MetaCaseContext {
  meta(): MetaStore;
}

/** A blob id of 32 characters, as the gateway makes them. */
export const blobId = (c: string): string => c.repeat(32).slice(0, 32);

export function object(bucket: string, key: string, over: Partial<NewObject> & { blob?: string | null } = {}): NewObject {
  const { blob = null, ...rest } = over;
  const size = rest.size ?? 1;
  return {
    bucket, key, size, etag: 'e', contentType: null, headers: {}, userMeta: {}, checksums: {}, partsCount: null,
    parts: [{ partNumber: 1, blobId: blob, size, etag: rest.etag ?? 'e', checksums: {} }], ...rest,
  };
}

export async function writingBlob(meta: MetaStore, id: string, size = 1): Promise<void> {
  await meta.insertWritingBlob({ id, size, segmentSize: 4096, wrappedKey: Buffer.alloc(61, 3), placement: Array.from({ length: 16 }, (_, i) => `n${i}`), createdAt: Date.now() - 10 });
}

export function upload(id: string, key: string, bucket = 'b', createdAt = Date.now()): UploadRow {
  return { id, bucket, key, owner: 'root', createdAt, contentType: 'text/plain', headers: { 'cache-control': 'no' }, userMeta: { m: '1' }, checksumAlgorithm: null, checksumType: null, acl: null };
}

export function part(partNumber: number, size: number, blob: string | null = null): UploadPartRow {
  return { partNumber, blobId: blob, size, etag: `p${partNumber}`, checksums: {}, lastModified: Date.now() };
}

/** What a promise rejected with, for cases that check an error's class and fields. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}
