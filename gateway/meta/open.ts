import type { MetaStore } from './meta-store.js';
import { SqliteMetaStore } from './store.js';

/** The metadata of a gateway: SQLite in `file` (the embedded default). */
export function openMetaStore(file: string): MetaStore {
  return new SqliteMetaStore(file);
}
