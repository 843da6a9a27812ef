/**
 * `npm run bench:codec`: Reed-Solomon 10+6 encode and 6-missing reconstruct throughput of
 * the native engine, @ronomon/reed-solomon and (when libisal-dev is installed) ISA-L, on
 * the same buffers, for 64 KiB, 256 KiB and 1 MiB pieces, with one call in flight and one
 * per core; then the fused segment call against the JS path, and the one-call segment decode
 * (checksums, rebuild, decryption) against the JS read path; the object checksums (CRC32,
 * CRC32C, CRC64NVME) by the addon against the JS fallback; the cost of one 4 KiB object
 * through the segment encoder; and the PUT receive path with and without a CRC64NVME
 * checksum (bench/checksum-put.ts); the segment codec's AES-256-GCM on each kernel (OpenSSL,
 * and the addon's VAES one where the CPU has it); segment encodes with piece hashes taken
 * one by one (OpenSSL) or four at once (SHA-NI). Prints tables, then one JSON line with every figure.
 * Throughput counts data bytes (10 pieces) per second; segment rows count plaintext bytes.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DATA_MASK, K, M, PARITY_MASK, type ErasureCoder } from '../codec/erasure.js';
import { DEFAULT_SEGMENT_SIZE, GCM_TAG_BYTES } from '../codec/layout.js';
import { Md5Lanes } from '../codec/md5-lanes.js';
import { nativeDecodeSegment } from '../codec/native-decode.js';
import { NativeSegmentEncoder, type NativeSegmentOptions } from '../codec/native-segment.js';
import { isalRun, loadNative, NativeCoder, nativeLoadError, setCrcKernel, setGcmKernel, setKernel, setPieceHash, type NativeBinding } from '../codec/native.js';
import { RonomonCoder } from '../codec/ronomon.js';
import { jsDecodeSegment, type SegmentDecoder } from '../codec/segment-decode.js';
import { JsSegmentEncoder, pieceRecord, type SegmentEncoder } from '../codec/segment.js';
import { createCipheriv, createHash } from 'node:crypto';
import { ChecksumSet, type ChecksumAlgorithm } from '../gateway/checksums.js';
import { printPutPath, putPathRows, type PutPathRow } from './checksum-put.js';

const cores = availableParallelism();
// One libuv worker per in-flight call at least (the default pool has 4).
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, cores));

const MIB = 1024 * 1024;
const SIZES = [64 * 1024, 256 * 1024, MIB];
const RUNS = 5; // best of: the machine is shared, and the best run is the least disturbed one
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 150);
/** 6 data pieces lost: the most expensive rebuild (every data piece rebuilt through parity). */
const LOST = 0b111111;

