/**
 * CORS headers on actual (non-preflight) requests: a request whose Origin matches a rule of the
 * bucket gets Access-Control-Allow-Origin on every answer, errors, HEAD, 206, 304, multipart,
 * DeleteObjects and form uploads included. The JS SDK (with an Origin header, as a browser
 * would add) for signed requests, raw fetch for anonymous ones and form uploads.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand,
  GetObjectCommand, HeadObjectCommand, ListPartsCommand, PutBucketCorsCommand, PutBucketPolicyCommand, PutObjectCommand, UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory } from '../helpers/s3.js';

const ORIGIN = 'https://app.example';
let cluster: Cluster;
let root: S3Client;
let newBucket: (tag: string) => Promise<string>;

/** The response headers of every answer a client gets, success or error. */
const seen: Array<Record<string, string>> = [];

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  root = cluster.client();
  // A browser adds Origin to every cross-origin request; the SDK signs it like any header.
  root.middlewareStack.add((next) => async (args) => {
    (args.request as { headers: Record<string, string> }).headers.origin = ORIGIN;
    try {
      const out = await next(args);
      seen.push((out.response as { headers: Record<string, string> }).headers);
      return out;
    } catch (err) {
      const res = (err as { $response?: { headers: Record<string, string> } }).$response;
      if (res) seen.push(res.headers);
      throw err;
    }
  }, { step: 'build', name: 'origin' });
  newBucket = bucketFactory(() => cluster.client(), 'cors');
});

async function corsBucket(tag: string): Promise<string> {
  const b = await newBucket(tag);
  await cluster.client().send(new PutBucketCorsCommand({
    Bucket: b,
    CORSConfiguration: { CORSRules: [{ AllowedOrigins: [ORIGIN], AllowedMethods: ['GET', 'PUT', 'HEAD', 'POST', 'DELETE'], ExposeHeaders: ['ETag'] }] },
  }));
  return b;
}

/** The headers of the answer to `p`, the SDK client's latest, whether it succeeded or failed. */
async function lastHeaders(p: Promise<unknown>): Promise<Record<string, string>> {
  await p.catch(() => undefined);
  return seen[seen.length - 1]!;
}

function expectCors(h: Record<string, string> | Headers, what: string): void {
  const get = (n: string): string | null | undefined => (h instanceof Headers ? h.get(n) : h[n]);
  expect(get('access-control-allow-origin'), what).toBe(ORIGIN);
  expect(get('access-control-expose-headers'), what).toBe('ETag');
  expect(get('vary'), what).toContain('Origin');
}

// compat: CORS on actual requests
test('GET and HEAD: 200, 206, 304, 404 and 412 answers all carry the CORS headers', async () => {
  const b = await corsBucket('get');
  const put = await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'hello world' }));
  expectCors(await lastHeaders(Promise.resolve(put)), 'PutObject');
  expectCors(await lastHeaders(root.send(new GetObjectCommand({ Bucket: b, Key: 'k' }))), 'GetObject 200');
  expectCors(await lastHeaders(root.send(new GetObjectCommand({ Bucket: b, Key: 'k', Range: 'bytes=0-3' }))), 'GetObject 206');
  expectCors(await lastHeaders(root.send(new GetObjectCommand({ Bucket: b, Key: 'k', IfNoneMatch: put.ETag }))), 'GetObject 304');
  expectCors(await lastHeaders(root.send(new GetObjectCommand({ Bucket: b, Key: 'k', IfMatch: '"nope"' }))), 'GetObject 412');
  expectCors(await lastHeaders(root.send(new GetObjectCommand({ Bucket: b, Key: 'missing' }))), 'GetObject 404');
  expectCors(await lastHeaders(root.send(new HeadObjectCommand({ Bucket: b, Key: 'k' }))), 'HeadObject 200');
  expectCors(await lastHeaders(root.send(new HeadObjectCommand({ Bucket: b, Key: 'k', IfNoneMatch: put.ETag }))), 'HeadObject 304');
  expectCors(await lastHeaders(root.send(new HeadObjectCommand({ Bucket: b, Key: 'missing' }))), 'HeadObject 404');
  expectCors(await lastHeaders(root.send(new GetObjectCommand({ Bucket: b, Key: 'k', Range: 'bytes=100-200' }))), 'GetObject 416');
  // Raw: a 206 and a 304 as a browser's fetch sees them.
  const ranged = await fetch(`${cluster.endpoint}/${b}/k`, { headers: { origin: ORIGIN, range: 'bytes=0-1' } });
  expect(ranged.status).toBe(403); // anonymous, no grant
  expectCors(ranged.headers, 'anonymous 403');
});

