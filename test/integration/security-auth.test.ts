/**
 * Request forgery against a real cluster: what the holder of a presigned URL, a signed POST form
 * or a captured request can make the gateway do beyond what was signed. URLs, forms and signed
 * requests come from real clients (boto3 for SigV4 and SigV2 presigning, the AWS SDK v3 for
 * header signing, the SDK's own SigV4 signer for URLs in the JS SDK's shape); the tampering is
 * done with raw HTTP, as an attacker would.
 */
import { CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListPartsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest, buildQueryString } from '@smithy/core/protocols';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { exec, onPath, run } from '../helpers/clients.js';
import { onClose } from '../helpers/registry.js';
import { bucketFactory, s3Error } from '../helpers/s3.js';

let cluster: Cluster;
let root: S3Client;
let work: string;
let newBucket: (tag: string) => Promise<string>;
let hasBoto3 = false;
/** Everything the gateway process prints: no secret may ever appear there. */
let gatewayLog = '';

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  cluster.gateway.stdout!.on('data', (d: Buffer) => { gatewayLog += d.toString(); });
  cluster.gateway.stderr!.on('data', (d: Buffer) => { gatewayLog += d.toString(); });
  root = cluster.client();
  newBucket = bucketFactory(() => root, 'forge');
  work = mkdtempSync(join(tmpdir(), 'shardgate-forge-'));
  onClose(() => rmSync(work, { recursive: true, force: true }), 'file');
  writeFileSync(join(work, 'sign.py'), SIGN_PY);
  hasBoto3 = onPath('python3') && (await exec('python3', ['-c', 'import boto3'], pyEnv())).code === 0;
});

/**
 * boto3 as a web application uses it to hand out URLs and forms: each item of argv[1] is a
 * presigned URL (`url`), a POST form (`post`) or a SigV2 header-signed request that a hook
 * tampers with after signing (`v2-tamper`), made with signature_version `s3v4` or `s3` (V2).
 */
const SIGN_PY = String.raw`
import json, os, sys, urllib.request, urllib.error
import boto3
from botocore.config import Config
spec = json.loads(sys.argv[1])
def client(sig):
    return boto3.client('s3', endpoint_url=os.environ['SG_ENDPOINT'], region_name='us-east-1',
                        aws_access_key_id=os.environ['SG_ACCESS_KEY'], aws_secret_access_key=os.environ['SG_SECRET_KEY'],
                        config=Config(signature_version=sig, s3={'addressing_style': 'path'}))
out = []
for item in spec:
    c = client(item['sig'])
    if item['kind'] == 'url':
        out.append(c.generate_presigned_url(item['method'], Params=item['params'], ExpiresIn=item.get('expires', 300)))
    elif item['kind'] == 'post':
        out.append(c.generate_presigned_post(item['bucket'], item['key'], Fields=item.get('fields'), Conditions=item.get('conditions'), ExpiresIn=300))
    elif item['kind'] == 'v2-tamper':
        def tamper(request, **kwargs):
            request.headers.update(item['add'])
        c.meta.events.register('before-send.s3.PutObject', tamper)
        try:
            c.put_object(Bucket=item['bucket'], Key=item['key'], Body=b'x')
            out.append(['ok'])
        except c.exceptions.ClientError as e:
            out.append([e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']])
print(json.dumps(out))
`;

function pyEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env, SG_ENDPOINT: cluster.endpoint, SG_ACCESS_KEY: ACCESS_KEY, SG_SECRET_KEY: SECRET_KEY,
    AWS_CONFIG_FILE: join(work, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'), AWS_EC2_METADATA_DISABLED: 'true',
  };
}

async function boto3<T>(items: object[]): Promise<T[]> {
  return JSON.parse(await run('python3', [join(work, 'sign.py'), JSON.stringify(items)], pyEnv())) as T[];
}

