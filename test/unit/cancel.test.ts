import { describe, expect, it } from 'vitest';
import { Canceller } from '../../gateway/shards/cancel.js';

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
});
