/**
 * What every fuzz target shares: the budget and seed from the environment, the two checks
 * every parser must pass (it answers with a value or its own typed error, and in bounded
 * time), and generators of hostile text and bytes.
 *
 *   SHARDGATE_FUZZ_RUNS   runs of a property of ordinary cost (default 40: `npm test` stays fast;
 *                         `npm run fuzz` multiplies it by 100). Costly properties take a fraction.
 *   SHARDGATE_FUZZ_SEED   the seed of every property; random when unset. A failure prints it.
 *   SHARDGATE_FUZZ_PATH   with the seed, replay one shrunk counterexample (from the failure's
 *                         `path`); pick the property with `vitest run FILE -t NAME`.
 */
import fc from 'fast-check';

function intFromEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

export const FUZZ_RUNS = Math.max(1, intFromEnv('SHARDGATE_FUZZ_RUNS', 40));
export const FUZZ_SEED = intFromEnv('SHARDGATE_FUZZ_SEED', (Date.now() ^ (Math.random() * 0x100000000)) | 0);
const FUZZ_PATH = process.env.SHARDGATE_FUZZ_PATH || undefined;

/** Runs for a property `weight` times as costly as an ordinary one (at least 1). */
export function runs(weight = 1): number {
  return Math.max(1, Math.round(FUZZ_RUNS * weight));
}

/** fast-check parameters from the environment; `weight` scales the number of runs. */
export function params<T>(weight = 1): fc.Parameters<T> {
  return {
    numRuns: runs(weight),
    seed: FUZZ_SEED,
    ...(FUZZ_PATH !== undefined && { path: FUZZ_PATH, endOnFailure: true }),
  };
}

function replayHint(err: unknown): never {
  if (err instanceof Error) {
    err.message += `\n\nReplay with SHARDGATE_FUZZ_SEED=${FUZZ_SEED} SHARDGATE_FUZZ_RUNS=${FUZZ_RUNS}`
      + ' (add SHARDGATE_FUZZ_PATH=<path above> and -t "<test name>" to go straight to the shrunk case).';
  }
  throw err;
}

/**
 * fc.assert with the environment's budget and seed, and a replay hint on failure. `extra`
 * overrides parameters (e.g. `endOnFailure` where one failing run takes seconds).
 */
export function check<Ts>(property: fc.IProperty<Ts>, weight?: number, extra?: fc.Parameters<Ts>): void;
export function check<Ts>(property: fc.IAsyncProperty<Ts>, weight?: number, extra?: fc.Parameters<Ts>): Promise<void>;
export function check<Ts>(property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, weight = 1, extra: fc.Parameters<Ts> = {}): void | Promise<void> {
  try {
    const out = fc.assert(property as fc.IProperty<Ts>, { ...params<Ts>(weight), ...extra }) as void | Promise<void>;
    return out instanceof Promise ? out.catch(replayHint) : out;
  } catch (err) {
    replayHint(err);
  }
}

// ---------------------------------------------------------------------------------------
// The two checks every parser must pass

export type ErrorClass = abstract new (...args: never[]) => Error;

