/**
 * The gateway as a whole: a real cluster (16 shard-stores and a gateway process) fed random
 * but plausible S3 requests over raw sockets, signed (SigV4 header and query, SigV2),
 * unsigned, or with bad signatures, carrying request documents, forms and aws-chunked bodies
 * with damaged parts. Every request is answered in bounded time; no 5xx but 501 and 503;
 * every 4xx carries an error document with a code; the gateway's memory does not keep growing.
 */
import { createHash, createHmac } from 'node:crypto';
import { connect } from 'node:net';
import aws4 from 'aws4';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY, SECRET_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { memoryOf } from '../helpers/stream-put.js';
import { check, hostileString, mutated, runs } from './fuzz.js';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/core/protocols';
import { NodeSha256, s3Key } from './sigv4-requests.js';
import { documents, VOCABULARIES } from './xml-generators.js';

/** Wall-clock time one request may take on a loaded 2-core machine before it counts as a hang. */
const ANSWER_MS = 30_000;
/** Growth of the gateway's resident memory over the run, after warm-up, that counts as unbounded. */
const RSS_GROWTH_LIMIT = 128 * 1024 * 1024;

let c: Cluster;
let port: number;
/** A live multipart upload of `a` in `fuzz`, and a version of `a` in `fuzz-ver`, for requests that name them. */
let liveUploadId = '';
let liveVersionId = '';

// ---------------------------------------------------------------------------------------
// Raw HTTP

interface Answer { status: number; headers: Map<string, string>; body: Buffer; raw: Buffer }

/** Send exact bytes on a fresh connection (`Connection: close`) and read everything back. */
async function send(bytes: Buffer): Promise<Buffer> {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  sock.setNoDelay(true);
  const timer = setTimeout(() => sock.destroy(new Error(`no answer within ${ANSWER_MS} ms`)), ANSWER_MS);
  try {
    sock.write(bytes);
    const chunks: Buffer[] = [];
    for await (const c2 of sock) chunks.push(c2 as Buffer);
    return Buffer.concat(chunks);
  } finally {
    clearTimeout(timer);
  }
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(b.subarray(i, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** The final answer in `raw`, past any `100 Continue`. */
function parseAnswer(raw: Buffer, method: string): Answer {
  let at = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', at);
    const head = raw.subarray(at, end < 0 ? raw.length : end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1]);
    if (status >= 100 && status < 200 && end >= 0) {
      at = end + 4;
      continue;
    }
    const headers = new Map(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
    const rest = end < 0 ? Buffer.alloc(0) : raw.subarray(end + 4);
    const body = method === 'HEAD' || status === 204 || status === 304 ? Buffer.alloc(0)
      : headers.get('transfer-encoding') === 'chunked' ? dechunk(rest) : rest.subarray(0, Number(headers.get('content-length') ?? rest.length));
    return { status, headers, body, raw };
  }
}

// ---------------------------------------------------------------------------------------
// Requests

type Auth = 'anonymous' | 'v4' | 'v4-query' | 'v2' | 'bad-signature' | 'garbage';

interface Req {
  /** `bucket` holds a whole path (admin and public endpoints). */
  special?: boolean;
  method: string;
  virtualHost: boolean;
  /** Path after the bucket, already encoded as it goes on the wire. */
  bucket: string;
  key: string | undefined;
  query: Array<[string, string | undefined]>;
  headers: Array<[string, string]>;
  body: Buffer;
  auth: Auth;
  chunked: boolean;
}

const BUCKETS = ['fuzz', 'fuzz-ver', 'nosuchbucket', 'Bad_Bucket', 'a'.repeat(64), ''];
const OBJECTS = ['a', 'dir/b c', 'é+&=', 'public'];

/** Keys on the wire: well encoded, with raw reserved characters, or with broken escapes. */
const wireKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...OBJECTS).map((k) => k.split('/').map(encodeURIComponent).join('/')) },
  { weight: 3, arbitrary: s3Key.filter((k) => k.length < 100).map((k) => k.split('/').map((seg) => encodeURIComponent(seg.replace(/[\ud800-\udfff]/g, ''))).join('/')) },
  { weight: 1, arbitrary: fc.constantFrom('%zz', 'a%c3', '%ed%a0%80', 'a%2Fb', '..%2F..', '%00', 'a+b', "it's(1)!", '~%7E', '%25', 'x'.repeat(1025)) },
);

