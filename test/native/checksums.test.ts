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

/** The references' values as numbers, for the addon's raw calls. */
async function referenceValue(alg: Crc, data: Buffer): Promise<bigint> {
  return BigInt('0x' + Buffer.from(await reference(alg, data), 'base64').toString('hex'));
}

/** The addon's raw call for one CRC, continuing `previous`, as a bigint whatever the width. */
function rawCrc(alg: Crc, buf: Uint8Array, offset: number, length: number, previous: bigint): bigint {
  switch (alg) {
    case 'CRC32': return BigInt(binding.crc32(buf, offset, length, Number(previous)));
    case 'CRC32C': return BigInt(binding.crc32c(buf, offset, length, Number(previous)));
    case 'CRC64NVME': return binding.crc64nvme(buf, offset, length, previous);
  }
}

// The folding kernels take 64 (PCLMULQDQ) or 256 (VPCLMULQDQ) bytes before they start, fold
// 16 bytes at a time after the big loop, and hand the rest to the short-input code; every
// one of those seams, at every offset within a cache line, through the offset argument the
// gateway's own calls never vary.
const SEAMS = [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 79, 80, 127, 128, 129, 191, 192, 255, 256, 257,
  271, 272, 319, 320, 321, 511, 512, 513, 767, 768, 1023, 1024, 1025, 4095, 4096, 4097];

for (const kernel of binding.info().supportedCrcKernels) {
  describe(`native CRCs at every seam: ${kernel}`, () => {
    beforeAll(() => setCrcKernel(binding, kernel));

    it('match the references at every alignment 0..63 around the folding thresholds', async () => {
      expect(binding.info().crc).toBe(kernel);
      const base = deterministicBytes(`seams ${kernel}`, 64 + 4097);
      for (const len of SEAMS) {
        for (let off = 0; off < 64; off++) {
          const view = base.subarray(off, off + len);
          for (const alg of CRCS) {
            const want = await referenceValue(alg, view);
            const got = rawCrc(alg, base, off, len, 0n);
            if (got !== want) throw new Error(`${alg} (${kernel}) differs at length ${len}, offset ${off}: ${got.toString(16)} != ${want.toString(16)}`);
          }
        }
      }
    });

    it('give the whole\'s value when a buffer is fed in two calls split at every point', async () => {
      const data = deterministicBytes(`split ${kernel}`, 700);
      for (const alg of CRCS) {
        const want = await referenceValue(alg, data);
        for (let cut = 0; cut <= data.length; cut++) {
          const got = rawCrc(alg, data, cut, data.length - cut, rawCrc(alg, data, 0, cut, 0n));
          if (got !== want) throw new Error(`${alg} (${kernel}) differs when cut at ${cut}`);
        }
      }
    });

    it('match the references on random lengths, offsets and chunkings', async () => {
      const rand = deterministicInts(`random ${kernel}`);
      for (let round = 0; round < 150; round++) {
        const len = round < 100 ? rand(5000) : rand(400_000);
        const off = rand(4096);
        const buf = deterministicBytes(`random ${kernel} ${round}`, off + len + rand(64));
        const view = buf.subarray(off, off + len);
        for (const alg of CRCS) {
          const want = await referenceValue(alg, view);
          let value = 0n;
          for (let at = 0; at < len;) {
            const n = Math.min(len - at, 1 + rand(round % 2 === 0 ? 300 : 70_000));
            value = rawCrc(alg, buf, off + at, n, value);
            at += n;
          }
          if (value !== want) throw new Error(`${alg} (${kernel}) differs in round ${round} (length ${len}, offset ${off})`);
          if (rawCrc(alg, buf, off, len, 0n) !== want) throw new Error(`${alg} (${kernel}) differs whole in round ${round}`);
        }
      }
    });
  });
}


describe('native object CRCs', () => {
  it('run on this CPU with a folding kernel', () => {
    expect(binding.info().supportedCrcKernels[0]).toBe('table');
    // Chosen at load: the fastest this CPU runs (the table code where it has no PCLMULQDQ).
    expect(bestCrc).toBe(binding.info().supportedCrcKernels.at(-1));
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
