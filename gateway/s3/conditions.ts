import type Koa from 'koa';
import { S3Error } from './errors.js';
import { parseHttpDate, unquoteEtag } from './headers.js';

function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || unquoteEtag(v.replace(/^W\//, '')) === etag;
  });
}

/**
 * Conditional GET/HEAD (RFC 9110 §13 as S3 applies it): If-Match / If-Unmodified-Since →
 * 412 PreconditionFailed; If-None-Match / If-Modified-Since → 304. If-Match wins over
 * If-Unmodified-Since, If-None-Match over If-Modified-Since, as on AWS.
 * Returns true when the answer is 304 (headers set, no body).
 */
export function checkReadConditions(koa: Koa.Context, etag: string, lastModified: number): boolean {
  const ifMatch = koa.get('if-match');
  const ifNoneMatch = koa.get('if-none-match');
  const ifModifiedSince = parseHttpDate(koa.get('if-modified-since') || undefined);
  const ifUnmodifiedSince = parseHttpDate(koa.get('if-unmodified-since') || undefined);
  const modifiedSec = Math.floor(lastModified / 1000) * 1000;
  if (ifMatch) {
    if (!etagMatches(ifMatch, etag)) throw new S3Error('PreconditionFailed', { extra: { Condition: 'If-Match' } });
  } else if (ifUnmodifiedSince && modifiedSec > ifUnmodifiedSince.getTime()) {
    throw new S3Error('PreconditionFailed', { extra: { Condition: 'If-Unmodified-Since' } });
  }
  if (ifNoneMatch) {
    if (etagMatches(ifNoneMatch, etag)) return true;
  } else if (ifModifiedSince && modifiedSec <= ifModifiedSince.getTime()) {
    return true;
  }
  return false;
}
