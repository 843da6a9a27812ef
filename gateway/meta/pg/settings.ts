import { MetaConflictError } from '../errors.js';
import { prefixUpperBound } from '../key-order.js';
import { parse, parseTags, toAccessKeyRecord, toBucket } from '../rows.js';
import type { AccessKeyRecord, BucketAccess, BucketLockConfig, BucketPageQuery, BucketRow, Tag, VersioningState } from '../types.js';
import type { Tx } from './tx.js';
import { PgUnits } from './units.js';

const ACCESS_COLUMNS: Record<keyof BucketAccess, string> = {
  acl: 'acl', policy: 'policy', cors: 'cors', publicAccessBlock: 'public_access_block', objectOwnership: 'object_ownership',
};

/**
 * Buckets, their settings, and access keys on PostgreSQL: the part of PgMetaStore whose rows
 * change rarely and one at a time. Each method is what SqliteMetaStore's method of the same
 * name does, as one unit of work; no setting is cached, so a change made through one
 * gateway applies at once on every other.
 */
export abstract class PgSettings extends PgUnits {
  // ---- buckets

  createBucket(name: string, owner: string, region: string, now = Date.now(), objectOwnership = 'BucketOwnerEnforced'): Promise<void> {
    return this.write((tx) => this.insertBucket(tx, name, owner, region, now, objectOwnership));
  }

  /** CreateBucket with x-amz-bucket-object-lock-enabled: the bucket, lock and versioning in one commit. */
  createLockedBucket(name: string, owner: string, region: string, now = Date.now(), objectOwnership = 'BucketOwnerEnforced'): Promise<void> {
    return this.write(async (tx) => {
      await this.insertBucket(tx, name, owner, region, now, objectOwnership);
      await tx.sql.run(`UPDATE buckets SET object_lock = $1, versioning = 'Enabled' WHERE name = $2`, ['{}', name]);
    });
  }

  private async insertBucket(tx: Tx, name: string, owner: string, region: string, now: number, objectOwnership: string): Promise<void> {
    // A name taken is an answer, not a race to retry: the insert does nothing (after waiting
    // for a creator that has not committed yet) and the owner is read in its place. Looped
    // because the bucket may be deleted between the two statements.
    for (;;) {
      const inserted = await tx.sql.one(`INSERT INTO buckets(name, owner, region, created_at, object_ownership) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (name) DO NOTHING RETURNING name`, [name, owner, region, now, objectOwnership]);
      if (inserted) return;
      const existing = await tx.sql.one<{ owner: string }>('SELECT owner FROM buckets WHERE name = $1', [name]);
      if (existing) throw new MetaConflictError(`bucket ${name} exists`, existing.owner);
    }
  }

  async getBucket(name: string): Promise<BucketRow | undefined> {
    const r = await this.row('SELECT name, owner, region, created_at FROM buckets WHERE name = $1', [name]);
    return r && toBucket(r);
  }

  async listBuckets(): Promise<BucketRow[]> {
    return (await this.rows('SELECT name, owner, region, created_at FROM buckets ORDER BY name COLLATE "C"')).map(toBucket);
  }

  /** One page of an owner's buckets in name order (ListBuckets), paged in the query. */
  async listBucketsPage(q: BucketPageQuery): Promise<BucketRow[]> {
    const prefix = q.prefix ?? '';
    const params: unknown[] = [q.owner, q.after ?? '', prefix, q.limit];
    let more = '';
    const prefixEnd = prefix === '' ? null : prefixUpperBound(prefix);
    if (prefixEnd !== null) more += ` AND name < $${params.push(prefixEnd)}`;
    if (q.region !== undefined) more += ` AND region = $${params.push(q.region)}`;
    const rows = await this.rows(`SELECT name, owner, region, created_at FROM buckets
      WHERE owner = $1 AND name > $2 AND name >= $3${more} ORDER BY name COLLATE "C" LIMIT $4`, params);
    return rows.map(toBucket);
  }

  // ---- versioning, Object Lock, lifecycle, tags

  async bucketVersioning(bucket: string): Promise<VersioningState> {
    const r = await this.row<{ versioning: VersioningState }>('SELECT versioning FROM buckets WHERE name = $1', [bucket]);
    return r?.versioning ?? null;
  }

  async setBucketVersioning(bucket: string, state: 'Enabled' | 'Suspended'): Promise<void> {
    await this.writeOne('UPDATE buckets SET versioning = $1 WHERE name = $2', [state, bucket]);
  }

