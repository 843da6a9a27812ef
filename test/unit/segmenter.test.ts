import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Segmenter } from '../../gateway/pipeline/segmenter.js';

describe('Segmenter', () => {
  it('cuts any chunking into full segments and one short tail, byte for byte', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 64 }),
      fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }),
      (size, chunks) => {
        const seg = new Segmenter(size);
        const out: Buffer[] = [];
        for (const c of chunks) out.push(...seg.push(Buffer.from(c)));
        const last = seg.end();
        const whole = Buffer.concat(chunks.map((c) => Buffer.from(c)));
        for (const s of out) expect(s.length).toBe(size);
        if (last) {
          expect(last.length).toBeGreaterThan(0);
          expect(last.length).toBeLessThan(size);
        }
        expect(Buffer.concat([...out, ...(last ? [last] : [])]).equals(whole)).toBe(true);
        expect(seg.end()).toBeNull();
      },
    ));
  });

  it('hands a segment inside one chunk out as a view, without copying', () => {
    const chunk = Buffer.alloc(10, 7);
    const [a] = new Segmenter(4).push(chunk);
    expect(a!.buffer).toBe(chunk.buffer);
  });
});