// Bodies are Buffers: fetch labels a string body text/plain, which a SigV2 signature covers.
const codeIn = (xml: string): string | undefined => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
const elementIn = (xml: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await root.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

/** A bucket holding a private object that the signer (root) can read and nobody else can. */
async function secretObject(): Promise<{ bucket: string; key: string; body: string }> {
  const bucket = await newBucket('secret');
  const body = `secret ${randomBytes(8).toString('hex')}`;
  await root.send(new PutObjectCommand({ Bucket: bucket, Key: 'payroll.csv', Body: body }));
  return { bucket, key: 'payroll.csv', body };
}

const ATTACK = (src: { bucket: string; key: string }) => ({ 'x-amz-copy-source': `/${src.bucket}/${src.key}`, 'x-amz-acl': 'public-read' });

describe('unsigned x-amz-* headers are refused, not obeyed', () => {
  test('SigV4 presigned PUT (boto3) + x-amz-copy-source + x-amz-acl: 403 naming both, nothing copied or published', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const src = await secretObject();
    const drop = await newBucket('drop');
    const [url] = await boto3<string>([{ kind: 'url', sig: 's3v4', method: 'put_object', params: { Bucket: drop, Key: 'upload.bin' } }]);
    expect(url).toContain('X-Amz-SignedHeaders=host');
    const res = await fetch(url!, { method: 'PUT', headers: ATTACK(src), body: Buffer.alloc(0) });
    const xml = await res.text();
    expect([res.status, codeIn(xml)]).toEqual([403, 'AccessDenied']);
    expect(elementIn(xml, 'Message')).toBe('There were headers present in the request which were not signed');
    expect(elementIn(xml, 'HeadersNotSigned')).toBe('x-amz-acl, x-amz-copy-source');
    expect(await exists(drop, 'upload.bin')).toBe(false);
    const anon = await fetch(`${cluster.endpoint}/${drop}/upload.bin`);
    expect(anon.status).toBe(403);
    expect(await anon.text()).not.toContain(src.body);
    // The URL itself still does what it was made for.
    const put = await fetch(url!, { method: 'PUT', body: Buffer.from('mine') });
    expect(put.status).toBe(200);
    expect(await exists(drop, 'upload.bin')).toBe(true);
  });

  test('SigV2 presigned PUT (boto3) + the same headers: 403 naming both', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const src = await secretObject();
    const drop = await newBucket('dropv2');
    const [url] = await boto3<string>([{ kind: 'url', sig: 's3', method: 'put_object', params: { Bucket: drop, Key: 'upload.bin' } }]);
    expect(url).toContain('AWSAccessKeyId=');
    const res = await fetch(url!, { method: 'PUT', headers: ATTACK(src), body: Buffer.alloc(0) });
    const xml = await res.text();
    expect([res.status, codeIn(xml), elementIn(xml, 'HeadersNotSigned')]).toEqual([403, 'AccessDenied', 'x-amz-acl, x-amz-copy-source']);
    expect(await exists(drop, 'upload.bin')).toBe(false);
    expect((await fetch(url!, { method: 'PUT', body: Buffer.from('mine') })).status).toBe(200);
  });

  test.each([
    ['x-amz-grant-full-control', 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'],
    ['x-amz-grant-read', 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'],
    ['x-amz-object-lock-mode', 'COMPLIANCE'],
    ['x-amz-tagging', 'owner=mallory'],
    ['x-amz-meta-owner', 'mallory'],
    ['x-amz-storage-class', 'STANDARD_IA'],
  ])('SigV4 presigned PUT + %s: 403', async (name, value) => {
    if (!hasBoto3) return;
    const drop = await newBucket('one');
    const [url] = await boto3<string>([{ kind: 'url', sig: 's3v4', method: 'put_object', params: { Bucket: drop, Key: 'k' } }]);
    const res = await fetch(url!, { method: 'PUT', headers: { [name]: value }, body: Buffer.from('x') });
    const xml = await res.text();
    expect([res.status, codeIn(xml), elementIn(xml, 'HeadersNotSigned')]).toEqual([403, 'AccessDenied', name]);
    expect(await exists(drop, 'k')).toBe(false);
  });

  test('SSE-C headers on a presigned PUT: 403, and the key is not echoed', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const drop = await newBucket('ssec');
    const [url] = await boto3<string>([{ kind: 'url', sig: 's3v4', method: 'put_object', params: { Bucket: drop, Key: 'k' } }]);
    const key = randomBytes(32);
    const res = await fetch(url!, {
      method: 'PUT', body: Buffer.from('x'),
      headers: {
        'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': key.toString('base64'),
        'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
      },
    });
    const xml = await res.text();
    expect([res.status, codeIn(xml)]).toEqual([403, 'AccessDenied']);
    expect(elementIn(xml, 'HeadersNotSigned')).toBe('x-amz-server-side-encryption-customer-algorithm, x-amz-server-side-encryption-customer-key, x-amz-server-side-encryption-customer-key-md5');
    expect(xml).not.toContain(key.toString('base64'));
    expect(await exists(drop, 'k')).toBe(false);
  });

  test('a presigned UploadPart cannot be turned into UploadPartCopy', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const src = await secretObject();
    const drop = await newBucket('part');
    const { UploadId } = await root.send(new CreateMultipartUploadCommand({ Bucket: drop, Key: 'big' }));
    const [url] = await boto3<string>([{ kind: 'url', sig: 's3v4', method: 'upload_part', params: { Bucket: drop, Key: 'big', UploadId, PartNumber: 1 } }]);
    const res = await fetch(url!, { method: 'PUT', headers: { 'x-amz-copy-source': `/${src.bucket}/${src.key}` }, body: Buffer.alloc(0) });
    const xml = await res.text();
    expect([res.status, codeIn(xml), elementIn(xml, 'HeadersNotSigned')]).toEqual([403, 'AccessDenied', 'x-amz-copy-source']);
    expect((await root.send(new ListPartsCommand({ Bucket: drop, Key: 'big', UploadId }))).Parts ?? []).toEqual([]);
  });

  test('SigV4 header auth (AWS SDK v3): a header added after signing is refused by name', async () => {
    const src = await secretObject();
    const drop = await newBucket('hdr');
    const tampered = cluster.client();
    tampered.middlewareStack.add((next) => async (args) => {
      Object.assign((args.request as { headers: Record<string, string> }).headers, ATTACK(src));
      return next(args);
    }, { step: 'deserialize', name: 'afterSigning' });
    expect(await s3Error(tampered.send(new PutObjectCommand({ Bucket: drop, Key: 'k', Body: 'x' })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await exists(drop, 'k')).toBe(false);
  });

  // compat: SigV2
  test('SigV2 header auth (boto3): every x-amz-* header is signed, an added one breaks the signature', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const src = await secretObject();
    const drop = await newBucket('hdrv2');
    const [r] = await boto3<[string, number]>([{ kind: 'v2-tamper', sig: 's3', bucket: drop, key: 'k', add: ATTACK(src) }]);
    expect(r).toEqual(['SignatureDoesNotMatch', 403]);
    expect(await exists(drop, 'k')).toBe(false);
  });

  // compat: SigV4 presigned URLs
  test('x-amz-* values a URL signed in its query (the JS SDK hoists them) are applied', async () => {
    const drop = await newBucket('hoist');
    const signer = new SignatureV4({
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, region: 'us-east-1', service: 's3', uriEscapePath: false,
      sha256: Sha256,
    });
    const { host, hostname, port } = new URL(cluster.endpoint);
    const req = new HttpRequest({
      method: 'PUT', protocol: 'http:', hostname, port: Number(port), path: `/${drop}/hoisted`, query: {},
      headers: { host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-color': 'blue', 'x-amz-tagging': 'a=1', 'x-amz-checksum-crc32': 'AAAAAA==' },
    });
    const signed = await signer.presign(req, { expiresIn: 300 });
    const url = `${cluster.endpoint}/${drop}/hoisted?${buildQueryString(signed.query ?? {})}`;
    expect(url).toContain('x-amz-meta-color=blue');
    const res = await fetch(url, { method: 'PUT', body: Buffer.from('hoisted body') });
    expect(res.status).toBe(200);
    const head = await root.send(new HeadObjectCommand({ Bucket: drop, Key: 'hoisted' }));
    expect(head.Metadata).toEqual({ color: 'blue' });
    expect(head.TagCount).toBe(1);
    // Contradicting what the URL signed is refused.
    const bad = await fetch(url, { method: 'PUT', body: Buffer.from('x'), headers: { 'x-amz-meta-color': 'red' } });
    expect([bad.status, elementIn(await bad.text(), 'HeadersNotSigned')]).toEqual([403, 'x-amz-meta-color']);
    const got = await root.send(new GetObjectCommand({ Bucket: drop, Key: 'hoisted' }));
    expect(await got.Body!.transformToString()).toBe('hoisted body');
  });
});

/** SHA-256 for the SDK's signer, on node:crypto. */
class Sha256 {
  private readonly h;
  constructor(secret?: string | Uint8Array | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', asBuffer(secret));
  }
  update(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): void {
    this.h.update(asBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {}
}
function asBuffer(d: string | Uint8Array | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (d instanceof ArrayBuffer) return Buffer.from(d);
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

describe('POST forms: every field must be named by the signed policy', () => {
  interface Post { url: string; fields: Record<string, string> }

  /** Fields in order, then the file, as a browser sends the form. */
  async function submit(post: Post, extra: Record<string, string>, file: { name: string; type: string; data: string }): Promise<Response> {
    const form = new FormData();
    for (const [k, v] of Object.entries({ ...post.fields, ...extra })) form.append(k, v);
    form.append('file', new Blob([file.data], { type: file.type }), file.name);
    return fetch(post.url, { method: 'POST', body: form });
  }

  test.each(['s3v4', 's3'])('boto3 generate_presigned_post (%s): an added acl or x-amz-meta-* field is refused; x-ignore-* is not', async (sig) => {
    if (!hasBoto3) return;
    const drop = await newBucket(`form${sig === 's3' ? 'v2' : 'v4'}`);
    const [post] = await boto3<Post>([{ kind: 'post', sig, bucket: drop, key: 'up/${filename}', conditions: [['starts-with', '$key', 'up/']] }]);
    const file = { name: 'a.txt', type: 'text/plain', data: 'hello' };
    for (const [extra, name] of [[{ acl: 'public-read' }, 'acl'], [{ 'x-amz-meta-owner': 'mallory' }, 'x-amz-meta-owner'], [{ 'x-amz-storage-class': 'GLACIER' }, 'x-amz-storage-class']] as const) {
      const res = await submit(post!, extra, file);
      const xml = await res.text();
      expect([res.status, codeIn(xml), elementIn(xml, 'Message')]).toEqual([403, 'AccessDenied', `Invalid according to Policy: Extra input fields: ${name}`]);
    }
    expect(await exists(drop, 'up/a.txt')).toBe(false);
    const ok = await submit(post!, { 'x-ignore-tracking': '1' }, file);
    expect(ok.status).toBe(204);
    expect(await exists(drop, 'up/a.txt')).toBe(true);
  });

  test('every content-length-range of the policy holds, not just the last', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const drop = await newBucket('formrange');
    const [post] = await boto3<Post>([{ kind: 'post', sig: 's3v4', bucket: drop, key: 'small', conditions: [['content-length-range', 0, 10], ['content-length-range', 0, 1000]] }]);
    const res = await submit(post!, {}, { name: 'f', type: 'text/plain', data: 'x'.repeat(100) });
    expect([res.status, codeIn(await res.text())]).toEqual([400, 'EntityTooLarge']);
    expect(await exists(drop, 'small')).toBe(false);
    expect((await submit(post!, {}, { name: 'f', type: 'text/plain', data: 'x'.repeat(10) })).status).toBe(204);
  });

  test('the file part\'s own Content-Type is not the object\'s: only a Content-Type field the policy names is', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const drop = await newBucket('formtype');
    const [plain, typed] = await boto3<Post>([
      { kind: 'post', sig: 's3v4', bucket: drop, key: 'page.html' },
      { kind: 'post', sig: 's3v4', bucket: drop, key: 'pic.png', fields: { 'Content-Type': 'image/png' }, conditions: [{ 'Content-Type': 'image/png' }] },
    ]);
    expect((await submit(plain!, {}, { name: 'page.html', type: 'text/html', data: '<script>alert(1)</script>' })).status).toBe(204);
    expect((await root.send(new HeadObjectCommand({ Bucket: drop, Key: 'page.html' }))).ContentType).toBe('binary/octet-stream');
    expect((await submit(typed!, {}, { name: 'pic.png', type: 'text/html', data: 'png' })).status).toBe(204);
    expect((await root.send(new HeadObjectCommand({ Bucket: drop, Key: 'pic.png' }))).ContentType).toBe('image/png');
  });
});

describe('SigV2: one signature names one object', () => {
  test('a boto3 V2 URL for key "a b" does not open key "a%20b"', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const b = await newBucket('v2path');
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'a b', Body: 'public' }));
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'a%20b', Body: 'secret' }));
    const [url] = await boto3<string>([{ kind: 'url', sig: 's3', method: 'get_object', params: { Bucket: b, Key: 'a b' } }]);
    expect(url).toContain(`/${b}/a%20b?`);
    const ok = await fetch(url!);
    expect([ok.status, await ok.text()]).toEqual([200, 'public']);
    const other = await fetch(url!.replace('/a%20b?', '/a%2520b?'));
    const xml = await other.text();
    expect([other.status, codeIn(xml)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(xml).not.toContain('secret');
    // An override slipped in under an escaped name is not an unsigned one.
    const html = await fetch(`${url!}&response-content-typ%65=text%2Fhtml`);
    expect([html.status, html.headers.get('content-type')]).toEqual([403, 'application/xml']);
  });

  test('s3cmd with signature_v2 = True: keys with spaces, plus signs and parentheses', async (ctx) => {
    if (!onPath('s3cmd')) return ctx.skip('s3cmd is not installed');
    const host = new URL(cluster.endpoint).host;
    const cfg = join(work, 's3cfg-v2');
    writeFileSync(cfg, [
      '[default]', `access_key = ${ACCESS_KEY}`, `secret_key = ${SECRET_KEY}`, `host_base = ${host}`, `host_bucket = ${host}`,
      'use_https = False', 'signature_v2 = True', 'bucket_location = us-east-1', 'progress_meter = False', '',
    ].join('\n'));
    const env = { ...process.env, HOME: work };
    const s3cmd = (args: string[]) => run('s3cmd', ['-c', cfg, ...args], env);
    const b = await newBucket('s3cmdv2');
    const src = join(work, 'v2 src+(1).txt');
    writeFileSync(src, 'via s3cmd v2');
    for (const key of ['with space.txt', 'plus+sign.txt', 'paren (1).txt', 'pct%20literal.txt']) {
      await s3cmd(['put', src, `s3://${b}/${key}`]);
      const got = join(work, 's3cmd-v2-got');
      await s3cmd(['get', '--force', `s3://${b}/${key}`, got]);
      expect((await root.send(new GetObjectCommand({ Bucket: b, Key: key }))).ContentLength).toBe('via s3cmd v2'.length);
    }
    expect(await s3cmd(['ls', `s3://${b}/`])).toContain('paren (1).txt');
  });
});