const SUBRESOURCE_VALUES: Record<string, fc.Arbitrary<string | undefined>> = {
  // {upload} and {version} stand for a live multipart upload of `a` in `fuzz` and a version of `a` in `fuzz-ver`.
  uploads: fc.constant(undefined), uploadId: fc.constantFrom('{upload}', '{upload}', '{upload}', 'garbage', '', 'x'.repeat(100)), partNumber: fc.constantFrom('1', '0', '10001', '-1', 'abc', '99999999999999999999'),
  versionId: fc.constantFrom('{version}', '{version}', 'null', 'garbage', ''), acl: fc.constant(''), tagging: fc.constant(''), policy: fc.constant(''), cors: fc.constant(''), lifecycle: fc.constant(''),
  versioning: fc.constant(''), 'object-lock': fc.constant(''), retention: fc.constant(''), 'legal-hold': fc.constant(''), publicAccessBlock: fc.constant(''), encryption: fc.constant(''),
  policyStatus: fc.constant(''), location: fc.constant(''), delete: fc.constant(''), versions: fc.constant(''), attributes: fc.constant(''), requestPayment: fc.constant(''),
  website: fc.constant(''), notification: fc.constant(''), 'list-type': fc.constantFrom('2', '1', '3'), prefix: fc.constantFrom('', 'a', 'dir/', '%zz'),
  delimiter: fc.constantFrom('/', '', 'ab'), 'max-keys': fc.constantFrom('0', '1', '-1', '1001', '99999999999999999999', 'x'), 'continuation-token': fc.constantFrom('garbage', 'e30', ''),
  'start-after': fc.constantFrom('a', ''), 'encoding-type': fc.constantFrom('url', 'bad'), marker: fc.constant('a'), 'key-marker': fc.constant('a'), 'version-id-marker': fc.constant('x'),
  'upload-id-marker': fc.constant('x'), 'max-uploads': fc.constantFrom('1', '-5'), 'part-number-marker': fc.constantFrom('1', 'x'), 'max-parts': fc.constantFrom('1', '0'),
  'response-content-type': fc.constantFrom('text/html', '\u00e9'), 'response-content-disposition': fc.constant('attachment'), 'response-expires': fc.constant('garbage'),
  'x-id': fc.constantFrom('GetObject', 'PutObject'),
};

const queryArb: fc.Arbitrary<Array<[string, string | undefined]>> = fc.uniqueArray(
  fc.constantFrom(...Object.keys(SUBRESOURCE_VALUES)).chain((name) => SUBRESOURCE_VALUES[name]!.map((v) => [name, v] as [string, string | undefined])),
  { maxLength: 3, selector: ([n]) => n },
);

/** Header values a client may send (latin1, no control characters: Node's parser refuses those). */
// eslint-disable-next-line no-control-regex -- control characters are what it removes
const headerValue = fc.oneof(hostileString(3), fc.string({ maxLength: 20 })).map((s) => Buffer.from(s, 'utf8').toString('latin1').replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '').trim());