  /** The Object Lock configuration of a lock-enabled bucket; null for any other bucket. */
  async bucketObjectLock(bucket: string): Promise<BucketLockConfig | null> {
    const r = await this.row<{ object_lock: string | null }>('SELECT object_lock FROM buckets WHERE name = $1', [bucket]);
    return r?.object_lock == null ? null : parse<BucketLockConfig>(r.object_lock);
  }

  /** Enable Object Lock on a bucket (with its default rule, if any); versioning goes on with it. */
  async setBucketObjectLock(bucket: string, config: BucketLockConfig): Promise<void> {
    await this.writeOne(`UPDATE buckets SET object_lock = $1, versioning = 'Enabled' WHERE name = $2`, [JSON.stringify(config), bucket]);
  }

  async bucketLifecycle<T>(bucket: string): Promise<T | null> {
    const r = await this.row<{ lifecycle: string | null }>('SELECT lifecycle FROM buckets WHERE name = $1', [bucket]);
    return r?.lifecycle == null ? null : parse<T>(r.lifecycle);
  }

  async setBucketLifecycle(bucket: string, rules: unknown): Promise<void> {
    await this.writeOne('UPDATE buckets SET lifecycle = $1 WHERE name = $2', [rules === null ? null : JSON.stringify(rules), bucket]);
  }

  async bucketsWithLifecycle(): Promise<string[]> {
    return (await this.rows<{ name: string }>('SELECT name FROM buckets WHERE lifecycle IS NOT NULL ORDER BY name COLLATE "C"')).map((r) => r.name);
  }

  async bucketTags(name: string): Promise<Tag[] | null> {
    const r = await this.row('SELECT tags FROM buckets WHERE name = $1', [name]);
    return parseTags(r?.tags) ?? null;
  }

  async setBucketTags(name: string, tags: Tag[] | null): Promise<boolean> {
    return await this.writeOne('UPDATE buckets SET tags = $1 WHERE name = $2', [tags === null ? null : JSON.stringify(tags), name]) > 0;
  }

  // ---- access: keys, bucket ACLs, policies, CORS

  async createAccessKey(id: string, sealedSecret: Buffer, owner: string, now = Date.now()): Promise<void> {
    await this.writeOne(`INSERT INTO access_keys(access_key_id, secret, sealed_secret, owner, created_at) VALUES ($1, '', $2, $3, $4)`,
      [id, sealedSecret, owner, now]);
  }

  async getAccessKeyRecord(id: string): Promise<AccessKeyRecord | undefined> {
    const r = await this.row('SELECT * FROM access_keys WHERE access_key_id = $1', [id]);
    return r && toAccessKeyRecord(r);
  }

  async listAccessKeys(owner?: string): Promise<AccessKeyRecord[]> {
    const rows = owner === undefined
      ? await this.rows('SELECT * FROM access_keys ORDER BY owner COLLATE "C", access_key_id COLLATE "C"')
      : await this.rows('SELECT * FROM access_keys WHERE owner = $1 ORDER BY access_key_id COLLATE "C"', [owner]);
    return rows.map(toAccessKeyRecord);
  }

  async setAccessKeyDisabled(id: string, disabled: boolean): Promise<boolean> {
    return await this.writeOne('UPDATE access_keys SET disabled = $1 WHERE access_key_id = $2', [disabled ? 1 : 0, id]) > 0;
  }

  async deleteAccessKey(id: string): Promise<boolean> {
    return await this.writeOne('DELETE FROM access_keys WHERE access_key_id = $1', [id]) > 0;
  }

  async bucketAccess(name: string): Promise<BucketAccess | undefined> {
    const r = await this.row<Record<string, string | null>>('SELECT acl, policy, cors, public_access_block, object_ownership FROM buckets WHERE name = $1', [name]);
    return r && {
      acl: r.acl ?? null, policy: r.policy ?? null, cors: r.cors ?? null, publicAccessBlock: r.public_access_block ?? null, objectOwnership: r.object_ownership ?? null,
    };
  }

  async setBucketAccess(name: string, field: keyof BucketAccess, value: string | null): Promise<boolean> {
    return await this.writeOne(`UPDATE buckets SET ${ACCESS_COLUMNS[field]} = $1 WHERE name = $2`, [value, name]) > 0;
  }
}
