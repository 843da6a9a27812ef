/**
 * The gateway as users drive it: aws-cli, boto3 with its default configuration, and rclone,
 * each a real process talking to a real cluster (16 shard-store processes and a gateway).
 * These clients send what they send by default (aws-chunked bodies with CRC32 trailers,
 * multipart above 8 MiB, virtual-hosted or path-style addressing as they choose).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { exec as execClient, onPath, run as runClient, writeTree } from '../helpers/clients.js';
import { onClose } from '../helpers/registry.js';
import { bytes, md5Hex } from '../helpers/s3.js';

const MiB = 1024 * 1024;

let cluster: Cluster;
let work: string;

const exec = (cmd: string, args: string[], env: NodeJS.ProcessEnv, timeout = 110_000) => execClient(cmd, args, env, { timeout });
const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv, timeout = 110_000) => runClient(cmd, args, env, { timeout });

beforeAll(async () => {
  cluster = await startCluster({ scope: 'file' });
  work = mkdtempSync(join(tmpdir(), 'shardgate-cli-'));
  onClose(() => rmSync(work, { recursive: true, force: true }), 'file');
});


/** Write `size` deterministic bytes to `path` a MiB at a time, without holding them all. */
function writeBigFile(path: string, size: number, seed: string): void {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  const fd = openSync(path, 'w');
  try {
    for (let left = size; left > 0; left -= MiB) writeSync(fd, cipher.update(zeros.subarray(0, Math.min(MiB, left))));
  } finally {
    closeSync(fd);
  }
}

const HAS_AWS = onPath('aws');
const NO_AWS = 'aws-cli is not installed (pip install awscli)';