const HEADERS: Record<string, fc.Arbitrary<string>> = {
  range: fc.constantFrom('bytes=0-1', 'bytes=-5', 'bytes=5-', 'bytes=9999999999999-', 'bytes=abc', 'bytes=0-1,3-4', 'bytes=2-1', 'items=0-1', 'bytes=-0'),
  'if-match': fc.constantFrom('*', '"d41d8cd98f00b204e9800998ecf8427e"', 'garbage', '""'),
  'if-none-match': fc.constantFrom('*', '"x"', 'garbage'),
  'if-modified-since': fc.constantFrom('Wed, 21 Oct 2015 07:28:00 GMT', 'garbage', '0'),
  'if-unmodified-since': fc.constantFrom('Wed, 21 Oct 2015 07:28:00 GMT', 'garbage'),
  'content-md5': fc.constantFrom('1B2M2Y8AsgTpgAmY7PhCfg==', 'garbage', ''),
  'content-type': fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=b', 'multipart/form-data', 'x/y; charset=utf-8'),
  'x-amz-acl': fc.constantFrom('private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'garbage'),
  'x-amz-grant-read': fc.constantFrom('id="root"', 'uri="http://acs.amazonaws.com/groups/global/AllUsers"', 'emailAddress="a@b.c"', 'garbage', 'id=""'),
  'x-amz-copy-source': fc.constantFrom('/fuzz/a', 'fuzz/dir%2Fb%20c', '/fuzz-ver/a?versionId={version}', '/fuzz/a?versionId=null', '/nosuchbucket/x', '%zz', '/fuzz/', 'garbage'),
  'x-amz-copy-source-range': fc.constantFrom('bytes=0-0', 'bytes=0-99999999', 'garbage'),
  'x-amz-metadata-directive': fc.constantFrom('COPY', 'REPLACE', 'garbage'),
  'x-amz-tagging-directive': fc.constantFrom('COPY', 'REPLACE', 'garbage'),
  'x-amz-meta-a': headerValue,
  'x-amz-tagging': fc.constantFrom('k=v', 'k=v&k=w', '%zz=1', 'aws:x=1', `${'k'.repeat(200)}=v`, '=', '&&'),
  'x-amz-storage-class': fc.constantFrom('STANDARD', 'GLACIER', 'garbage'),
  'x-amz-server-side-encryption': fc.constantFrom('AES256', 'aws:kms', 'garbage'),
  'x-amz-server-side-encryption-customer-algorithm': fc.constantFrom('AES256', 'garbage'),
  'x-amz-server-side-encryption-customer-key': fc.constantFrom(Buffer.alloc(32, 7).toString('base64'), 'garbage', ''),
  'x-amz-server-side-encryption-customer-key-md5': fc.constantFrom(createHash('md5').update(Buffer.alloc(32, 7)).digest('base64'), 'garbage'),
  'x-amz-object-lock-mode': fc.constantFrom('GOVERNANCE', 'COMPLIANCE', 'garbage'),
  'x-amz-object-lock-retain-until-date': fc.constantFrom('2030-01-01T00:00:00Z', '1999-01-01T00:00:00Z', 'garbage'),
  'x-amz-object-lock-legal-hold': fc.constantFrom('ON', 'OFF', 'garbage'),
  'x-amz-bypass-governance-retention': fc.constantFrom('true', 'garbage'),
  'x-amz-checksum-crc32': fc.constantFrom('AAAAAA==', 'garbage'),
  'x-amz-checksum-sha256': fc.constantFrom('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', 'x'),
  'x-amz-sdk-checksum-algorithm': fc.constantFrom('CRC32', 'CRC64NVME', 'MD5', 'garbage'),
  'x-amz-checksum-algorithm': fc.constantFrom('CRC32', 'garbage'),
  'x-amz-trailer': fc.constantFrom('x-amz-checksum-crc32', 'x-amz-checksum-sha1', 'garbage,x'),
  'x-amz-decoded-content-length': fc.constantFrom('0', '5', '99999999999999999999', '-1', 'x'),
  'x-amz-content-sha256': fc.constantFrom('UNSIGNED-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'garbage', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'),
  'content-encoding': fc.constantFrom('aws-chunked', 'gzip', 'aws-chunked,gzip'),
  'x-amz-date': fc.constantFrom('20200101T000000Z', 'garbage'),
  origin: fc.constantFrom('http://a.example', 'null', 'https://x.example.com'),
  'access-control-request-method': fc.constantFrom('GET', 'PUT', 'PATCH', ''),
  'access-control-request-headers': fc.constantFrom('x-amz-meta-a', 'content-type, x-amz-date', ','),
  // Only 100-continue: Node itself answers any other expectation with a bare 417 (see the report of this target).
  expect: fc.constant('100-continue'),
  'x-amz-expected-bucket-owner': fc.constantFrom('root', '123'),
  'x-forwarded-proto': fc.constantFrom('https', 'http'),
  'x-amz-mfa': fc.constant('123 456'),
};

const headersArb: fc.Arbitrary<Array<[string, string]>> = fc.array(
  fc.constantFrom(...Object.keys(HEADERS)).chain((name) => HEADERS[name]!.map((v) => [name, v] as [string, string])),
  { maxLength: 5 },
);

/** Which document a request with this sub-resource carries. */
const DOCUMENT_FOR: Record<string, string> = {
  tagging: 'Tagging', lifecycle: 'LifecycleConfiguration', versioning: 'VersioningConfiguration', acl: 'AccessControlPolicy', delete: 'Delete',
  uploadId: 'CompleteMultipartUpload', 'object-lock': 'ObjectLockConfiguration', retention: 'Retention', 'legal-hold': 'LegalHold',
  publicAccessBlock: 'PublicAccessBlockConfiguration', encryption: 'ServerSideEncryptionConfiguration',
};
const byRoot = new Map(VOCABULARIES.map((v) => [v.root, v]));

/**
 * CORS rules and bucket policies that parse, then damaged without new wildcards or odd header
 * text: those reach two known bugs (the wildcard ReDoS, and non-token CORS header names that
 * make every matching request a 500), which have their own skipped properties.
 */
const corsBody = fc.array(fc.record({
  origin: fc.constantFrom('*', 'http://a.example', 'https://*.example.com'), method: fc.constantFrom('GET', 'PUT', 'HEAD', 'POST', 'DELETE'),
  header: fc.constantFrom('*', 'x-amz-*', 'content-type'), expose: fc.constantFrom('ETag', 'x-amz-request-id'), age: fc.nat(100_000),
}), { minLength: 1, maxLength: 3 }).map((rules) => `<CORSConfiguration>${rules.map((r) => `<CORSRule><AllowedOrigin>${r.origin}</AllowedOrigin><AllowedMethod>${r.method}</AllowedMethod>`
  + `<AllowedHeader>${r.header}</AllowedHeader><ExposeHeader>${r.expose}</ExposeHeader><MaxAgeSeconds>${r.age}</MaxAgeSeconds></CORSRule>`).join('')}</CORSConfiguration>`);

const policyBody = fc.record({
  effect: fc.constantFrom('Allow', 'Deny'), principal: fc.constantFrom('"*"', '{"AWS":"root"}', '{"AWS":["alice"]}'),
  action: fc.constantFrom('s3:GetObject', 's3:*', 's3:PutObject', 's3:ListBucket'),
  resource: fc.constantFrom('arn:aws:s3:::fuzz/*', 'arn:aws:s3:::fuzz/a*', 'arn:aws:s3:::fuzz', 'arn:aws:s3:::fuzz/dir/*b'),
  condition: fc.constantFrom('', ',"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}', ',"Condition":{"StringLike":{"s3:prefix":"a*"}}', ',"Condition":{"Bool":{"aws:SecureTransport":"true"}}'),
}).map((p) => `{"Version":"2012-10-17","Statement":[{"Effect":"${p.effect}","Principal":${p.principal},"Action":"${p.action}","Resource":"${p.resource}"${p.condition}}]}`);

const NO_NEW_WILDCARDS = (s: string): boolean => !/[*?\u0080-\uffff]/.test(s);

function bodyFor(query: ReadonlyArray<[string, string | undefined]>, headers: ReadonlyArray<[string, string]>): fc.Arbitrary<Buffer> {
  const names = query.map(([n]) => n);
  const root = names.map((n) => DOCUMENT_FOR[n]).find((r) => r !== undefined);
  const plain = fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)), fc.constantFrom(Buffer.from('hello')));
  if (names.includes('cors')) return fc.oneof(corsBody, mutated(corsBody, 2).filter((s) => NO_NEW_WILDCARDS(s.replace(/<AllowedOrigin>[^<]*<\/AllowedOrigin>|<AllowedHeader>[^<]*<\/AllowedHeader>/g, '')))).map((s) => Buffer.from(s));
  if (names.includes('policy')) return fc.oneof(policyBody, mutated(policyBody, 2).filter((s) => !/\*.*\*.*\*/.test(s))).map((s) => Buffer.from(s));
  if (root) return fc.oneof({ weight: 4, arbitrary: documents(byRoot.get(root)!).map((s) => Buffer.from(s)) }, { weight: 1, arbitrary: plain });
  const chunked = headers.some(([n, v]) => n === 'x-amz-content-sha256' && v.startsWith('STREAMING'));
  if (chunked) {
    return fc.tuple(fc.uint8Array({ maxLength: 500 }), fc.constantFrom('', 'x-amz-checksum-crc32:AAAAAA==\r\n'))
      .map(([d, trailer]) => Buffer.concat([Buffer.from(`${d.length.toString(16)}\r\n`), Buffer.from(d), Buffer.from(`\r\n0\r\n${trailer}\r\n`)]));
  }
  const form = headers.some(([n, v]) => n === 'content-type' && v.startsWith('multipart/form-data'));
  if (form) {
    return fc.record({ fields: fc.array(fc.tuple(fc.constantFrom('key', 'acl', 'policy', 'x-amz-meta-a', 'success_action_status', 'Content-Type', 'tagging'), fc.string({ maxLength: 20 })), { maxLength: 4 }), file: fc.boolean() })
      .map(({ fields, file }) => Buffer.from(`${fields.map(([n, v]) => `--b\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`).join('')}${file ? '--b\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\ndata\r\n' : ''}--b--\r\n`));
  }
  return plain;
}

