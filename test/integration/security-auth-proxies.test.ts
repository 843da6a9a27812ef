/**
 * X-Forwarded-Proto and X-Forwarded-For from the wrong peer: the gateway runs with
 * SHARDGATE_TRUSTED_PROXIES=127.0.0.2, so a client connecting from 127.0.0.2 plays the TLS proxy
 * in front, and one from 127.0.0.1 is anybody else who sends the same headers. Anonymous
 * requests go out as raw HTTP; signed ones through the AWS SDK v3 bound to either address.
 */
import { PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { bucketFactory, s3Error } from '../helpers/s3.js';

const PROXY = '127.0.0.2';
const STRANGER = '127.0.0.1';

let cluster: Cluster;
let root: S3Client;
let newBucket: (tag: string) => Promise<string>;

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file', env: { SHARDGATE_TRUSTED_PROXIES: PROXY } });
  root = cluster.client();
  newBucket = bucketFactory(() => root, 'proxy');
});

/** An anonymous GET from `from` with extra headers: the status. */
function getFrom(from: string, path: string, headers: Record<string, string>): Promise<number> {
  const { hostname, port } = new URL(cluster.endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, localAddress: from, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The root's SDK client, connecting from `from` and adding `headers` to every request. */
function rootFrom(from: string, headers: Record<string, string>): S3Client {
  const c = cluster.client({ requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ localAddress: from }) }) });
  c.middlewareStack.add((next) => async (args) => {
    Object.assign((args.request as { headers: Record<string, string> }).headers, headers);
    return next(args);
  }, { step: 'build', name: 'proxyHeaders' });
  return c;
}

async function publicIf(bucket: string, condition: object): Promise<void> {
  await root.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
  await root.send(new PutBucketPolicyCommand({
    Bucket: bucket,
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*`, Condition: condition }] }),
  }));
}

test('aws:SecureTransport: X-Forwarded-Proto: https counts from the trusted proxy only', async () => {
  const b = await newBucket('tls');
  await publicIf(b, { Bool: { 'aws:SecureTransport': 'true' } });
  expect(await getFrom(STRANGER, `/${b}/k`, { 'x-forwarded-proto': 'https' })).toBe(403);
  expect(await getFrom(PROXY, `/${b}/k`, { 'x-forwarded-proto': 'https' })).toBe(200);
  expect(await getFrom(PROXY, `/${b}/k`, { 'x-forwarded-proto': 'http' })).toBe(403);
  expect(await getFrom(PROXY, `/${b}/k`, {})).toBe(403); // the proxy's own hop to us is plain HTTP
});

test('aws:SourceIp: X-Forwarded-For counts from the trusted proxy only, read from the right', async () => {
  const b = await newBucket('ip');
  await publicIf(b, { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } });
  expect(await getFrom(STRANGER, `/${b}/k`, { 'x-forwarded-for': '203.0.113.7' })).toBe(403);
  expect(await getFrom(PROXY, `/${b}/k`, { 'x-forwarded-for': '203.0.113.7' })).toBe(200);
  // A client that writes an allowed address itself is still who the proxy saw.
  expect(await getFrom(PROXY, `/${b}/k`, { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' })).toBe(403);
  expect(await getFrom(PROXY, `/${b}/k`, { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' })).toBe(200);
});

test('SSE-C over plain HTTP: an untrusted peer cannot claim TLS, and a relayed request is not a local one', async () => {
  const b = await newBucket('ssec');
  const key = randomBytes(32);
  const sse = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(key).digest('base64') };
  const put = (c: S3Client, k: string) => c.send(new PutObjectCommand({ Bucket: b, Key: k, Body: 'secret', ...sse }));
  // Directly from this machine, as `shardgate dev` is used: allowed.
  expect((await put(rootFrom(STRANGER, {}), 'direct')).$metadata.httpStatusCode).toBe(200);
  expect(await s3Error(put(rootFrom(STRANGER, { 'x-forwarded-proto': 'https' }), 'claimed'))).toEqual({ code: 'InvalidRequest', status: 400 });
  expect(await s3Error(put(rootFrom(STRANGER, { 'x-forwarded-for': '203.0.113.7' }), 'relayed'))).toEqual({ code: 'InvalidRequest', status: 400 });
  expect(await s3Error(put(rootFrom(PROXY, { 'x-forwarded-proto': 'http', 'x-forwarded-for': '203.0.113.7' }), 'plain'))).toEqual({ code: 'InvalidRequest', status: 400 });
  expect((await put(rootFrom(PROXY, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' }), 'proxied')).$metadata.httpStatusCode).toBe(200);
});