function bytes(label: string, n: number): Buffer {
  const key = createHash('sha256').update(label).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

type Op = (data: Buffer, parity: Buffer, pieceSize: number) => Promise<void>;

/** Best of RUNS runs of RUN_MS each, `inFlight` loops at once, each on its own buffers. GB/s of data. */
async function measure(op: Op, pieceSize: number, inFlight: number, bytesPerCall = K * pieceSize): Promise<number> {
  const lanes = Array.from({ length: inFlight }, (_, i) => ({
    data: bytes(`bench ${pieceSize} ${i}`, K * pieceSize),
    parity: Buffer.alloc(M * pieceSize),
  }));
  for (const l of lanes) await op(l.data, l.parity, pieceSize);
  let best = 0;
  for (let run = 0; run < RUNS; run++) {
    let calls = 0;
    const start = performance.now();
    await Promise.all(lanes.map(async (l) => {
      while (performance.now() - start < RUN_MS) {
        await op(l.data, l.parity, pieceSize);
        calls++;
      }
    }));
    const seconds = (performance.now() - start) / 1000;
    best = Math.max(best, (calls * bytesPerCall) / seconds / 1e9);
  }
  return best;
}

/** inFlight: calls at once (coders), or objects x segments per object in flight (segments). */
interface Row { what: string; engine: string; piece: string; inFlight: string; gbps: number; loopSPerGB?: number }
const rows: Row[] = [];
const label = (p: number) => (p >= MIB ? `${p / MIB}MiB` : `${p / 1024}KiB`);

async function coderRows(binding: NativeBinding | null): Promise<void> {
  const engines: [string, ErasureCoder | null, Op, Op][] = [];
  const add = (name: string, coder: ErasureCoder) => engines.push([name, coder,
    (d, p, s) => coder.encode(d, p, s),
    (d, p, s) => coder.reconstruct(d, p, s, 0xffff & ~LOST, LOST)]);
  if (binding) add('native', new NativeCoder(binding));
  add('ronomon', new RonomonCoder());
  if (binding?.isalAvailable()) {
    engines.push(['isal', null,
      (d, p, s) => isalRun(binding, d, p, s, DATA_MASK, PARITY_MASK),
      (d, p, s) => isalRun(binding, d, p, s, 0xffff & ~LOST, LOST)]);
  }
  for (const size of SIZES) {
    for (const threads of [1, cores]) {
      for (const [name, , encode, rebuild] of engines) {
        rows.push({ what: 'encode', engine: name, piece: label(size), inFlight: String(threads), gbps: await measure(encode, size, threads) });
        rows.push({ what: 'reconstruct6', engine: name, piece: label(size), inFlight: String(threads), gbps: await measure(rebuild, size, threads) });
      }
    }
  }
  if (binding) {
    const coder = new NativeCoder(binding);
    const best = binding.info().kernel;
    for (const kernel of binding.info().supportedKernels) {
      setKernel(binding, kernel);
      rows.push({ what: 'encode', engine: `native/${kernel}`, piece: '1MiB', inFlight: '1', gbps: await measure((d, p, s) => coder.encode(d, p, s), MIB, 1) });
    }
    setKernel(binding, best);
  }
}

/** Segments through one encoder per object, `objects` objects at once; GB/s of plaintext and event-loop seconds per GB. */
async function segmentRate(make: () => SegmentEncoder, plainLength: number, objects: number, depth: number): Promise<{ gbps: number; loop: number }> {
  const plain = bytes(`segment ${plainLength}`, plainLength);
  let best = { gbps: 0, loop: 0 };
  for (let run = 0; run < RUNS; run++) {
    let done = 0;
    const elu0 = performance.eventLoopUtilization();
    const start = performance.now();
    await Promise.all(Array.from({ length: objects }, async () => {
      const enc = make();
      const window: Promise<void>[] = [];
      for (let index = 0; performance.now() - start < RUN_MS * 2 || index === 0; index++) {
        window.push(enc.encode(plain, index).then(() => void (done += plainLength)));
        if (window.length >= depth) await window.shift();
      }
      await Promise.all(window);
      enc.md5();
    }));
    const seconds = (performance.now() - start) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    const gbps = done / seconds / 1e9;
    if (gbps > best.gbps) best = { gbps, loop: elu.active / 1000 / (done / 1e9) };
  }
  return best;
}

async function segmentRows(binding: NativeBinding | null): Promise<void> {
  const key = bytes('key', 32);
  const ronomon = new RonomonCoder();
  // 10 MiB - tag: exactly 1 MiB pieces; and the default segment size (~410 KiB pieces).
  for (const plainLength of [10 * MIB - GCM_TAG_BYTES, DEFAULT_SEGMENT_SIZE]) {
    const piece = plainLength === DEFAULT_SEGMENT_SIZE ? '4MiB seg' : '1MiB';
    // One segment at a time; two segments of one object in flight; one object per core.
    for (const [objects, depth] of [[1, 1], [1, 2], [cores, 1]] as const) {
      const inFlight = `${objects}x${depth}`;
      const js = await segmentRate(() => new JsSegmentEncoder(ronomon, key), plainLength, objects, depth);
      rows.push({ what: 'segment', engine: 'js', piece, inFlight, gbps: js.gbps, loopSPerGB: js.loop });
      if (binding) {
        const nat = await segmentRate(() => new NativeSegmentEncoder(binding, key), plainLength, objects, depth);
        rows.push({ what: 'segment', engine: 'native', piece, inFlight, gbps: nat.gbps, loopSPerGB: nat.loop });
        const hashed = await segmentRate(() => new NativeSegmentEncoder(binding, key, { hashes: true }), plainLength, objects, depth);
        rows.push({ what: 'segment', engine: 'native+sha256', piece, inFlight, gbps: hashed.gbps, loopSPerGB: hashed.loop });
      }
    }
  }
}

/** Segments decoded from their records, `lanes` at once; GB/s of plaintext and event-loop seconds per GB. */
async function decodeRate(decode: SegmentDecoder, records: (Buffer | null)[], key: Buffer, plainLength: number, lanes: number): Promise<{ gbps: number; loop: number }> {
  await decode(key, 0, plainLength, records);
  let best = { gbps: 0, loop: 0 };
  for (let run = 0; run < RUNS; run++) {
    let done = 0;
    const elu0 = performance.eventLoopUtilization();
    const start = performance.now();
    await Promise.all(Array.from({ length: lanes }, async () => {
      while (performance.now() - start < RUN_MS * 2) {
        await decode(key, 0, plainLength, records);
        done += plainLength;
      }
    }));
    const seconds = (performance.now() - start) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    const gbps = done / seconds / 1e9;
    if (gbps > best.gbps) best = { gbps, loop: elu.active / 1000 / (done / 1e9) };
  }
  return best;
}

/** The read side: K records as fetched (data pieces only, or 4 of them lost and rebuilt from parity). */
async function decodeRows(binding: NativeBinding | null): Promise<void> {
  const key = bytes('key', 32);
  const ronomon = new RonomonCoder();
  const js: SegmentDecoder = (k, i, len, r) => jsDecodeSegment(ronomon, k, i, len, r);
  for (const plainLength of [10 * MIB - GCM_TAG_BYTES, DEFAULT_SEGMENT_SIZE]) {
    const piece = plainLength === DEFAULT_SEGMENT_SIZE ? '4MiB seg' : '1MiB';
    const seg = await new JsSegmentEncoder(ronomon, key).encode(bytes(`decode ${plainLength}`, plainLength), 0);
    const all = Array.from({ length: K + M }, (_, i) => Buffer.concat(pieceRecord(seg, i)));
    for (const [pattern, mask] of [['data', DATA_MASK], ['rebuild4', 0xffff & ~0b1111 & ~(0b11 << 14)]] as const) {
      const records = all.map((r, i) => ((mask >> i) & 1 ? r : null));
      for (const lanes of [1, cores]) {
        const inFlight = `${lanes}x1`;
        const j = await decodeRate(js, records, key, plainLength, lanes);
        rows.push({ what: `decode-${pattern}`, engine: 'js', piece, inFlight, gbps: j.gbps, loopSPerGB: j.loop });
        if (binding) {
          const n = await decodeRate((k, i, len, r) => nativeDecodeSegment(binding, k, i, len, r), records, key, plainLength, lanes);
          rows.push({ what: `decode-${pattern}`, engine: 'native', piece, inFlight, gbps: n.gbps, loopSPerGB: n.loop });
        }
      }
    }
  }
}

/** Object checksums: one ChecksumSet fed the same buffer over and over, as a body's chunks; GB/s. */
function checksumRate(alg: ChecksumAlgorithm, native: NativeBinding | null, size: number): number {
  const data = bytes(`checksum ${size}`, size);
  let best = 0;
  for (let run = 0; run < RUNS; run++) {
    const set = new ChecksumSet([alg], { native });
    let done = 0;
    const start = performance.now();
    while (performance.now() - start < RUN_MS) {
      set.update(data);
      done += size;
    }
    set.digest();
    best = Math.max(best, done / ((performance.now() - start) / 1000) / 1e9);
  }
  return best;
}

const CHECKSUM_SIZES = [4 * 1024, 64 * 1024, 4 * MIB];
const CHECKSUMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME'];

function checksumRows(binding: NativeBinding | null): void {
  for (const alg of CHECKSUMS) {
    for (const size of CHECKSUM_SIZES) {
      rows.push({ what: `checksum-${alg}`, engine: 'js', piece: label(size), inFlight: '1', gbps: checksumRate(alg, null, size) });
      if (binding) rows.push({ what: `checksum-${alg}`, engine: 'native', piece: label(size), inFlight: '1', gbps: checksumRate(alg, binding, size) });
    }
  }
  if (!binding) return;
  // The kernels a CPU without AVX-512 (pclmulqdq) or without PCLMULQDQ (table) would run.
  const best = binding.info().crc;
  for (const kernel of binding.info().supportedCrcKernels) {
    setCrcKernel(binding, kernel);
    for (const alg of CHECKSUMS) {
      rows.push({ what: `checksum-${alg}`, engine: `native/${kernel}`, piece: '64KiB', inFlight: '1', gbps: checksumRate(alg, binding, 64 * 1024) });
    }
  }
  setCrcKernel(binding, best);
}

/** Plaintext GB/s of `binding.gcm` (the segment codec's AES-256-GCM alone) on one buffer, one thread. */
function gcmRate(binding: NativeBinding, size: number): number {
  const key = bytes('gcm key', 32);
  const plain = bytes(`gcm ${size}`, size);
  const out = Buffer.alloc(size + GCM_TAG_BYTES);
  let best = 0;
  for (let run = 0; run < RUNS; run++) {
    let done = 0;
    const start = performance.now();
    while (performance.now() - start < RUN_MS) {
      binding.gcm(key, done, plain, 0, size, out, 0);
      done += size;
    }
    best = Math.max(best, done / ((performance.now() - start) / 1000) / 1e9);
  }
  return best;
}

const GCM_SIZES = [4 * 1024, 64 * 1024, DEFAULT_SEGMENT_SIZE];

/**
 * The segment codec's AES-256-GCM on each kernel this CPU runs (OpenSSL, the baseline, and
 * the addon's VAES one): alone, and inside a whole segment encode (with piece hashes, as
 * putBlob asks) and decode of all data pieces, 4 MiB segments, one at a time.
 */
async function gcmRows(binding: NativeBinding | null): Promise<void> {
  if (!binding) return;
  const best = binding.info().gcm;
  const key = bytes('key', 32);
  const seg = await new JsSegmentEncoder(new RonomonCoder(), key).encode(bytes('gcm segment', DEFAULT_SEGMENT_SIZE), 0);
  const records = Array.from({ length: K + M }, (_, i) => (i < K ? Buffer.concat(pieceRecord(seg, i)) : null));
  try {
    for (const kernel of binding.info().supportedGcmKernels) {
      setGcmKernel(binding, kernel);
      const engine = `gcm/${kernel}`;
      for (const size of GCM_SIZES) rows.push({ what: 'gcm', engine, piece: label(size), inFlight: '1', gbps: gcmRate(binding, size) });
      const enc = await segmentRate(() => new NativeSegmentEncoder(binding, key, { hashes: true }), DEFAULT_SEGMENT_SIZE, 1, 1);
      rows.push({ what: 'segment', engine, piece: '4MiB seg', inFlight: '1x1', gbps: enc.gbps, loopSPerGB: enc.loop });
      const dec = await decodeRate((k, i, len, r) => nativeDecodeSegment(binding, k, i, len, r), records, key, DEFAULT_SEGMENT_SIZE, 1);
      rows.push({ what: 'decode-data', engine, piece: '4MiB seg', inFlight: '1x1', gbps: dec.gbps, loopSPerGB: dec.loop });
    }
  } finally {
    setGcmKernel(binding, best);
  }
}

/**
 * Segment encodes with piece hashes (as putBlob asks) taken each way this CPU runs: one by
 * one with OpenSSL (the baseline), or four pieces at once on the SHA extensions.
 */
async function pieceHashRows(binding: NativeBinding | null): Promise<void> {
  if (!binding) return;
  const best = binding.info().pieceHash;
  const key = bytes('key', 32);
  try {
    for (const way of binding.info().supportedPieceHashes) {
      setPieceHash(binding, way);
      for (const [plainLength, piece] of [[10 * MIB - GCM_TAG_BYTES, '1MiB'], [DEFAULT_SEGMENT_SIZE, '4MiB seg']] as const) {
        for (const objects of [1, cores]) {
          const r = await segmentRate(() => new NativeSegmentEncoder(binding, key, { hashes: true }), plainLength, objects, 1);
          rows.push({ what: 'segment', engine: `hash/${way}`, piece, inFlight: `${objects}x1`, gbps: r.gbps, loopSPerGB: r.loop });
        }
      }
    }
  } finally {
    setPieceHash(binding, best);
  }
}

const DEFAULT_PATH = 'default (in place up to 8 KiB, else on the threadpool; MD5 in the same call)';

/**
 * MD5 of 1 MiB objects, `n` updates at once through Md5Lanes (native/src/md5_lanes.c),
 * against OpenSSL's MD5 of one object at a time (node:crypto): GB per CPU second, every
 * thread counted, best of RUNS. What a PUT's ETag costs the machine.
 */
interface Md5Row { streams: number; lanesGbPerCpuS: number; opensslGbPerCpuS: number }
const md5Rows: Md5Row[] = [];

async function md5LaneRows(binding: NativeBinding | null): Promise<void> {
  if (!binding?.info().md5Lanes) return;
  const data = bytes('md5', MIB);
  const perCpu = async (step: () => Promise<number>): Promise<number> => {
    let best = 0;
    for (let run = 0; run < RUNS; run++) {
      let done = 0;
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      while (performance.now() - start < RUN_MS) done += await step();
      const c = process.cpuUsage(cpu0);
      best = Math.max(best, done / 1e9 / ((c.user + c.system) / 1e6));
    }
    return best;
  };
  const openssl = await perCpu(() => {
    createHash('md5').update(data).digest();
    return Promise.resolve(data.length);
  });
  for (const streams of [1, 2, 4, 8, 16]) {
    const lanes = new Md5Lanes(binding);
    const lanesRate = await perCpu(async () => {
      const states = Array.from({ length: streams }, () => lanes.create());
      await Promise.all(states.map((st) => lanes.update(st, data)));
      for (const st of states) lanes.digest(st);
      return streams * data.length;
    });
    md5Rows.push({ streams, lanesGbPerCpuS: lanesRate, opensslGbPerCpuS: openssl });
  }
}

/** One small object through the segment encoder: new encoder, one encode with piece hashes (as putBlob asks), md5(). */
interface SmallObjectRow { path: string; size: number; usPerObject: number; loopUsPerObject: number; cpuUsPerObject: number }
const smallRows: SmallObjectRow[] = [];

async function smallObjectRows(binding: NativeBinding | null): Promise<void> {
  if (!binding) return;
  const key = bytes('key', 32);
  const paths: Array<[string, NativeSegmentOptions]> = [
    // The flow before MD5 moved into the segment call: two threadpool tasks per segment.
    ['separate MD5 task', { syncSegmentMax: 0, fusedMd5Max: 0, md5Lanes: null }],
    ['fused MD5, threadpool', { syncSegmentMax: 0, md5Lanes: null }],
    [DEFAULT_PATH, {}],
  ];
  for (const size of [4 * 1024, 64 * 1024]) {
    const plain = bytes(`small ${size}`, size);
    const best = paths.map(() => ({ us: Infinity, loop: Infinity, cpu: Infinity }));
    for (let run = 0; run < RUNS * 2; run++) {
      for (const [i, [, options]] of paths.entries()) {
        let n = 0;
        const elu0 = performance.eventLoopUtilization();
        const cpu0 = process.cpuUsage();
        const start = performance.now();
        while (performance.now() - start < RUN_MS) {
          const enc = new NativeSegmentEncoder(binding, key, { hashes: true, ...options });
          await enc.encode(plain, 0);
          enc.md5();
          n++;
        }
        const us = ((performance.now() - start) * 1000) / n;
        const loop = (performance.eventLoopUtilization(elu0).active * 1000) / n;
        const c = process.cpuUsage(cpu0);
        const cpu = (c.user + c.system) / n;
        best[i] = { us: Math.min(best[i]!.us, us), loop: Math.min(best[i]!.loop, loop), cpu: Math.min(best[i]!.cpu, cpu) };
      }
    }
    for (const [i, [path]] of paths.entries()) smallRows.push({ path, size, usPerObject: best[i]!.us, loopUsPerObject: best[i]!.loop, cpuUsPerObject: best[i]!.cpu });
  }
}

function find(what: string, engine: string, piece: string, inFlight = /^(segment|decode)/.test(what) ? '1x1' : '1'): number | null {
  return rows.find((r) => r.what === what && r.engine === engine && r.piece === piece && r.inFlight === inFlight)?.gbps ?? null;
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const round2 = (v: number) => Math.round(v * 100) / 100;

function ratio(a: number | null, b: number | null): number | null {
  return a !== null && b ? Math.round((a / b) * 100) / 100 : null;
}

async function main(): Promise<void> {
  const binding = loadNative();
  if (!binding) console.error(`native addon missing, measuring the reference only: ${nativeLoadError()?.message}`);
  const info = binding?.info();
  console.log(`cores: ${cores}, kernel: ${info?.kernel ?? 'none'}, cpu: ${info?.cpu ?? '?'}, crc: ${info?.crc ?? '?'}, gcm: ${info?.gcm ?? '?'}, piece hash: ${info?.pieceHash ?? '?'}, ISA-L: ${binding?.isalAvailable() ? 'yes' : 'no'}`);
  const only = process.env.BENCH_ONLY; // e.g. "checksum,small,put" for a quick run of those sections
  const want = (section: string) => !only || only.split(',').includes(section);
  if (want('coder')) await coderRows(binding);
  if (want('segment')) await segmentRows(binding);
  if (want('decode')) await decodeRows(binding);
  if (want('checksum')) checksumRows(binding);
  if (want('gcm')) await gcmRows(binding);
  if (want('hash')) await pieceHashRows(binding);
  if (want('small')) await smallObjectRows(binding);
  if (want('md5')) await md5LaneRows(binding);
  const putPath: PutPathRow[] = want('put') ? await putPathRows(binding) : [];
  console.log('\n| op | engine | piece | in flight | GB/s | event loop s/GB |\n| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.what} | ${r.engine} | ${r.piece} | ${r.inFlight} | ${r.gbps.toFixed(2)} | ${r.loopSPerGB?.toFixed(3) ?? ''} |`);
  }
  if (rows.some((r) => r.what.startsWith('checksum-'))) {
    console.log('\nObject checksums, native against JS (ratio of GB/s):\n| checksum | 4KiB | 64KiB | 4MiB |\n| --- | --- | --- | --- |');
    for (const alg of CHECKSUMS) {
      const r = CHECKSUM_SIZES.map((size) => ratio(find(`checksum-${alg}`, 'native', label(size)), find(`checksum-${alg}`, 'js', label(size))));
      console.log(`| ${alg} | ${r.join(' | ')} |`);
    }
  }
  const fastGcm = binding?.info().supportedGcmKernels.includes('vaes512');
  if (fastGcm && rows.some((r) => r.what === 'gcm')) {
    console.log('\nAES-256-GCM of the segment codec, the VAES kernel against OpenSSL (ratio of GB/s, same run):');
    console.log(`| op | ${GCM_SIZES.map(label).join(' | ')} | 4MiB segment encode | 4MiB segment decode |\n| --- | --- | --- | --- | --- | --- |`);
    const r = GCM_SIZES.map((size) => ratio(find('gcm', 'gcm/vaes512', label(size)), find('gcm', 'gcm/openssl', label(size))));
    const encode = ratio(find('segment', 'gcm/vaes512', '4MiB seg'), find('segment', 'gcm/openssl', '4MiB seg'));
    const decode = ratio(find('decode-data', 'gcm/vaes512', '4MiB seg'), find('decode-data', 'gcm/openssl', '4MiB seg'));
    console.log(`| vaes512 / openssl | ${r.join(' | ')} | ${encode} | ${decode} |`);
  }
  if (binding?.info().supportedPieceHashes.includes('sha-ni-x4') && rows.some((r) => r.engine === 'hash/openssl')) {
    console.log('\nSegment encode with piece hashes, four at once on SHA-NI against OpenSSL one by one (ratio of GB/s, same run):');
    console.log(`| piece | 1 segment in flight | ${cores} in flight |\n| --- | --- | --- |`);
    for (const piece of ['1MiB', '4MiB seg']) {
      const r = ['1x1', `${cores}x1`].map((f) => ratio(find('segment', 'hash/sha-ni-x4', piece, f), find('segment', 'hash/openssl', piece, f)));
      console.log(`| ${piece} | ${r.join(' | ')} |`);
    }
  }
  if (smallRows.length) {
    console.log('\nOne object through the segment encoder (new encoder, encode with piece hashes, md5), best of runs:');
    console.log('| object | path | us per object | separate / this | event loop us | CPU us (all threads) | separate / this |\n| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of smallRows) {
      const base = smallRows.find((x) => x.size === r.size && x.path === 'separate MD5 task')!;
      console.log(`| ${label(r.size)} | ${r.path} | ${r.usPerObject.toFixed(1)} | ${(base.usPerObject / r.usPerObject).toFixed(2)} | ${r.loopUsPerObject.toFixed(1)} | ${r.cpuUsPerObject.toFixed(1)} | ${(base.cpuUsPerObject / r.cpuUsPerObject).toFixed(2)} |`);
    }
  }
  if (md5Rows.length) {
    console.log('\nMD5 (ETags) of 1 MiB objects, many at once in AVX-512 lanes against OpenSSL one at a time (GB per CPU second, same run):');
    console.log('| objects at once | lanes | OpenSSL | lanes / OpenSSL |\n| --- | --- | --- | --- |');
    for (const r of md5Rows) console.log(`| ${r.streams} | ${r.lanesGbPerCpuS.toFixed(2)} | ${r.opensslGbPerCpuS.toFixed(2)} | ${(r.lanesGbPerCpuS / r.opensslGbPerCpuS).toFixed(2)} |`);
  }
  if (putPath.length) printPutPath(putPath);
  const small = (path: string, size: number) => smallRows.find((r) => r.path === path && r.size === size)?.usPerObject ?? null;
  const putRow = (stage: string, checksum: string, crc: string) => putPath.find((r) => r.stage === stage && r.checksum === checksum && r.crc === crc);
  const put = (stage: string, checksum: string, crc: string) => putRow(stage, checksum, crc)?.mbps ?? null;
  const putCpu = (stage: string, checksum: string, crc: string) => putRow(stage, checksum, crc)?.cpuSPerGB ?? null;
  const summary = {
    kernel: info?.kernel ?? null,
    cores,
    encode_1MiB_vs_ronomon: ratio(find('encode', 'native', '1MiB'), find('encode', 'ronomon', '1MiB')),
    encode_1MiB_vs_isal: ratio(find('encode', 'native', '1MiB'), find('encode', 'isal', '1MiB')),
    reconstruct_1MiB_vs_ronomon: ratio(find('reconstruct6', 'native', '1MiB'), find('reconstruct6', 'ronomon', '1MiB')),
    reconstruct_1MiB_vs_isal: ratio(find('reconstruct6', 'native', '1MiB'), find('reconstruct6', 'isal', '1MiB')),
    segment_vs_js: ratio(find('segment', 'native', '1MiB'), find('segment', 'js', '1MiB')),
    segment_vs_js_pipelined: ratio(find('segment', 'native', '1MiB', '1x2'), find('segment', 'js', '1MiB', '1x2')),
    segment_vs_js_per_core: ratio(find('segment', 'native', '1MiB', `${cores}x1`), find('segment', 'js', '1MiB', `${cores}x1`)),
    segment_4MiB_vs_js: ratio(find('segment', 'native', '4MiB seg'), find('segment', 'js', '4MiB seg')),
    decode_vs_js: ratio(find('decode-data', 'native', '1MiB'), find('decode-data', 'js', '1MiB')),
    decode_rebuild_vs_js: ratio(find('decode-rebuild4', 'native', '1MiB'), find('decode-rebuild4', 'js', '1MiB')),
    decode_vs_js_per_core: ratio(find('decode-data', 'native', '1MiB', `${cores}x1`), find('decode-data', 'js', '1MiB', `${cores}x1`)),
    decode_4MiB_vs_js: ratio(find('decode-data', 'native', '4MiB seg'), find('decode-data', 'js', '4MiB seg')),
    crc32_64KiB_native_vs_js: ratio(find('checksum-CRC32', 'native', '64KiB'), find('checksum-CRC32', 'js', '64KiB')),
    crc32c_64KiB_native_vs_js: ratio(find('checksum-CRC32C', 'native', '64KiB'), find('checksum-CRC32C', 'js', '64KiB')),
    crc64nvme_64KiB_native_vs_js: ratio(find('checksum-CRC64NVME', 'native', '64KiB'), find('checksum-CRC64NVME', 'js', '64KiB')),
    gcm: info?.gcm ?? null,
    gcm_4MiB_vaes_vs_openssl: ratio(find('gcm', 'gcm/vaes512', '4MiB'), find('gcm', 'gcm/openssl', '4MiB')),
    segment_4MiB_vaes_vs_openssl: ratio(find('segment', 'gcm/vaes512', '4MiB seg'), find('segment', 'gcm/openssl', '4MiB seg')),
    decode_4MiB_vaes_vs_openssl: ratio(find('decode-data', 'gcm/vaes512', '4MiB seg'), find('decode-data', 'gcm/openssl', '4MiB seg')),
    piece_hash: info?.pieceHash ?? null,
    md5_lanes: info?.md5Lanes ?? false,
    md5_16_at_once_vs_openssl: md5Rows.length ? round2(md5Rows.at(-1)!.lanesGbPerCpuS / md5Rows.at(-1)!.opensslGbPerCpuS) : null,
    md5_4_at_once_vs_openssl: md5Rows.length ? round2(md5Rows.find((r) => r.streams === 4)!.lanesGbPerCpuS / md5Rows[0]!.opensslGbPerCpuS) : null,
    segment_hashed_shani_vs_openssl: ratio(find('segment', 'hash/sha-ni-x4', '1MiB', `${cores}x1`), find('segment', 'hash/openssl', '1MiB', `${cores}x1`)),
    object_4KiB_us: small(DEFAULT_PATH, 4096),
    object_4KiB_separate_md5_us: small('separate MD5 task', 4096),
    object_4KiB_speedup: ratio(small('separate MD5 task', 4096), small(DEFAULT_PATH, 4096)),
    put_crc64nvme_vs_none: ratio(put('checksum+encode', 'CRC64NVME', 'native'), put('checksum+encode', 'none', '-')),
    put_crc64nvme_js_vs_none: ratio(put('checksum+encode', 'CRC64NVME', 'js'), put('checksum+encode', 'none', '-')),
    put_crc64nvme_cpu_vs_none: ratio(putCpu('checksum+encode', 'CRC64NVME', 'native'), putCpu('checksum+encode', 'none', '-')),
    put_crc64nvme_js_cpu_vs_none: ratio(putCpu('checksum+encode', 'CRC64NVME', 'js'), putCpu('checksum+encode', 'none', '-')),
    small_objects: smallRows.map((r) => ({ ...r, usPerObject: round1(r.usPerObject), loopUsPerObject: round1(r.loopUsPerObject), cpuUsPerObject: round1(r.cpuUsPerObject) })),
    put_path: putPath.map((r) => ({ ...r, mbps: Math.round(r.mbps), cpuSPerGB: Math.round(r.cpuSPerGB * 100) / 100 })),
    results: rows.map((r) => ({ ...r, gbps: Math.round(r.gbps * 1000) / 1000, loopSPerGB: r.loopSPerGB === undefined ? undefined : Math.round(r.loopSPerGB * 1000) / 1000 })),
  };
  console.log(JSON.stringify(summary));
}

await main();
