import type Koa from 'koa';
import { MonitorRefusedError, type Monitors } from './service.js';
import { authenticateMonitor, MONITOR_MATERIAL_PATH, MONITOR_STATEMENTS_PATH } from './statement.js';

/** A statement with a few thousand stores' results fits; anything larger is refused unread. */
const MAX_STATEMENT_BYTES = 1024 * 1024;
const DEFAULT_PIECES = 8;
const MAX_PIECES = 64;

/**
 * The monitors' two endpoints, beside the public logs (no S3 or admin credentials: a monitor
 * proves itself with its own registered key):
 *
 *   GET  /_shardgate/monitor/material[?pieces=N]  → ChallengeMaterial; Authorization: ShardgateMonitor <token>
 *   POST /_shardgate/monitor/statements            {"statement": "<JWS>"} → 201 {"seq": N}
 *
 * The material is not public: it names every store's address and the sizes of pieces. A
 * statement needs no token: its own signature by a registered monitor is the proof.
 */
export function monitorRoutes(monitors: Monitors): Koa.Middleware {
  return async (koa, next) => {
    if (koa.path !== MONITOR_MATERIAL_PATH && koa.path !== MONITOR_STATEMENTS_PATH) return next();
    koa.set('cache-control', 'no-store');
    try {
      if (koa.path === MONITOR_MATERIAL_PATH) {
        if (koa.method !== 'GET') throw new MonitorRefusedError(405, 'MethodNotAllowed', 'GET the challenge material');
        // Monitors registered or revoked through another gateway count here too.
        await monitors.sync();
        const who = await authenticateMonitor(koa.get('authorization') || undefined, (m) => monitors.keyOf(m), { gateway: monitors.gatewayKid, path: MONITOR_MATERIAL_PATH });
        if (!who.ok) throw new MonitorRefusedError(401, 'MonitorUnauthenticated', who.reason);
        const n = Math.floor(Number(koa.query.pieces ?? DEFAULT_PIECES));
        respond(koa, 200, await monitors.material(Number.isFinite(n) ? Math.min(MAX_PIECES, Math.max(1, n)) : DEFAULT_PIECES));
        return;
      }
      if (koa.method !== 'POST') throw new MonitorRefusedError(405, 'MethodNotAllowed', 'POST a signed statement');
      const body = await readJson(koa);
      respond(koa, 201, await monitors.accept((body as { statement?: unknown } | null)?.statement));
    } catch (err) {
      if (!(err instanceof MonitorRefusedError)) throw err;
      respond(koa, err.status, { error: { code: err.reason, message: err.message } });
    }
  };
}

function respond(koa: Koa.Context, status: number, body: unknown): void {
  koa.status = status;
  koa.type = 'application/json';
  koa.body = JSON.stringify(body) + '\n';
}

async function readJson(koa: Koa.Context): Promise<unknown> {
  const declared = Number(koa.req.headers['content-length'] ?? 0);
  if (declared > MAX_STATEMENT_BYTES) throw new MonitorRefusedError(413, 'EntityTooLarge', `statements are at most ${MAX_STATEMENT_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of koa.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_STATEMENT_BYTES) throw new MonitorRefusedError(413, 'EntityTooLarge', `statements are at most ${MAX_STATEMENT_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new MonitorRefusedError(400, 'InvalidStatement', 'the body is JSON: {"statement": "<compact JWS>"}');
  }
}
