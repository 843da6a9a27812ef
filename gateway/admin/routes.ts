import { auditRoutes } from '../audit/admin-routes.js';
import { ledgerRoutes } from '../economy/admin-routes.js';
import { monitorAdminRoutes } from '../monitors/admin-routes.js';
import { activityRoutes } from './activity.js';
import { bucketRoutes } from './buckets.js';
import { clusterRoutes } from './cluster.js';
import type { AdminRoute } from './context.js';
import { keyRoutes } from './keys.js';
import { nodeRoutes } from './nodes.js';
import { repairRoutes } from './repair.js';

/** Every admin endpoint, one family per file. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [...nodeRoutes, ...repairRoutes, ...auditRoutes, ...keyRoutes, ...bucketRoutes, ...activityRoutes, ...ledgerRoutes, ...monitorAdminRoutes, ...clusterRoutes];
