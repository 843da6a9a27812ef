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
  const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  let onAbort: (() => void) | undefined;
  for (const s of signals) {
    if (s.aborted) {
      ac.abort(s.reason);
      clearTimeout(timer);
      return { signal: ac.signal, clear: () => undefined };
    }
  }
  if (signals.length) {
    onAbort = () => {
      const first = signals.find((s) => s.aborted);
      ac.abort(first?.reason);
      clearTimeout(timer);
    };
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
  }
  return {
    signal: ac.signal,
    clear: () => {
      clearTimeout(timer);
      if (onAbort) for (const s of signals) s.removeEventListener('abort', onAbort);
    },
  };
}
