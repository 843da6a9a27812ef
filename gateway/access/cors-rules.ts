import { wildcardMatch } from './wildcard.js';

/**
 * Bucket CORS rules and how a request is matched against them, as AWS S3 does: the first
 * rule whose origin pattern (at most one `*`), method and every requested header match wins.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html#cors-eval-criteria
 */
export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  /** GET, PUT, HEAD, POST, DELETE. */
  allowedMethods: string[];
  /** Lower-cased patterns. */
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export const CORS_METHODS = new Set(['GET', 'PUT', 'HEAD', 'POST', 'DELETE']);

/** An HTTP field name (RFC 9110 token): what an AllowedHeader pattern or an ExposeHeader may be. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isFieldName(value: string): boolean {
  return FIELD_NAME.test(value);
}

function originMatches(rule: CorsRule, origin: string): boolean {
  return rule.allowedOrigins.some((o) => o === '*' || wildcardMatch(o, origin, true));
}

/** The rule answering a preflight, or undefined (the preflight is then refused with 403). */
export function matchPreflight(rules: readonly CorsRule[], origin: string, method: string, requestHeaders: readonly string[]): CorsRule | undefined {
  return rules.find((r) => originMatches(r, origin) && r.allowedMethods.includes(method)
    && requestHeaders.every((h) => r.allowedHeaders.some((p) => wildcardMatch(p, h, true))));
}

/** The rule that lets a browser read the answer to an actual request. */
export function matchRequest(rules: readonly CorsRule[], origin: string, method: string): CorsRule | undefined {
  return rules.find((r) => originMatches(r, origin) && r.allowedMethods.includes(method));
}

/** The Access-Control-* headers for a matched rule. */
export function corsHeaders(rule: CorsRule, origin: string, preflightHeaders?: readonly string[]): Record<string, string> {
  const wildcard = rule.allowedOrigins.includes('*');
  const h: Record<string, string> = {
    'access-control-allow-origin': wildcard ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  // Credentials may not go with a `*` origin (Fetch standard); AWS S3 sends them otherwise.
  if (!wildcard) h['access-control-allow-credentials'] = 'true';
  if (preflightHeaders?.length) h['access-control-allow-headers'] = preflightHeaders.join(', ');
  // PutBucketCors refuses names that are not tokens; rules stored before it did may hold some,
  // which Node would refuse to send, failing every answer to that Origin.
  const expose = rule.exposeHeaders.filter(isFieldName);
  if (expose.length) h['access-control-expose-headers'] = expose.join(', ');
  if (rule.maxAgeSeconds !== undefined) h['access-control-max-age'] = String(rule.maxAgeSeconds);
  return h;
}
