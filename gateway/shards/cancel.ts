import { armDeadline } from '../deadline.js';

/**
 * What a piece operation may be cancelled by (link.ts): an AbortSignal, or a Canceller.
 * The subset of AbortSignal the link uses, so either fits.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
  throwIfAborted(): void;
}

/**
 * AbortController's contract for the piece paths, without its costs: each shard writer (16
 * per object) and each round of piece reads (one per segment read) cancels its own
 * operations, and an AbortSignal plus an EventTarget listener per piece came to 3% of the
 * gateway's CPU under 4 KiB PUTs, as much under 4 KiB GETs. Listeners run once, in the
 * order they were added; abort() after the first does nothing.
 */
export class Canceller implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Set<() => void> | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) (this.listeners ??= new Set()).add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.listeners?.delete(listener);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const l of listeners ?? []) l();
  }
}

/**
 * A Canceller that aborts when `parent` does (with its reason) or after `ms` (a
 * TimeoutError); clear() once the work is over. deadline() (gateway/deadline.ts) for piece
 * reads, which a 4 KiB GET starts ten at a time.
 */
export function cancelAfter(ms: number, parent: CancelSignal): { signal: Canceller; clear: () => void } {
  const c = new Canceller();
  return { signal: c, clear: armDeadline((reason) => c.abort(reason), ms, [parent]) };
}