describe('aws-cli', () => {
  /** aws-cli with nothing from the user's home: only the gateway's credentials. */
  function awsEnv(): NodeJS.ProcessEnv {
    const config = join(work, 'aws-config');
    writeFileSync(config, '[default]\nregion = us-east-1\n');
    return {
      ...process.env,
      AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '',
    };
  }
  // Transfers print a progress line per chunk; only results and errors matter here.
  const quiet = (args: string[]) => (args[0] === 's3' && ['cp', 'sync', 'mv'].includes(args[1]!) ? [...args, '--no-progress'] : args);
  const aws = (args: string[], timeout?: number) => run('aws', ['--endpoint-url', cluster.endpoint, ...quiet(args)], awsEnv(), timeout);
  const awsFails = (args: string[]) => exec('aws', ['--endpoint-url', cluster.endpoint, ...args], awsEnv());

  test('s3 mb / cp / ls / sync / rm', async (ctx) => {
    ctx.skip(!HAS_AWS, NO_AWS);
    const src = join(work, 'aws-src');
    const files = {
      'a.txt': 'alpha\n', 'sub/b.bin': bytes(300_000, 'b'), 'with space.txt': 'spaced', 'unicodé/ключ.txt': 'unicode', 'empty.txt': '',
      // Listings are url-encoded with space as +: a literal + must come back as +.
      'plus+sign.txt': 'plus',
    };
    writeTree(src, files);
    expect(await aws(['s3', 'mb', 's3://cli-aws-s3'])).toContain('make_bucket: cli-aws-s3');
    expect(await aws(['s3', 'ls'])).toMatch(/ cli-aws-s3$/m);
    await aws(['s3', 'cp', join(src, 'a.txt'), 's3://cli-aws-s3/one.txt']);
    expect(await aws(['s3', 'cp', 's3://cli-aws-s3/one.txt', '-'])).toBe('alpha\n');
    await aws(['s3', 'sync', src, 's3://cli-aws-s3/tree/']);
    const listing = await aws(['s3', 'ls', '--recursive', 's3://cli-aws-s3/']);
    for (const rel of [...Object.keys(files), 'one.txt']) {
      expect(listing, rel).toContain(rel === 'one.txt' ? ' one.txt' : ` tree/${rel}`);
    }
    // Directory listing: CommonPrefixes come out as PRE lines.
    const top = await aws(['s3', 'ls', 's3://cli-aws-s3/tree/']);
    expect(top).toMatch(/PRE sub\/$/m);
    expect(top).toMatch(/PRE unicodé\/$/m);
    // A second sync finds nothing to do: sizes and times match.
    expect((await aws(['s3', 'sync', src, 's3://cli-aws-s3/tree/'])).trim()).toBe('');
    const back = join(work, 'aws-back');
    await aws(['s3', 'sync', 's3://cli-aws-s3/tree/', back]);
    for (const [rel, content] of Object.entries(files)) {
      expect(readFileSync(join(back, rel)).equals(Buffer.from(content)), rel).toBe(true);
    }
    await aws(['s3', 'rm', 's3://cli-aws-s3/one.txt']);
    await aws(['s3', 'rm', '--recursive', 's3://cli-aws-s3/tree/']);
    expect((await aws(['s3', 'ls', '--recursive', 's3://cli-aws-s3/'])).trim()).toBe('');
    await aws(['s3', 'rb', 's3://cli-aws-s3']);
    expect(await aws(['s3', 'ls'])).not.toContain('cli-aws-s3');
  });

  // compat: SigV2
  test('s3 presign: the URL (Signature Version 2, as aws-cli v1 makes it) fetches the object until it expires', async (ctx) => {
    ctx.skip(!HAS_AWS, NO_AWS);
    await aws(['s3', 'mb', 's3://cli-presign']);
    const f = join(work, 'presign.txt');
    writeFileSync(f, 'shared by link');
    await aws(['s3', 'cp', f, 's3://cli-presign/a b.txt']);
    // Long enough that a slow aws-cli start on a loaded machine still leaves the link valid.
    const url = (await aws(['s3', 'presign', 's3://cli-presign/a b.txt', '--expires-in', '6'])).trim();
    const signedBy = Date.now(); // the link was signed before this, so it expires before signedBy + 6 s
    const res = await fetch(url);
    expect([res.status, await res.text()]).toEqual([200, 'shared by link']);
    await new Promise((r) => setTimeout(r, signedBy + 6000 + 1100 - Date.now()));
    const late = await fetch(url);
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('Request has expired');
    await aws(['s3', 'rb', 's3://cli-presign', '--force']);
  });

  test('s3api put-object / head-object / get-object / list-objects-v2', async (ctx) => {
    ctx.skip(!HAS_AWS, NO_AWS);
    const file = join(work, 'api.bin');
    const data = bytes(123_457, 'api');
    writeFileSync(file, data);
    await aws(['s3api', 'create-bucket', '--bucket', 'cli-aws-api']);
    const put = JSON.parse(await aws(['s3api', 'put-object', '--bucket', 'cli-aws-api', '--key', 'dir/obj 1', '--body', file,
      '--content-type', 'application/x-test', '--cache-control', 'no-cache', '--metadata', 'color=blue,size=large'])) as { ETag: string };
    expect(put.ETag).toBe(`"${md5Hex(data)}"`);
    const head = JSON.parse(await aws(['s3api', 'head-object', '--bucket', 'cli-aws-api', '--key', 'dir/obj 1'])) as Record<string, unknown>;
    expect(head).toMatchObject({ ContentLength: data.length, ETag: put.ETag, ContentType: 'application/x-test', CacheControl: 'no-cache', Metadata: { color: 'blue', size: 'large' } });
    const out = join(work, 'api.out');
    const got = JSON.parse(await aws(['s3api', 'get-object', '--bucket', 'cli-aws-api', '--key', 'dir/obj 1', '--range', 'bytes=100-199', out])) as Record<string, unknown>;
    expect(got).toMatchObject({ ContentLength: 100, ContentRange: `bytes 100-199/${data.length}` });
    expect(readFileSync(out).equals(data.subarray(100, 200))).toBe(true);
    for (let i = 0; i < 5; i++) await aws(['s3api', 'put-object', '--bucket', 'cli-aws-api', '--key', `k${i}`, '--body', file]);
    // --page-size 2: the CLI follows NextContinuationToken through three pages.
    const list = JSON.parse(await aws(['s3api', 'list-objects-v2', '--bucket', 'cli-aws-api', '--page-size', '2'])) as { Contents: Array<{ Key: string; Size: number }> };
    expect(list.Contents.map((c) => c.Key)).toEqual(['dir/obj 1', 'k0', 'k1', 'k2', 'k3', 'k4']);
    const delim = JSON.parse(await aws(['s3api', 'list-objects-v2', '--bucket', 'cli-aws-api', '--delimiter', '/', '--prefix', ''])) as { CommonPrefixes: Array<{ Prefix: string }> };
    expect(delim.CommonPrefixes).toEqual([{ Prefix: 'dir/' }]);
    const missing = await awsFails(['s3api', 'head-object', '--bucket', 'cli-aws-api', '--key', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/404|Not Found/);
    const noKey = await awsFails(['s3api', 'get-object', '--bucket', 'cli-aws-api', '--key', 'nope', out]);
    expect(noKey.stderr).toContain('NoSuchKey');
  });

  test('a 100 MiB file goes multipart and comes back byte-identical', { timeout: 180_000 }, async (ctx) => {
    ctx.skip(!HAS_AWS, NO_AWS);
    const size = 100 * MiB;
    const big = join(work, 'big.bin');
    writeBigFile(big, size, 'hundred');
    await aws(['s3', 'mb', 's3://cli-aws-big']);
    const t0 = performance.now();
    await aws(['s3', 'cp', big, 's3://cli-aws-big/big.bin'], 170_000);
    const t1 = performance.now();
    const head = JSON.parse(await aws(['s3api', 'head-object', '--bucket', 'cli-aws-big', '--key', 'big.bin'])) as { ContentLength: number; ETag: string };
    expect(head.ContentLength).toBe(size);
    // aws-cli cuts 8 MiB parts: 13 of them.
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-13"$/);
    const back = join(work, 'big.out');
    await aws(['s3', 'cp', 's3://cli-aws-big/big.bin', back], 170_000);
    const t2 = performance.now();
    expect((await exec('cmp', [big, back], process.env)).code).toBe(0);
    console.log(`aws-cli 100 MiB: upload ${(size / MiB / ((t1 - t0) / 1000)).toFixed(1)} MiB/s, download ${(size / MiB / ((t2 - t1) / 1000)).toFixed(1)} MiB/s`);
    rmSync(big);
    rmSync(back);
  });
});

// boto3 with its default configuration: since 1.36 it sends bodies as aws-chunked with a
// CRC32 trailer and asks for checksums on GET.
const BOTO3_SCRIPT = String.raw`
import base64, hashlib, json, os, random, zlib
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

s3 = boto3.client('s3', endpoint_url=os.environ['SG_ENDPOINT'], region_name='us-east-1',
                  aws_access_key_id=os.environ['SG_ACCESS_KEY'], aws_secret_access_key=os.environ['SG_SECRET_KEY'])
work = os.environ['SG_WORK']
out = {}
b = 'cli-boto3'
s3.create_bucket(Bucket=b)
data = bytes((i * 7 + 3) % 251 for i in range(200000))
put = s3.put_object(Bucket=b, Key='hello world/é.bin', Body=data, ContentType='text/x-boto', Metadata={'k': 'v'})
out['put_etag'] = put['ETag']
out['md5'] = '"%s"' % hashlib.md5(data).hexdigest()
out['put_crc32'] = put.get('ChecksumCRC32')
out['crc32'] = base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')).decode()
got = s3.get_object(Bucket=b, Key='hello world/é.bin')
out['get_equal'] = got['Body'].read() == data
out['get_type'] = got['ContentType']
out['get_meta'] = got['Metadata']
head = s3.head_object(Bucket=b, Key='hello world/é.bin', ChecksumMode='ENABLED')
out['head_crc32'] = head.get('ChecksumCRC32')
rng = s3.get_object(Bucket=b, Key='hello world/é.bin', Range='bytes=-100')
out['range_equal'] = rng['Body'].read() == data[-100:]
out['range_status'] = rng['ResponseMetadata']['HTTPStatusCode']
for i in range(12):
    s3.put_object(Bucket=b, Key='p/%02d' % i, Body=b'x' * i)
keys = []
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=b, Prefix='p/', PaginationConfig={'PageSize': 5}):
    keys += [c['Key'] for c in page.get('Contents', [])]
out['paged'] = keys
v1 = []
for page in s3.get_paginator('list_objects').paginate(Bucket=b, Prefix='p/', PaginationConfig={'PageSize': 5}):
    v1 += [c['Key'] for c in page.get('Contents', [])]
out['paged_v1'] = v1
enc = s3.list_objects_v2(Bucket=b, Prefix='hello')
out['listed_unicode'] = [c['Key'] for c in enc.get('Contents', [])]
# Multipart through the transfer manager: 8 MiB parts by default.
src = os.path.join(work, 'boto3.bin')
with open(src, 'wb') as f:
    f.write(random.Random(9).randbytes(9 * 1024 * 1024 + 1))
s3.upload_file(src, b, 'multi.bin')
mh = s3.head_object(Bucket=b, Key='multi.bin')
out['multi_etag'] = mh['ETag']
dst = os.path.join(work, 'boto3.out')
s3.download_file(b, 'multi.bin', dst)
out['multi_equal'] = open(src, 'rb').read() == open(dst, 'rb').read()
try:
    s3.get_object(Bucket=b, Key='missing')
except ClientError as e:
    out['missing'] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
try:
    s3.delete_bucket(Bucket=b)
except ClientError as e:
    out['not_empty'] = e.response['Error']['Code']
# Signature Version 2, which boto3 still presigns with by default for this endpoint, and
# which older tools sign every request with (signature_version='s3').
import urllib.request, uuid
from botocore.config import Config
v2 = boto3.client('s3', endpoint_url=os.environ['SG_ENDPOINT'], region_name='us-east-1', config=Config(signature_version='s3'),
                  aws_access_key_id=os.environ['SG_ACCESS_KEY'], aws_secret_access_key=os.environ['SG_SECRET_KEY'])
v2.put_object(Bucket=b, Key='v2/header signed+.txt', Body=b'v2 body', ContentType='text/x-v2', Metadata={'m': 'n'})
out['v2_header_get'] = v2.get_object(Bucket=b, Key='v2/header signed+.txt')['Body'].read().decode()
url = v2.generate_presigned_url('get_object', Params={'Bucket': b, 'Key': 'v2/header signed+.txt', 'ResponseContentDisposition': 'attachment; filename="x.txt"'}, ExpiresIn=300)
out['v2_url'] = 'AWSAccessKeyId=' in url
with urllib.request.urlopen(url) as r:
    out['v2_presigned_get'] = [r.status, r.headers['Content-Disposition'], r.read().decode()]
url = v2.generate_presigned_url('put_object', Params={'Bucket': b, 'Key': 'v2/put.png', 'ContentType': 'image/png', 'Metadata': {'a': 'b'}}, ExpiresIn=300)
with urllib.request.urlopen(urllib.request.Request(url, data=b'png', method='PUT')) as r:
    out['v2_presigned_put'] = r.status
h = s3.head_object(Bucket=b, Key='v2/put.png')
out['v2_put_head'] = [h['ContentType'], h['Metadata']]
tampered = url.replace('v2/put.png', 'v2/other.png')
try:
    urllib.request.urlopen(urllib.request.Request(tampered, data=b'x', method='PUT'))
except urllib.error.HTTPError as e:
    out['v2_tampered'] = [e.code, e.read().decode().split('<Code>')[1].split('<')[0]]
post = v2.generate_presigned_post(b, 'v2/posted/$' + '{filename}', Conditions=[['content-length-range', 1, 100]], ExpiresIn=300)
boundary = uuid.uuid4().hex
parts = [('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, k, v)).encode() for k, v in post['fields'].items()]
parts.append(('--%s\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\n' % boundary).encode() + b'posted' + ('\r\n--%s--\r\n' % boundary).encode())
req = urllib.request.Request(post['url'], data=b''.join(parts), method='POST', headers={'Content-Type': 'multipart/form-data; boundary=' + boundary})
with urllib.request.urlopen(req) as r:
    out['v2_post'] = r.status
out['v2_post_body'] = s3.get_object(Bucket=b, Key='v2/posted/f.txt')['Body'].read().decode()
for k in ['v2/header signed+.txt', 'v2/put.png', 'v2/posted/f.txt']:
    v2.delete_object(Bucket=b, Key=k)
for k in ['hello world/é.bin', 'multi.bin'] + ['p/%02d' % i for i in range(12)]:
    s3.delete_object(Bucket=b, Key=k)
s3.delete_bucket(Bucket=b)
out['deleted'] = b not in [x['Name'] for x in s3.list_buckets()['Buckets']]
print(json.dumps(out))
`;

describe('boto3', () => {
  test('default configuration: put, get, head, range, paginators, upload_file multipart, errors', async (ctx) => {
    if (!onPath('python3')) return ctx.skip('python3 is not installed');
    const script = join(work, 'boto3-check.py');
    writeFileSync(script, BOTO3_SCRIPT);
    const env = {
      ...process.env, SG_ENDPOINT: cluster.endpoint, SG_ACCESS_KEY: ACCESS_KEY, SG_SECRET_KEY: SECRET_KEY, SG_WORK: work,
      AWS_CONFIG_FILE: join(work, 'boto-no-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'boto-no-credentials'), AWS_EC2_METADATA_DISABLED: 'true',
    };
    const probe = await exec('python3', ['-c', 'import boto3'], env);
    if (probe.code !== 0) return ctx.skip('boto3 is not installed for python3');
    const out = JSON.parse(await run('python3', [script], env)) as Record<string, unknown>;
    expect(out.put_etag).toBe(out.md5);
    expect(out.put_crc32).toBe(out.crc32);
    expect(out.head_crc32).toBe(out.crc32);
    expect(out).toMatchObject({
      get_equal: true, get_type: 'text/x-boto', get_meta: { k: 'v' }, range_equal: true, range_status: 206,
      listed_unicode: ['hello world/é.bin'], multi_equal: true, missing: ['NoSuchKey', 404], not_empty: 'BucketNotEmpty', deleted: true,
    });
    const paged = Array.from({ length: 12 }, (_, i) => `p/${String(i).padStart(2, '0')}`);
    expect(out.paged).toEqual(paged);
    expect(out.paged_v1).toEqual(paged);
    expect(out.multi_etag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect(out).toMatchObject({
      v2_header_get: 'v2 body', v2_url: true, v2_presigned_get: [200, 'attachment; filename="x.txt"', 'v2 body'],
      v2_presigned_put: 200, v2_put_head: ['image/png', { a: 'b' }], v2_tampered: [403, 'SignatureDoesNotMatch'],
      v2_post: 204, v2_post_body: 'posted',
    });
  });
});

const HAS_RCLONE = onPath('rclone');
const NO_RCLONE = 'rclone is not installed (apt-get install -y --no-install-recommends rclone)';

describe('rclone', () => {
  function rcloneEnv(): NodeJS.ProcessEnv {
    // rclone's S3 backend cannot apply AWS_CA_BUNDLE to its own HTTP transport and refuses to
    // start when it is set (LoadCustomCABundleError); the endpoint is plain HTTP anyway.
    const { AWS_CA_BUNDLE: _unused, ...inherited } = process.env;
    return {
      ...inherited,
      RCLONE_CONFIG: join(work, 'rclone-none.conf'),
      RCLONE_CONFIG_SG_TYPE: 's3', RCLONE_CONFIG_SG_PROVIDER: 'Other', RCLONE_CONFIG_SG_ENDPOINT: cluster.endpoint,
      RCLONE_CONFIG_SG_ACCESS_KEY_ID: ACCESS_KEY, RCLONE_CONFIG_SG_SECRET_ACCESS_KEY: SECRET_KEY, RCLONE_CONFIG_SG_FORCE_PATH_STYLE: 'true',
      // Small cut-off and chunks so that one 12 MiB file goes multipart.
      RCLONE_CONFIG_SG_UPLOAD_CUTOFF: '5Mi', RCLONE_CONFIG_SG_CHUNK_SIZE: '5Mi',
    };
  }
  const rclone = (args: string[]) => run('rclone', args, rcloneEnv());

  test('copy / ls / cat / check / sync / delete / purge', async (ctx) => {
    ctx.skip(!HAS_RCLONE, NO_RCLONE);
    const src = join(work, 'rclone-src');
    const files: Record<string, string | Buffer> = {
      'a.txt': 'alpha', 'deep/er/b.bin': bytes(200_000, 'rc-b'), 'sp ace & more.txt': 'special', 'plus+sign.txt': 'plus', 'big.bin': bytes(12 * MiB + 7, 'rc-big'),
    };
    writeTree(src, files);
    await rclone(['mkdir', 'sg:cli-rclone']);
    await rclone(['copy', src, 'sg:cli-rclone/tree']);
    const ls = await rclone(['ls', 'sg:cli-rclone']);
    for (const [rel, content] of Object.entries(files)) expect(ls, rel).toMatch(new RegExp(`^\\s*${Buffer.from(content).length} tree/${rel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(await rclone(['cat', 'sg:cli-rclone/tree/a.txt'])).toBe('alpha');
    // check compares sizes and MD5s (for the multipart file, the MD5 rclone stored in metadata).
    await rclone(['check', src, 'sg:cli-rclone/tree']);
    await rclone(['check', '--download', src, 'sg:cli-rclone/tree']);
    // sync: a removed file goes, a changed one is replaced.
    rmSync(join(src, 'a.txt'));
    writeFileSync(join(src, 'sp ace & more.txt'), 'changed content');
    await rclone(['sync', src, 'sg:cli-rclone/tree']);
    await rclone(['check', src, 'sg:cli-rclone/tree']);
    const after = await rclone(['lsf', '-R', 'sg:cli-rclone/tree']);
    expect(after.split('\n').filter(Boolean).sort()).toEqual(['big.bin', 'deep/', 'deep/er/', 'deep/er/b.bin', 'plus+sign.txt', 'sp ace & more.txt']);
    expect(await rclone(['cat', 'sg:cli-rclone/tree/sp ace & more.txt'])).toBe('changed content');
    await rclone(['delete', 'sg:cli-rclone/tree/big.bin']);
    expect(await rclone(['lsf', '-R', '--files-only', 'sg:cli-rclone'])).toBe('tree/deep/er/b.bin\ntree/plus+sign.txt\ntree/sp ace & more.txt\n');
    await rclone(['purge', 'sg:cli-rclone']);
    expect(await rclone(['lsd', 'sg:'])).not.toContain('cli-rclone');
  });
});
