/**
 * Issue 11: bucket event notifications. A webhook receiver started here on loopback is the
 * operator's target (SHARDGATE_NOTIFY_WEBHOOK_<ID>); buckets are configured through the AWS JS
 * SDK; each kind of write and delete yields its event in S3's JSON shape; a failing target is
 * retried; events queued when the gateway is killed are delivered after its restart.
 */
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  DeleteObjectsCommand, GetBucketNotificationConfigurationCommand, PutBucketNotificationConfigurationCommand, PutBucketVersioningCommand,
  PutObjectCommand, UploadPartCommand, type NotificationConfiguration, type S3Client,
} from '@aws-sdk/client-s3';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACCESS_KEY, runAdmin, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { onPath, run } from '../helpers/clients.js';
import { onClose } from '../helpers/registry.js';
import { md5Hex, s3Error } from '../helpers/s3.js';

const METRICS_TOKEN = 'notify-metrics';
const TOKEN = 'hook-secret-token';
const arn = (id: string): string => `arn:shardgate:sqs::${id}:webhook`;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: { Records: Array<Record<string, any>> };
  status: number;
}

/** Every request the receiver got, answered or not, in arrival order (test messages aside). */
const received: Received[] = [];
/** The s3:TestEvent messages each configuration put sent, by target path; always answered 200. */
const tests: Array<{ path: string; body: Record<string, any> }> = [];
/** FLAKY answers 500 to the first two attempts of each key; HOLD answers 503 while `holding`. */
const flakyAttempts = new Map<string, number>();
let holding = true;
let receiver: Server;
let cluster: Cluster;
let s3: S3Client;

function answer(path: string, key: string): number {
  if (path === '/flaky') {
    const n = (flakyAttempts.get(key) ?? 0) + 1;
    flakyAttempts.set(key, n);
    return n <= 2 ? 500 : 200;
  }
  if (path === '/hold') return holding ? 503 : 200;
  return 200;
}

async function startReceiver(): Promise<string> {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'] & { Event?: string };
      if (body.Event === 's3:TestEvent') {
        tests.push({ path: req.url ?? '', body });
        res.writeHead(200).end();
        return;
      }
      const status = answer(req.url ?? '', String(body.Records[0]?.s3?.object?.key));
      received.push({ path: req.url ?? '', headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  onClose(() => new Promise<void>((r) => receiver.close(() => r())), 'file');
  return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const base = await startReceiver();
  cluster = await startCluster({
    scope: 'file',
    env: {
      SHARDGATE_METRICS_TOKEN: METRICS_TOKEN,
      SHARDGATE_NOTIFY_WEBHOOK_MAIN: `${base}/main`,
      SHARDGATE_NOTIFY_WEBHOOK_MAIN_TOKEN: TOKEN,
      SHARDGATE_NOTIFY_WEBHOOK_FLAKY: `${base}/flaky`,
      'SHARDGATE_NOTIFY_WEBHOOK_hold-1': `${base}/hold`,
      // Test knobs: retries after 100 ms, at most 1 s apart, so the retry tests take seconds.
      SHARDGATE_NOTIFY_INTERVAL_MS: '100',
      SHARDGATE_NOTIFY_RETRY_MS: '100',
      SHARDGATE_NOTIFY_RETRY_MAX_MS: '1000',
    },
  });
  s3 = cluster.client();
});

/** Delivered records (2xx) for a bucket, from one target path. */
function delivered(bucket: string, path = '/main'): Array<Record<string, any>> {
  return received.filter((r) => r.path === path && r.status === 200).map((r) => r.body.Records[0]!).filter((r) => r.s3.bucket.name === bucket);
}

/** Waits (on a loaded machine, generously) until `n` records of the bucket arrived at `path`. */
async function waitForEvents(bucket: string, n: number, path = '/main'): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + 45_000;
  while (delivered(bucket, path).length < n) {
    if (Date.now() > deadline) throw new Error(`${bucket}: ${delivered(bucket, path).length} of ${n} events arrived at ${path}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return delivered(bucket, path);
}

async function metrics(): Promise<string> {
  const res = await fetch(`${cluster.endpoint}/_shardgate/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

function metric(text: string, name: string, target: string): number {
  const m = new RegExp(`^${name}\\{target="${target}"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * The metrics once `done` holds for them. The receiver notes a request before the gateway reads
 * its answer, so the gateway's counters and queue catch up a moment after the receiver's log.
 */
async function metricsWhen(done: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = await metrics();
    if (done(text) || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
}

let seq = 0;
async function bucketWith(tag: string, config: NotificationConfiguration, versioned = false): Promise<string> {
  const bucket = `notify-${tag}-${++seq}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (versioned) await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: config }));
  return bucket;
}

const everything = (id = 'MAIN'): NotificationConfiguration => ({
  QueueConfigurations: [{ Id: 'all', QueueArn: arn(id), Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] }],
});

