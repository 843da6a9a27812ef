import { randomBytes } from 'node:crypto';
import { sealSecret } from '../access/secret-box.js';
import type { AccessKeyRecord } from '../meta/types.js';
import type { AdminContext, AdminRoute } from './context.js';
import { AdminError } from './errors.js';

/**
 * Users and their access keys. A user is an owner id: it exists while it has keys, and owns
 * the buckets its keys create. The secret is shown once, when the key is created, and kept
 * only sealed with the master key (gateway/access/secret-box.ts).
 */

/** A key as listed; never its secret. */
export interface AccessKeyView {
  accessKeyId: string;
  user: string;
  status: 'active' | 'disabled';
  createdAt: string;
}

/** A key just created: the only answer that carries its secret. */
export interface NewAccessKey extends AccessKeyView {
  secretAccessKey: string;
}

export interface UserView {
  user: string;
  keys: number;
  activeKeys: number;
  buckets: number;
}

// The master key seals secrets; the admin context does not carry it, so the app attaches it
// (as the audit layer attaches itself, gateway/audit/layer.ts).
const masterKeys = new WeakMap<AdminContext, Buffer>();

export function attachMasterKey(ctx: AdminContext, masterKey: Buffer): void {
  masterKeys.set(ctx, masterKey);
}

/** User ids: what IAM allows in a user name; `root` is the root credentials' owner (access/users.ts ROOT_OWNER). */
export const USER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._@+=,-]{0,63}$/;
const KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0234567';

function newKeyId(): string {
  return 'SG' + Array.from(randomBytes(18), (b) => KEY_ID_ALPHABET[b % 32]).join('');
}

function newSecret(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'x').replace(/\//g, 'y');
}

function view(k: AccessKeyRecord): AccessKeyView {
  return { accessKeyId: k.accessKeyId, user: k.owner, status: k.disabled ? 'disabled' : 'active', createdAt: new Date(k.createdAt).toISOString() };
}

function userOf(body: unknown): string {
  const { user } = (body ?? {}) as { user?: unknown };
  if (typeof user !== 'string' || !USER_ID_RE.test(user) || user === 'root') {
    throw new AdminError(400, 'InvalidRequest', 'body must be {"user": "name"}: 1-64 letters, digits or ._@+=,- (not "root")');
  }
  return user;
}

/** Create a key for `user`; the caller prints the secret once. */
export async function createAccessKey(ctx: AdminContext, user: string): Promise<NewAccessKey> {
  const master = masterKeys.get(ctx);
  if (!master) throw new AdminError(500, 'InternalError', 'this gateway cannot seal access key secrets (no master key attached)');
  const id = newKeyId();
  const secret = newSecret();
  await ctx.meta.createAccessKey(id, sealSecret(master, id, secret), user);
  return { ...view((await ctx.meta.getAccessKeyRecord(id))!), secretAccessKey: secret };
}

async function keyOf(ctx: AdminContext, id: string | undefined): Promise<AccessKeyRecord> {
  const k = id === undefined ? undefined : await ctx.meta.getAccessKeyRecord(id);
  if (!k) throw new AdminError(404, 'NoSuchAccessKey', `no access key "${id}"; \`shardgate admin key list\` lists them`);
  return k;
}

async function keysOfUser(ctx: AdminContext, user: string | undefined): Promise<AccessKeyRecord[]> {
  const keys = user === undefined ? [] : await ctx.meta.listAccessKeys(user);
  if (!keys.length) throw new AdminError(404, 'NoSuchUser', `no user "${user}"; \`shardgate admin user list\` lists them`);
  return keys;
}

function disabledFrom(body: unknown): boolean {
  const { state } = (body ?? {}) as { state?: unknown };
  if (state !== 'active' && state !== 'disabled') throw new AdminError(400, 'InvalidRequest', 'body must be {"state": "active" | "disabled"}');
  return state === 'disabled';
}

async function users(ctx: AdminContext): Promise<UserView[]> {
  const byUser = new Map<string, UserView>();
  for (const k of await ctx.meta.listAccessKeys()) {
    const u = byUser.get(k.owner) ?? { user: k.owner, keys: 0, activeKeys: 0, buckets: 0 };
    u.keys++;
    if (!k.disabled) u.activeKeys++;
    byUser.set(k.owner, u);
  }
  for (const b of await ctx.meta.listBuckets()) {
    const u = byUser.get(b.owner);
    if (u) u.buckets++;
  }
  return [...byUser.values()];
}

export const keyRoutes: AdminRoute[] = [
  {
    method: 'GET', path: '/users', name: 'ListUsers',
    handle: async (_req, ctx) => ({ body: { users: await users(ctx) } }),
  },
  {
    // A new user with its first key.
    method: 'POST', path: '/users', name: 'CreateUser',
    handle: async (req, ctx) => {
      const user = userOf(req.body);
      if ((await ctx.meta.listAccessKeys(user)).length || (await ctx.meta.listBuckets()).some((b) => b.owner === user)) {
        throw new AdminError(409, 'UserExists', `user "${user}" exists; add a key with \`shardgate admin key create ${user}\``);
      }
      return { status: 201, body: { key: await createAccessKey(ctx, user) } };
    },
  },
  {
    method: 'POST', path: '/users/:user/state', name: 'SetUserState',
    handle: async (req, ctx) => {
      const keys = await keysOfUser(ctx, req.params.user);
      const disabled = disabledFrom(req.body);
      for (const k of keys) await ctx.meta.setAccessKeyDisabled(k.accessKeyId, disabled);
      return { body: { keys: (await ctx.meta.listAccessKeys(req.params.user)).map(view) } };
    },
  },
  {
    // Its buckets stay, owned by the same id: a user created again under that id gets them back.
    method: 'DELETE', path: '/users/:user', name: 'DeleteUser',
    handle: async (req, ctx) => {
      const keys = await keysOfUser(ctx, req.params.user);
      for (const k of keys) await ctx.meta.deleteAccessKey(k.accessKeyId);
      return { body: { deleted: keys.map((k) => k.accessKeyId) } };
    },
  },
  {
    method: 'GET', path: '/keys', name: 'ListAccessKeys',
    handle: async (req, ctx) => ({ body: { keys: (await ctx.meta.listAccessKeys(req.query.get('user') ?? undefined)).map(view) } }),
  },
  {
    method: 'POST', path: '/keys', name: 'CreateAccessKey',
    handle: async (req, ctx) => ({ status: 201, body: { key: await createAccessKey(ctx, userOf(req.body)) } }),
  },
  {
    method: 'POST', path: '/keys/:id/state', name: 'SetAccessKeyState',
    handle: async (req, ctx) => {
      const k = await keyOf(ctx, req.params.id);
      await ctx.meta.setAccessKeyDisabled(k.accessKeyId, disabledFrom(req.body));
      return { body: { key: view(await keyOf(ctx, k.accessKeyId)) } };
    },
  },
  {
    method: 'DELETE', path: '/keys/:id', name: 'DeleteAccessKey',
    handle: async (req, ctx) => {
      const k = await keyOf(ctx, req.params.id);
      await ctx.meta.deleteAccessKey(k.accessKeyId);
      return { body: { deleted: k.accessKeyId } };
    },
  },
];
