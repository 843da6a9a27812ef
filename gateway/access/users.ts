import type { MetaStore } from '../meta/store.js';

/** The owner id of the root user's buckets; stable when the root key is rotated. */
export const ROOT_OWNER = 'root';
/** The owner recorded for what an unsigned request creates (never a valid user id). */
export const ANONYMOUS_OWNER = '*anonymous*';

/**
 * Whether a user id names a user of this gateway, as a grant's CanonicalUser ID must: the root
 * user, or a user with at least one access key (gateway/admin/keys.ts: a user exists while it
 * has keys).
 */
export async function userExists(meta: MetaStore, id: string): Promise<boolean> {
  return id === ROOT_OWNER || (await meta.listAccessKeys(id)).length > 0;
}
