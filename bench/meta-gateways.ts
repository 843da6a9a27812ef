/**
 * The end-to-end half of `npm run bench:meta`: 4 KiB PutObjects through several gateways on
 * one PostgreSQL database and one set of 16 shard-stores (`shardgate dev --gateways 3 --meta`,
 * as a user starts it). The same processes serve every run, so the stores, the database and
 * the machine are the same; only the gateways a client spreads over change:
 *
 * - one gateway, 16 in flight (what the issue's "small-PUT rate of one gateway" means), and
 *   one gateway at 48 in flight, so that the three-gateway run's larger total load is not
 *   what makes it faster: one gateway is credited with the better of the two;
 * - three gateways, 16 in flight on each (48 in all), the load a balancer would spread.
 *
 * The ratio is three gateways over the best single-gateway figure. On a machine with few cores
 * every gateway, store and the database share them, so the ratio shows how much of one
 * gateway's time was its own (its event loop, its SQL round trips) rather than the cores'.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { BenchError, startChild, stopChild } from './procs.js';
import { dispatcherFor, S3Target } from './targets.js';

const CLI_ENTRY = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const ROOT_USER = 'benchroot';
const ROOT_PASSWORD = 'bench-secret-not-for-use-elsewhere';
const BUCKET = 'puts';

export interface GatewayPutRun { label: string; gateways: number; inFlight: number; perSec: number }
export interface GatewayPutRates { runs: GatewayPutRun[]; ratio: number }

export async function gatewayPutRates(root: string, metaUrl: string, seconds: number): Promise<GatewayPutRates> {
  const env: NodeJS.ProcessEnv = { ...process.env, SHARDGATE_ROOT_USER: ROOT_USER, SHARDGATE_ROOT_PASSWORD: ROOT_PASSWORD };
  console.log(`gateways: starting shardgate dev --gateways 3 (16 shard-stores, PostgreSQL metadata) on ${availableParallelism()} cores ...`);
  const dev = await startChild('shardgate dev', [CLI_ENTRY, 'dev', '--port', '0', '--gateways', '3', '--meta', metaUrl, '--data', join(root, 'dev')], env,
    [/also at (\S+, \S+)\s*$/, /S3 endpoint:\s+(http:\/\/\S+)/, /Region:\s+(\S+)/]);
  try {
    const [also, first, region] = dev.found as [string, string, string];
    const urls = [first, ...also.split(', ')];
    console.log(`gateways: ${urls.join(', ')}`);
    const dispatcher = dispatcherFor({ connections: 48 });
    const creds = { accessKeyId: ROOT_USER, secretAccessKey: ROOT_PASSWORD };
    const targets = urls.map((u, i) => new S3Target(`gateway ${i + 1}`, new URL(u), region, creds, BUCKET, dispatcher));
    await targets[0]!.createBucket();
    const body = randomBytes(4096);
    // Warm-up: each gateway's pool, connections to the stores, and JIT.
    await Promise.all(targets.map(async (t, i) => {
      for (let n = 0; n < 20; n++) await t.put(`warm/${i}/${n}`, body);
    }));
    const runs: GatewayPutRun[] = [];
    const run = async (label: string, over: S3Target[], perGateway: number): Promise<void> => {
      const perSec = await putRate(label, over, perGateway, body, seconds);
      runs.push({ label, gateways: over.length, inFlight: perGateway * over.length, perSec });
    };
    await run('one gateway, 16 in flight', targets.slice(0, 1), 16);
    await run('one gateway, 48 in flight', targets.slice(0, 1), 48);
    await run('three gateways, 16 in flight on each', targets, 16);
    const best = Math.max(runs[0]!.perSec, runs[1]!.perSec);
    return { runs, ratio: runs[2]!.perSec / best };
  } finally {
    await stopChild(dev.child);
  }
}

/** PUTs of `body` for `seconds`, `perGateway` at a time on each target; PUTs per second. */
async function putRate(label: string, over: S3Target[], perGateway: number, body: Buffer, seconds: number): Promise<number> {
  let done = 0;
  let failure: unknown;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const ticker = setInterval(() => {
    process.stdout.write(`  ${label}: ${done} PUTs, ${Math.round(done / ((performance.now() - t0) / 1000))}/s\n`);
  }, 2000);
  const worker = async (t: S3Target, w: number): Promise<void> => {
    for (let i = 0; performance.now() < until && failure === undefined; i++) {
      await t.put(`${label.replace(/\W+/g, '-')}/${w}/${i}`, body);
      done++;
    }
  };
  try {
    await Promise.all(over.flatMap((t, g) => Array.from({ length: perGateway }, (_, w) => worker(t, g * 100 + w).catch((err: unknown) => { failure = err; }))));
  } finally {
    clearInterval(ticker);
  }
  if (failure !== undefined) throw new BenchError(`${label}: ${(failure as Error).message}`, { cause: failure });
  const perSec = done / ((performance.now() - t0) / 1000);
  console.log(`gateways: ${label}: ${Math.round(perSec)} PUT/s`);
  return perSec;
}
