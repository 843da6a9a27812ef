import type { AdminRoute } from './context.js';
import { AdminError } from './errors.js';

export const activityRoutes: AdminRoute[] = [
  {
    // Per-operation requests, bytes and latency, and repair traffic, every 10 s for the last hour.
    method: 'GET', path: '/activity', name: 'GetActivity',
    handle: (_req, ctx) => {
      if (!ctx.activity) throw new AdminError(404, 'NoSuchRoute', 'this gateway keeps no activity history');
      return { body: ctx.activity.view() };
    },
  },
];
