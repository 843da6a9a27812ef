import { expect, it } from 'vitest';
import { MetaConflictError } from '../../../gateway/meta/errors.js';
import { rejection, type MetaCaseContext } from './fixtures.js';

/** Buckets' settings, access keys and the node registry: rows that change rarely. */
export function settingsCases(ctx: MetaCaseContext): void {
  it('refuses a second bucket of the same name, naming its owner', async () => {
    const err = await rejection(ctx.meta().createBucket('b', 'alice', 'us-east-1'));
    expect(err).toBeInstanceOf(MetaConflictError);
    expect((err as MetaConflictError).owner).toBe('root');
  });

  it('keeps access keys sealed, by owner, and disables or deletes them', async () => {
    const meta = ctx.meta();
    await meta.createAccessKey('AK2', Buffer.from('sealed-2'), 'bob', 2);
    await meta.createAccessKey('AK1', Buffer.from('sealed-1'), 'alice', 1);
    await meta.createAccessKey('AK0', Buffer.from('sealed-0'), 'bob', 3);
    expect(await meta.getAccessKeyRecord('AK1')).toEqual({
      accessKeyId: 'AK1', secret: '', owner: 'alice', createdAt: 1, disabled: false, sealedSecret: Buffer.from('sealed-1'),
    });
    expect((await meta.listAccessKeys()).map((k) => k.accessKeyId)).toEqual(['AK1', 'AK0', 'AK2']);
    expect((await meta.listAccessKeys('bob')).map((k) => k.accessKeyId)).toEqual(['AK0', 'AK2']);
    expect(await meta.setAccessKeyDisabled('AK1', true)).toBe(true);
    expect((await meta.getAccessKeyRecord('AK1'))!.disabled).toBe(true);
    expect(await meta.setAccessKeyDisabled('nope', true)).toBe(false);
    expect(await meta.deleteAccessKey('AK1')).toBe(true);
    expect(await meta.deleteAccessKey('AK1')).toBe(false);
    expect(await meta.getAccessKeyRecord('AK1')).toBeUndefined();
  });

  it('keeps a bucket\'s access settings and lifecycle rules, each on its own', async () => {
    const meta = ctx.meta();
    expect(await meta.bucketAccess('b')).toEqual({ acl: null, policy: null, cors: null, publicAccessBlock: null, objectOwnership: 'BucketOwnerEnforced' });
    expect(await meta.setBucketAccess('b', 'policy', '{"Statement":[]}')).toBe(true);
    expect(await meta.setBucketAccess('b', 'publicAccessBlock', '{}')).toBe(true);
    expect(await meta.setBucketAccess('b', 'objectOwnership', null)).toBe(true);
    expect(await meta.setBucketAccess('nope', 'acl', 'private')).toBe(false);
    expect(await meta.bucketAccess('b')).toEqual({ acl: null, policy: '{"Statement":[]}', cors: null, publicAccessBlock: '{}', objectOwnership: null });
    expect(await meta.bucketAccess('nope')).toBeUndefined();
    await meta.createBucket('w', 'root', 'us-east-1', 5, 'ObjectWriter');
    expect((await meta.bucketAccess('w'))!.objectOwnership).toBe('ObjectWriter');
    expect(await meta.bucketLifecycle('b')).toBeNull();
    await meta.setBucketLifecycle('w', [{ id: 'r1' }]);
    expect(await meta.bucketLifecycle('w')).toEqual([{ id: 'r1' }]);
    expect(await meta.bucketsWithLifecycle()).toEqual(['w']);
    await meta.setBucketLifecycle('w', null);
    expect(await meta.bucketsWithLifecycle()).toEqual([]);
    await meta.setBucketObjectLock('b', { rule: { mode: 'GOVERNANCE', days: 1 } });
    expect(await meta.bucketObjectLock('b')).toEqual({ rule: { mode: 'GOVERNANCE', days: 1 } });
    expect(await meta.bucketVersioning('b')).toBe('Enabled');
  });

  it('registers nodes, and a write through the store shows in the next listing at once', async () => {
    const meta = ctx.meta();
    await meta.upsertNode({ id: 'n2', url: 'https://n2', zone: 'z1', capacity: 100, freeBytes: 50 }, 10);
    await meta.upsertNode({ id: 'n1', url: 'https://n1', zone: 'z2' }, 11);
    expect(await meta.listNodes()).toEqual([
      { id: 'n1', url: 'https://n1', zone: 'z2', capacity: null, freeBytes: null, state: 'active', score: 1, addedAt: 11, lastSeen: 11 },
      { id: 'n2', url: 'https://n2', zone: 'z1', capacity: 100, freeBytes: 50, state: 'active', score: 1, addedAt: 10, lastSeen: 10 },
    ]);
    // Capacity and free space stay when a later registration does not know them.
    await meta.upsertNode({ id: 'n2', url: 'https://n2b', zone: 'z1' }, 12);
    expect((await meta.listNodes())[1]).toMatchObject({ url: 'https://n2b', capacity: 100, freeBytes: 50, lastSeen: 12 });
    await meta.nodes.setState('n1', 'draining', 'operator');
    expect((await meta.listNodes())[0]!.state).toBe('draining');
    await meta.audit.setScore('n1', 0.5);
    expect((await meta.listNodes())[0]!.score).toBe(0.5);
    // What the caller does with the rows does not change the next answer.
    (await meta.listNodes())[0]!.state = 'removed';
    expect((await meta.listNodes())[0]!.state).toBe('draining');
  });
}
