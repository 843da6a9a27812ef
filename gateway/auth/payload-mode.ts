import { AuthError } from './errors.js';

/**
 * How the request body is protected, from `x-amz-content-sha256`:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
export type PayloadMode =
  /** The body's SHA-256 was signed; it is checked when the body ends. */
  | { kind: 'sha256'; hex: string }
  /** `UNSIGNED-PAYLOAD`: the body is taken as it comes. */
  | { kind: 'unsigned' }
  /**
   * aws-chunked body. `signed`: each chunk carries a signature chained from `seedSignature`
   * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]). `trailer`: trailing headers follow the last
   * chunk (…-TRAILER; signed by `x-amz-trailer-signature` when `signed`).
   */
  | { kind: 'streaming'; signed: boolean; trailer: boolean; seedSignature: string };

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** Reads an `x-amz-content-sha256` value; `seedSignature` is the request's signature. */
export function parsePayloadMode(value: string, seedSignature: string): PayloadMode {
  const v = value.trim();
  switch (v) {
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' };
    case STREAMING_SIGNED:
      return { kind: 'streaming', signed: true, trailer: false, seedSignature: seedSignature.toLowerCase() };
    case STREAMING_SIGNED_TRAILER:
      return { kind: 'streaming', signed: true, trailer: true, seedSignature: seedSignature.toLowerCase() };
    case STREAMING_UNSIGNED_TRAILER:
      return { kind: 'streaming', signed: false, trailer: true, seedSignature: '' };
    default:
      if (/^[0-9a-fA-F]{64}$/.test(v)) return { kind: 'sha256', hex: v.toLowerCase() };
      // The ECDSA (SigV4a) streaming forms land here too: we do not verify SigV4a.
      throw new AuthError('InvalidArgument', `x-amz-content-sha256 must be ${UNSIGNED_PAYLOAD}, ${STREAMING_UNSIGNED_TRAILER}, ${STREAMING_SIGNED}, ${STREAMING_SIGNED_TRAILER} or a valid sha256 value.`, {
        ArgumentName: 'x-amz-content-sha256', ArgumentValue: value,
      });
  }
}
