/**
 * `npm run bench:meta`: the metadata at scale. Fills one versioned bucket with a million
 * objects (SHARDGATE_BENCH_META_KEYS) straight into the metadata, set-wise
 * (gateway/meta/synthetic.ts: the rows a committed 4 KiB PutObject leaves; one commit per
 * object would take minutes), then measures:
 *
 * - metadata commits per second for small PUTs at 16 in flight: each one what a PutObject
 *   commits (the blob's 'writing' row, its audit roots, `commitObjectWith`), then waits for
 *   `durable()` under group commit, as the gateway answers;
 * - keys per second for a full ListObjectsV2 walk (1000 per page), for a top-level listing
 *   with delimiter `/` over the same keys, and the same two for ListObjectVersions.
 *
 * Listings go over HTTP, SigV4-signed, to the gateway's own Koa app (gateway/app.ts buildApp:
 * auth, routing, access checks, handlers, XML) served in this process on loopback; no
 * shard-store runs, as a listing never reads one. Keys are `dir-NNNN/obj-NNNNNNN`: √N folders
 * of √N keys (1000 × 1000 at a million).
 *
 * All of it for both backends: SQLite under a temp folder, and PostgreSQL (bench/postgres.ts:
 * a server started here with fsync on, or SHARDGATE_BENCH_PG_URL), filled there with
 * generate_series (gateway/meta/pg/synthetic.ts). Then, end to end, 4 KiB PutObjects through
 * `shardgate dev --gateways 3 --meta <PostgreSQL>` (16 shard-stores): through the first
 * gateway alone, then through all three at once (bench/meta-gateways.ts). SHARDGATE_BENCH_META_BACKENDS
 * (sqlite,postgres,gateways) picks what runs. Prints a table, then ONE JSON line. See bench/README.md.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import aws4 from 'aws4';
import { request, type Dispatcher } from 'undici';
import { buildApp } from '../gateway/app.js';
import { gatewayConfig } from '../gateway/config.js';
import type { MetaStore } from '../gateway/meta/meta-store.js';
import { openPg } from '../gateway/meta/pg/open.js';
import { pgMetaStoreOn } from '../gateway/meta/pg/open-store.js';
import { fillSyntheticObjectsPg } from '../gateway/meta/pg/synthetic.js';
import { SqliteMetaStore } from '../gateway/meta/store.js';
import { fillSyntheticObjects, type SyntheticFill } from '../gateway/meta/synthetic.js';
import type { NewObject } from '../gateway/meta/types.js';
import type { PipelineContext } from '../gateway/pipeline/context.js';
import { gatewayPutRates, type GatewayPutRates } from './meta-gateways.js';
import { benchPostgres, type BenchPg } from './postgres.js';
import { BenchError, cleanup, envInt, tmpDirs } from './procs.js';
import { dispatcherFor } from './targets.js';

const BUCKET = 'bench';
const COMMIT_BUCKET = 'commits';
const OWNER = 'root';
const CREDS = { accessKeyId: 'benchroot', secretAccessKey: 'bench-secret-not-for-use-elsewhere' };
const FILL_BATCH = 50_000;

const rate = (n: number, s: number): number => Math.round(n / s);
const fmt = (n: number): string => n.toLocaleString('en-US');

/** Layout of the filled bucket: `folders` folders of `perFolder` keys (the last may hold fewer). */
function layout(keys: number): { folders: number; perFolder: number; format: string } {
  const perFolder = Math.max(1, Math.round(Math.sqrt(keys)));
  const folders = Math.ceil(keys / perFolder);
  return { folders, perFolder, format: `dir-%0${String(folders).length}d/obj-%0${String(perFolder).length}d` };
}

/** What a 4 KiB PutObject hands `commitObjectWith`, for a blob already recorded as writing. */
function newObject(bucket: string, key: string, blobId: string): NewObject {
  return {
    bucket, key, size: 4096, etag: randomBytes(16).toString('hex'), contentType: 'application/octet-stream', headers: {}, userMeta: {},
    checksums: {}, partsCount: null, parts: [{ partNumber: 1, blobId, size: 4096, etag: '', checksums: {} }],
  };
}

/** A blob's 'writing' row and audit roots, as putBlob records them before the commit. */
async function recordBlob(meta: MetaStore, blobId: string, wrappedKey: Buffer, roots: Buffer[]): Promise<void> {
  const placement = Array.from({ length: 16 }, (_, i) => `node-${i}`);
  await meta.insertWritingBlob({ id: blobId, size: 0, segmentSize: 1 << 20, wrappedKey, placement, createdAt: Date.now() });
  await meta.audit.setRoots(blobId, roots);
}

/** Fills objects `from` to `to - 1` of the bench bucket, set-wise, in the backend's dialect. */
type Filler = (f: SyntheticFill, from: number, to: number) => Promise<void>;

