import type { AdminContext, AdminRoute } from '../admin/context.js';
import { AdminError } from '../admin/errors.js';
import { auditLayerOf, type AuditLayer } from './layer.js';
import type { ScrubPass } from './scrub.js';

/** A node's audit standing, as `GET /audit` shows it. */
export interface NodeAuditView {
  id: string;
  zone: string;
  state: string;
  score: number;
  lastAudit: { at: string; outcome: string } | null;
  lastFailure: { at: string; outcome: string; shardId: string; detail: string | null } | null;
}

function layer(ctx: AdminContext): AuditLayer {
  const l = auditLayerOf(ctx);
  if (!l) throw new AdminError(500, 'InternalError', 'audits are not running on this gateway');
  return l;
}

const iso = (t: number): string => new Date(t).toISOString();

export const auditRoutes: AdminRoute[] = [
  {
    // Audit now: every node, or one ({"node": "ss03"}); answers once the round is over.
    method: 'POST', path: '/audit', name: 'RunAudit',
    handle: async (req, ctx) => {
      const { node } = (req.body ?? {}) as { node?: unknown };
      if (node !== undefined && typeof node !== 'string') throw new AdminError(400, 'InvalidRequest', 'body must be {} or {"node": "ID"}');
      if (node !== undefined && !await ctx.nodes.get(node)) throw new AdminError(404, 'NoSuchNode', `no shard-store "${node}"; \`shardgate admin nodes\` lists them`);
      const results = await layer(ctx).auditor.auditAll({ node });
      return { body: { results } };
    },
  },
  {
    method: 'GET', path: '/audit', name: 'GetAuditStatus',
    handle: async (_req, ctx) => {
      const store = layer(ctx).store;
      const nodes: NodeAuditView[] = await Promise.all((await ctx.nodes.list()).map(async (n) => {
        const last = await store.last(n.id);
        const fail = await store.last(n.id, true);
        return {
          id: n.id, zone: n.zone, state: n.state, score: n.score,
          lastAudit: last ? { at: iso(last.at), outcome: last.outcome } : null,
          lastFailure: fail ? { at: iso(fail.at), outcome: fail.outcome, shardId: fail.shardId, detail: fail.detail } : null,
        };
      }));
      // The bitrot scrub's passes since the gateway started (kept in memory), newest first.
      const scrub = layer(ctx).scrubber;
      const pass = (p: ScrubPass) => ({ ...p, startedAt: iso(p.startedAt), endedAt: p.endedAt === undefined ? null : iso(p.endedAt) });
      return { body: { nodes, scrub: { totals: scrub.stats, current: pass(scrub.current), history: scrub.history.map(pass) } } };
    },
  },
  {
    // Close the current report period now (one signed report per node).
    method: 'POST', path: '/reports/publish', name: 'PublishReports',
    handle: async (_req, ctx) => ({ body: { entries: (await layer(ctx).publisher.publish()).length } }),
  },
  {
    method: 'POST', path: '/snapshot', name: 'TakeSnapshot',
    handle: async (_req, ctx) => {
      const snapshotter = layer(ctx).snapshotter;
      if (!snapshotter) throw new AdminError(409, 'InvalidRequest', 'this metadata backend takes no snapshots: its database keeps its own copies');
      return { body: { snapshot: await snapshotter.snapshot() } };
    },
  },
  {
    method: 'POST', path: '/scrub', name: 'RunScrub',
    handle: async (_req, ctx) => {
      const l = layer(ctx);
      // One full pass from the start, now (tests and operators after a disk incident).
      await l.store.setState('scrub.cursor', '');
      while (!(await l.scrubber.step()));
      return { body: { stats: l.scrubber.stats } };
    },
  },
];
