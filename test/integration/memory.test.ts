import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../helpers/cluster.js';
import { generatedBody, memoryOf, signed, streamPut } from '../helpers/stream-put.js';

const MiB = 1024 * 1024;

describe('bounded memory', () => {
  it('streams a 768 MiB single PUT and its GET without the gateway growing by more than a few segments', async () => {
    const c = await startCluster({ scope: 'each' });
    await c.client().send(new CreateBucketCommand({ Bucket: 'mem' }));
    const pid = c.gateway.pid!;
    const before = memoryOf(pid).rss;
    const total = Number(process.env.MEM_TEST_MIB ?? 768) * MiB + 12345; // many 4 MiB segments and a short last one
    const { stream, md5 } = generatedBody(total, randomBytes(MiB));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, memoryOf(pid).rss)), 50);
    try {
      expect(await streamPut(c.endpoint, '/mem/big', stream, total)).toBe(200);
      const s = signed(c.endpoint, 'GET', '/mem/big');
      const res = await request(s.url, { headers: s.headers });
      expect(res.statusCode).toBe(200);
      const h = createHash('md5');
      let got = 0;
      for await (const chunk of res.body) {
        h.update(chunk as Buffer);
        got += (chunk as Buffer).length;
      }
      expect(got).toBe(total);
      expect(h.digest('hex')).toBe(md5());
    } finally {
      clearInterval(sampler);
    }
    // A few 4 MiB segments in flight (×1.6 for parity), shard writer buffers, the segment
    // pool's idle buffers (up to 32 MiB, codec/buffer-pool.ts: kept for reuse, which saves a
    // third of the gateway's CPU on large PUTs), garbage V8 lets grow to the live heap's size
    // before collecting (cli/server-heap.ts) and allocator slack: nowhere near the object's
    // size. Measured +88..125 MiB before the pool and the heap setting; since, +172..260 MiB
    // alone or beside two busy cores, and once +348 MiB in CI (with a 64 MiB pool and the heap
    // at four times its live size, since reduced). The bound (half the object) is what a
    // loaded CI machine needs; an object buffered whole still fails it.
    const growth = peak - before;
    console.log(`gateway RSS ${Math.round(before / MiB)} MiB -> peak ${Math.round(peak / MiB)} MiB (+${Math.round(growth / MiB)} MiB) for a ${Math.round(total / MiB)} MiB object`);
    expect(growth).toBeLessThan(384 * MiB);
  // 34 s on an idle 2-core machine, over 60 s in CI beside the other suites: the claim is the
  // gateway's memory, not its speed (bench/ measures that).
  }, 180_000);
});
