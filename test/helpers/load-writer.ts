/**
 * A PUT load for crash tests: `concurrency` writers keep PUTs of random bytes in flight through
 * the AWS JS SDK (one attempt each, so every failure is seen), and every PUT is recorded with the
 * sha256 of its body and how it ended. `expectedOutcomes` turns that history into what a read of
 * each key may answer, and `readBack` checks the bucket against it.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes, randomInt } from 'node:crypto';

export interface PutRecord {
  key: string;
  size: number;
  sha256: string;
  /** 'ok': the gateway answered 200 (acknowledged). 'failed': anything else, the write's fate unknown. */
  outcome: 'ok' | 'failed';
  /** For a failure: the HTTP status the gateway answered with, if it answered at all. */
  status?: number;
  error?: string;
  /** The client gave up waiting (`timeoutMs`): the request neither answered nor failed. */
  timedOut?: boolean;
  ms: number;
}

export interface LoadOptions {
  bucket: string;
  concurrency?: number;
  /** Body sizes are log-uniform over [minSize, maxSize], so most bodies are small and some are large. */
  minSize?: number;
  maxSize?: number;
  /** How long one request may take before the writer aborts it and counts a hang. */
  timeoutMs?: number;
  /** The share of PUTs that overwrite a key acknowledged before (the rest write new keys). */
  overwriteShare?: number;
  keyPrefix?: string;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function logUniform(min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + Math.random() * (Math.log(max) - Math.log(min))));
}

export class LoadWriter {
  /** Every PUT sent, per key, in the order sent (a key never has two PUTs in flight). */
  readonly history = new Map<string, PutRecord[]>();
  acked = 0;
  failed = 0;
  private readonly opts: Required<LoadOptions>;
  private running = false;
  private workers: Promise<void>[] = [];
  private seq = 0;
  /** Keys whose last PUT was acknowledged and that no writer holds now: candidates to overwrite. */
  private readonly idle: string[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(private readonly s3: S3Client, opts: LoadOptions) {
    this.opts = { concurrency: 16, minSize: 1024, maxSize: 1024 * 1024, timeoutMs: 30_000, overwriteShare: 0.25, keyPrefix: 'load/', ...opts };
  }

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.opts.concurrency }, () => this.worker());
  }

  /** Stop sending, and wait for the PUTs in flight to end (each ends within `timeoutMs`). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** Resolve once `n` more PUTs have been acknowledged than when this was called. */
  acks(n: number): Promise<void> {
    const count = this.acked + n;
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  records(): PutRecord[] {
    return [...this.history.values()].flat();
  }

  private nextKey(): string {
    if (this.idle.length > 0 && Math.random() < this.opts.overwriteShare) {
      return this.idle.splice(randomInt(this.idle.length), 1)[0]!;
    }
    return `${this.opts.keyPrefix}${String(this.seq++).padStart(6, '0')}`;
  }

  private async worker(): Promise<void> {
    while (this.running) {
      const key = this.nextKey();
      const body = randomBytes(logUniform(this.opts.minSize, this.opts.maxSize));
      const rec = await this.put(key, body);
      const list = this.history.get(key) ?? [];
      list.push(rec);
      this.history.set(key, list);
      if (rec.outcome === 'ok') {
        this.acked++;
        // A key whose PUT failed is never written again: see expectedOutcomes.
        this.idle.push(key);
        for (const w of this.waiters.filter((x) => this.acked >= x.count)) w.resolve();
        this.waiters = this.waiters.filter((x) => this.acked < x.count);
      } else {
        this.failed++;
        // While the gateway restarts every request is refused at once: do not spin.
        await sleep(100);
      }
    }
  }

  private async put(key: string, body: Buffer): Promise<PutRecord> {
    const base = { key, size: body.length, sha256: sha256(body) };
    const t0 = Date.now();
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: body }), { abortSignal: signal });
      return { ...base, outcome: 'ok', ms: Date.now() - t0 };
    } catch (err) {
      const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
      const e = err as Error & { code?: string };
      return {
        ...base, outcome: 'failed', ms: Date.now() - t0, error: `${e.name}${e.code ? ` ${e.code}` : ''}: ${e.message}`,
        ...(status !== undefined && { status }), ...(signal.aborted && { timedOut: true }),
      };
    }
  }
}