/**
 * S3 operations as clients send them: method, where, the sub-resources that name the operation
 * and the body it carries. Requests start from one and are then varied: other values, extra
 * headers and parameters, other buckets and keys, other authentication.
 */
interface Template { method: string; object: boolean; query: string[]; headers?: string[] }
const TEMPLATES: Template[] = [
  { method: 'GET', object: false, query: [] }, // ListBuckets when the bucket is ''
  { method: 'GET', object: true, query: [], headers: ['range', 'if-match', 'if-none-match', 'if-modified-since'] },
  { method: 'HEAD', object: true, query: [], headers: ['range', 'if-none-match'] },
  { method: 'GET', object: true, query: ['partNumber'] },
  { method: 'GET', object: true, query: ['response-content-type', 'response-content-disposition'] },
  { method: 'PUT', object: true, query: [], headers: ['content-type', 'x-amz-meta-a', 'x-amz-tagging', 'content-md5', 'x-amz-acl', 'x-amz-checksum-crc32', 'if-none-match'] },
  { method: 'PUT', object: true, query: [], headers: ['x-amz-content-sha256', 'content-encoding', 'x-amz-decoded-content-length', 'x-amz-trailer'] },
  { method: 'PUT', object: true, query: [], headers: ['x-amz-copy-source', 'x-amz-metadata-directive', 'x-amz-tagging-directive'] },
  { method: 'PUT', object: true, query: [], headers: ['x-amz-server-side-encryption-customer-algorithm', 'x-amz-server-side-encryption-customer-key', 'x-amz-server-side-encryption-customer-key-md5'] },
  { method: 'PUT', object: true, query: [], headers: ['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date', 'x-amz-object-lock-legal-hold'] },
  { method: 'DELETE', object: true, query: [], headers: ['x-amz-bypass-governance-retention'] },
  { method: 'DELETE', object: true, query: ['versionId'] },
  { method: 'GET', object: false, query: ['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'encoding-type'] },
  { method: 'GET', object: false, query: ['prefix', 'marker', 'max-keys', 'delimiter'] },
  { method: 'GET', object: false, query: ['versions', 'key-marker', 'version-id-marker', 'prefix'] },
  { method: 'GET', object: false, query: ['uploads', 'upload-id-marker', 'max-uploads'] },
  { method: 'POST', object: true, query: ['uploads'], headers: ['content-type', 'x-amz-acl', 'x-amz-checksum-algorithm'] },
  { method: 'PUT', object: true, query: ['partNumber', 'uploadId'], headers: ['content-md5'] },
  { method: 'PUT', object: true, query: ['partNumber', 'uploadId'], headers: ['x-amz-copy-source', 'x-amz-copy-source-range'] },
  { method: 'POST', object: true, query: ['uploadId'], headers: ['if-none-match'] },
  { method: 'GET', object: true, query: ['uploadId', 'max-parts', 'part-number-marker'] },
  { method: 'DELETE', object: true, query: ['uploadId'] },
  { method: 'POST', object: false, query: ['delete'], headers: ['content-md5'] },
  ...['tagging', 'acl'].flatMap((q) => [true, false].flatMap((object) => ['GET', 'PUT', 'DELETE'].map((method) => ({ method, object, query: [q] })))),
  ...['cors', 'policy', 'lifecycle', 'publicAccessBlock', 'encryption'].flatMap((q) => ['GET', 'PUT', 'DELETE'].map((method) => ({ method, object: false, query: [q] }))),
  ...['versioning', 'object-lock', 'location', 'policyStatus', 'requestPayment'].flatMap((q) => ['GET', 'PUT'].map((method) => ({ method, object: false, query: [q] }))),
  ...['retention', 'legal-hold', 'attributes'].flatMap((q) => ['GET', 'PUT'].map((method) => ({ method, object: true, query: [q] }))),
  { method: 'OPTIONS', object: true, query: [], headers: ['origin', 'access-control-request-method', 'access-control-request-headers'] },
  { method: 'GET', object: true, query: [], headers: ['origin'] },
  { method: 'PUT', object: false, query: [] }, // CreateBucket
  { method: 'DELETE', object: false, query: [] },
  { method: 'HEAD', object: false, query: [] },
  { method: 'POST', object: false, query: [], headers: ['content-type'] }, // PostObject
];

/** Admin and public endpoints under /_shardgate and /.well-known: read-only ones, with clean paths (see the skipped property below). */
const SPECIAL_PATHS = ['/_shardgate/admin/v1/users', '/_shardgate/admin/v1/keys', '/_shardgate/admin/v1/nodes', '/_shardgate/admin/v1/nodes/ss00', '/_shardgate/admin/v1/nodes/nosuch',
  '/_shardgate/admin/v1/repair', '/_shardgate/admin/v1/audit', '/_shardgate/admin/v1/nope', '/_shardgate/metrics', '/_shardgate/reports', '/_shardgate/reports?after=x', '/.well-known/shardgate/report-key.jwk', '/metrics'];

const templateReq: fc.Arbitrary<Omit<Req, 'body'>> = fc.record({
  template: fc.constantFrom(...TEMPLATES),
  bucket: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('fuzz', 'fuzz-ver') }, { weight: 1, arbitrary: fc.constantFrom(...BUCKETS) }),
  key: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...OBJECTS).map((k) => k.split('/').map(encodeURIComponent).join('/')) }, { weight: 1, arbitrary: wireKey }),
  values: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  headerValues: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  extraQuery: fc.oneof({ weight: 4, arbitrary: fc.constant([] as Array<[string, string | undefined]>) }, { weight: 1, arbitrary: queryArb }),
  extraHeaders: fc.oneof({ weight: 2, arbitrary: fc.constant([] as Array<[string, string]>) }, { weight: 1, arbitrary: headersArb }),
  auth: fc.oneof({ weight: 14, arbitrary: fc.constant<Auth>('v4') }, { weight: 2, arbitrary: fc.constant<Auth>('v4-query') }, { weight: 2, arbitrary: fc.constant<Auth>('anonymous') },
    { weight: 1, arbitrary: fc.constantFrom<Auth>('v2', 'bad-signature', 'garbage') }),
  virtualHost: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  chunked: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  methodSwap: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'PATCH') }),
}).chain((g) => {
  // One value per named parameter or header: sampled from its generator by the drawn numbers.
  const pick = <T,>(arb: fc.Arbitrary<T>, n: number): T => fc.sample(arb, { numRuns: 1, seed: n })[0]!;
  const query = g.template.query.map((name, i) => [name, pick(SUBRESOURCE_VALUES[name] ?? fc.constant(''), g.values[i % 8]!)] as [string, string | undefined]);
  const headers = (g.template.headers ?? []).map((name, i) => [name, pick(HEADERS[name]!, g.headerValues[i % 8]!)] as [string, string]);
  const seen = new Set(query.map(([n]) => n));
  return fc.constant({
    method: g.methodSwap ?? g.template.method, virtualHost: g.virtualHost, bucket: g.bucket, key: g.template.object ? g.key : undefined,
    query: [...query, ...g.extraQuery.filter(([n]) => !seen.has(n))], headers: [...headers, ...g.extraHeaders], auth: g.auth, chunked: g.chunked,
  });
});

