import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseSizeText, runCell, sizeLabel, type Op } from '../bench/load.js';
import { cellSpec } from '../bench/cells.js';
import { jsonLine, measured, printTable, type Row } from '../bench/report.js';
import { dispatcherFor, S3Target } from '../bench/targets.js';
import { ConfigError } from '../gateway/secrets.js';

const HELP = `shardgate bench — measure any S3 endpoint the way \`npm run bench\` measures shardgate

Usage: shardgate bench --endpoint URL [options]

  --endpoint URL       the S3 endpoint, e.g. https://s3.example.com:9000 [SHARDGATE_ENDPOINT]
  --region R           region to sign for (default us-east-1) [AWS_REGION, AWS_DEFAULT_REGION]
  --bucket NAME        bucket to use (default: a new one, removed at the end)
  --sizes LIST         object sizes (default 4KiB,1MiB,64MiB)
  --concurrency LIST   requests in flight (default 1,16)
  --seconds N          how long each small-object cell runs (default 4)
  --ops LIST           PUT,GET (default both)
  --ca-bundle FILE     trust this CA for HTTPS [AWS_CA_BUNDLE]
  --insecure           do not check the endpoint's certificate
  --keep               leave the objects written in place
  --json               only the JSON line on stdout (progress still goes to stderr)
Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN).
Requests are signed with SigV4 and UNSIGNED-PAYLOAD, so the client's own CPU stays small.`;

export async function runBench(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      endpoint: { type: 'string' }, region: { type: 'string' }, bucket: { type: 'string' }, sizes: { type: 'string' },
      concurrency: { type: 'string' }, seconds: { type: 'string' }, ops: { type: 'string' }, 'ca-bundle': { type: 'string' },
      insecure: { type: 'boolean' }, keep: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(HELP);
  const endpoint = values.endpoint ?? env.SHARDGATE_ENDPOINT;
  if (!endpoint) throw new ConfigError('bench needs --endpoint URL (or SHARDGATE_ENDPOINT): the S3 endpoint to measure');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError(`--endpoint ${endpoint}: not a URL (e.g. https://s3.example.com)`);
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new ConfigError('bench signs its requests: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  const sizes = (values.sizes ?? '4KiB,1MiB,64MiB').split(',').map((x) => parseSizeText(x));
  const flights = (values.concurrency ?? '1,16').split(',').map(Number);
  if (flights.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) throw new ConfigError('--concurrency: integers from 1 to 1024, comma-separated');
  const seconds = Number(values.seconds ?? 4);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new ConfigError('--seconds: a number of seconds from 0 to 3600');
  const ops = (values.ops ?? 'PUT,GET').toUpperCase().split(',').filter((o): o is Op => o === 'PUT' || o === 'GET');
  if (!ops.length) throw new ConfigError('--ops: PUT, GET or both');
  const caFile = values['ca-bundle'] ?? env.AWS_CA_BUNDLE;
  const ca = caFile ? readFileSync(caFile) : undefined;
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const ours = !values.bucket;
  const bucket = values.bucket ?? `shardgate-bench-${randomBytes(4).toString('hex')}`;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const dispatcher = dispatcherFor({ connections: Math.max(...flights), ...(ca && { ca }), ...(values.insecure && { insecure: true }) });
  const creds = { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }) };
  const t = new S3Target('endpoint', url, region, creds, bucket, dispatcher);
  const written: string[] = [];
  try {
    if (ours) await t.createBucket();
    log(`measuring ${url.origin} (bucket ${bucket}): objects ${sizes.map(sizeLabel).join(', ')}; in flight ${flights.join(', ')}; ${ops.join(' and ')}`);
    const rows: Row[] = [];
    for (const size of sizes) {
      const body = randomBytes(size);
      const keys = new Map<number, string[]>();
      for (const op of ops) {
        for (const c of flights) {
          const spec = cellSpec(op, size, c, seconds);
          let existing = keys.get(c) ?? keys.get(flights[0]!);
          if (op === 'GET' && !existing) {
            // Nothing written in this run to read back: write a few objects first.
            existing = [];
            for (let i = 0; i < Math.max(4, c); i++) {
              const k = `bench/${size}/get-${i}`;
              await t.put(k, body);
              existing.push(k);
            }
            written.push(...existing);
          }
          let last = 0;
          const progress = (n: number): void => {
            const now = Date.now();
            if (now - last < 1000) return;
            last = now;
            log(`  ${sizeLabel(size)} ${op} × ${c}: ${n} requests`);
          };
          const r = await runCell(t, spec, body, { prefix: `bench/${size}/c${c}-`, ...(existing && { existing }) }, progress);
          if (op === 'PUT') {
            keys.set(c, r.written);
            written.push(...r.written);
          }
          const m = measured(r);
          rows.push({ spec, target: m });
          log(`${sizeLabel(size)} ${op} × ${c}: ${size < 1024 * 1024 ? `${m.opsPerSec.toFixed(1)} requests/s` : `${m.mbps.toFixed(1)} MB/s`}, p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms`);
        }
      }
    }
    if (!values.json) printTable(rows, 'endpoint');
    console.log(jsonLine(rows, { endpoint: url.origin }));
  } finally {
    if (!values.keep) {
      log(`removing the ${written.length} object(s) written${ours ? ' and the bucket' : ''} ...`);
      for (let i = 0; i < written.length; i += 32) await Promise.all(written.slice(i, i + 32).map((k) => t.delete(k).catch(() => undefined)));
      if (ours) await t.deleteBucket().catch((err: unknown) => log(`could not remove bucket ${bucket}: ${(err as Error).message}`));
    }
    await dispatcher.close();
  }
}
