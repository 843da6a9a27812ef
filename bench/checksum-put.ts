/**
 * The gateway's receive path for one PUT, without the network and the stores: a 64 MiB
 * body arrives in 64 KiB chunks; each chunk goes through a ChecksumSet (the one
 * gateway/object/receive.ts keeps), then into 4 MiB segments encoded one after the other
 * with piece hashes, as putBlob does. Run with a CRC64NVME trailer's checksum (what aws-cli
 * v2 and the JS SDK send by default) and with none, the CRC by the addon and by the JS
 * fallback. MB/s and CPU seconds per GB of body, best of RUNS; `npm run bench:codec` prints
 * these rows too, and
 * `node dist/bench/checksum-put.js` alone.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createCipheriv, createHash } from 'node:crypto';
import { DEFAULT_SEGMENT_SIZE } from '../codec/layout.js';
import { NativeSegmentEncoder } from '../codec/native-segment.js';
import { loadNative, type NativeBinding } from '../codec/native.js';
import { ChecksumSet, type DigestName } from '../gateway/checksums.js';

const MIB = 1024 * 1024;
const BODY = 64 * MIB;
const CHUNK = 64 * 1024;
const RUNS = Number(process.env.BENCH_PUT_RUNS ?? 5);

export interface PutPathRow {
  checksum: string;
  crc: 'native' | 'js' | '-';
  /** Only the checksums over the chunks, or the checksums and the segment encoding. */
  stage: 'checksum' | 'checksum+encode';
  mbps: number;
  /** CPU seconds (every thread of the process) per GB of body: steadier than MB/s on a shared machine. */
  cpuSPerGB: number;
}

function body(): Buffer {
  const key = createHash('sha256').update('put body').digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(BODY));
}

/** One PUT's worth of chunks through the set (and the encoder): MB/s and CPU s/GB of body. */
async function once(data: Buffer, names: DigestName[], native: NativeBinding | null, encode: NativeBinding | null): Promise<{ mbps: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const set = new ChecksumSet(names, { native });
  const encoder = encode ? new NativeSegmentEncoder(encode, Buffer.alloc(32, 1), { hashes: true }) : null;
  let fill = Buffer.allocUnsafe(DEFAULT_SEGMENT_SIZE);
  let filled = 0;
  let index = 0;
  for (let at = 0; at < data.length; at += CHUNK) {
    const chunk = data.subarray(at, at + CHUNK);
    set.update(chunk);
    if (!encoder) continue;
    chunk.copy(fill, filled);
    filled += chunk.length;
    if (filled === fill.length) {
      await encoder.encode(fill, index++);
      fill = Buffer.allocUnsafe(DEFAULT_SEGMENT_SIZE);
      filled = 0;
    }
  }
  if (encoder && filled > 0) await encoder.encode(fill.subarray(0, filled), index);
  set.digest();
  encoder?.md5();
  const cpu = process.cpuUsage(cpu0);
  return { mbps: data.length / ((performance.now() - start) / 1000) / 1e6, cpu: (cpu.user + cpu.system) / 1e6 / (data.length / 1e9) };
}

export async function putPathRows(binding: NativeBinding | null): Promise<PutPathRow[]> {
  const data = body();
  type Case = Omit<PutPathRow, 'mbps' | 'cpuSPerGB'> & { names: DigestName[]; native: NativeBinding | null };
  const crcCases = (stage: PutPathRow['stage']): Case[] => [
    ...(binding ? [{ stage, checksum: 'CRC64NVME', crc: 'native' as const, names: ['CRC64NVME' as const], native: binding }] : []),
    { stage, checksum: 'CRC64NVME', crc: 'js', names: ['CRC64NVME'], native: null },
  ];
  // Without a checksum the first stage does nothing: its row would say nothing.
  const cases: Case[] = [
    ...crcCases('checksum'),
    ...(binding ? [{ stage: 'checksum+encode' as const, checksum: 'none', crc: '-' as const, names: [], native: null }, ...crcCases('checksum+encode')] : []),
  ];
  const best = cases.map(() => ({ mbps: 0, cpu: Infinity }));
  // Interleaved, so a burst of load elsewhere on the machine hits every case alike.
  for (let run = 0; run < RUNS; run++) {
    for (const [i, c] of cases.entries()) {
      const r = await once(data, c.names, c.native, c.stage === 'checksum+encode' ? binding : null);
      best[i] = { mbps: Math.max(best[i]!.mbps, r.mbps), cpu: Math.min(best[i]!.cpu, r.cpu) };
    }
  }
  return cases.map((c, i) => ({ stage: c.stage, checksum: c.checksum, crc: c.crc, mbps: best[i]!.mbps, cpuSPerGB: best[i]!.cpu }));
}

export function printPutPath(rows: PutPathRow[]): void {
  console.log(`\nPUT receive path: ${BODY / MIB} MiB body in ${CHUNK / 1024} KiB chunks through a ChecksumSet, then (checksum+encode) 4 MiB segments encoded with piece hashes, one after the other`);
  console.log('| stage | checksum | CRC by | MB/s | vs none | CPU s/GB | vs none |\n| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const none = rows.find((x) => x.stage === r.stage && x.checksum === 'none');
    const vs = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : '');
    console.log(`| ${r.stage} | ${r.checksum} | ${r.crc} | ${r.mbps.toFixed(0)} | ${vs(r.mbps, none?.mbps)} | ${r.cpuSPerGB.toFixed(2)} | ${vs(r.cpuSPerGB, none?.cpuSPerGB)} |`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await putPathRows(loadNative());
  printPutPath(rows);
  console.log(JSON.stringify({ putPath: rows.map((r) => ({ ...r, mbps: Math.round(r.mbps), cpuSPerGB: Math.round(r.cpuSPerGB * 100) / 100 })) }));
}