const specialReq: fc.Arbitrary<Omit<Req, 'body'>> = fc.record({
  path: fc.constantFrom(...SPECIAL_PATHS), method: fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'DELETE'),
  auth: fc.constantFrom<Auth>('v4', 'anonymous', 'bad-signature'), headers: fc.oneof(fc.constant([] as Array<[string, string]>), fc.constant([['authorization', 'Bearer garbage']] as Array<[string, string]>)),
}).map((r) => ({ method: r.method, virtualHost: false, bucket: r.path, key: undefined, query: [], headers: r.headers, auth: r.auth, chunked: false, special: true }));

/** How a failing request is shown: what was sent, with long bodies cut. */
function describeReq(r: Req): string {
  const body = r.body.length > 300 ? `${JSON.stringify(r.body.subarray(0, 300).toString('latin1'))}... (${r.body.length} bytes)` : JSON.stringify(r.body.toString('latin1'));
  return JSON.stringify({ ...r, body: undefined }) + ` body=${body}`;
}

const requestArb: fc.Arbitrary<Req> = fc.oneof({ weight: 20, arbitrary: templateReq }, { weight: 1, arbitrary: specialReq })
  .chain((r) => bodyFor(r.query, r.headers).map((body) => {
    const req: Req = { ...r, body };
    return Object.assign(req, { [fc.toStringMethod]: () => describeReq(req) });
  }));

