/**
 * SSE-C (server-side encryption with customer-provided keys) through the AWS SDK v3 against
 * a real cluster (16 shard-store processes and a gateway process on loopback).
 */
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand,
  PutObjectCommand, S3Client, UploadPartCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import aws4 from 'aws4';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, bytes, md5Hex, objectBytes, s3Error } from '../helpers/s3.js';

const MiB = 1024 * 1024;
/** The gateway's default plaintext segment size (codec/layout.ts DEFAULT_SEGMENT_SIZE). */
const SEGMENT = 4 * MiB;
const MIN_PART = 5 * MiB;

let cluster: Cluster;
let s3: S3Client;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  s3 = cluster.client();
});

const newBucket = bucketFactory(() => s3, 'ssec');

/** A customer key as the SDK takes it: base64 of 32 bytes (used as is, not re-encoded). */
function customerKey(): { b64: string; raw: Buffer; md5: string } {
  const raw = randomBytes(32);
  return { b64: raw.toString('base64'), raw, md5: createHash('md5').update(raw).digest('base64') };
}
const sse = (k: { b64: string }) => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.b64 });
const copySse = (k: { b64: string }) => ({ CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: k.b64 });

async function getWith(bucket: string, key: string, k: { b64: string }, extra: { Range?: string } = {}): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...sse(k), ...extra }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** A request signed in its headers (aws4), for what the SDK will not send. */
async function signedFetch(method: string, path: string, headers: Record<string, string>): Promise<Response> {
  const url = new URL(cluster.endpoint);
  const signed = aws4.sign({ host: url.host, method, path, service: 's3', region: 'us-east-1', headers }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
  const sent = { ...(signed.headers as Record<string, string>) };
  delete sent.Host;
  return fetch(`${cluster.endpoint}${path}`, { method, headers: sent });
}
const codeOf = (xml: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

// compat: PutObject SSE-C
describe('SSE-C', () => {
  test('PUT and GET round trip across segments; HEAD and range GET with the key; the key is echoed', async () => {
    const b = await newBucket('rt');
    const k = customerKey();
    // One segment and one byte: the read crosses a segment boundary.
    const data = bytes(SEGMENT + 1, 'ssec-rt');
    const put = await s3.send(new PutObjectCommand({ Bucket: b, Key: 'obj', Body: data, ...sse(k) }));
    expect(put.SSECustomerAlgorithm).toBe('AES256');
    expect(put.SSECustomerKeyMD5).toBe(k.md5);
    const get = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'obj', ...sse(k) }));
    expect(get.SSECustomerAlgorithm).toBe('AES256');
    expect(get.SSECustomerKeyMD5).toBe(k.md5);
    expect(md5Hex(Buffer.from(await get.Body!.transformToByteArray()))).toBe(md5Hex(data));
    const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: 'obj', ...sse(k) }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.SSECustomerKeyMD5).toBe(k.md5);
    const range = await getWith(b, 'obj', k, { Range: `bytes=${SEGMENT - 10}-${SEGMENT}` });
    expect(range.equals(data.subarray(SEGMENT - 10, SEGMENT + 1))).toBe(true);
  });

  test('GET/HEAD without the key: 400 InvalidRequest; with another key: 403 AccessDenied; a key for a plain object: 400', async () => {
    const b = await newBucket('deny');
    const k = customerKey();
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'enc', Body: bytes(1000, 'deny'), ...sse(k) }));
    // An empty object has no blob: the check must not depend on one.
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'empty', Body: Buffer.alloc(0), ...sse(k) }));
    for (const key of ['enc', 'empty']) {
      expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: key })))).toEqual({ code: 'InvalidRequest', status: 400 });
      expect((await s3Error(s3.send(new HeadObjectCommand({ Bucket: b, Key: key })))).status).toBe(400);
      expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: key, ...sse(customerKey()) })))).toEqual({ code: 'AccessDenied', status: 403 });
      expect((await s3Error(s3.send(new HeadObjectCommand({ Bucket: b, Key: key, ...sse(customerKey()) })))).status).toBe(403);
    }
    expect((await getWith(b, 'empty', k)).length).toBe(0);
    const missing = await fetch(`${cluster.endpoint}/${b}/enc`);
    expect(missing.status).toBe(403); // anonymous: refused before the encryption is looked at
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'plain', Body: 'x' }));
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'plain', ...sse(k) })))).toEqual({ code: 'InvalidRequest', status: 400 });
  });

  test('a key whose MD5 does not match, a short key, a bad algorithm: 400 InvalidArgument, the key not echoed', async () => {
    const b = await newBucket('args');
    const k = customerKey();
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'o', Body: 'x', ...sse(k) }));
    const base = { 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': k.b64 };
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['MD5 mismatch', { ...base, 'x-amz-server-side-encryption-customer-key-MD5': customerKey().md5 }, /did not match/],
      ['MD5 missing', base, /MD5 of the secret key/],
      ['short key', { ...base, 'x-amz-server-side-encryption-customer-key': randomBytes(16).toString('base64'), 'x-amz-server-side-encryption-customer-key-MD5': k.md5 }, /secret key was invalid/],
      ['algorithm', { ...base, 'x-amz-server-side-encryption-customer-algorithm': 'AES128', 'x-amz-server-side-encryption-customer-key-MD5': k.md5 }, /Supported value: AES256/],
    ];
    for (const [name, headers, message] of cases) {
      const res = await signedFetch('GET', `/${b}/o`, headers);
      const xml = await res.text();
      expect([name, res.status, codeOf(xml)]).toEqual([name, 400, 'InvalidArgument']);
      expect(xml).toMatch(message);
      expect(xml).not.toContain(k.b64);
    }
    // The SDK computes the MD5 itself: overwrite it after, before signing, to send a wrong one on a PUT.
    const bad = cluster.client();
    bad.middlewareStack.add((next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-amz-server-side-encryption-customer-key-md5'] = customerKey().md5;
      return next(args);
    }, { step: 'build' });
    expect(await s3Error(bad.send(new PutObjectCommand({ Bucket: b, Key: 'p', Body: 'x', ...sse(k) })))).toEqual({ code: 'InvalidArgument', status: 400 });
  });

  test('multipart: every part under the upload key; a part with another key: 400; GET across parts', async () => {
    const b = await newBucket('mpu');
    const k = customerKey();
    const p1 = bytes(MIN_PART, 'mpu-1');
    const p2 = bytes(MiB + 3, 'mpu-2');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'big', ...sse(k) }));
    expect(await s3Error(s3.send(new UploadPartCommand({ Bucket: b, Key: 'big', UploadId, PartNumber: 2, Body: p2, ...sse(customerKey()) }))))
      .toEqual({ code: 'InvalidRequest', status: 400 });
    expect(await s3Error(s3.send(new UploadPartCommand({ Bucket: b, Key: 'big', UploadId, PartNumber: 2, Body: p2 }))))
      .toEqual({ code: 'InvalidRequest', status: 400 });
    const r1 = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'big', UploadId, PartNumber: 1, Body: p1, ...sse(k) }));
    expect(r1.SSECustomerKeyMD5).toBe(k.md5);
    const r2 = await s3.send(new UploadPartCommand({ Bucket: b, Key: 'big', UploadId, PartNumber: 2, Body: p2, ...sse(k) }));
    const parts = { Parts: [{ PartNumber: 1, ETag: r1.ETag }, { PartNumber: 2, ETag: r2.ETag }] };
    expect(await s3Error(s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'big', UploadId, MultipartUpload: parts, ...sse(customerKey()) }))))
      .toEqual({ code: 'InvalidRequest', status: 400 });
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: b, Key: 'big', UploadId, MultipartUpload: parts, ...sse(k) }));
    const all = Buffer.concat([p1, p2]);
    expect(md5Hex(await getWith(b, 'big', k))).toBe(md5Hex(all));
    const across = await getWith(b, 'big', k, { Range: `bytes=${MIN_PART - 5}-${MIN_PART + 5}` });
    expect(across.equals(all.subarray(MIN_PART - 5, MIN_PART + 6))).toBe(true);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'big' })))).toEqual({ code: 'InvalidRequest', status: 400 });
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'big', ...sse(customerKey()) })))).toEqual({ code: 'AccessDenied', status: 403 });
  });

  test('CopyObject to, from and between SSE-C objects; the source key is required', async () => {
    const b = await newBucket('copy');
    const k1 = customerKey();
    const k2 = customerKey();
    const data = bytes(100_000, 'copy');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'plain', Body: data }));
    const toEnc = await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'enc1', CopySource: `${b}/plain`, ...sse(k1) }));
    expect(toEnc.SSECustomerKeyMD5).toBe(k1.md5);
    expect((await getWith(b, 'enc1', k1)).equals(data)).toBe(true);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'enc1' })))).toEqual({ code: 'InvalidRequest', status: 400 });

    expect(await s3Error(s3.send(new CopyObjectCommand({ Bucket: b, Key: 'x', CopySource: `${b}/enc1` })))).toEqual({ code: 'InvalidRequest', status: 400 });
    expect(await s3Error(s3.send(new CopyObjectCommand({ Bucket: b, Key: 'x', CopySource: `${b}/enc1`, ...copySse(k2) }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'enc2', CopySource: `${b}/enc1`, ...copySse(k1), ...sse(k2) }));
    expect((await getWith(b, 'enc2', k2)).equals(data)).toBe(true);
    expect(await s3Error(s3.send(new GetObjectCommand({ Bucket: b, Key: 'enc2', ...sse(k1) })))).toEqual({ code: 'AccessDenied', status: 403 });
    await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'back', CopySource: `${b}/enc2`, ...copySse(k2) }));
    expect((await objectBytes(s3, b, 'back')).equals(data)).toBe(true);
    // A copy onto itself that changes the key re-encrypts in place (a key rotation).
    await s3.send(new CopyObjectCommand({ Bucket: b, Key: 'enc2', CopySource: `${b}/enc2`, ...copySse(k2), ...sse(k1) }));
    expect((await getWith(b, 'enc2', k1)).equals(data)).toBe(true);
  });

  test('UploadPartCopy from an SSE-C source into an SSE-C upload', async () => {
    const b = await newBucket('partcopy');
    const src = customerKey();
    const dst = customerKey();
    const data = bytes(MIN_PART + 100, 'partcopy');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'src', Body: data, ...sse(src) }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'dst', ...sse(dst) }));
    const base = { Bucket: b, Key: 'dst', UploadId, CopySource: `${b}/src` };
    expect(await s3Error(s3.send(new UploadPartCopyCommand({ ...base, PartNumber: 1, ...copySse(src), ...sse(src) }))))
      .toEqual({ code: 'InvalidRequest', status: 400 });
    const c1 = await s3.send(new UploadPartCopyCommand({ ...base, PartNumber: 1, CopySourceRange: `bytes=0-${MIN_PART - 1}`, ...copySse(src), ...sse(dst) }));
    const c2 = await s3.send(new UploadPartCopyCommand({ ...base, PartNumber: 2, CopySourceRange: `bytes=${MIN_PART}-${data.length - 1}`, ...copySse(src), ...sse(dst) }));
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: b, Key: 'dst', UploadId, ...sse(dst),
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: c1.CopyPartResult!.ETag }, { PartNumber: 2, ETag: c2.CopyPartResult!.ETag }] },
    }));
    expect(md5Hex(await getWith(b, 'dst', dst))).toBe(md5Hex(data));
  });

  test('a presigned GET of an SSE-C object works with the key headers, and only with them', async () => {
    const b = await newBucket('presign');
    const k = customerKey();
    const data = bytes(5000, 'presign');
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'o', Body: data, ...sse(k) }));
    const keyHeaders = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': k.b64,
      'x-amz-server-side-encryption-customer-key-md5': k.md5,
    };
    const signed = aws4.sign(
      { host: new URL(cluster.endpoint).host, method: 'GET', path: `/${b}/o?X-Amz-Expires=300`, service: 's3', region: 'us-east-1', signQuery: true, headers: keyHeaders },
      { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    );
    const ok = await fetch(`${cluster.endpoint}${signed.path!}`, { headers: keyHeaders });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-amz-server-side-encryption-customer-key-md5')).toBe(k.md5);
    expect(Buffer.from(await ok.arrayBuffer()).equals(data)).toBe(true);
    const without = await fetch(`${cluster.endpoint}${signed.path!}`);
    expect(without.status).toBeGreaterThanOrEqual(400);
  });

  test('the customer key is nowhere in the metadata files', async () => {
    const b = await newBucket('nokey');
    const k = customerKey();
    await s3.send(new PutObjectCommand({ Bucket: b, Key: 'o', Body: bytes(10_000, 'nokey'), ...sse(k) }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'm', ...sse(k) }));
    await s3.send(new UploadPartCommand({ Bucket: b, Key: 'm', UploadId, PartNumber: 1, Body: 'part', ...sse(k) }));
    const files = await metadataContents(cluster);
    expect(files.length).toBeGreaterThan(0);
    const needles = [k.raw, Buffer.from(k.b64), Buffer.from(k.raw.toString('hex')), Buffer.from(k.md5), Buffer.from(createHash('md5').update(k.raw).digest())];
    for (const content of files) {
      for (const n of needles) expect(content.indexOf(n)).toBe(-1);
    }
    // The parameters are there: it is the key that is not.
    expect(Buffer.concat(files).includes('"keyHmac"')).toBe(true);
  });
});

/**
 * Everything the metadata holds: the SQLite files' bytes, or on PostgreSQL every row of every
 * table as text (bytea shows as hex, which the hex needle covers).
 */
async function metadataContents(c: Cluster): Promise<Buffer[]> {
  if (c.meta === 'sqlite') {
    const dir = join(c.dir, 'gateway');
    return ['meta.db', 'meta.db-wal', 'meta.db-shm'].map((f) => join(dir, f)).filter((f) => existsSync(f)).map((f) => readFileSync(f));
  }
  const client = new pg.Client({ connectionString: c.meta });
  await client.connect();
  try {
    const tables = (await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`)).rows;
    const out: Buffer[] = [];
    for (const { name } of tables) {
      const rows = (await client.query<{ r: string }>(`SELECT t::text AS r FROM ${client.escapeIdentifier(name)} t`)).rows;
      out.push(Buffer.from(rows.map((r) => r.r).join('\n')));
    }
    return out;
  } finally {
    await client.end();
  }
}
