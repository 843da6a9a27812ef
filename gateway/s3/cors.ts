import type Koa from 'koa';
import { corsHeaders, CORS_METHODS, isFieldName, matchPreflight, matchRequest, type CorsRule } from '../access/cors-rules.js';
import { countStars } from '../access/wildcard.js';
import type { MetaStore } from '../meta/store.js';
import { bucketOf, type ReqCtx } from '../request.js';
import { sendXml } from './bucket.js';
import { readCheckedBody } from './body.js';
import { S3Error } from './errors.js';
import { headerOf, type HeaderBag } from './headers.js';
import { buildXml, malformedXml, parseXml, textOf, type XmlObject } from './xml.js';

/**
 * Bucket CORS: the configuration documents, the preflight (OPTIONS) and the headers on
 * actual requests. https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html
 */
const MAX_CORS_BODY = 64 * 1024;
/** AWS S3 keeps at most 100 rules per bucket. */
export const MAX_CORS_RULES = 100;
/** Distinct headers one preflight may ask for. */
export const MAX_PREFLIGHT_HEADERS = 100;

/** Texts of every `name` child (the parser gives repeated CORS elements as arrays). */
function texts(el: XmlObject, name: string): string[] {
  const v = el[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => {
    if (typeof x !== 'string') throw malformedXml(`${name} must hold text`);
    return x.trim();
  });
}

/** A CORSConfiguration body; MalformedXML for structure, InvalidRequest for bad methods. */
export function parseCorsConfiguration(body: string | Buffer): CorsRule[] {
  const root = parseXml(body, 'CORSConfiguration');
  const raw = root.CORSRule;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (!list.length) throw malformedXml('CORSConfiguration needs at least one CORSRule');
  if (list.length > MAX_CORS_RULES) throw malformedXml(`at most ${MAX_CORS_RULES} CORSRule`);
  return list.map((item) => {
    const el = typeof item === 'string' ? {} : item;
    const allowedMethods = texts(el, 'AllowedMethod');
    const allowedOrigins = texts(el, 'AllowedOrigin');
    if (!allowedMethods.length || !allowedOrigins.length) throw malformedXml('CORSRule needs AllowedMethod and AllowedOrigin');
    for (const m of allowedMethods) {
      if (!CORS_METHODS.has(m)) throw new S3Error('InvalidRequest', { message: `Found unsupported HTTP method in CORS config. Unsupported method is ${m}` });
    }
    // AWS S3's limits, which also bound what a request's Origin and headers are matched against.
    for (const o of allowedOrigins) {
      if (countStars(o) > 1) throw new S3Error('InvalidRequest', { message: `AllowedOrigin "${o}" can not have more than one wildcard.` });
    }
    const allowedHeaders = texts(el, 'AllowedHeader');
    for (const h of allowedHeaders) {
      if (countStars(h) > 1) throw new S3Error('InvalidRequest', { message: `AllowedHeader "${h}" can not have more than one wildcard.` });
      if (!isFieldName(h)) throw notFieldName('AllowedHeader', h);
    }
    // Sent back in Access-Control-Expose-Headers: anything but a header name could not be sent.
    const exposeHeaders = texts(el, 'ExposeHeader');
    for (const h of exposeHeaders) if (!isFieldName(h)) throw notFieldName('ExposeHeader', h);
    const id = textOf(el, 'ID');
    const maxAge = textOf(el, 'MaxAgeSeconds');
    if (maxAge !== undefined && !/^\d{1,9}$/.test(maxAge.trim())) throw malformedXml('MaxAgeSeconds must be an integer');
    return {
      ...(id !== undefined && { id }),
      allowedOrigins, allowedMethods,
      allowedHeaders: allowedHeaders.map((h) => h.toLowerCase()),
      exposeHeaders,
      ...(maxAge !== undefined && { maxAgeSeconds: Number(maxAge.trim()) }),
    };
  });
}

function notFieldName(element: string, value: string): S3Error {
  return new S3Error('InvalidRequest', { message: `${element} "${value.slice(0, 64)}" is not a valid HTTP header name.` });
}