async function fill(filler: Filler, keys: number): Promise<number> {
  const { perFolder, format } = layout(keys);
  const t0 = performance.now();
  let last = t0;
  for (let at = 0; at < keys; at += FILL_BATCH) {
    const end = Math.min(keys, at + FILL_BATCH);
    await filler({ bucket: BUCKET, keyFormat: format, perFolder, versioned: true, size: 4096 }, at, end);
    const now = performance.now();
    if (now - last > 2000 || end === keys) {
      process.stdout.write(`  filled ${fmt(end)} / ${fmt(keys)} keys (${fmt(Math.round(end / ((now - t0) / 1000)))}/s)\n`);
      last = now;
    }
  }
  return (performance.now() - t0) / 1000;
}

/** Small-PUT metadata commits, `inFlight` at a time, each acknowledged after durable(). */
async function commitRate(meta: MetaStore, inFlight: number, seconds: number): Promise<{ perSec: number; flushes: number }> {
  const wrapped = randomBytes(72);
  const roots = Array.from({ length: 16 }, () => randomBytes(32));
  const flushes0 = meta.flushCount();
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; performance.now() < until; i++) {
      const blobId = randomBytes(16).toString('hex');
      await recordBlob(meta, blobId, wrapped, roots);
      // The pieces' writes would come between; a turn of the event loop stands for them.
      await new Promise<void>((r) => setImmediate(r));
      await meta.commitObjectWith(newObject(COMMIT_BUCKET, `w${w}/k${i}`, blobId), {});
      await meta.durable();
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  return { perSec: n / ((performance.now() - t0) / 1000), flushes: meta.flushCount() - flushes0 };
}

class Lister {
  constructor(private readonly endpoint: URL, private readonly region: string, private readonly dispatcher: Dispatcher) {}

