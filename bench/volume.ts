/**
 * `npm run bench:volume`: a shard-store's volume layer alone, in process: CPU per piece for
 * batches of small pieces, each batch followed by a group sync, on several stores at once (as
 * one store process hosting several stores serves a 4 KiB PUT load). No network, no gateway:
 * what the store's append, index and fdatasync cost per piece. CPU counts every thread of the
 * process (the threadpool's writes and fdatasyncs too).
 *
 *   SHARDGATE_BENCH_VOLUME_BATCHES (default 2000)  batches per store
 *   SHARDGATE_BENCH_VOLUME_PIECES  (default 4)     pieces per batch
 *   SHARDGATE_BENCH_VOLUME_STORES  (default 4)     stores written at once
 *   SHARDGATE_BENCH_VOLUME_BYTES   (default 420)   bytes per piece (a 4 KiB object's piece)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeStore } from '../shard-store/volume/volume-store.js';
import { envInt } from './procs.js';

async function main(): Promise<void> {
  const batches = envInt('SHARDGATE_BENCH_VOLUME_BATCHES', 2000, 1, 1_000_000);
  const per = envInt('SHARDGATE_BENCH_VOLUME_PIECES', 4, 1, 1000);
  const nStores = envInt('SHARDGATE_BENCH_VOLUME_STORES', 4, 1, 64);
  const bytes = envInt('SHARDGATE_BENCH_VOLUME_BYTES', 420, 1, 16 * 1024 * 1024);
  const dir = mkdtempSync(join(tmpdir(), 'shardgate-bench-volume-'));
  try {
    const stores = await Promise.all(Array.from({ length: nStores }, (_, i) => VolumeStore.open({ dir: join(dir, String(i)), capacityBytes: 1e15 })));
    const data = randomBytes(bytes);
    console.log(`${nStores} store(s), ${batches} batches of ${per} piece(s) of ${bytes} bytes each, a group sync after every batch ...`);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let done = 0;
    const progress = setInterval(() => console.log(`  ${done} of ${batches * nStores} batches`), 2000);
    await Promise.all(stores.map(async (s) => {
      for (let b = 0; b < batches; b++) {
        const items = Array.from({ length: per }, (_, k) => ({ key: { blob: randomBytes(16), piece: k, seg: 0 }, data: [data] }));
        const outcomes = await s.appendMany(items);
        const failed = outcomes.find((e) => e !== null);
        if (failed) throw failed;
        await s.sync();
        done++;
      }
    }));
    clearInterval(progress);
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - t0) / 1000;
    const pieces = batches * per * nStores;
    const syncs = stores.reduce((n, s) => n + s.syncs, 0);
    await Promise.all(stores.map((s) => s.close()));
    const perPiece = (us: number): string => (us / pieces).toFixed(1);
    console.log(`${pieces} pieces in ${wall.toFixed(1)} s (${Math.round(pieces / wall)}/s), ${syncs} fdatasyncs: ` +
      `CPU ${perPiece(cpu.user + cpu.system)} us per piece (user ${perPiece(cpu.user)}, system ${perPiece(cpu.system)})`);
    console.log(JSON.stringify({ pieces, seconds: wall, syncs, cpu_us_per_piece: (cpu.user + cpu.system) / pieces }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:volume: ${(err as Error).message}`);
  process.exitCode = 1;
});