/** An error a parser must never let out: its input was bad, and it should have said so in its own terms. */
export class UntypedError extends Error {
  constructor(thrown: unknown, allowed: readonly ErrorClass[]) {
    const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message.slice(0, 300)}` : `a non-error ${String(thrown)}`;
    super(`threw ${what}; expected a value or one of ${allowed.map((c) => c.name).join(', ')}`, { cause: thrown });
    this.name = 'UntypedError';
  }
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * CPU time one input may take. The parsers under test are linear and finish these inputs in
 * well under 100 ms; catastrophic backtracking takes seconds to hours on them. It is CPU time
 * of this process, not wall-clock time, so that other work on a loaded machine does not count.
 */
export const SLOW_INPUT_MS = 2_000;
/** Wall-clock time after which an async call that has not settled has hung (not merely run slowly). */
export const HANG_MS = 15_000;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function slow(ms: number, bound: number): Error {
  return new Error(`took ${Math.round(ms)} ms of CPU on one input (bound ${bound} ms): super-linear work on hostile input`);
}

function classify<T>(thrown: unknown, allowed: readonly ErrorClass[]): Outcome<T> {
  if (thrown instanceof Error && allowed.some((c) => thrown instanceof c)) return { ok: false, error: thrown };
  throw new UntypedError(thrown, allowed);
}

/** Run `fn`: a value or one of `allowed` is an outcome; anything else, or taking longer than `bound`, fails. */
export function outcome<T>(fn: () => T, allowed: readonly ErrorClass[], bound = SLOW_INPUT_MS): Outcome<T> {
  const start = cpuMs();
  let result: Outcome<T>;
  try {
    result = { ok: true, value: fn() };
  } catch (err) {
    result = classify<T>(err, allowed);
  }
  const ms = cpuMs() - start;
  if (ms > bound) throw slow(ms, bound);
  return result;
}

/** A call that did not settle in its time bound. */
export class HangError extends Error {
  constructor(bound: number) {
    super(`no answer within ${bound} ms: hung on hostile input`);
    this.name = 'HangError';
  }
}

/**
 * `outcome` for an async function. Its CPU time is bounded the same way (other work running
 * meanwhile counts too: keep such properties sequential); one that has not settled after
 * `hangMs` of wall-clock time has hung.
 */
export async function outcomeAsync<T>(fn: () => Promise<T>, allowed: readonly ErrorClass[], bound = SLOW_INPUT_MS, hangMs = HANG_MS): Promise<Outcome<T>> {
  const start = cpuMs();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(hangMs)), hangMs);
  });
  let result: Outcome<T>;
  try {
    result = { ok: true, value: await Promise.race([fn(), hung]) };
  } catch (err) {
    if (err instanceof HangError) throw err;
    result = classify<T>(err, allowed);
  } finally {
    clearTimeout(timer);
  }
  const ms = cpuMs() - start;
  if (ms > bound) throw slow(ms, bound);
  return result;
}

/**
 * Let the event loop turn. A test that computes for a minute without one starves the test
 * runner's link to its worker (vitest fails the run when a worker is silent for 60 s), so
 * properties with costly inputs await this between runs.
 */
export function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The value of an outcome that must have succeeded (round trips). */
export function valueOf<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`expected a value, got ${o.error.name}: ${o.error.message}`, { cause: o.error });
  return o.value;
}

/** The error of an outcome that must have failed. */
export function errorOf(o: Outcome<unknown>): Error {
  if (o.ok) throw new Error(`expected an error, got ${String(o.value)}`);
  return o.error;
}

/** The S3-style code of an outcome: 'ok' or the error's `code`, for one-line expectations. */
export function codeOf(o: Outcome<unknown>): string {
  return o.ok ? 'ok' : String((o.error as { code?: unknown }).code ?? o.error.name);
}

// ---------------------------------------------------------------------------------------
// Hostile text

/**
 * Fragments that break parsers: percent-encoding gone wrong, separators, quotes, markup,
 * control and format characters, lone surrogates, non-characters, numbers past every limit.
 */
export const HOSTILE_TOKENS: readonly string[] = [
  '%', '%2', '%zz', '%c3', '%C3%28', '%ed%a0%80', '%00', '%2F', '%2f', '%25', '%%', '+', '%2B', '%20', '%u0041',
  '&', '=', ';', ',', ':', '/', '//', '/../', '\\', '?', '#', '*', '**', '?*', '${', '}', '${aws:username}', '$',
  ' ', '  ', '\t', '\r', '\n', '\r\n', '\r\n\r\n', '\u0000', '\u0001', '\u007f', '\u0085', '\u00a0', '\u2028', '\u200b', '\u202e', '\ufeff',
  '\ud800', '\udfff', '\ufffe', '\uffff', '\u{1f600}', 'é', 'e\u0301', '日本', 'İ', 'ß', 'ſ', 'K',
  '"', "'", '`', '<', '>', '</', '/>', ']]>', '<![CDATA[', '<!--', '-->', '<?xml version="1.0"?>', '&amp;', '&lt;', '&#0;', '&#x1;', '&#xD800;', '&#x110000;', '&#99999999;', '&nbsp;', '&e;',
  '0', '-0', '-1', '00000000000000000001', '9007199254740993', '1e309', '-1e309', '1e-400', 'NaN', 'Infinity', '0x10', '0b1', '1_000', '٣', '１',
  '[', ']', '{', '}', '[]', '{}', 'null', 'true', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
  'AWS4-HMAC-SHA256', 'aws4_request', 'UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'x-amz-', 'X-Amz-', 'Credential=', 'Signature=', 'SignedHeaders=',
];

/** A string of hostile fragments and ordinary text. */
export function hostileString(maxParts = 8): fc.Arbitrary<string> {
  return fc.array(fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TOKENS) },
    { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
  ), { maxLength: maxParts }).map((parts) => parts.join(''));
}

