/**
 * Errors of request authentication and payload integrity. Each carries the S3 error code
 * and HTTP status the client must see; the gateway maps `AuthError` to its `S3Error` in one
 * place (`instanceof AuthError`, then `code`/`status`/`details`), never by message.
 */

/** S3 error codes this layer can raise, with their HTTP status (as AWS S3 answers them). */
export const AUTH_ERROR_STATUS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  IncompleteBody: 400,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidDigest: 400,
  InvalidRequest: 400,
  MalformedTrailerError: 400,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
} as const;

export type AuthErrorCode = keyof typeof AUTH_ERROR_STATUS;

export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly status: number;
  /**
   * Extra elements AWS S3 puts in the error document (e.g. `StringToSign`, `CanonicalRequest`
   * for SignatureDoesNotMatch, `ServerTime` for RequestTimeTooSkewed). They never contain a
   * secret, but they can contain a presigned query string: include them in the response, do
   * not log them.
   */
  readonly details: Readonly<Record<string, string>>;

  constructor(code: AuthErrorCode, message: string, details: Record<string, string> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = AUTH_ERROR_STATUS[code];
    this.details = details;
  }
}

/**
 * An error found while reading the request body (framing, chunk signatures, digests), after
 * the headers were accepted. Same shape as AuthError; the subclass only tells where it arose.
 */
export class PayloadError extends AuthError {}
