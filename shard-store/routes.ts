import { RequestError } from './errors.js';
import { isShardId } from './protocol.js';

/** Every request a shard-store answers, parsed before any handler runs; `op` is what the token must allow. */
export type Route =
  | { kind: 'GetPiece'; op: 'get'; shardId: string }
  | { kind: 'HeadPiece'; op: 'head'; shardId: string }
  | { kind: 'DeletePiece'; op: 'delete'; shardId: string }
  | { kind: 'ListPieces'; op: 'list' }
  | { kind: 'TrustKey'; op: 'trust' }
  | { kind: 'Challenge'; op: 'challenge' }
  | { kind: 'SetMonitorKeys'; op: 'trust' }

  | { kind: 'Status'; op: 'status' };

const PIECE_PREFIX = '/pieces/';

/**
 * Parse method and raw URL. The path is matched undecoded against the strict shard id
 * shape, so `..`, `%2F` and friends never reach the file system.
 */
export function parseRoute(method: string | undefined, rawUrl: string | undefined): Route {
  const url = rawUrl ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path.startsWith(PIECE_PREFIX)) {
    const shardId = path.slice(PIECE_PREFIX.length);
    if (!isShardId(shardId)) throw new RequestError(400, 'ERR_BAD_SHARD_ID', 'shard id must be <32 hex>.<piece index>');
    switch (method) {
      case 'GET': return { kind: 'GetPiece', op: 'get', shardId };
      case 'HEAD': return { kind: 'HeadPiece', op: 'head', shardId };
      case 'DELETE': return { kind: 'DeletePiece', op: 'delete', shardId };
      default: throw methodNotAllowed(method);
    }
  }
  if (path === '/pieces') {
    if (method !== 'GET') throw methodNotAllowed(method);
    return { kind: 'ListPieces', op: 'list' };
  }
  if (path === '/trusted-keys') {
    if (method !== 'POST') throw methodNotAllowed(method);
    return { kind: 'TrustKey', op: 'trust' };
  }
  if (path === '/monitor-keys') {
    if (method !== 'PUT') throw methodNotAllowed(method);
    return { kind: 'SetMonitorKeys', op: 'trust' };
  }
  if (path === '/challenge') {
    if (method !== 'POST') throw methodNotAllowed(method);
    return { kind: 'Challenge', op: 'challenge' };
  }
  if (path === '/status') {
    if (method !== 'GET') throw methodNotAllowed(method);
    return { kind: 'Status', op: 'status' };
  }
  throw new RequestError(404, 'ERR_NO_ROUTE', `no such endpoint: ${path.slice(0, 100)}`);
}

function methodNotAllowed(method: string | undefined): RequestError {
  return new RequestError(405, 'ERR_METHOD', `method ${String(method)} not allowed here`);
}

/**
 * A single `Range: bytes=...` against a piece of `size` bytes; null means the whole piece.
 * Here we are stricter than HTTP, which lets servers ignore a bad Range: the only client is
 * the gateway, and a silently ignored range would hand it the wrong bytes.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw new RequestError(400, 'ERR_BAD_RANGE', 'Range must be one "bytes=a-b", "bytes=a-" or "bytes=-n"');
  const unsatisfiable = () => new RequestError(416, 'ERR_RANGE_NOT_SATISFIABLE', `range ${header} is outside the ${size}-byte piece`);
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) throw new RequestError(400, 'ERR_BAD_RANGE', `range ${header} ends before it starts`);
  if (start >= size) throw unsatisfiable();
  return { start, end };
}
