/**
 * Errors of the shard-store process. The HTTP layer turns each into a status and a stable
 * `code` in one table (`server.ts statusOf`), never by message.
 */
export class StoreError extends Error {
  code = 'ERR_STORE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The disk (ENOSPC, EDQUOT) or the configured capacity is full: HTTP 507. */
export class StoreFullError extends StoreError {
  override code = 'ERR_STORE_FULL';
}

/** A request the store refuses before touching the disk; carries its own HTTP status. */
export class RequestError extends StoreError {
  constructor(readonly status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** No client certificate, or one whose key this store does not trust: HTTP 401. */
export class UnauthenticatedError extends StoreError {
  override code = 'ERR_UNAUTHENTICATED';
}

/** A trusted key that may not use this operation (a read-only recovery key writing): HTTP 403. */
export class ForbiddenError extends StoreError {
  override code = 'ERR_FORBIDDEN';
}
