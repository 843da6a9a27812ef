/**
 * A signal that aborts when any of `signals` does, or after `ms` with a TimeoutError, as
 * `AbortSignal.any([...signals, AbortSignal.timeout(ms)])` would; call `clear()` once the work
 * is over. Node 20 can garbage-collect a timeout signal that only AbortSignal.any refers to
 * before it fires (nodejs/node#57736): a piece read meant to give up after 5 s then waited
 * for the client's 30 s backstop. Here a plain timer holds the controller.
 */
export function deadline(ms: number, ...signals: AbortSignal[]): { signal: AbortSignal; clear: () => void } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  return { signal: signals.length ? AbortSignal.any([...signals, ac.signal]) : ac.signal, clear: () => clearTimeout(timer) };
}
