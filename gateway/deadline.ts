import type { CancelSignal } from './shards/cancel.js';

/**
 * A signal that aborts when any of `signals` does (with its reason), or after `ms` with a
 * TimeoutError; call `clear()` once the work is over. Two things it avoids on purpose:
 * `AbortSignal.timeout`, which Node 20 can garbage-collect before it fires when only
 * `AbortSignal.any` refers to it (nodejs/node#57736: a piece read meant to give up after 5 s
 * then waited for the client's 30 s backstop), so a plain timer holds the controller; and
 * `AbortSignal.any` itself, whose weak-reference bookkeeping cost more CPU than the piece
 * read it guarded. A listener on each parent, removed by `clear()`, does the same job.
 * Piece reads, ten per 4 KiB GET, use the cheaper cancelAfter (gateway/shards/cancel.ts).
 */
export function deadline(ms: number, ...signals: AbortSignal[]): { signal: AbortSignal; clear: () => void } {
  const ac = new AbortController();
  return { signal: ac.signal, clear: armDeadline((reason) => ac.abort(reason), ms, signals) };
}

/**
 * Call `abort` when any of `parents` aborts (with its reason; at once if one already has),
 * or after `ms` with a TimeoutError, whichever comes first. Returns `clear`, which disarms both.
 */
export function armDeadline(abort: (reason: unknown) => void, ms: number, parents: readonly CancelSignal[]): () => void {
  const already = parents.find((s) => s.aborted);
  if (already) {
    abort(already.reason);
    return () => undefined;
  }
  const timer = setTimeout(() => abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  const onAbort = (): void => {
    clearTimeout(timer);
    abort(parents.find((s) => s.aborted)?.reason);
  };
  for (const s of parents) s.addEventListener('abort', onAbort, { once: true });
  return () => {
    clearTimeout(timer);
    for (const s of parents) s.removeEventListener('abort', onAbort);
  };
}