describe('configuration (JS SDK)', () => {
  // compat: PutBucketNotificationConfiguration
  // compat: GetBucketNotificationConfiguration
  test('a QueueConfiguration with filters reads back as set; an empty configuration removes it', async () => {
    const config: NotificationConfiguration = {
      QueueConfigurations: [{
        Id: 'images', QueueArn: arn('MAIN'), Events: ['s3:ObjectCreated:Put', 's3:ObjectRemoved:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'images/' }, { Name: 'suffix', Value: '.jpg' }] } },
      }],
    };
    const bucket = await bucketWith('config', config);
    const got = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    expect(got.QueueConfigurations).toEqual(config.QueueConfigurations);
    expect(got.TopicConfigurations).toBeUndefined();
    await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }));
    const none = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    expect(none.QueueConfigurations).toBeUndefined();
  });

  test('an unknown ARN, an SNS topic, an unsupported event and overlapping configurations are refused with 400', async () => {
    const bucket = `notify-refused-${++seq}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (c: NotificationConfiguration) => s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: c }));
    expect(await s3Error(put({ QueueConfigurations: [{ QueueArn: arn('NOPE'), Events: ['s3:ObjectCreated:*'] }] }))).toEqual({ code: 'InvalidArgument', status: 400 });
    expect(await s3Error(put({ QueueConfigurations: [{ QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q', Events: ['s3:ObjectCreated:*'] }] })))
      .toEqual({ code: 'InvalidArgument', status: 400 });
    expect(await s3Error(put({ TopicConfigurations: [{ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Events: ['s3:ObjectCreated:*'] }] })))
      .toEqual({ code: 'InvalidArgument', status: 400 });
    expect(await s3Error(put({ QueueConfigurations: [{ QueueArn: arn('MAIN'), Events: ['s3:ObjectRestore:Completed'] }] }))).toEqual({ code: 'InvalidArgument', status: 400 });
    expect(await s3Error(put({
      QueueConfigurations: [
        { Id: 'a', QueueArn: arn('MAIN'), Events: ['s3:ObjectCreated:*'] },
        { Id: 'b', QueueArn: arn('FLAKY'), Events: ['s3:ObjectCreated:Put'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'x/' }] } } },
      ],
    }))).toEqual({ code: 'InvalidArgument', status: 400 });
    // Nothing was stored by the refused requests.
    expect((await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }))).QueueConfigurations).toBeUndefined();
  });

  test('a user who does not own the bucket can neither read nor set its configuration', async () => {
    const bucket = await bucketWith('owner', everything());
    const r = await runAdmin(cluster, ['user', 'create', 'mallory', '--json']);
    expect(r.code).toBe(0);
    const key = JSON.parse(r.out) as { accessKeyId: string; secretAccessKey: string };
    const mallory = cluster.client({ credentials: key });
    expect(await s3Error(mallory.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket })))).toEqual({ code: 'AccessDenied', status: 403 });
    expect(await s3Error(mallory.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }))))
      .toEqual({ code: 'AccessDenied', status: 403 });
    expect((await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }))).QueueConfigurations).toHaveLength(1);
  });
});

describe('events', () => {
  test('PUT, copy, multipart completion and delete each give one event in S3\'s shape', async () => {
    const bucket = await bucketWith('kinds', everything());
    // A space, a plus and a slash: the event key is form-encoded as S3 writes it.
    const key = 'dir/a b+c.txt';
    const body = 'hello notifications';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/${encodeURIComponent(key)}` }));
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpu' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mpu', UploadId: up.UploadId, PartNumber: 1, Body: 'one part' }));
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: 'mpu', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
    }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'copy' }));
    const events = await waitForEvents(bucket, 4);
    // Putting the configuration sent S3's test message first (its id is the lowest).
    expect(tests.filter((m) => m.path === '/main' && m.body.Bucket === bucket).map((m) => m.body))
      .toEqual([{ Service: 'Amazon S3', Event: 's3:TestEvent', Time: expect.any(String), Bucket: bucket, RequestId: expect.stringMatching(/^[0-9A-F]{16}$/), HostId: 'shardgate' }]);
    const byName = new Map(events.map((e) => [e.eventName as string, e]));
    expect([...byName.keys()].sort()).toEqual(['ObjectCreated:CompleteMultipartUpload', 'ObjectCreated:Copy', 'ObjectCreated:Put', 'ObjectRemoved:Delete']);

    const put = byName.get('ObjectCreated:Put')!;
    expect(put).toMatchObject({
      eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1',
      userIdentity: { principalId: 'root' }, requestParameters: { sourceIPAddress: '127.0.0.1' },
      s3: {
        s3SchemaVersion: '1.0', configurationId: 'all',
        bucket: { name: bucket, ownerIdentity: { principalId: 'root' }, arn: `arn:aws:s3:::${bucket}` },
        object: { key: 'dir/a+b%2Bc.txt', size: body.length, eTag: md5Hex(body) },
      },
    });
    expect(new Date(put.eventTime as string).toISOString()).toBe(put.eventTime);
    expect(put.responseElements['x-amz-request-id']).toMatch(/^[0-9A-F]{16}$/);
    expect(put.s3.object.sequencer).toMatch(/^[0-9A-F]{16}$/);
    // Unversioned bucket: no versionId, as S3 leaves it out.
    expect(put.s3.object.versionId).toBeUndefined();
    expect(decodeURIComponent((put.s3.object.key as string).replace(/\+/g, ' '))).toBe(key);

    expect(byName.get('ObjectCreated:Copy')!.s3.object).toMatchObject({ key: 'copy', size: body.length, eTag: md5Hex(body) });
    expect(byName.get('ObjectCreated:CompleteMultipartUpload')!.s3.object).toMatchObject({ key: 'mpu', size: 8 });
    expect(byName.get('ObjectCreated:CompleteMultipartUpload')!.s3.object.eTag).toMatch(/^[0-9a-f]{32}-1$/);
    const removed = byName.get('ObjectRemoved:Delete')!.s3.object;
    expect(removed).toEqual({ key: 'copy', sequencer: expect.stringMatching(/^[0-9A-F]{16}$/) });
    // Later commits have larger sequencers.
    expect(removed.sequencer > byName.get('ObjectCreated:Copy')!.s3.object.sequencer).toBe(true);

    // The target's token rides along, and nothing was sent twice.
    const requests = received.filter((r) => r.path === '/main' && r.body.Records[0]!.s3.bucket.name === bucket);
    expect(requests).toHaveLength(4);
    for (const r of requests) {
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body.Records).toHaveLength(1);
    }
  });

  test('a POST form upload gives ObjectCreated:Post (boto3 generate_presigned_post)', async (ctx) => {
    if (!onPath('python3')) return ctx.skip('python3 is not installed');
    const bucket = await bucketWith('post', everything());
    const script = `
import boto3, json, os
from botocore.config import Config
c = boto3.client('s3', endpoint_url=os.environ['SG_ENDPOINT'], region_name='us-east-1', aws_access_key_id=os.environ['SG_AK'],
                 aws_secret_access_key=os.environ['SG_SK'], config=Config(s3={'addressing_style': 'path'}))
print(json.dumps(c.generate_presigned_post(os.environ['SG_BUCKET'], 'form.txt', ExpiresIn=300)))
`;
    let out: string;
    try {
      out = await run('python3', ['-c', script], {
        ...process.env, SG_ENDPOINT: cluster.endpoint, SG_AK: ACCESS_KEY, SG_SK: SECRET_KEY, SG_BUCKET: bucket, AWS_EC2_METADATA_DISABLED: 'true',
      });
    } catch (err) {
      if (/No module named .boto3/.test(String(err))) return ctx.skip('boto3 is not installed');
      throw err;
    }
    const post = JSON.parse(out) as { url: string; fields: Record<string, string> };
    const form = new FormData();
    for (const [k, v] of Object.entries(post.fields)) form.append(k, v);
    form.append('file', new Blob(['posted']), 'form.txt');
    expect((await fetch(post.url, { method: 'POST', body: form })).status).toBe(204);
    const [e] = await waitForEvents(bucket, 1);
    expect(e).toMatchObject({ eventName: 'ObjectCreated:Post', userIdentity: { principalId: 'root' }, s3: { object: { key: 'form.txt', size: 6, eTag: md5Hex('posted') } } });
  });

  test('a versioned bucket: versionIds, a delete marker, a version deleted, and DeleteObjects', async () => {
    const bucket = await bucketWith('versioned', everything(), true);
    const v1 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'v1' }));
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
    expect(marker.DeleteMarker).toBe(true);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k', VersionId: v1.VersionId }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b1', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b2', Body: 'y' }));
    const batch = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'b1' }, { Key: 'b2' }] } }));
    expect(batch.Deleted).toHaveLength(2);
    const events = await waitForEvents(bucket, 7);
    const of = (name: string, key: string) => events.filter((e) => e.eventName === name && e.s3.object.key === key).map((e) => e.s3.object);
    expect(of('ObjectCreated:Put', 'k')).toEqual([expect.objectContaining({ versionId: v1.VersionId, size: 2, eTag: md5Hex('v1') })]);
    expect(of('ObjectRemoved:DeleteMarkerCreated', 'k')).toEqual([{ key: 'k', versionId: marker.VersionId, sequencer: expect.any(String) }]);
    expect(of('ObjectRemoved:Delete', 'k')).toEqual([{ key: 'k', versionId: v1.VersionId, sequencer: expect.any(String) }]);
    const markers = batch.Deleted!.map((d) => d.DeleteMarkerVersionId).sort();
    expect([...of('ObjectRemoved:DeleteMarkerCreated', 'b1'), ...of('ObjectRemoved:DeleteMarkerCreated', 'b2')].map((o) => o.versionId).sort()).toEqual(markers);
    expect(events).toHaveLength(7);
  });

  test('prefix and suffix filters and event types select what is sent', async () => {
    const bucket = await bucketWith('filters', {
      QueueConfigurations: [{
        Id: 'jpg', QueueArn: arn('MAIN'), Events: ['s3:ObjectCreated:Put'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'images/' }, { Name: 'suffix', Value: '.jpg' }] } },
      }],
    });
    for (const key of ['images/x.png', 'docs/x.jpg', 'x.jpg']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'no' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'images/y.jpg', Body: 'yes' }));
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'images/z.jpg', CopySource: `${bucket}/images/y.jpg` })); // a Copy, not a Put
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'images/y.jpg' })); // a removal: not asked for
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'images/last.jpg', Body: 'yes' }));
    const events = await waitForEvents(bucket, 2);
    // Events of one bucket are not ordered, but the ones filtered out were never queued.
    await new Promise((r) => setTimeout(r, 500));
    expect(delivered(bucket).map((e) => e.s3.object.key).sort()).toEqual(['images/last.jpg', 'images/y.jpg']);
    expect(events.every((e) => e.eventName === 'ObjectCreated:Put' && e.s3.configurationId === 'jpg')).toBe(true);
  });
});