describe('secrets are never echoed or logged', () => {
  const sseKey = randomBytes(32);
  const sseHeaders = {
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': sseKey.toString('base64'),
    'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(sseKey).digest('base64'),
  };
  const secrets = [sseHeaders['x-amz-server-side-encryption-customer-key'], sseHeaders['x-amz-server-side-encryption-customer-key-md5']];

  test('SigV2 SignatureDoesNotMatch shows the string to sign without the SSE-C key', async () => {
    const b = await newBucket('echo2');
    const date = new Date().toUTCString();
    const wrong = createHmac('sha1', 'not the secret').update(`PUT\n\n\n${date}\n/${b}/k`).digest('base64');
    const res = await fetch(`${cluster.endpoint}/${b}/k`, { method: 'PUT', body: Buffer.from('x'), headers: { date, authorization: `AWS ${ACCESS_KEY}:${wrong}`, ...sseHeaders } });
    const xml = await res.text();
    expect([res.status, codeIn(xml)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(xml).toContain('x-amz-server-side-encryption-customer-key:&lt;redacted&gt;');
    for (const s of secrets) expect(xml).not.toContain(s);
  });

  test('SigV4 SignatureDoesNotMatch (AWS SDK v3, wrong secret) shows neither the key nor its MD5', async () => {
    const b = await newBucket('echo4');
    const wrong = cluster.client({ credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: 'not the secret' } });
    let body = '';
    wrong.middlewareStack.add((next) => async (args) => {
      const out = await next(args);
      const res = out.response as { body?: NodeJS.ReadableStream };
      if (res.body) {
        const chunks: Buffer[] = [];
        for await (const c of res.body) chunks.push(Buffer.from(c as Buffer));
        body = Buffer.concat(chunks).toString();
        (out.response as { body: unknown }).body = (await import('node:stream')).Readable.from([Buffer.from(body)]);
      }
      return out;
    }, { step: 'deserialize', name: 'keepBody', priority: 'low' });
    const k = sseKey;
    expect(await s3Error(wrong.send(new PutObjectCommand({
      Bucket: b, Key: 'k', Body: 'x', SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(k).digest('base64'),
    })))).toEqual({ code: 'SignatureDoesNotMatch', status: 403 });
    expect(body).toContain('<CanonicalRequest>');
    expect(body).toContain('x-amz-server-side-encryption-customer-key:&lt;redacted&gt;');
    for (const s of secrets) expect(body).not.toContain(s);
  });

  test('nothing the clients sent in secret reached the gateway\'s log', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const b = await newBucket('logs');
    const [url] = await boto3<string>([{ kind: 'url', sig: 's3v4', method: 'put_object', params: { Bucket: b, Key: 'k' } }]);
    // Refused and accepted requests carrying a key, a signature and an Authorization header.
    await fetch(url!, { method: 'PUT', body: Buffer.from('x'), headers: sseHeaders });
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'enc', Body: 'x', SSECustomerAlgorithm: 'AES256', SSECustomerKey: sseKey.toString('base64') }));
    const signature = new URL(url!).searchParams.get('X-Amz-Signature')!;
    for (const s of [...secrets, signature, SECRET_KEY, 'AWS4-HMAC-SHA256 Credential', 'X-Amz-Signature']) expect(gatewayLog).not.toContain(s);
  });
});

