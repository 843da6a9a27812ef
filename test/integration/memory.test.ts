import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../helpers/cluster.js';
import { generatedBody, memoryOf, signed, streamPut } from '../helpers/stream-put.js';

const MiB = 1024 * 1024;

/** PUT a generated object of `total` bytes, GET it back whole and check it; the gateway's peak RSS meanwhile. */
async function peakWhileStreaming(endpoint: string, pid: number, key: string, total: number): Promise<number> {
  const { stream, md5 } = generatedBody(total, randomBytes(MiB));
  let peak = memoryOf(pid).rss;
  const sampler = setInterval(() => (peak = Math.max(peak, memoryOf(pid).rss)), 50);
  try {
    expect(await streamPut(endpoint, `/mem/${key}`, stream, total)).toBe(200);
    const s = signed(endpoint, 'GET', `/mem/${key}`);
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
  return peak;
}

describe('bounded memory', () => {
  it('streams a 768 MiB single PUT and its GET in what a 192 MiB one takes: memory does not follow the object size', async () => {
    const c = await startCluster({ scope: 'each' });
    await c.client().send(new CreateBucketCommand({ Bucket: 'mem' }));
    const pid = c.gateway.pid!;
    const before = memoryOf(pid).rss;
    const large = Number(process.env.MEM_TEST_MIB ?? 768) * MiB + 12345; // many 4 MiB segments and a short last one
    const small = Math.floor(large / 4);
    const smallGrowth = (await peakWhileStreaming(c.endpoint, pid, 'small', small)) - before;
    const largeGrowth = (await peakWhileStreaming(c.endpoint, pid, 'large', large)) - before;
    const mib = (n: number): number => Math.round(n / MiB);
    console.log(`gateway RSS ${mib(before)} MiB; grew by +${mib(smallGrowth)} MiB for ${mib(small)} MiB, +${mib(largeGrowth)} MiB for ${mib(large)} MiB`);
    // What the gateway holds while streaming is a constant: segments in flight (×1.6 for
    // parity), the piece links' buffers, the segment pool's idle buffers and the extra
    // read-ahead (64 and 32 MiB at most, codec/buffer-pool.ts and gateway/pipeline/read-blob.ts),
    // garbage V8 lets grow before collecting (cli/server-heap.ts) and allocator slack; about
    // +110..200 MiB here for either size. Four times the object may add a little (a late
    // collection) but nothing like the 576 MiB more that buffering it would.
    expect(largeGrowth - smallGrowth).toBeLessThan(128 * MiB);
    // And, whatever the small object took, never half of the large one.
    expect(largeGrowth).toBeLessThan(large / 2);
  // 40 s on an idle 2-core machine, over 60 s in CI beside the other suites: the claim is the
  // gateway's memory, not its speed (bench/ measures that).
  }, 240_000);
});
