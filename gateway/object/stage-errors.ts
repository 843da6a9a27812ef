/**
 * What a stage of `pipeline()` (node:stream/promises) threw. When a stage written as an async
 * function or generator throws while the streams before it still flow, Node 20's pipeline()
 * rejects with its own AbortError (from destroying those streams), not the stage's error: an
 * S3Error thrown mid-body (EntityTooLarge, a lost write quorum) would become a 500. Stages
 * wrapped here keep the first error they throw, and `rethrow` answers with it.
 *
 * Errors that reach a stage from upstream (a client gone, a failed signature check) arrive
 * after pipeline() has rejected with them, so they are never taken for the stage's own.
 */
export class StageErrors {
  #first: { err: unknown } | undefined;
  /** Settles when the last stage has returned or thrown. */
  #sinkDone: Promise<void> = Promise.resolve();

  #keep(err: unknown): void {
    if (this.#first === undefined && (err as { name?: unknown } | null)?.name !== 'AbortError') this.#first = { err };
  }

  /** A middle stage (an async generator function) whose errors are kept. */
  through<T, U>(stage: (source: AsyncIterable<T>) => AsyncIterable<U>): (source: AsyncIterable<T>) => AsyncGenerator<U> {
    const keep = (err: unknown): void => this.#keep(err);
    return async function* (source) {
      try {
        yield* stage(source);
      } catch (err) {
        keep(err);
        throw err;
      }
    };
  }

  /** The last stage (an async function) whose errors are kept. */
  sink<T, R>(stage: (source: AsyncIterable<T>) => Promise<R>): (source: AsyncIterable<T>) => Promise<R> {
    return (source) => {
      const run = (async () => {
        try {
          return await stage(source);
        } catch (err) {
          this.#keep(err);
          throw err;
        }
      })();
      this.#sinkDone = run.then(() => undefined, () => undefined);
      return run;
    };
  }

  /**
   * Throws what a stage threw first, else `err` (what pipeline() rejected with), once the last
   * stage has ended. pipeline() rejects as soon as the streams are torn down, and the last
   * stage may still be cleaning up then before it throws its own error: putBlob discarding
   * its blob is a database round trip on PostgreSQL, and a lost write quorum was answered as
   * that AbortError, a 500, instead of 503.
   */
  async rethrow(err: unknown): Promise<never> {
    await this.#sinkDone;
    throw this.#first ? this.#first.err : err;
  }
}