// compat: GetObject response overrides
describe('response-* overrides need a signed request', () => {
  test('anonymous GET and HEAD with response-content-type: 400 InvalidRequest; signed ones keep them', async () => {
    const b = await newBucket('override');
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'note.txt', Body: '<script>alert(1)</script>', ContentType: 'text/plain', ACL: 'public-read' }));
    const plain = await fetch(`${cluster.endpoint}/${b}/note.txt`);
    expect([plain.status, plain.headers.get('content-type')]).toEqual([200, 'text/plain']);
    for (const [param, value] of [['response-content-type', 'text/html'], ['response-content-disposition', 'inline'], ['response-cache-control', 'no-cache'],
      ['response-content-language', 'en'], ['response-expires', 'Thu, 01 Dec 1994 16:00:00 GMT'], ['response-content-encoding', 'identity']]) {
      const res = await fetch(`${cluster.endpoint}/${b}/note.txt?${param}=${encodeURIComponent(value!)}`);
      const xml = await res.text();
      expect([res.status, codeIn(xml), elementIn(xml, 'Message')], param)
        .toEqual([400, 'InvalidRequest', 'Request specific response headers cannot be used for anonymous GET requests.']);
      expect(res.headers.get('content-type')).toBe('application/xml');
    }
    const head = await fetch(`${cluster.endpoint}/${b}/note.txt?response-content-type=text%2Fhtml`, { method: 'HEAD' });
    expect(head.status).toBe(400);
    // The owner's signed request, and a URL the owner presigned, may.
    const got = await root.send(new GetObjectCommand({ Bucket: b, Key: 'note.txt', ResponseContentType: 'text/html' }));
    expect(got.ContentType).toBe('text/html');
    if (hasBoto3) {
      const [url] = await boto3<string>([{ kind: 'url', sig: 's3v4', method: 'get_object', params: { Bucket: b, Key: 'note.txt', ResponseContentType: 'text/html' } }]);
      const res = await fetch(url!);
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/html']);
    }
  });
});