// compat: CORS on actual requests
test('multipart operations, DeleteObject and DeleteObjects carry the CORS headers', async () => {
  const b = await corsBucket('mpu');
  const up = await root.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'm' }));
  expectCors(await lastHeaders(Promise.resolve(up)), 'CreateMultipartUpload');
  const part = await root.send(new UploadPartCommand({ Bucket: b, Key: 'm', UploadId: up.UploadId, PartNumber: 1, Body: 'part' }));
  expectCors(await lastHeaders(Promise.resolve(part)), 'UploadPart');
  expectCors(await lastHeaders(root.send(new ListPartsCommand({ Bucket: b, Key: 'm', UploadId: up.UploadId }))), 'ListParts');
  expectCors(await lastHeaders(root.send(new CompleteMultipartUploadCommand({
    Bucket: b, Key: 'm', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
  }))), 'CompleteMultipartUpload');
  expectCors(await lastHeaders(root.send(new UploadPartCommand({ Bucket: b, Key: 'm', UploadId: 'gone', PartNumber: 1, Body: 'x' }))), 'UploadPart NoSuchUpload');
  const other = await root.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'n' }));
  expectCors(await lastHeaders(root.send(new AbortMultipartUploadCommand({ Bucket: b, Key: 'n', UploadId: other.UploadId }))), 'AbortMultipartUpload');
  expectCors(await lastHeaders(root.send(new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: 'm' }, { Key: 'none' }] } }))), 'DeleteObjects');
  expectCors(await lastHeaders(root.send(new DeleteObjectCommand({ Bucket: b, Key: 'm' }))), 'DeleteObject');
});

// compat: CORS on actual requests
test('form uploads: the 204, the 201 and the 303 redirect carry the CORS headers, and so does a refused form', async () => {
  const b = await corsBucket('post');
  await cluster.client().send(new PutBucketPolicyCommand({
    Bucket: b, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${b}/up/*` }] }),
  }));
  const post = (fields: Record<string, string>): Promise<Response> => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob(['data']), 'f.txt');
    return fetch(`${cluster.endpoint}/${b}`, { method: 'POST', body: form, headers: { origin: ORIGIN }, redirect: 'manual' });
  };
  const plain = await post({ key: 'up/a' });
  expect(plain.status).toBe(204);
  expectCors(plain.headers, 'PostObject 204');
  const created = await post({ key: 'up/b', success_action_status: '201' });
  expect(created.status).toBe(201);
  expectCors(created.headers, 'PostObject 201');
  const redirected = await post({ key: 'up/c', success_action_redirect: 'https://app.example/done' });
  expect(redirected.status).toBe(303);
  expectCors(redirected.headers, 'PostObject 303');
  const refused = await post({ key: 'elsewhere/d' });
  expect(refused.status).toBe(403);
  expectCors(refused.headers, 'PostObject 403');
});

// compat: CORS on actual requests
test('requests the router refuses and authorizations that fail still carry the CORS headers of the bucket', async () => {
  const b = await corsBucket('refused');
  const bad = await fetch(`${cluster.endpoint}/${b}/k?uploadId=x&partNumber=zero`, { method: 'PUT', body: 'x', headers: { origin: ORIGIN } });
  expect(bad.status).toBe(400);
  expectCors(bad.headers, 'bad partNumber');
  const badSig = await fetch(`${cluster.endpoint}/${b}/k`, { headers: { origin: ORIGIN, authorization: 'AWS4-HMAC-SHA256 Credential=nobody/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00' } });
  expect(badSig.ok).toBe(false);
  expectCors(badSig.headers, 'bad authorization');
  // An origin no rule names gets none.
  const evil = await fetch(`${cluster.endpoint}/${b}/k`, { headers: { origin: 'https://evil.example' } });
  expect(evil.headers.get('access-control-allow-origin')).toBeNull();
});
