import type { MetaStore } from './meta-store.js';
import { SqliteMetaStore } from './store.js';
import { openPgMetaStore } from './pg/open-store.js';

/**
 * The metadata of a gateway. `where` is a `postgres://` (or `postgresql://`) URL for the
 * PostgreSQL backend several gateways share, or else the path of the SQLite file (the
 * embedded default).
 */
export async function openMetaStore(where: string): Promise<MetaStore> {
  if (/^postgres(?:ql)?:\/\//i.test(where)) return openPgMetaStore(where);
  return new SqliteMetaStore(where);
}