const live = (v: string): string => v.replaceAll('{upload}', liveUploadId).replaceAll('{version}', liveVersionId);

function queryString(q: ReadonlyArray<[string, string | undefined]>): string {
  return q.map(([n, v]) => (v === undefined ? n : `${n}=${encodeURIComponent(live(v))}`)).join('&');
}

/** SigV2 over the documented string to sign (sub-resources of this request, x-amz-* headers). */
function signV2(method: string, resource: string, headers: Map<string, string>, date: string): string {
  const amz = [...headers].filter(([n]) => n.startsWith('x-amz-')).sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, v]) => `${n}:${v}\n`).join('');
  const sts = `${method}\n${headers.get('content-md5') ?? ''}\n${headers.get('content-type') ?? ''}\n${date}\n${amz}${resource}`;
  return createHmac('sha1', SECRET_KEY).update(sts, 'utf8').digest('base64');
}

const smithySigner = new SignatureV4({
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false,
});

/**
 * SigV4 over the path exactly as sent, for paths `aws4` cannot sign (it decodes them first and
 * throws on broken escapes): the AWS SDK's signer, which S3 clients use, signs them as they are.
 */
async function signRawPath(method: string, host: string, path: string, headers: Map<string, string>): Promise<void> {
  const signed = await smithySigner.sign(new HttpRequest({
    method, hostname: host.replace(/:\d+$/, ''), port, path, headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...Object.fromEntries(headers) },
  }));
  for (const [n, v] of Object.entries(signed.headers)) if (n.toLowerCase() !== 'host') headers.set(n.toLowerCase(), v);
}