describe('delivery', () => {
  test('a target answering 500 twice then 200 gets the event, retried; the metrics count both', async () => {
    const bucket = await bucketWith('flaky', everything('FLAKY'));
    // The configuration's own test message first, so that the counts below are the event's.
    await metricsWhen((t) => tests.some((m) => m.path === '/flaky' && m.body.Bucket === bucket) && metric(t, 'shardgate_notifications_pending', 'FLAKY') === 0);
    const before = await metrics();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'retried', Body: 'r' }));
    await waitForEvents(bucket, 1, '/flaky');
    const attempts = received.filter((r) => r.path === '/flaky' && r.body.Records[0]!.s3.bucket.name === bucket);
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    // The same event each time.
    expect(new Set(attempts.map((a) => a.body.Records[0]!.s3.object.sequencer)).size).toBe(1);
    const after = await metricsWhen((t) => metric(t, 'shardgate_notifications_pending', 'FLAKY') === 0);
    expect(metric(after, 'shardgate_notifications_delivered_total', 'FLAKY') - metric(before, 'shardgate_notifications_delivered_total', 'FLAKY')).toBe(1);
    expect(metric(after, 'shardgate_notifications_failed_attempts_total', 'FLAKY') - metric(before, 'shardgate_notifications_failed_attempts_total', 'FLAKY')).toBe(2);
    expect(metric(after, 'shardgate_notifications_pending', 'FLAKY')).toBe(0);
  });

  test('events pending for a down target do not hold up another target, and are delivered after a SIGKILL and restart', async () => {
    const held = await bucketWith('held', everything('hold-1'));
    const other = await bucketWith('other', everything());
    for (const key of ['p1', 'p2', 'p3']) await s3.send(new PutObjectCommand({ Bucket: held, Key: key, Body: key }));
    // The down target is being retried...
    const deadline = Date.now() + 30_000;
    while (received.filter((r) => r.path === '/hold').length < 3) {
      if (Date.now() > deadline) throw new Error('the held target was never tried');
      await new Promise((r) => setTimeout(r, 50));
    }
    // ...while another target's events go through.
    await s3.send(new PutObjectCommand({ Bucket: other, Key: 'meanwhile', Body: 'm' }));
    await waitForEvents(other, 1);
    expect(metric(await metrics(), 'shardgate_notifications_pending', 'hold-1')).toBe(3);
    expect(delivered(held, '/hold')).toEqual([]);

    await cluster.restartGateway('SIGKILL');
    holding = false;
    const events = await waitForEvents(held, 3, '/hold');
    expect(events.map((e) => e.s3.object.key).sort()).toEqual(['p1', 'p2', 'p3']);
    expect(metric(await metricsWhen((t) => metric(t, 'shardgate_notifications_pending', 'hold-1') === 0), 'shardgate_notifications_pending', 'hold-1')).toBe(0);
  });
});
