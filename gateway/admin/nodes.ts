import { isFingerprint } from '../../wire/identity.js';
import type { NodeInfo, NodeState } from '../meta/nodes.js';
import type { AdminContext, AdminRoute } from './context.js';
import { AdminError } from './errors.js';

/** A node as `GET /nodes` shows it. */
export interface NodeView {
  id: string;
  url: string;
  zone: string;
  state: NodeState;
  stateSince: string | null;
  stateReason: string | null;
  score: number;
  capacityBytes: number | null;
  freeBytes: number | null;
  lastSeen: string | null;
  /** Pieces of live and in-flight blobs placed on the node. */
  piecesHeld: number;
  /** Status probes failed in a row (0 when it answers). */
  failedProbes: number;
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

export function nodeView(n: NodeInfo, held: ReadonlyMap<string, number>, ctx: AdminContext): NodeView {
  return {
    id: n.id, url: n.url, zone: n.zone, state: n.state, stateSince: iso(n.stateSince), stateReason: n.stateReason, score: n.score,
    capacityBytes: n.capacity, freeBytes: n.freeBytes, lastSeen: iso(n.lastSeen), piecesHeld: held.get(n.id) ?? 0,
    failedProbes: ctx.monitor.consecutiveFailures(n.id),
  };
}

async function nodeOf(ctx: AdminContext, id: string | undefined): Promise<NodeInfo> {
  const n = id === undefined ? undefined : await ctx.nodes.get(id);
  if (!n) throw new AdminError(404, 'NoSuchNode', `no shard-store "${id}"; \`shardgate admin nodes\` lists them`);
  return n;
}

/** States an operator may ask for; offline and suspect are what the gateway observes. */
const SETTABLE = new Set<string>(['active', 'draining', 'removed']);

async function changeState(ctx: AdminContext, n: NodeInfo, to: string, held: ReadonlyMap<string, number>): Promise<string> {
  if (!SETTABLE.has(to)) {
    throw new AdminError(400, 'InvalidRequest', `state must be one of active, draining, removed (offline and suspect are set by the gateway), got "${to}"`);
  }
  if (to === n.state) return `${n.id} is already ${to}`;
  if (to === 'draining') {
    if (n.state === 'removed') throw new AdminError(409, 'InvalidStateChange', `${n.id} is removed; make it active first`);
    await ctx.nodes.setState(n.id, 'draining', 'drain requested by an admin');
    const job = await ctx.repair.request('drain');
    return `${n.id} is draining: its ${held.get(n.id) ?? 0} pieces move to other nodes (repair job ${job.id}), then it is removed`;
  }
  if (to === 'removed') {
    if (await ctx.nodes.holdsPieces(n.id)) {
      throw new AdminError(409, 'InvalidStateChange', `${n.id} still holds pieces; drain it first (shardgate admin drain ${n.id}) and it is removed when empty`);
    }
    await ctx.nodes.setState(n.id, 'removed', 'removed by an admin');
    return `${n.id} is removed`;
  }
  await ctx.nodes.setState(n.id, 'active', `made active by an admin (was ${n.state})`);
  void ctx.monitor.probe(n.id).catch(() => undefined); // the monitor probes it again on its own
  return `${n.id} is active`;
}

const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

// Piece counts come from a fresh backlog scan (it yields to the event loop): an operator who
// just wrote or repaired expects to see it, where metrics may show a few seconds' old counts.
export const nodeRoutes: AdminRoute[] = [
  {
    method: 'GET', path: '/nodes', name: 'ListNodes',
    handle: async (_req, ctx) => {
      const { held } = await ctx.repair.assess(true);
      return { body: { nodes: (await ctx.nodes.list()).map((n) => nodeView(n, held, ctx)) } };
    },
  },
  {
    method: 'GET', path: '/nodes/:id', name: 'GetNode',
    handle: async (req, ctx) => {
      const n = await nodeOf(ctx, req.params.id);
      return { body: { node: nodeView(n, (await ctx.repair.assess(true)).held, ctx) } };
    },
  },
  {
    // A shard-store joins: the gateway asks its /status for its zone and capacity.
    method: 'POST', path: '/nodes', name: 'JoinNode',
    handle: async (req, ctx) => {
      const { id, url } = (req.body ?? {}) as { id?: unknown; url?: unknown };
      if (typeof id !== 'string' || !ID_RE.test(id)) throw new AdminError(400, 'InvalidRequest', 'body must be {"id": "ss16", "url": "https://host:port"}');
      if (typeof url !== 'string' || !/^https?:\/\/[^/#]+\/*(#.*)?$/.test(url)) {
        throw new AdminError(400, 'InvalidRequest', `url must be https://host:port (optionally #sha256:... to pin its key), got ${JSON.stringify(url)}`);
      }
      const [given, pin] = url.replace(/\/+$/, '').split('#') as [string, string | undefined];
      if (pin !== undefined && !isFingerprint(pin)) throw new AdminError(400, 'InvalidRequest', `"#${pin}" is not a key fingerprint (sha256:... as the store prints at start)`);
      // Shard-stores speak TLS only; an http:// address is the same store.
      const address = given.replace(/^http:\/\//, 'https://');
      const known = await ctx.nodes.get(id);
      // A new node starts offline: placement ignores it until its first /status answer.
      await ctx.nodes.join(id, address, known?.zone ?? 'zone-1');
      // (Re)joining pins the key given, or the one the store presents next (a replaced disk has a new key).
      await ctx.pins.set(id, pin ?? null);
      ctx.registerNode({ id, url: address, zone: known?.zone ?? 'zone-1' });
      if (!(await ctx.monitor.probe(id))) {
        throw new AdminError(502, 'NodeUnreachable', `${id} at ${address} does not answer /status yet; it stays offline until it does (start it with --trusted-key set to this gateway's public key)`);
      }
      const joined = await nodeOf(ctx, id);
      ctx.registerNode({ id, url: joined.url, zone: joined.zone });
      return { status: 201, body: { node: nodeView(joined, (await ctx.repair.assess(true)).held, ctx) } };
    },
  },
  {
    method: 'POST', path: '/nodes/:id/state', name: 'SetNodeState',
    handle: async (req, ctx) => {
      const n = await nodeOf(ctx, req.params.id);
      const { state } = (req.body ?? {}) as { state?: unknown };
      if (typeof state !== 'string') throw new AdminError(400, 'InvalidRequest', 'body must be {"state": "draining" | "active" | "removed"}');
      const { held } = await ctx.repair.assess(true);
      const message = await changeState(ctx, n, state, held);
      return { body: { message, node: nodeView(await nodeOf(ctx, n.id), held, ctx) } };
    },
  },
];
