import { AwsClient } from 'aws4fetch';
import { ConsoleError, networkError, fromAdminBody, fromS3Xml } from './errors';

/**
 * The signed-in session. The secret lives only here, inside the signer, for as long as the
 * tab: never in storage, cookies or the URL. Sign-out drops it; a reload asks again.
 */
interface Session {
  accessKeyId: string;
  client: AwsClient;
  root: boolean;
}

let session: Session | null = null;

// The gateway accepts any region in the credential scope (gateway/auth/sigv4.ts); this is the
// one S3 clients default to.
const REGION = 'us-east-1';
export const ADMIN = '/_shardgate/admin/v1';

export function currentUser(): { accessKeyId: string; root: boolean } | null {
  return session && { accessKeyId: session.accessKeyId, root: session.root };
}

function client(): AwsClient {
  if (!session) throw new ConsoleError('You are signed out. Sign in again to continue.');
  return session.client;
}

/** Percent-encoding as SigV4 canonicalises it (RFC 3986), so the path sent is the path signed. */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export function objectPath(bucket: string, key?: string): string {
  const segments = key === undefined ? [] : key.split('/');
  // A browser resolves `.` and `..` path segments (even percent-encoded) before it sends the
  // request, so such a key would name another object: refuse rather than act on that one.
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new ConsoleError(`The key "${key}" has a "." or ".." segment, which a browser cannot send as it is. Use an S3 client (aws, rclone) for this object.`);
  }
  return '/' + rfc3986(bucket) + (key === undefined ? '' : '/' + segments.map(rfc3986).join('/'));
}

export type Query = Record<string, string | undefined>;

function queryString(q: Query | undefined): string {
  if (!q) return '';
  const parts = Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => (v === '' ? rfc3986(k) : `${rfc3986(k)}=${rfc3986(v!)}`));
  return parts.length ? '?' + parts.join('&') : '';
}

export function url(path: string, q?: Query): string {
  return location.origin + path + queryString(q);
}

export async function sha256(data: ArrayBuffer | string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', typeof data === 'string' ? new TextEncoder().encode(data) : data);
}

export const hex = (b: ArrayBuffer): string => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
export const base64 = (b: ArrayBuffer): string => btoa(String.fromCharCode(...new Uint8Array(b)));

export interface S3Request {
  query?: Query;
  headers?: Record<string, string>;
  body?: string | ArrayBuffer;
  /** Statuses that are answers, not errors (e.g. 404 for a missing configuration). */
  accept?: number[];
  /** false: no x-amz-checksum-sha256 of the body (on CompleteMultipartUpload it would name the object's checksum). */
  checksum?: boolean;
}

/** A signed S3 request to this gateway (path-style, same origin); S3 error answers throw as sentences. */
export async function s3(method: string, path: string, req: S3Request = {}): Promise<Response> {
  const headers: Record<string, string> = { ...req.headers };
  if (req.body !== undefined) {
    // Signed, and as the checksum that S3 requires on some configuration bodies (Object Lock,
    // DeleteObjects) in place of Content-MD5, which WebCrypto cannot compute.
    const digest = await sha256(req.body);
    headers['x-amz-content-sha256'] = hex(digest);
    if (req.checksum !== false) headers['x-amz-checksum-sha256'] ??= base64(digest);
  }
  let res: Response;
  try {
    res = await client().fetch(url(path, req.query), { method, headers, body: req.body ?? null, aws: { service: 's3', region: REGION } });
  } catch (err) {
    if (err instanceof ConsoleError) throw err;
    throw networkError(err);
  }
  if (res.ok || req.accept?.includes(res.status)) return res;
  throw fromS3Xml(res.status, await res.text());
}

export async function s3Xml(method: string, path: string, req: S3Request = {}): Promise<Document> {
  const res = await s3(method, path, req);
  return parseXml(await res.text());
}

/** A root-only admin API call; JSON in and out, the body's hash signed (the admin API requires it). */
export async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string> = { 'x-amz-content-sha256': hex(await sha256(text)) };
  if (text) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await client().fetch(location.origin + ADMIN + path, { method, headers, body: text || null, aws: { service: 's3', region: REGION } });
  } catch (err) {
    if (err instanceof ConsoleError) throw err;
    throw networkError(err);
  }
  const answer = await res.text();
  if (!res.ok) throw fromAdminBody(res.status, answer);
  return JSON.parse(answer) as T;
}

/** A presigned GET: a link that works without the secret until it expires. */
export async function presign(path: string, expiresSeconds: number, q?: Query): Promise<string> {
  const u = new URL(url(path, q));
  u.searchParams.set('X-Amz-Expires', String(expiresSeconds));
  const signed = await client().sign(u.toString(), { method: 'GET', aws: { service: 's3', region: REGION, signQuery: true } });
  return signed.url;
}

/** Sign a request to send with XMLHttpRequest (for upload progress); the body's hash is given. */
export async function signForXhr(method: string, path: string, q: Query | undefined, headers: Record<string, string>): Promise<{ url: string; headers: Headers }> {
  const signed = await client().sign(url(path, q), { method, headers, aws: { service: 's3', region: REGION } });
  return { url: signed.url, headers: signed.headers };
}

export function parseXml(text: string): Document {
  return new DOMParser().parseFromString(text, 'application/xml');
}

/** Direct children of `el` named `tag` (namespaces ignored), and the text of one. */
export function children(el: Element | Document, tag: string): Element[] {
  const parent = el instanceof Document ? el.documentElement : el;
  return parent ? Array.from(parent.children).filter((c) => c.localName === tag) : [];
}

export function text(el: Element | Document, tag: string): string | undefined {
  return children(el, tag)[0]?.textContent ?? undefined;
}

export async function signIn(accessKeyId: string, secretAccessKey: string): Promise<void> {
  if (!globalThis.crypto?.subtle) {
    throw new ConsoleError('This page is not a secure context, so the browser gives it no WebCrypto to sign requests with. Open the console over HTTPS, or at http://localhost / http://127.0.0.1.');
  }
  session = { accessKeyId, client: new AwsClient({ accessKeyId, secretAccessKey, service: 's3', region: REGION, retries: 0 }), root: false };
  try {
    await s3('GET', '/', { query: { 'max-buckets': '1' } });
  } catch (err) {
    session = null;
    throw err;
  }
  // Root is whoever the admin API answers; everyone else gets AccessDenied there.
  try {
    await admin('GET', '/users');
    session.root = true;
  } catch {
    session.root = false;
  }
}

export function signOut(): void {
  session = null;
}