/** A run long enough to show super-linear work, of one fragment repeated. */
export function longRun(): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom('a', '*', '%', '/', ' ', '&', ';', '=', ',', '0', 'f', '\\', '"', '<a>', '[', '{', '\r\n', 'é'), fc.integer({ min: 1_000, max: 20_000 }))
    .map(([s, n]) => s.repeat(Math.ceil(n / s.length)));
}

export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'repeat'; at: number; length: number; times: number }
  | { kind: 'replace'; at: number; text: string }
  | { kind: 'case'; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof({ weight: 5, arbitrary: hostileString(3) }, { weight: 1, arbitrary: longRun() }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }), times: fc.integer({ min: 2, max: 2_000 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...HOSTILE_TOKENS), fc.string({ maxLength: 1 })) }),
  fc.record({ kind: fc.constant('case' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
);

/** Cap on what mutations may grow an input to: large enough to hit every limit we know of (64 KiB bodies, 20 KiB policies). */
const MAX_MUTATED = 256 * 1024;

function applyMutation(s: string, m: Mutation): string {
  const at = s.length === 0 ? 0 : m.at % (s.length + 1);
  switch (m.kind) {
    case 'truncate': return s.slice(0, at);
    case 'delete': return s.slice(0, at) + s.slice(at + m.length);
    case 'insert': return s.slice(0, at) + m.text + s.slice(at);
    case 'replace': return s.slice(0, at) + m.text + s.slice(at + 1);
    case 'case': {
      const part = s.slice(at, at + m.length);
      const flipped = part === part.toUpperCase() ? part.toLowerCase() : part.toUpperCase();
      return s.slice(0, at) + flipped + s.slice(at + m.length);
    }
    case 'repeat': {
      const part = s.slice(at, at + m.length);
      const times = Math.min(m.times, Math.floor(MAX_MUTATED / Math.max(1, part.length)));
      return s.slice(0, at) + part.repeat(times) + s.slice(at);
    }
  }
}

/** Edits to apply to an input that is only known later (see applyMutations). */
export function mutations(min = 0, max = 3): fc.Arbitrary<Mutation[]> {
  return fc.array(mutation, { minLength: min, maxLength: max });
}

export function applyMutations(s: string, ms: readonly Mutation[]): string {
  let out = s;
  for (const m of ms) out = applyMutation(out, m).slice(0, MAX_MUTATED);
  return out;
}

/** A valid input with 0 to `max` mutations applied: mostly still recognisable, often broken in one place. */
export function mutated(valid: fc.Arbitrary<string>, max = 3): fc.Arbitrary<string> {
  return fc.tuple(valid, mutations(0, max)).map(([s, ms]) => applyMutations(s, ms));
}

/** Bytes, through the same mutations (latin1, so every byte survives). */
export function mutatedBytes(valid: fc.Arbitrary<Buffer>, max = 3): fc.Arbitrary<Buffer> {
  return mutated(valid.map((b) => b.toString('latin1')), max).map((s) => Buffer.from(s, 'latin1'));
}

/** Random cut points for a body, as a client's writes or TCP segments would split it. */
export function splits(): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 12 });
}

export function splitBuffer(b: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  for (const n of sizes) {
    if (i >= b.length) break;
    out.push(b.subarray(i, i + n));
    i += n;
  }
  if (i < b.length) out.push(b.subarray(i));
  return out;
}