describe('SigV2 presigned URLs live a week at most', () => {
  test('boto3 V2 URLs: seven days work, eight days are refused', async (ctx) => {
    if (!hasBoto3) return ctx.skip('boto3 is not installed for python3');
    const b = await newBucket('v2life');
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'k', Body: 'x' }));
    const [week, more] = await boto3<string>([
      { kind: 'url', sig: 's3', method: 'get_object', params: { Bucket: b, Key: 'k' }, expires: 7 * 24 * 3600 },
      { kind: 'url', sig: 's3', method: 'get_object', params: { Bucket: b, Key: 'k' }, expires: 8 * 24 * 3600 },
    ]);
    expect((await fetch(week!)).status).toBe(200);
    const res = await fetch(more!);
    expect([res.status, codeIn(await res.text())]).toEqual([400, 'AuthorizationQueryParametersError']);
  });
});

describe('SigV4: a signed "+" stays a "+"', () => {
  test('a URL signed to list prefix "a+b/" cannot be made to list "a b/"', async () => {
    const b = await newBucket('plus');
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'a+b/shared.txt', Body: 'x' }));
    await root.send(new PutObjectCommand({ Bucket: b, Key: 'a b/private.txt', Body: 'x' }));
    const signer = new SignatureV4({ credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, region: 'us-east-1', service: 's3', uriEscapePath: false, sha256: Sha256 });
    const { host, hostname, port } = new URL(cluster.endpoint);
    const req = new HttpRequest({
      method: 'GET', protocol: 'http:', hostname, port: Number(port), path: `/${b}`, query: { 'list-type': '2', prefix: 'a+b/' },
      headers: { host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
    });
    const signed = await signer.presign(req, { expiresIn: 300 });
    const url = `${cluster.endpoint}/${b}?${buildQueryString(signed.query ?? {})}`;
    const keysOf = async (u: string) => [...(await (await fetch(u)).text()).matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    expect(await keysOf(url)).toEqual(['a+b/shared.txt']);
    // The same URL with the plus sent raw, which S3 would read as a space.
    expect(url).toContain('prefix=a%2Bb%2F');
    expect(await keysOf(url.replace('prefix=a%2Bb', 'prefix=a+b'))).toEqual(['a+b/shared.txt']);
  });
});
