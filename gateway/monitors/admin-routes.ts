import type { AdminContext, AdminRoute } from '../admin/context.js';
import { AdminError } from '../admin/errors.js';
import { isName } from '../ledger/types.js';
import { MonitorRefusedError, type Monitors } from './service.js';
import { parseMonitorKey } from './statement.js';

function monitorsOf(ctx: AdminContext): Monitors {
  if (!ctx.monitors) throw new AdminError(500, 'InternalError', 'this gateway runs no monitor registry');
  return ctx.monitors;
}

async function refusals<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MonitorRefusedError) {
      const code = err.reason === 'NoSuchMonitor' || err.reason === 'MonitorKeyTaken' ? err.reason : 'InvalidRequest';
      throw new AdminError(err.status, code, err.message, { cause: err });
    }
    throw err;
  }
}

/**
 * Registering independent monitors (root only): each registration or revocation is an entry of
 * the signed report log, so an auditor knows from the log alone whose statements count; the
 * stores are then told which monitor keys to serve.
 */
export const monitorAdminRoutes: AdminRoute[] = [
  { method: 'GET', path: '/ledger/monitors', name: 'ListMonitors', handle: async (_req, ctx) => ({ body: { monitors: await monitorsOf(ctx).list() } }) },
  {
    method: 'POST', path: '/ledger/monitors', name: 'AddMonitor',
    handle: async (req, ctx) => {
      const body = req.body as { name?: unknown; key?: unknown } | undefined;
      if (!isName(body?.name)) throw new AdminError(400, 'InvalidRequest', 'the body is {"name": NAME, "key": public JWK or its x}; a name is letters, digits, . _ - (up to 64)');
      const key = parseMonitorKey(body.key);
      if (!key.ok) throw new AdminError(400, 'InvalidRequest', key.reason);
      const r = await refusals(() => monitorsOf(ctx).add(body.name as string, key.jwk));
      return { status: r.changed ? 201 : 200, body: { monitor: body.name, jwk: key.jwk, ...r } };
    },
  },
  {
    method: 'DELETE', path: '/ledger/monitors/:name', name: 'RemoveMonitor',
    handle: async (req, ctx) => ({ body: await refusals(() => monitorsOf(ctx).remove(req.params.name ?? '')) }),
  },
];
