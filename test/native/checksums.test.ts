import { crc32 as zlibCrc32 } from 'node:zlib';
import { Crc32c as AwsCrc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme as SdkCrc64Nvme } from '@aws-sdk/crc64-nvme';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deterministicBytes, deterministicInts } from '../../codec/erasure.case.js';
import { nativeCrc32, nativeCrc32c, nativeCrc64Nvme } from '../../codec/native-crc.js';
import { setCrcKernel, type NativeBinding } from '../../codec/native.js';
import { ChecksumSet } from '../../gateway/checksums.js';
import { requireNative } from './require-native.js';

const binding = requireNative();
const bestCrc = binding.info().crc;
afterAll(() => setCrcKernel(binding, bestCrc));

type Crc = 'CRC32' | 'CRC32C' | 'CRC64NVME';
const CRCS: Crc[] = ['CRC32', 'CRC32C', 'CRC64NVME'];

/** What the references say, as S3 sends it: big-endian bytes in base64. */
async function reference(alg: Crc, data: Buffer): Promise<string> {
  const be = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b.toString('base64'); };
  switch (alg) {
    case 'CRC32': return be(data.length === 0 ? 0 : zlibCrc32(data));
    case 'CRC32C': return be(new AwsCrc32c().update(data).digest());
    case 'CRC64NVME': {
      const h = new SdkCrc64Nvme();
      h.update(data);
      return Buffer.from(await h.digest()).toString('base64');
    }
  }
}

/** `data` at a random offset inside a larger buffer: views into shared memory, as Node's pooled Buffers are. */
function unaligned(label: string, length: number, rand: (n: number) => number): Buffer {
  const off = rand(64);
  return deterministicBytes(label, off + length).subarray(off);
}

/** `data` cut at random boundaries (empty chunks included), fed to one set. */
function digestInChunks(make: () => ChecksumSet, alg: Crc, data: Buffer, rand: (n: number) => number, maxChunk: number): string {
  const set = make();
  for (let at = 0; at < data.length;) {
    const n = Math.min(data.length - at, rand(maxChunk + 1));
    set.update(data.subarray(at, at + n));
    at += n;
  }
  return set.digest()[alg]!;
}

/** One suite, run against the JS code and against the addon under every CRC kernel this CPU has. */
function runCrcSuite(name: string, native: NativeBinding | null, kernel?: string): void {
  describe(`object CRCs: ${name}`, () => {
    beforeAll(() => {
      if (kernel) setCrcKernel(binding, kernel);
    });
    const make = (algs: Crc[] = CRCS) => new ChecksumSet(algs, { native });

    it('gives the published check values of "123456789"', () => {
      const set = make();
      set.update(Buffer.from('123456789'));
      const d = set.digest();
      expect(Buffer.from(d.CRC32!, 'base64').toString('hex')).toBe('cbf43926');
      expect(Buffer.from(d.CRC32C!, 'base64').toString('hex')).toBe('e3069283');
      expect(Buffer.from(d.CRC64NVME!, 'base64').toString('hex')).toBe('ae8b14860a799888');
    });

    it('matches zlib, @aws-crypto/crc32c and @aws-sdk/crc64-nvme on every length 0..300, whole and in random chunks', async () => {
      const rand = deterministicInts(`lengths ${name}`);
      for (let len = 0; len <= 300; len++) {
        const data = unaligned(`crc ${len}`, len, rand);
        const whole = make();
        whole.update(data);
        const got = whole.digest();
        for (const alg of CRCS) {
          const want = await reference(alg, data);
          if (got[alg] !== want) throw new Error(`${alg} differs at length ${len}`);
          if (digestInChunks(() => make([alg]), alg, data, rand, 40) !== want) throw new Error(`${alg} differs at length ${len} in chunks`);
        }
      }
    });

    // Past the folding kernels' 64- and 256-byte thresholds many times over, odd tails, and
    // chunks whose boundaries fall anywhere inside a fold block.
    it('matches the references on large inputs split at random chunk boundaries', async () => {
      const rand = deterministicInts(`large ${name}`);
      for (const len of [4096, 65_536 + 13, 1_048_576 + 255, 5_000_011]) {
        const data = unaligned(`large ${len}`, len, rand);
        for (const alg of CRCS) {
          const want = await reference(alg, data);
          const whole = make([alg]);
          whole.update(data);
          expect(whole.digest()[alg], `${alg} ${len}`).toBe(want);
          expect(digestInChunks(() => make([alg]), alg, data, rand, 200_000), `${alg} ${len} chunked`).toBe(want);
          expect(digestInChunks(() => make([alg]), alg, data.subarray(0, 20_000), rand, 300), `${alg} small chunks`)
            .toBe(await reference(alg, data.subarray(0, 20_000)));
        }
      }
    });

    it('gives S3\'s values for an empty body', () => {
      expect(make().digest()).toEqual({ CRC32: 'AAAAAA==', CRC32C: 'AAAAAA==', CRC64NVME: 'AAAAAAAAAAA=' });
    });
  });
}

