import { deadline } from '../../gateway/deadline.js';

describe('deadline', () => {
  it('aborts with a TimeoutError after its time, or with the reason of a signal it follows', async () => {
    const late = deadline(20);
    await new Promise((r) => setTimeout(r, 60));
    expect(late.signal.aborted).toBe(true);
    expect((late.signal.reason as DOMException).name).toBe('TimeoutError');

    const parent = new AbortController();
    const early = deadline(10_000, parent.signal);
    parent.abort(new Error('round over'));
    expect((early.signal.reason as Error).message).toBe('round over');
    early.clear();
  });

  it('does not fire once cleared', async () => {
    const d = deadline(20);
    d.clear();
    await new Promise((r) => setTimeout(r, 60));
    expect(d.signal.aborted).toBe(false);
  });
});
