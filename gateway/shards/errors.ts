/**
 * Errors of talking to one shard-store. Each names the node and has a stable `code`; the
 * pipeline decides on codes (retry, hedge, mark the piece for repair), never on messages.
 */
export class ShardStoreError extends Error {
  code = 'ERR_SHARD_STORE';
  /** HTTP status when the store answered, else undefined. */
  status?: number;
  constructor(readonly nodeId: string, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = new.target.name;
    this.status = options?.status;
  }
}

/** Connection refused, reset or closed: the store is down or unreachable. */
export class ShardUnavailableError extends ShardStoreError {
  override code = 'ERR_SHARD_UNAVAILABLE';
}

/** No answer or no progress in time: the store is overloaded, frozen or the network is. */
export class ShardTimeoutError extends ShardStoreError {
  override code = 'ERR_SHARD_TIMEOUT';
}

/** The store does not hold this shard. */
export class ShardNotFoundError extends ShardStoreError {
  override code = 'ERR_SHARD_NOT_FOUND';
}

/** The store refused our token (401/403): wrong key configured, clock skew, or a bug in scoping. */
export class ShardRefusedError extends ShardStoreError {
  override code = 'ERR_SHARD_REFUSED';
}

/** The store's disk or its configured capacity is full (507). */
export class ShardFullError extends ShardStoreError {
  override code = 'ERR_SHARD_FULL';
}

/** Any other unexpected answer: wrong status, short or overlong body, bad JSON. */
export class ShardProtocolError extends ShardStoreError {
  override code = 'ERR_SHARD_PROTOCOL';
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Classify a transport error (undici or node:net) from talking to `nodeId`. */
export function fromTransportError(nodeId: string, err: unknown, what: string): ShardStoreError {
  if (err instanceof ShardStoreError) return err;
  const code = codeOf(err) ?? codeOf((err as { cause?: unknown } | null)?.cause);
  const message = `${what} on shard-store ${nodeId}: ${(err as Error)?.message ?? String(err)}`;
  if (code !== undefined && TIMEOUT_CODES.has(code)) return new ShardTimeoutError(nodeId, message, { cause: err });
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) return new ShardUnavailableError(nodeId, message, { cause: err });
  return new ShardProtocolError(nodeId, message, { cause: err });
}

/** Classify a non-success HTTP answer; `detail` is the store's error body, if any. */
export function fromStatus(nodeId: string, status: number, what: string, detail?: string): ShardStoreError {
  const message = `${what} on shard-store ${nodeId}: HTTP ${status}${detail ? ` (${detail})` : ''}`;
  const opts = { status };
  if (status === 404) return new ShardNotFoundError(nodeId, message, opts);
  if (status === 401 || status === 403) return new ShardRefusedError(nodeId, message, opts);
  if (status === 507) return new ShardFullError(nodeId, message, opts);
  if (status === 503) return new ShardUnavailableError(nodeId, message, opts);
  if (status === 408 || status === 504) return new ShardTimeoutError(nodeId, message, opts);
  return new ShardProtocolError(nodeId, message, opts);
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
