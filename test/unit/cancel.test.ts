import { describe, expect, it } from 'vitest';
import { Canceller, cancelAfter } from '../../gateway/shards/cancel.js';

describe('Canceller', () => {
  it('runs each listener once, in order, with the reason set', () => {
    const c = new Canceller();
    const seen: string[] = [];
    c.addEventListener('abort', () => seen.push(`a:${String(c.reason)}`));
    c.addEventListener('abort', () => seen.push('b'));
    c.abort('gone');
    c.abort('again');
    expect(c.aborted).toBe(true);
    expect(c.reason).toBe('gone');
    expect(seen).toEqual(['a:gone', 'b']);
  });

  it('skips removed listeners, and takes none once aborted', () => {
    const c = new Canceller();
    let calls = 0;
    const l = (): void => void calls++;
    c.addEventListener('abort', l);
    c.removeEventListener('abort', l);
    c.abort(new Error('x'));
    c.addEventListener('abort', l);
    expect(calls).toBe(0);
  });

  it('lets a listener remove another while aborting', () => {
    const c = new Canceller();
    const seen: number[] = [];
    const second = (): void => void seen.push(2);
    c.addEventListener('abort', () => {
      seen.push(1);
      c.removeEventListener('abort', second);
    });
    c.addEventListener('abort', second);
    c.abort(null);
    // The listeners were taken as the abort began: removal during it does not reach them.
    expect(seen).toEqual([1, 2]);
  });

  it('throwIfAborted throws the reason once aborted', () => {
    const c = new Canceller();
    expect(() => c.throwIfAborted()).not.toThrow();
    const reason = new Error('stop');
    c.abort(reason);
    expect(() => c.throwIfAborted()).toThrow(reason);
  });
});

describe('cancelAfter', () => {
  it('aborts with the parent\'s reason, or with a TimeoutError after its time', async () => {
    const parent = new Canceller();
    const a = cancelAfter(10_000, parent);
    parent.abort('parent gone');
    expect(a.signal.reason).toBe('parent gone');
    a.clear();
    const b = cancelAfter(5, new Canceller());
    await new Promise((r) => setTimeout(r, 30));
    expect((b.signal.reason as DOMException).name).toBe('TimeoutError');
    b.clear();
  });

  it('starts aborted under an aborted parent, and clear() stops both triggers', async () => {
    const done = new Canceller();
    done.abort('over');
    expect(cancelAfter(10_000, done).signal.reason).toBe('over');
    const parent = new Canceller();
    const c = cancelAfter(5, parent);
    c.clear();
    parent.abort('late');
    await new Promise((r) => setTimeout(r, 30));
    expect(c.signal.aborted).toBe(false);
  });
});
