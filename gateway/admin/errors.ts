/**
 * Errors of the admin API. Each has a stable `code` (what scripts match on) and the HTTP
 * status it is answered with; the body is `{"error": {"code", "message"}}`.
 */
export class AdminError extends Error {
  constructor(readonly status: number, readonly code: AdminErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminError';
  }
}

export type AdminErrorCode =
  | 'AccessDenied'
  | 'InvalidRequest'
  | 'NoSuchRoute'
  | 'MethodNotAllowed'
  | 'NoSuchNode'
  | 'NoSuchBucket'
  | 'NoSuchJob'
  | 'InvalidStateChange'
  | 'NodeUnreachable'
  | 'NoSuchUser'
  | 'NoSuchAccessKey'
  | 'UserExists'
  | 'LedgerOff'
  | 'LedgerRefused'
  | 'NoSuchEra'
  | 'NoSuchMonitor'
  | 'MonitorKeyTaken'
  | 'InternalError';

export function toAdminError(err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  return new AdminError(500, 'InternalError', 'the gateway failed to answer this admin request; see its log', { cause: err });
}