  async get(query: Record<string, string>): Promise<string> {
    const qs = new URLSearchParams(query).toString().replace(/\+/g, '%20');
    const path = `/${BUCKET}?${qs}`;
    const signed = aws4.sign({
      host: this.endpoint.host, path, method: 'GET', service: 's3', region: this.region, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    }, CREDS);
    const res = await request(new URL(path, this.endpoint), { method: 'GET', headers: signed.headers as Record<string, string>, dispatcher: this.dispatcher });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new BenchError(`GET ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return text;
  }
}

const count = (xml: string, tag: string): number => xml.split(`<${tag}>`).length - 1;
const tagText = (xml: string, tag: string): string | undefined => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
const unescapeXml = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** A walk's wall time, and the CPU time of this process (gateway app and client) during it. */
interface Walk { seconds: number; cpuSeconds: number; pages: number; keys: number; prefixes: number }

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Every page of a ListObjectsV2 listing. */
async function walkV2(l: Lister, delimiter?: string): Promise<Walk> {
  const t0 = performance.now();
  const c0 = cpuNow();
  let token: string | undefined;
  const w: Walk = { seconds: 0, cpuSeconds: 0, pages: 0, keys: 0, prefixes: 0 };
  do {
    const xml = await l.get({ 'list-type': '2', 'max-keys': '1000', ...(delimiter && { delimiter }), ...(token && { 'continuation-token': token }) });
    w.pages++;
    w.keys += count(xml, 'Contents');
    w.prefixes += count(xml, 'CommonPrefixes');
    token = tagText(xml, 'NextContinuationToken');
  } while (token);
  w.seconds = (performance.now() - t0) / 1000;
  w.cpuSeconds = cpuNow() - c0;
  return w;
}

/** Every page of a ListObjectVersions listing. */
async function walkVersions(l: Lister, delimiter?: string): Promise<Walk> {
  const t0 = performance.now();
  const c0 = cpuNow();
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  const w: Walk = { seconds: 0, cpuSeconds: 0, pages: 0, keys: 0, prefixes: 0 };
  for (;;) {
    const xml = await l.get({
      versions: '', 'max-keys': '1000', ...(delimiter && { delimiter }),
      ...(keyMarker !== undefined && { 'key-marker': keyMarker }), ...(versionMarker !== undefined && { 'version-id-marker': versionMarker }),
    });
    w.pages++;
    w.keys += count(xml, 'Version') + count(xml, 'DeleteMarker');
    w.prefixes += count(xml, 'CommonPrefixes');
    if (tagText(xml, 'IsTruncated') !== 'true') break;
    keyMarker = unescapeXml(tagText(xml, 'NextKeyMarker') ?? '');
    versionMarker = tagText(xml, 'NextVersionIdMarker');
  }
  w.seconds = (performance.now() - t0) / 1000;
  w.cpuSeconds = cpuNow() - c0;
  return w;
}

async function serve(meta: MetaStore, root: string): Promise<{ server: Server; url: URL; region: string }> {
  const config = gatewayConfig({ host: '127.0.0.1', port: '0' }, {}, { host: '127.0.0.1', dataDir: root });
  // Only what a listing touches: the metadata (and the master key the app's key lookup may open).
  const ctx = { meta, masterKey: randomBytes(32) } as unknown as PipelineContext;
  const app = buildApp(ctx, { config, rootCredentials: { ...CREDS, source: 'env' } });
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), region: config.region };
}

interface Measured { fillSeconds: number; commits: { perSec: number; flushes: number }; walks: Array<{ name: string; json: string; walk: Walk; expect: { keys: number; prefixes: number } }> }

/** Fill `meta` with `keys` objects, then measure commits and the four listings on it. */
async function measure(label: string, meta: MetaStore, filler: Filler, keys: number, seconds: number, root: string): Promise<Measured> {
  const { folders } = layout(keys);
  await meta.createBucket(BUCKET, OWNER, 'us-east-1');
  await meta.setBucketVersioning(BUCKET, 'Enabled');
  await meta.createBucket(COMMIT_BUCKET, OWNER, 'us-east-1');
  // As the gateway runs: on SQLite, commits written to the WAL, flushed together before answers.
  meta.enableGroupCommit();
  console.log(`${label}: filling ${fmt(keys)} keys in ${fmt(folders)} folders ...`);
  const fillSeconds = await fill(filler, keys);
  console.log(`${label}: filled in ${fillSeconds.toFixed(1)} s`);

  process.stdout.write(`${label}: metadata commits, 16 in flight, ${seconds} s ... `);
  const commits = await commitRate(meta, 16, seconds);
  console.log(`${fmt(Math.round(commits.perSec))}/s${meta.backend === 'sqlite' ? ` (${fmt(commits.flushes)} WAL flushes)` : ''}`);

  const { server, url, region } = await serve(meta, root);
  const lister = new Lister(url, region, dispatcherFor({ connections: 1 }));
  await lister.get({ 'list-type': '2', 'max-keys': '10' }); // warm-up
  const walks: Measured['walks'] = [];
  const run = async (name: string, json: string, fn: () => Promise<Walk>, expect: { keys: number; prefixes: number }): Promise<void> => {
    process.stdout.write(`${label}: ${name} ... `);
    const walk = await fn();
    console.log(`${walk.pages} page${walk.pages === 1 ? '' : 's'}, ${fmt(walk.keys)} keys, ${fmt(walk.prefixes)} prefixes in ${walk.seconds.toFixed(2)} s (${walk.cpuSeconds.toFixed(2)} s of CPU here)`);
    if (walk.keys !== expect.keys || walk.prefixes !== expect.prefixes) {
      throw new BenchError(`${label}, ${name}: expected ${expect.keys} keys and ${expect.prefixes} prefixes`);
    }
    walks.push({ name, json, walk, expect });
  };
  try {
    await run('ListObjectsV2, full walk', 'list_v2_walk', () => walkV2(lister), { keys, prefixes: 0 });
    await run("ListObjectsV2, delimiter '/'", 'list_v2_delimiter', () => walkV2(lister, '/'), { keys: 0, prefixes: folders });
    await run('ListObjectVersions, full walk', 'list_versions_walk', () => walkVersions(lister), { keys, prefixes: 0 });
    await run("ListObjectVersions, delimiter '/'", 'list_versions_delimiter', () => walkVersions(lister, '/'), { keys: 0, prefixes: folders });
  } finally {
    server.close();
  }
  return { fillSeconds, commits, walks };
}

function asJson(m: Measured, keys: number): Record<string, unknown> {
  return {
    fill_s: Math.round(m.fillSeconds * 10) / 10,
    commits_per_s_c16: Math.round(m.commits.perSec),
    ...Object.fromEntries(m.walks.map((w) => [w.json, {
      keys_per_s: rate(keys, w.walk.seconds), keys_per_cpu_s: rate(keys, w.walk.cpuSeconds),
      seconds: Math.round(w.walk.seconds * 1000) / 1000, cpu_s: Math.round(w.walk.cpuSeconds * 1000) / 1000, pages: w.walk.pages,
    }])),
  };
}

async function main(): Promise<void> {
  const keys = envInt('SHARDGATE_BENCH_META_KEYS', 1_000_000, 1000, 50_000_000);
  const seconds = envInt('SHARDGATE_BENCH_SECONDS', 4, 1, 600);
  const wanted = new Set((process.env.SHARDGATE_BENCH_META_BACKENDS ?? 'sqlite,postgres,gateways').split(',').map((s) => s.trim()).filter(Boolean));
  for (const w of wanted) if (!['sqlite', 'postgres', 'gateways'].includes(w)) throw new BenchError(`SHARDGATE_BENCH_META_BACKENDS: sqlite, postgres, gateways; got "${w}"`);
  const root = mkdtempSync(join(tmpdir(), 'shardgate-bench-meta-'));
  tmpDirs.push(root);
  const { folders, perFolder } = layout(keys);
  console.log(`${fmt(keys)} keys in ${fmt(folders)} folders of ${fmt(perFolder)}; work under ${root}`);

  let sqlite: Measured | undefined;
  if (wanted.has('sqlite')) {
    const meta = new SqliteMetaStore(join(root, 'meta.db'));
    try {
      sqlite = await measure('SQLite', meta, async (f, from, to) => fillSyntheticObjects(meta.db, f, from, to), keys, seconds, root);
    } finally {
      await meta.close();
    }
  }

  let postgres: Measured | undefined;
  let gateways: GatewayPutRates | undefined;
  let server: BenchPg | undefined;
  try {
    if (wanted.has('postgres') || wanted.has('gateways')) {
      server = await benchPostgres();
      console.log(`PostgreSQL: ${server.label}`);
    }
    if (wanted.has('postgres')) {
      const db = await openPg(await server!.database());
      const meta = pgMetaStoreOn(db);
      try {
        postgres = await measure('PostgreSQL', meta, (f, from, to) => fillSyntheticObjectsPg(db, f, from, to), keys, seconds, root);
      } finally {
        await meta.close();
      }
    }
    if (wanted.has('gateways')) gateways = await gatewayPutRates(root, await server!.database(), seconds);
  } finally {
    await server?.stop();
  }

  // On a shared machine wall time swings with whatever else runs; the CPU figure (keys per
  // second of this process's CPU, gateway app and client together) does much less.
  const cell = (m: Measured | undefined, f: (m: Measured) => string): string => (m ? f(m) : 'not run');
  const walkOf = (m: Measured, json: string): Walk => m.walks.find((w) => w.json === json)!.walk;
  console.log(`\n| at ${fmt(keys)} keys in one bucket | SQLite | SQLite, per CPU second | PostgreSQL | PostgreSQL, per CPU second |`);
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| fill (set-wise SQL) | ${cell(sqlite, (m) => `${m.fillSeconds.toFixed(1)} s`)} | | ${cell(postgres, (m) => `${m.fillSeconds.toFixed(1)} s`)} | |`);
  console.log(`| metadata commits/s, small PUT, 16 in flight | ${cell(sqlite, (m) => fmt(Math.round(m.commits.perSec)))} | | ${cell(postgres, (m) => fmt(Math.round(m.commits.perSec)))} | |`);
  const names: Array<[string, string, boolean]> = [
    ['ListObjectsV2, full walk', 'list_v2_walk', false], ["ListObjectsV2, delimiter '/'", 'list_v2_delimiter', true],
    ['ListObjectVersions, full walk', 'list_versions_walk', false], ["ListObjectVersions, delimiter '/'", 'list_versions_delimiter', true],
  ];
  for (const [name, json, delimited] of names) {
    // A delimiter listing is counted in the keys it covers: every key sits under one of its prefixes.
    const unit = delimited ? ' keys covered/s' : ' keys/s';
    const wall = (m: Measured): string => {
      const w = walkOf(m, json);
      return `${fmt(rate(keys, w.seconds))}${unit}${delimited ? ` (${w.pages} pages, ${(w.seconds * 1000).toFixed(0)} ms)` : ''}`;
    };
    const cpu = (m: Measured): string => fmt(rate(keys, walkOf(m, json).cpuSeconds));
    console.log(`| ${name} | ${cell(sqlite, wall)} | ${cell(sqlite, cpu)} | ${cell(postgres, wall)} | ${cell(postgres, cpu)} |`);
  }
  if (gateways) {
    console.log(`\n| 4 KiB PutObject end to end, PostgreSQL metadata, 16 shard-stores | PUT/s |`);
    console.log('| --- | --- |');
    for (const r of gateways.runs) console.log(`| ${r.label} | ${fmt(Math.round(r.perSec))} |`);
    console.log(`| three gateways ÷ best of one gateway | ${gateways.ratio.toFixed(2)}× |`);
  }
  const result: Record<string, unknown> = {
    keys, folders,
    sqlite: sqlite ? { ...asJson(sqlite, keys), wal_flushes: sqlite.commits.flushes } : null,
    postgresql: postgres ? { ...asJson(postgres, keys), server: server!.label } : null,
    gateways_put_4k: gateways ? { runs: gateways.runs.map((r) => ({ label: r.label, in_flight: r.inFlight, gateways: r.gateways, per_s: Math.round(r.perSec) })), ratio: Math.round(gateways.ratio * 100) / 100 } : null,
    listing: 'http, in-process gateway app (no shard-stores)',
  };
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err instanceof BenchError ? `bench:meta: ${err.message}` : err);
  process.exitCode = 1;
}).finally(() => cleanup());
