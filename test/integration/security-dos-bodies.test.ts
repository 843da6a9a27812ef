/**
 * Issue 9, request documents over their limits (configuration XML, DeleteObjects, the policy
 * JSON), against a real gateway: one declared too large is refused before a byte of it is
 * asked for, with the connection closed; one that streams past the limit without declaring
 * its length (chunked) is refused when it does. Both are S3's 400, never a 500 (pipeline()
 * used to report its own abort instead of the limit).
 */
import { CreateBucketCommand, ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';
import aws4 from 'aws4';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';

let cluster: Cluster;
let root: S3Client;
const BUCKET = 'bodies';

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  root = cluster.client();
  await root.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

// Each document's path, method, and the code its oversize gets.
const DOCUMENTS: Array<[string, string, string, string]> = [
  ['PutBucketCors', 'PUT', '?cors', 'MaxMessageLengthExceeded'],
  ['PutBucketLifecycleConfiguration', 'PUT', '?lifecycle', 'MaxMessageLengthExceeded'],
  ['PutBucketTagging', 'PUT', '?tagging', 'MaxMessageLengthExceeded'],
  ['PutBucketAcl', 'PUT', '?acl', 'MaxMessageLengthExceeded'],
  ['PutBucketVersioning', 'PUT', '?versioning', 'MaxMessageLengthExceeded'],
  ['PutPublicAccessBlock', 'PUT', '?publicAccessBlock', 'MaxMessageLengthExceeded'],
  ['DeleteObjects', 'POST', '?delete', 'MaxMessageLengthExceeded'],
  ['PutBucketPolicy', 'PUT', '?policy', 'MalformedPolicy'],
];

/** Sign the request head (UNSIGNED-PAYLOAD, so the body can be anything) as the root. */
function head(method: string, query: string, headers: Record<string, string>): string {
  const { host } = new URL(cluster.endpoint);
  const req: aws4.Request = {
    host, path: `/${BUCKET}${query}`, method, service: 's3', region: 'us-east-1',
    headers: { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', 'Content-MD5': '1B2M2Y8AsgTpgAmY7PhCfg==', ...headers },
  };
  aws4.sign(req, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
  return `${method} ${req.path} HTTP/1.1\r\n${Object.entries(req.headers!).map(([k, v]) => `${k}: ${String(v)}`).join('\r\n')}\r\n\r\n`;
}

/** Send the head, then up to `max` bytes of body (as `frame` shapes them) until the gateway answers or closes. */
async function flood(requestHead: string, max: number, frame: (chunk: Buffer) => Buffer): Promise<{ answer: string; sent: number }> {
  const { port } = new URL(cluster.endpoint);
  const socket = net.connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (d: Buffer) => { answer += d.toString(); });
  socket.on('error', () => {});
  const closed = new Promise((r) => socket.once('close', r));
  socket.write(requestHead);
  const chunk = frame(Buffer.alloc(64 * 1024, 0x20));
  let sent = 0;
  while (sent < max && !answer && !socket.destroyed) {
    if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed, sleep(500)]);
    sent += 64 * 1024;
  }
  // The gateway closes the connection after its answer: the rest is not read.
  await Promise.race([closed, sleep(20_000)]);
  expect(socket.destroyed || socket.readableEnded).toBe(true);
  socket.destroy();
  return { answer, sent };
}

const TOTAL = 64 * 1024 * 1024;

describe.each(DOCUMENTS)('%s', (_name, method, query, code) => {
  test('declared too large: refused before it is read, connection closed', async () => {
    const { answer, sent } = await flood(head(method, query, { 'Content-Length': String(TOTAL) }), TOTAL, (c) => c);
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 400 [\\s\\S]*connection: close[\\s\\S]*<Code>${code}</Code>`, 'i'));
    expect(sent).toBeLessThan(TOTAL / 4);
  });

  test('chunked past the limit: the limit is the answer, not a 500', async () => {
    const { answer } = await flood(head(method, query, { 'Transfer-Encoding': 'chunked' }), TOTAL,
      (c) => Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]));
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 400 [\\s\\S]*<Code>${code}</Code>`));
  });
});

test('the gateway still serves afterwards', async () => {
  await root.send(new ListBucketsCommand({}));
});