runCrcSuite('js', null);
for (const kernel of binding.info().supportedCrcKernels) runCrcSuite(`native/${kernel}`, binding, kernel);

describe('native object CRCs', () => {
  it('run on this CPU with a folding kernel', () => {
    expect(binding.info().supportedCrcKernels[0]).toBe('table');
    if (process.arch === 'x64') expect(binding.info().supportedCrcKernels).toContain('pclmulqdq');
  });

  it('are what a ChecksumSet uses by default when the engine is native', () => {
    const spy = vi.spyOn(binding, 'crc64nvme');
    try {
      const set = new ChecksumSet(['CRC64NVME']);
      set.update(Buffer.from('abc'));
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('continue a previous value', () => {
    const data = deterministicBytes('continue', 10_000);
    expect(nativeCrc32c(binding, data.subarray(3000), nativeCrc32c(binding, data.subarray(0, 3000), 0))).toBe(nativeCrc32c(binding, data, 0));
    expect(nativeCrc32(binding, data.subarray(7), nativeCrc32(binding, data.subarray(0, 7), 0))).toBe(zlibCrc32(data));
    expect(nativeCrc64Nvme(binding, data.subarray(999), nativeCrc64Nvme(binding, data.subarray(0, 999), 0n))).toBe(nativeCrc64Nvme(binding, data, 0n));
    // An empty update leaves the value as it was (node:zlib's crc32 may answer 0 there).
    expect(nativeCrc32(binding, Buffer.alloc(0), 0x1234)).toBe(0x1234);
    expect(nativeCrc64Nvme(binding, new Uint8Array(0), 0xdeadbeefcafen)).toBe(0xdeadbeefcafen);
  });

  it('refuse bad arguments in TypeScript with typed errors', () => {
    const bad = { code: 'ERR_CODEC_ARGUMENT' };
    expect(() => nativeCrc32(binding, 'abc' as unknown as Uint8Array, 0)).toThrow(expect.objectContaining(bad));
    expect(() => nativeCrc32c(binding, Buffer.alloc(1), -1)).toThrow(expect.objectContaining(bad));
    expect(() => nativeCrc32c(binding, Buffer.alloc(1), 2 ** 32)).toThrow(expect.objectContaining(bad));
    expect(() => nativeCrc32c(binding, Buffer.alloc(1), 1.5)).toThrow(expect.objectContaining(bad));
    expect(() => nativeCrc64Nvme(binding, Buffer.alloc(1), 1 as unknown as bigint)).toThrow(expect.objectContaining(bad));
    expect(() => nativeCrc64Nvme(binding, Buffer.alloc(1), 1n << 64n)).toThrow(expect.objectContaining(bad));
    expect(() => nativeCrc64Nvme(binding, Buffer.alloc(1), -1n)).toThrow(expect.objectContaining(bad));
  });

  it('refuse bad arguments in C too', () => {
    const buf = Buffer.alloc(16);
    expect(() => binding.crc32c(buf, 8, 9, 0)).toThrow(/offset \+ length > buffer.length/);
    expect(() => binding.crc32c(buf, 0, 1.5, 0)).toThrow(/bad arguments/);
    expect(() => binding.crc32(buf, 0, 1, NaN)).toThrow(/previous must be a uint32/);
    expect(() => (binding.crc32c as (...a: unknown[]) => number)(buf, 0, 1)).toThrow(/bad arguments/);
    expect(() => binding.crc64nvme(buf, 0, 1, 5 as unknown as bigint)).toThrow(/uint64 bigint/);
    expect(() => binding.crc64nvme(buf, 0, 1, -1n)).toThrow(/uint64 bigint/);
    expect(() => setCrcKernel(binding, 'crc-gfni')).toThrow(/unknown CRC kernel/);
  });
});