export interface Expected {
  /** sha256 of every body a GET of the key may answer. */
  bodies: Set<string>;
  /** Whether the key may be absent (404). */
  mayBeAbsent: boolean;
}

/**
 * What a read of each key may answer once the load has stopped.
 *
 * An acknowledged PUT is durable and, S3 being read-after-write consistent, replaces the
 * previous body. A PUT that failed has an unknown fate: the gateway may have committed it and
 * died (or lost its connection) before answering, and a request the client abandoned may still
 * be running in the gateway, to commit later than any request the client sent after it. So that
 * this stays decidable, the writer never sends a key again once a PUT of it failed: a key's
 * history is zero or more acknowledged PUTs, then at most one failed PUT at the end.
 *
 * - last PUT acknowledged: exactly its body;
 * - last PUT failed after an acknowledged one: the acknowledged body or the failed one;
 * - only PUT failed: the failed body, or 404.
 *
 * Anything else (another body, a truncated one, a 404 for an acknowledged key) is a lost or
 * half-visible object.
 */
export function expectedOutcomes(history: ReadonlyMap<string, readonly PutRecord[]>): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (const [key, recs] of history) {
    const last = recs.at(-1)!;
    if (recs.slice(0, -1).some((r) => r.outcome !== 'ok')) throw new Error(`${key}: written again after a failed PUT`);
    if (last.outcome === 'ok') {
      out.set(key, { bodies: new Set([last.sha256]), mayBeAbsent: false });
    } else {
      const before = recs.at(-2);
      out.set(key, { bodies: new Set([last.sha256, ...(before ? [before.sha256] : [])]), mayBeAbsent: !before });
    }
  }
  return out;
}

export interface ReadBackResult {
  /** Keys read with an acceptable answer. */
  checked: number;
  /** Keys whose only PUT failed that turned out to be committed. */
  committedUnacknowledged: number;
  problems: string[];
}

/**
 * Read every key of the history back (`concurrency` GETs in flight) and list the bucket;
 * report every answer `expectedOutcomes` does not allow, and every listed key never written.
 */
export async function readBack(s3: S3Client, bucket: string, history: ReadonlyMap<string, readonly PutRecord[]>, opts: { concurrency?: number; timeoutMs?: number } = {}): Promise<ReadBackResult> {
  const expected = expectedOutcomes(history);
  const problems: string[] = [];
  const sizeOf = new Map<string, number>();
  let checked = 0;
  let committedUnacknowledged = 0;
  const keys = [...expected.keys()];
  const worker = async (): Promise<void> => {
    for (let key = keys.pop(); key !== undefined; key = keys.pop()) {
      const want = expected.get(key)!;
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
        const got = await res.Body!.transformToByteArray();
        sizeOf.set(key, got.length);
        if (!want.bodies.has(sha256(got))) {
          const sizes = history.get(key)!.map((r) => `${r.size}${r.outcome === 'ok' ? '' : ' (failed)'}`).join(', ');
          problems.push(`${key}: GET answered ${got.length} bytes matching no acceptable body (PUTs: ${sizes})`);
          continue;
        }
        if (want.mayBeAbsent) committedUnacknowledged++;
        checked++;
      } catch (err) {
        if (err instanceof S3ServiceException && err.name === 'NoSuchKey' && want.mayBeAbsent) {
          checked++;
          continue;
        }
        const e = err as Error;
        problems.push(`${key}: GET failed: ${e.name}: ${e.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));

  // The listing must agree with the reads: every present key listed once with its size, nothing else.
  const listed = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) listed.set(o.Key!, o.Size ?? -1);
    token = page.NextContinuationToken;
  } while (token);
  for (const [key, size] of listed) {
    if (!expected.has(key)) problems.push(`${key}: listed but never written`);
    else if (!sizeOf.has(key)) problems.push(`${key}: listed, but GET did not answer it`);
    else if (sizeOf.has(key) && sizeOf.get(key) !== size) problems.push(`${key}: listed with ${size} bytes, GET answered ${sizeOf.get(key)}`);
  }
  for (const key of sizeOf.keys()) if (!listed.has(key)) problems.push(`${key}: readable but not listed`);
  return { checked, committedUnacknowledged, problems };
}