export function buildCorsConfiguration(rules: readonly CorsRule[]): string {
  return buildXml('CORSConfiguration', {
    CORSRule: rules.map((r) => ({
      ID: r.id, AllowedHeader: r.allowedHeaders, AllowedMethod: r.allowedMethods, AllowedOrigin: r.allowedOrigins,
      ExposeHeader: r.exposeHeaders, MaxAgeSeconds: r.maxAgeSeconds,
    })),
  });
}

/** The CORS rules of a bucket, or undefined when it has none (or does not exist). */
export async function bucketCorsRules(meta: MetaStore, bucket: string): Promise<CorsRule[] | undefined> {
  const text = (await meta.bucketAccess(bucket))?.cors;
  return text ? JSON.parse(text) as CorsRule[] : undefined;
}

/** GetBucketCors — https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketCors.html */
export async function handleGetBucketCors(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const rules = await bucketCorsRules(rc.pipeline.meta, bucket.name);
  if (!rules) throw new S3Error('NoSuchCORSConfiguration', { extra: { BucketName: bucket.name } });
  sendXml(koa, buildCorsConfiguration(rules));
}

/** PutBucketCors — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html */
export async function handlePutBucketCors(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const bucket = bucketOf(rc);
  const rules = parseCorsConfiguration(await readCheckedBody(koa, rc, { limit: MAX_CORS_BODY, requireDigest: true }));
  if (!await rc.pipeline.meta.setBucketAccess(bucket.name, 'cors', JSON.stringify(rules))) throw new S3Error('NoSuchBucket', { extra: { BucketName: bucket.name } });
  koa.status = 200;
}

/** DeleteBucketCors — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketCors.html */
export async function handleDeleteBucketCors(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  await rc.pipeline.meta.setBucketAccess(bucketOf(rc).name, 'cors', null);
  koa.status = 204;
}

function corsForbidden(): S3Error {
  // AWS S3 answers this with the code AccessForbidden, which has the same 403.
  return new S3Error('AccessDenied', { message: 'CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource\'s CORS spec.' });
}

/** OPTIONS object/bucket, the preflight — https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html */
export async function handleOptions(koa: Koa.Context, rc: ReqCtx): Promise<void> {
  const headers = koa.req.headersDistinct as HeaderBag;
  const origin = headerOf(headers, 'origin');
  const method = headerOf(headers, 'access-control-request-method');
  if (origin === undefined) throw new S3Error('InvalidRequest', { message: 'Insufficient information. Origin request header needed.' });
  if (method === undefined) throw new S3Error('InvalidRequest', { message: 'Invalid Access-Control-Request-Method: null' });
  if (!CORS_METHODS.has(method)) throw new S3Error('InvalidRequest', { message: `Invalid Access-Control-Request-Method: ${method}` });
  if (!rc.bucket) throw corsForbidden();
  const requested = [...new Set((headerOf(headers, 'access-control-request-headers') ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))];
  // Each requested header is matched against every AllowedHeader of every rule: a bound on
  // them bounds what one anonymous preflight costs. A page asks for a handful.
  if (requested.length > MAX_PREFLIGHT_HEADERS) throw corsForbidden();
  const rule = matchPreflight(await bucketCorsRules(rc.pipeline.meta, rc.bucket.name) ?? [], origin, method, requested);
  if (!rule) throw corsForbidden();
  koa.set(corsHeaders(rule, origin, requested));
  koa.status = 200;
}

/**
 * CORS headers on an actual request that carries Origin, set before anything can fail so
 * that a browser may read error answers too (the error hook keeps Access-Control-*).
 */
export async function applyCorsHeaders(koa: Koa.Context, meta: MetaStore, bucket: string | undefined): Promise<void> {
  const origin = koa.get('origin');
  if (!origin || bucket === undefined || koa.method === 'OPTIONS') return;
  const rules = await bucketCorsRules(meta, bucket);
  const rule = rules && matchRequest(rules, origin, koa.method);
  if (rule) koa.set(corsHeaders(rule, origin));
}
