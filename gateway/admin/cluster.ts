import type { AdminRoute } from './context.js';

/** A lease as `GET /cluster` shows it. */
export interface LeaseView {
  name: string;
  holder: string;
  expiresAt: string;
  /** False once the holder stopped renewing: the next gateway to ask takes it. */
  live: boolean;
  generation: number;
}

/** What `GET /cluster` answers: which gateway runs the background work, asked of any gateway. */
export interface ClusterView {
  /** This gateway's holder name, and whether it runs the background work now. */
  gateway: { holder: string; leading: boolean };
  backend: 'sqlite' | 'postgres';
  leases: LeaseView[];
}

export const clusterRoutes: AdminRoute[] = [
  {
    method: 'GET', path: '/cluster', name: 'GetCluster',
    handle: async (_req, ctx) => {
      const now = Date.now();
      const leases = (await ctx.meta.leases.list()).map((l) => ({
        name: l.name, holder: l.holder, expiresAt: new Date(l.expiresAt).toISOString(), live: l.expiresAt > now, generation: l.generation,
      }));
      const body: ClusterView = {
        gateway: { holder: ctx.background?.holder ?? '', leading: ctx.background?.leading ?? true },
        backend: ctx.meta.backend, leases,
      };
      return { body };
    },
  },
];