/** The bytes of a request: the request line, its headers signed as asked, and the body. */
async function wire(r: Req): Promise<Buffer> {
  const host = r.virtualHost && r.bucket !== '' ? `${r.bucket}.localhost:${port}` : `127.0.0.1:${port}`;
  const path = r.special ? r.bucket : r.virtualHost && r.bucket !== '' ? `/${r.key ?? ''}` : `/${r.bucket}${r.key !== undefined ? `/${r.key}` : ''}`;
  const qs = queryString(r.query);
  let target = qs ? `${path}?${qs}` : path;
  const headers = new Map<string, string>();
  for (const [n, v] of r.headers) headers.set(n, live(v));
  const extra: Array<[string, string]> = [];
  const signable = { ...Object.fromEntries(headers) };
  try {
    switch (r.auth) {
      case 'v4':
      case 'bad-signature': {
        const signed = aws4.sign({ host, method: r.method, path: target, service: 's3', region: 'us-east-1', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...signable }, body: r.body },
          { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
        for (const [n, v] of Object.entries(signed.headers ?? {})) if (n.toLowerCase() !== 'host' && n.toLowerCase() !== 'content-length') headers.set(n.toLowerCase(), String(v));
        if (r.auth === 'bad-signature') headers.set('authorization', headers.get('authorization')!.replace(/Signature=\w{4}/, 'Signature=0000'));
        break;
      }
      case 'v4-query': {
        const signed = aws4.sign({ host, method: r.method, path: target, service: 's3', region: 'us-east-1', signQuery: true, headers: signable }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY });
        target = signed.path ?? target;
        break;
      }
      case 'v2': {
        const date = new Date().toUTCString();
        headers.set('date', date);
        const subs = r.query.filter(([n]) => n in SUBRESOURCE_VALUES && !['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'encoding-type', 'marker', 'key-marker',
          'version-id-marker', 'upload-id-marker', 'max-uploads', 'part-number-marker', 'max-parts', 'x-id'].includes(n)).sort(([a], [b]) => (a < b ? -1 : 1));
        const resource = `/${r.bucket}${r.virtualHost ? path : r.key !== undefined ? `/${r.key}` : ''}${subs.length ? `?${subs.map(([n, v]) => (v === undefined || v === '' ? n : `${n}=${live(v)}`)).join('&')}` : ''}`;
        headers.set('authorization', `AWS ${ACCESS_KEY}:${signV2(r.method, resource, headers, date)}`);
        break;
      }
      case 'garbage': extra.push(['authorization', 'AWS4-HMAC-SHA256 Credential=x, SignedHeaders=, Signature=zz']); break;
      case 'anonymous': break;
    }
  } catch {
    // A path aws4 cannot decode (broken escapes): signed as sent, in the header.
    if (r.auth === 'v4' || r.auth === 'bad-signature') await signRawPath(r.method, host, target, headers).catch(() => undefined);
  }
  const lines = [`${r.method} ${target} HTTP/1.1`, `host: ${host}`, ...[...headers, ...extra].map(([n, v]) => `${n}: ${v}`), 'connection: close'];
  if (r.chunked && r.body.length) {
    lines.push('transfer-encoding: chunked');
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), Buffer.from(`${r.body.length.toString(16)}\r\n`), r.body, Buffer.from('\r\n0\r\n\r\n')]);
  }
  lines.push(`content-length: ${r.body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), r.body]);
}

// ---------------------------------------------------------------------------------------
// The run

async function sdkSetup(): Promise<void> {
  const { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = c.client();
  try {
    for (const b of ['fuzz', 'fuzz-ver']) await s3.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: 'ObjectWriter' })).catch(() => undefined);
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'fuzz-ver', VersioningConfiguration: { Status: 'Enabled' } }));
    for (const b of ['fuzz', 'fuzz-ver']) {
      for (const k of OBJECTS) await s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: `body of ${k}`, ...(k === 'public' && { ACL: 'public-read' }) }));
    }
  } finally {
    s3.destroy();
  }
  await repair();
}

/**
 * Undo what random requests may have done to the fixtures (buckets gone, a policy that shuts
 * out even the owner, the live upload completed or aborted), best effort.
 */
async function repair(): Promise<void> {
  const { CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketPolicyCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = c.client();
  try {
    for (const b of ['fuzz', 'fuzz-ver']) {
      await s3.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: 'ObjectWriter' })).catch(() => undefined);
      await s3.send(new DeleteBucketPolicyCommand({ Bucket: b })).catch(() => undefined);
    }
    await s3.send(new PutObjectCommand({ Bucket: 'fuzz', Key: 'a', Body: 'body of a' })).catch(() => undefined);
    const v = await s3.send(new PutObjectCommand({ Bucket: 'fuzz-ver', Key: 'a', Body: 'body of a' })).catch(() => undefined);
    liveVersionId = v?.VersionId ?? liveVersionId;
    const u = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'fuzz', Key: 'a' })).catch(() => undefined);
    liveUploadId = u?.UploadId ?? liveUploadId;
  } finally {
    s3.destroy();
  }
}

function checkAnswer(r: Req, a: Answer): void {
  const shown = `${r.method} answered ${JSON.stringify(a.raw.toString('latin1').slice(0, 800))}`;
  expect(Number.isInteger(a.status) && a.status >= 100, `no answer: ${shown}`).toBe(true);
  expect(a.status < 500 || a.status === 501 || a.status === 503, `a server error: ${shown}`).toBe(true);
  if (a.status >= 400 && a.status < 500 && r.method !== 'HEAD') {
    const text = a.body.toString('utf8');
    const xmlCode = /<Error>[\s\S]*<Code>[A-Za-z0-9]+<\/Code>[\s\S]*<\/Error>/.test(text);
    const jsonCode = (() => {
      try {
        return typeof (JSON.parse(text) as { error?: { code?: unknown } }).error?.code === 'string';
      } catch {
        return false;
      }
    })();
    expect(xmlCode || jsonCode, `a 4xx without an error code: ${shown}`).toBe(true);
  }
}

describe('the gateway on random requests', () => {
  beforeAll(async () => {
    c = await startCluster({ scope: 'file' });
    port = Number(new URL(c.endpoint).port);
    await sdkSetup();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('answers every request in bounded time, never 5xx but 501/503, every 4xx with an error code, and its memory stays bounded', async () => {
    const total = runs(0.75);
    const warmup = Math.max(5, Math.floor(total / 10));
    let sent = 0;
    let rssAfterWarmup = 0;
    let peak = 0;
    const pid = c.gateway.pid!;
    const answers = new Map<string, number>();
    await check(fc.asyncProperty(requestArb, async (r) => {
      if (sent > 0 && sent % 10 === 0) await repair();
      sent++;
      const answer = parseAnswer(await send(await wire(r)), r.method);
      checkAnswer(r, answer);
      const code = /<Code>([A-Za-z0-9]+)<\/Code>/.exec(answer.body.toString('utf8'))?.[1];
      const label = code ? `${answer.status} ${code}` : String(answer.status);
      answers.set(label, (answers.get(label) ?? 0) + 1);
      const rss = memoryOf(pid).rss;
      if (sent === warmup) rssAfterWarmup = rss;
      peak = Math.max(peak, rss);
    }), 0.75);
    const rssEnd = memoryOf(pid).rss;
    const MiB = 1024 * 1024;
    console.log(`http fuzz: ${sent} requests; gateway RSS ${Math.round(rssAfterWarmup / MiB)} MiB after warm-up, ${Math.round(rssEnd / MiB)} MiB at the end, peak ${Math.round(peak / MiB)} MiB`);
    console.log(`http fuzz answers: ${[...answers].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ')}`);
    if (rssAfterWarmup) expect(rssEnd - rssAfterWarmup).toBeLessThan(RSS_GROWTH_LIMIT);
    // Still serving.
    const { ListBucketsCommand } = await import('@aws-sdk/client-s3');
    const s3 = c.client();
    await expect(s3.send(new ListBucketsCommand({}))).resolves.toBeDefined();
    s3.destroy();
  });

  // Known bugs, each answered with a 500 (or a bare Node answer) by the real gateway. Their
  // requests are kept out of the property above; unskip each once its bug is fixed.

  // A signed admin request whose path had broken percent-encoding was once a 500.
  it('admin paths with broken percent-encoding are a 4xx', async () => {
    await check(fc.asyncProperty(fc.constantFrom('/_shardgate/admin/v1/users/%zz', '/_shardgate/admin/v1/keys/%c3', '/_shardgate/admin/v1/nodes/%'), fc.constantFrom('GET', 'DELETE'), async (path, method) => {
      const r: Req = { method, virtualHost: false, bucket: path, key: undefined, query: [], headers: [], body: Buffer.alloc(0), auth: 'v4', chunked: false, special: true };
      checkAnswer(r, parseAnswer(await send(await wire(r)), method));
    }), 0.1);
  });

  // A POST form whose signed policy nested a condition a few thousand arrays deep was once a
  // RangeError in JSON.stringify: a 500 for any user with an access key.
  it('a POST form whose signed policy nests conditions thousands deep is a 4xx', async () => {
    await check(fc.asyncProperty(fc.integer({ min: 4_000, max: 7_000 }), async (depth) => {
      const policy = Buffer.from(`{"expiration":"2030-01-01T00:00:00Z","conditions":[${'['.repeat(depth)}${']'.repeat(depth)}]}`).toString('base64');
      const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
      const signingKey = hmac(hmac(hmac(hmac(`AWS4${SECRET_KEY}`, '20300101'), 'us-east-1'), 's3'), 'aws4_request');
      const fields: Array<[string, string]> = [['key', 'k'], ['policy', policy], ['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', `${ACCESS_KEY}/20300101/us-east-1/s3/aws4_request`],
        ['x-amz-date', '20300101T000000Z'], ['x-amz-signature', hmac(signingKey, policy).toString('hex')]];
      const body = Buffer.from(`${fields.map(([n, v]) => `--b\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`).join('')}--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nx\r\n--b--\r\n`);
      const r: Req = { method: 'POST', virtualHost: false, bucket: 'fuzz', key: undefined, query: [], headers: [['content-type', 'multipart/form-data; boundary=b']], body, auth: 'anonymous', chunked: false };
      checkAnswer(r, parseAnswer(await send(await wire(r)), 'POST'));
    }), 0.1);
  });

  // A bucket owner could once store an ExposeHeader that is not an HTTP token ("日本", a control
  // character); every request with a matching Origin to that bucket was then a 500.
  it('a stored CORS rule never turns requests with Origin into 500s', async () => {
    await check(fc.asyncProperty(fc.constantFrom('日本', 'a&#x1;b', 'x y', 'ok'), async (expose) => {
      const cors = Buffer.from(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>${expose}</ExposeHeader></CORSRule></CORSConfiguration>`);
      const put: Req = { method: 'PUT', virtualHost: false, bucket: 'fuzz', key: undefined, query: [['cors', '']], headers: [['content-md5', createHash('md5').update(cors).digest('base64')]], body: cors, auth: 'v4', chunked: false };
      const stored = parseAnswer(await send(await wire(put)), 'PUT');
      if (stored.status !== 200) return;
      const get: Req = { method: 'GET', virtualHost: false, bucket: 'fuzz', key: 'a', query: [], headers: [['origin', 'http://a.example']], body: Buffer.alloc(0), auth: 'v4', chunked: false };
      try {
        checkAnswer(get, parseAnswer(await send(await wire(get)), 'GET'));
      } finally {
        await send(await wire({ ...put, method: 'DELETE', headers: [], body: Buffer.alloc(0) }));
      }
    }), 0.1);
  });

  // Node once answered an `Expect` other than 100-continue itself: a bare 417 with no body.
  it('an unknown Expect gets an S3 error document', async () => {
    await check(fc.asyncProperty(fc.constantFrom('garbage', '200-ok', '100-continue, x'), async (expect100) => {
      const r: Req = { method: 'PUT', virtualHost: false, bucket: 'fuzz', key: 'a', query: [], headers: [['expect', expect100]], body: Buffer.from('x'), auth: 'v4', chunked: false };
      checkAnswer(r, parseAnswer(await send(await wire(r)), 'PUT'));
    }), 0.1);
  });
});
