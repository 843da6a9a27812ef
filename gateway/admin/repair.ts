import type { RepairJobRow } from '../meta/repair.js';
import type { AdminRoute } from './context.js';
import { AdminError } from './errors.js';

/** A repair job as the admin API shows it. */
export interface RepairJobView {
  id: number;
  trigger: RepairJobRow['trigger'];
  /** Healthy pieces each blob must end with (16 for a full repair). */
  threshold: number;
  state: RepairJobRow['state'];
  pass: number;
  startedAt: string;
  finishedAt: string | null;
  /** Live blobs in this pass, and how many the pass has looked at. */
  blobsTotal: number;
  blobsChecked: number;
  blobsRepaired: number;
  blobsFailed: number;
  piecesRebuilt: number;
  bytesRead: number;
  bytesWritten: number;
  /** Repair traffic (read + written) per second of work. */
  bytesPerSecond: number;
  message: string | null;
}

export function jobView(j: RepairJobRow): RepairJobView {
  return {
    id: j.id, trigger: j.trigger, threshold: j.threshold, state: j.state, pass: j.pass,
    startedAt: new Date(j.startedAt).toISOString(), finishedAt: j.finishedAt === null ? null : new Date(j.finishedAt).toISOString(),
    blobsTotal: j.blobsTotal, blobsChecked: j.blobsChecked, blobsRepaired: j.blobsRepaired, blobsFailed: j.blobsFailed,
    piecesRebuilt: j.piecesRebuilt, bytesRead: j.bytesRead, bytesWritten: j.bytesWritten,
    bytesPerSecond: j.activeMs > 0 ? Math.round(((j.bytesRead + j.bytesWritten) * 1000) / j.activeMs) : 0,
    message: j.message,
  };
}

export const repairRoutes: AdminRoute[] = [
  {
    // Start a repair job (or join the running one). Default: full, every blob back to 16 pieces.
    method: 'POST', path: '/repair', name: 'StartRepair',
    handle: async (req, ctx) => {
      const { full } = (req.body ?? {}) as { full?: unknown };
      if (full !== undefined && typeof full !== 'boolean') throw new AdminError(400, 'InvalidRequest', 'body must be {"full": true|false}');
      const job = await ctx.repair.request('admin', { full: full ?? true });
      return { status: 202, body: { job: jobView(job) } };
    },
  },
  {
    method: 'GET', path: '/repair', name: 'GetRepairStatus',
    handle: async (_req, ctx) => {
      const job = await ctx.repair.currentJob();
      const cfg = ctx.repair.config;
      const { held: _held, liveHeld: _liveHeld, ...backlog } = await ctx.repair.assess();
      return {
        body: {
          job: job ? jobView(job) : null,
          backlog,
          queuedPieces: await ctx.meta.repairBacklog(),
          config: { threshold: cfg.threshold, rateBytesPerSecond: cfg.rateBytesPerSec, intervalMs: cfg.intervalMs },
        },
      };
    },
  },
  {
    method: 'GET', path: '/repair/jobs/:id', name: 'GetRepairJob',
    handle: async (req, ctx) => {
      const job = await ctx.repair.job(Number(req.params.id));
      if (!job) throw new AdminError(404, 'NoSuchJob', `no repair job ${req.params.id}`);
      return { body: { job: jobView(job) } };
    },
  },
];
