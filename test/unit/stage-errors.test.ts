/**
 * pipeline() of node:stream/promises, on Node 20, rejects with its own AbortError when a stage
 * written as an async function throws while the streams before it still flow: an S3Error
 * thrown mid-body (EntityTooLarge on a chunked PUT, a lost write quorum) became a 500.
 * StageErrors (gateway/object/stage-errors.ts) answers with the stage's error, and leaves
 * errors from upstream as pipeline() reports them. Real streams, no doubles.
 */
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StageErrors } from '../../gateway/object/stage-errors.js';
import { S3Error } from '../../gateway/s3/errors.js';

/** A body that keeps flowing, one small chunk per tick, as a slow upload does. */
function flowing(): Readable {
  let i = 0;
  return new Readable({ read() { setTimeout(() => this.push(i++ < 200 ? Buffer.alloc(16) : null), 1); } });
}

const after = (n: number, err: () => Error) => {
  let seen = 0;
  return (): void => {
    if (++seen > n) throw err();
  };
};

async function run(opts: { through?: () => void; sink?: () => void; transform?: () => void; slowCleanup?: boolean }): Promise<unknown> {
  const stages = new StageErrors();
  const verifier = new Transform({
    transform(chunk, _enc, cb) {
      try {
        opts.transform?.();
        cb(null, chunk);
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  return pipeline(flowing(), verifier, stages.through(async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      opts.through?.();
      yield chunk;
    }
  }), stages.sink(async (source: AsyncIterable<Buffer>) => {
    try {
      for await (const chunk of source) {
        opts.sink?.();
        void chunk;
      }
    } catch (err) {
      // Cleanup that takes a while before the stage's error is thrown (a database round trip).
      if (opts.slowCleanup) await new Promise((r) => setTimeout(r, 20));
      throw err;
    }
  })).then(() => 'ok', (err: unknown) => stages.rethrow(err).catch((e: unknown) => e));
}

test('an S3Error thrown by a middle stage mid-body is what the pipeline answers', async () => {
  const err = await run({ through: after(3, () => new S3Error('EntityTooLarge')) });
  expect(err).toBeInstanceOf(S3Error);
  expect((err as S3Error).code).toBe('EntityTooLarge');
});

test('an error thrown by the last stage (a lost write quorum) is what the pipeline answers', async () => {
  const quorum = Object.assign(new Error('write quorum lost'), { code: 'ERR_SHARD_QUORUM' });
  expect(await run({ sink: after(3, () => quorum) })).toBe(quorum);
});

test('the last stage’s error is the answer also when it cleans up for a while before throwing it', async () => {
  const quorum = Object.assign(new Error('write quorum lost'), { code: 'ERR_SHARD_QUORUM' });
  expect(await run({ sink: after(3, () => quorum), slowCleanup: true })).toBe(quorum);
});

test('an error from a stream stage upstream stays the answer', async () => {
  const bad = new S3Error('XAmzContentSHA256Mismatch');
  expect(await run({ transform: after(3, () => bad) })).toBe(bad);
});

test('a pipeline without failures resolves', async () => {
  expect(await run({})).toBe('ok');
});
